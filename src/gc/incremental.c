/*
 * gc/incremental.c: the old generation, collected in slices.
 *
 * STRATEGY.  A full collection of a large heap is one long pause (CPython
 * 3.11: about 160 ms for 1M objects).  Here an automatic collection of
 * generation 2 is a cycle of short slices with the program running in
 * between, over the table of old objects (gc/tables.c):
 *
 *     compact    tombstones leave the table; n = its length      (sliced)
 *     update     refs[i] = refcnt of entry i < n                 (sliced)
 *     subtract   each entry's references to entries are
 *                subtracted from their refs                      (sliced)
 *     mark       from every entry with refs > 0, GC_OLD_MARK on
 *                all entries it reaches (explicit index stack)   (sliced)
 *     group      S = the unmarked entries, cut into connected pieces
 *                (union-find, gc/verify.c)                       (sliced)
 *     verify     whole pieces leave the table, a batch per slice, and an
 *                ordinary collection runs over each batch alone
 *                (gc_collect_candidates: exact refcounts, exact
 *                subtraction, mark, then finalizers, weak references,
 *                hold)                                            (sliced)
 *     free       the verified garbage is cleared and freed        (sliced)
 *
 * Why it is sound although the program changes the graph between slices:
 * the sliced phases only PROPOSE S; they may be wrong both ways.  verify
 * decides over each batch with fresh reference counts, in one step: an
 * object whose count exceeds the references from inside the batch has a
 * reference from outside, and survives with all it reaches in the batch.  What is left is a set
 * that nothing outside refers to: garbage, however it was found.  A garbage
 * cycle that the proposal missed (it became garbage during the cycle, or a
 * changed reference hid it) is found by the next cycle: garbage never
 * changes, so the next cycle's proposal sees it exactly.
 *
 * The table learns of every old object freed meanwhile (GC_WATCHED: the
 * object layer calls gc_on_free, the entry becomes NULL), so no slice
 * touches freed memory.  Objects that enter generation 2 during a cycle are
 * appended past n: not this cycle's business.
 *
 * NUMBERS.  A slice does at most gc_slice_work units (an entry looked at, or
 * a reference visited), plus the references of the last object traversed (a
 * traverse cannot be cut): 20000 units, about 0.1 ms of CPU.  A slice runs
 * every gc_slice_work / GC_INC_PACE_DIV (78) object allocations, so a cycle
 * over n old objects (about 4n + 2 * references units) ends within about
 * n / 32 allocations; with cycles starting when generation 2 grew by 1/8
 * (gc/trigger.c), old garbage waits for at most about 1/8 + 1/32 of the old
 * generation's size.  The free phase frees gc_slice_work / GC_INC_FREE_COST
 * objects a slice.  verify does the budget's worth of whole pieces a slice:
 * a slice costs at most the budget plus the largest garbage piece (it was
 * one step of O(|S|) before: 12 ms of CPU when a cycle over 1M live objects
 * found 150k objects of garbage in pairs; now about 1 ms, see
 * docs/design.md).
 */
#include "gc/inc.h"

static size_t slice_budget(void)
{
    long w = om_opt(OM_OPT_GC_SLICE_WORK);
    return w > 0 ? (size_t)w : 1;
}

int gc_inc_start(gc_state *st)
{
    if (!st->old.on || st->inc)
        return -1;
    struct gc_inc *inc = om_calloc(1, sizeof *inc);
    if (!inc)
        return -1;
    inc->last_alloc = st->rt->allocated;
    st->inc = inc;
    om_gc_info info = {.generation = 2, .automatic = 1, .incremental = 1};
    gc_call_callbacks(st, "start", &info);
    gc_update_trigger(st);
    return 0;
}

static void finish(gc_state *st);

void gc_inc_abort(gc_state *st)
{
    struct gc_inc *inc = st->inc;
    if (!inc)
        return;
    if (st->collecting) { /* inside a slice (user code, or out of memory): the slice ends it */
        inc->abort_wanted = true;
        return;
    }
    if (inc->phase >= INC_VERIFY) { /* batches decided: free their garbage now, and end */
        gc_free_step(st, &inc->garbage, &inc->free_pos, SIZE_MAX);
        finish(st);
        return;
    }
    if (inc->phase == INC_COMPACT) /* entries between write and cursor are stale copies */
        for (size_t i = inc->write; i < inc->cursor; i++)
            *gc_slot(&st->old, i) = NULL;
    om_free(inc->stack);
    gc_vec_free(&inc->cands);
    gc_vec_free(&inc->mark);
    om_free(inc->members);
    om_free(inc);
    st->inc = NULL;
    st->inc_stats.aborted++;
    gc_update_trigger(st);
}

void gc_inc_settle(gc_state *st)
{
    if (st->inc && st->inc->abort_wanted && !st->collecting)
        gc_inc_abort(st);
}

/* ---- the sliced phases -------------------------------------------------------------- */
typedef struct visit_ctx {
    gc_state *st;
    struct gc_inc *inc;
} visit_ctx;

static void compact(gc_state *st, struct gc_inc *inc, size_t budget)
{
    inc->work += gc_table_compact(&st->old, &inc->cursor, &inc->write, budget - inc->work);
    if (inc->cursor == st->old.len) {
        inc->n = st->old.len;
        inc->cursor = 0;
        inc->phase = INC_UPDATE;
    }
}

static void update(gc_state *st, struct gc_inc *inc, size_t budget)
{
    gc_table *t = &st->old;
    for (; inc->cursor < inc->n && inc->work < budget; inc->cursor++, inc->work++) {
        om_object *o = *gc_slot(t, inc->cursor);
        if (o)
            *gc_refs_of(t, inc->cursor) = o->ob_refcnt < GC_REFS_MAX ? o->ob_refcnt : GC_REFS_MAX;
    }
    if (inc->cursor == inc->n) {
        inc->cursor = 0;
        inc->phase = INC_SUBTRACT;
    }
}

static int subtract_visit(om_object *child, void *arg)
{
    visit_ctx *c = arg;
    c->inc->work++;
    long i = gc_inc_entry(c->inc, child);
    if (i >= 0) {
        uint32_t *r = gc_refs_of(&c->st->old, (size_t)i);
        if (*r > 0 && *r < GC_REFS_MAX) /* the program may have changed counts: clamp */
            *r -= 1;
    }
    return 0;
}

static void subtract(gc_state *st, struct gc_inc *inc, size_t budget)
{
    visit_ctx c = {st, inc};
    for (; inc->cursor < inc->n && inc->work < budget; inc->cursor++, inc->work++) {
        om_object *o = *gc_slot(&st->old, inc->cursor);
        if (o && o->ob_type->traverse)
            o->ob_type->traverse(o, subtract_visit, &c);
    }
    if (inc->cursor == inc->n) {
        inc->cursor = 0;
        inc->phase = INC_MARK;
    }
}

static int mark_visit(om_object *child, void *arg)
{
    visit_ctx *c = arg;
    c->inc->work++;
    long i = gc_inc_entry(c->inc, child);
    uint32_t *r = i >= 0 ? gc_refs_of(&c->st->old, (size_t)i) : NULL;
    if (r && !(*r & GC_OLD_MARK)) {
        *r |= GC_OLD_MARK;
        c->inc->stack[c->inc->sp++] = (uint32_t)i; /* capacity n: each entry once */
    }
    return 0;
}

static void mark(gc_state *st, struct gc_inc *inc, size_t budget)
{
    gc_table *t = &st->old;
    visit_ctx c = {st, inc};
    if (!inc->stack && inc->n) {
        inc->stack = om_malloc(inc->n * sizeof *inc->stack);
        if (!inc->stack) {
            gc_inc_abort(st);
            return;
        }
    }
    while (inc->work < budget) {
        if (inc->sp) {
            uint32_t i = inc->stack[--inc->sp];
            om_object *o = *gc_slot(t, i); /* NULL: freed since it was marked */
            inc->work++;
            if (o && o->ob_type->traverse)
                o->ob_type->traverse(o, mark_visit, &c);
            continue;
        }
        if (inc->cursor == inc->n) {
            inc->cursor = 0;
            inc->phase = INC_GROUP_INIT;
            return;
        }
        size_t i = inc->cursor++;
        inc->work++;
        uint32_t r = *gc_refs_of(t, i);
        if (*gc_slot(t, i) && !(r & GC_OLD_MARK) && r > 0) {
            *gc_refs_of(t, i) = r | GC_OLD_MARK;
            inc->stack[inc->sp++] = (uint32_t)i;
        }
    }
}

/* ---- the end of a cycle (grouping and verifying: gc/verify.c)
 * ------------------------------------------------------ */
static void finish(gc_state *st)
{
    struct gc_inc *inc = st->inc;
    const gc_result *res = &inc->res;
    om_gc_incremental_stats *is = &st->inc_stats;
    size_t found = res->collected + res->uncollectable;
    is->cycles++;
    is->candidates += inc->proposed;
    is->verified += found;
    if (found > is->peak_garbage)
        is->peak_garbage = found;
    om_gc_gen_stats *s = &st->stats.gen[2];
    s->collections++;
    s->collected += res->collected;
    s->uncollectable += res->uncollectable;
    st->count[2] = 0;
    st->long_lived_total = st->old.len - st->old.tombstones;
    st->long_lived_pending = 0;
    om_gc_info info = {.generation = 2,
                       .automatic = 1,
                       .incremental = 1,
                       .collected = res->collected,
                       .uncollectable = res->uncollectable,
                       .duration_ns = inc->pause_ns,
                       .candidates = inc->proposed};
    gc_vec_free(&inc->garbage);
    gc_vec_free(&inc->cands);
    gc_vec_free(&inc->mark);
    om_free(inc->stack);
    om_free(inc->members);
    om_free(inc);
    st->inc = NULL;
    gc_update_trigger(st);
    gc_call_callbacks(st, "stop", &info);
}

/* Freeing costs far more per object than looking at one (a dealloc, heap
 * frees): the free phase does budget / GC_INC_FREE_COST objects a slice. */
#define GC_INC_FREE_COST 4

/* One slice: at most the budget of work in the sliced phases, or verify (its
 * cost grows with the garbage it found, never with the live heap). */
static void slice(gc_state *st)
{
    if (st->collecting || ob_releasing(st->rt))
        return;
    struct gc_inc *inc = st->inc;
    size_t budget = slice_budget();
    gc_clock t0 = gc_clock_now();
    st->collecting = 1;
    inc->work = 0;
    bool freeing = inc->phase == INC_FREE;
    while (st->inc && inc->work < budget && !inc->abort_wanted) {
        if (inc->phase == INC_COMPACT)
            compact(st, inc, budget);
        else if (inc->phase == INC_UPDATE)
            update(st, inc, budget);
        else if (inc->phase == INC_SUBTRACT)
            subtract(st, inc, budget);
        else if (inc->phase == INC_MARK)
            mark(st, inc, budget);
        else if (inc->phase == INC_GROUP_INIT) {
            if (gc_inc_group_init(st, inc, budget) != 0)
                gc_inc_abort(st); /* out of memory */
        } else if (inc->phase == INC_GROUP)
            gc_inc_group(st, inc, budget);
        else if (inc->phase == INC_VERIFY) {
            if (gc_inc_verify(st, inc, budget) != 0)
                gc_inc_abort(st); /* out of memory: frees what was verified, ends */
        } else {
            size_t left = budget > inc->work ? budget - inc->work : 0;
            size_t quota = left / GC_INC_FREE_COST ? left / GC_INC_FREE_COST : 1;
            size_t before = inc->free_pos;
            int done = gc_free_step(st, &inc->garbage, &inc->free_pos, quota);
            inc->work += (done ? quota : inc->free_pos - before) * GC_INC_FREE_COST;
            if (done) {
                st->work += inc->work;
                inc->pause_ns += om_now_ns() - t0.wall;
                finish(st); /* frees inc */
                st->collecting = 0;
                gc_pause_record(&st->pauses[1][2], t0);
                st->inc_stats.slices++;
                if (OM_DEBUG >= 3)
                    gc_check_clean(st);
                return;
            }
        }
    }
    st->collecting = 0;
    if (!st->inc)
        return;
    st->work += inc->work;
    if (inc->abort_wanted) { /* out of memory, or a finalizer disabled the collector */
        gc_pause_record(&st->pauses[1][2], t0);
        gc_inc_abort(st);
        return;
    }
    inc->pause_ns += gc_pause_record(&st->pauses[1][2], t0);
    inc->last_alloc = st->rt->allocated;
    st->inc_stats.slices++;
    if (!freeing && inc->work > st->inc_stats.max_slice_work)
        st->inc_stats.max_slice_work = inc->work;
}

void gc_inc_pace(gc_state *st)
{
    size_t pace = slice_budget() / GC_INC_PACE_DIV;
    if (st->rt->allocated - st->inc->last_alloc >= (pace ? pace : 1))
        slice(st);
}

bool gc_inc_freeing(const gc_state *st)
{
    return st->inc && st->inc->phase >= INC_VERIFY;
}

int gc_inc_slice(gc_state *st)
{
    if (st->inc)
        slice(st);
    return st->inc != NULL;
}

void gc_inc_finish(gc_state *st)
{
    while (st->inc && !st->collecting && !ob_releasing(st->rt))
        slice(st);
}
