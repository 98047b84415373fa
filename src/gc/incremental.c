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
 * a reference visited; a compaction move counts GC_COMPACT_MOVE_COST):
 * 10000 units, 0.25 to 0.6 ms of CPU on a 1M-object heap (about 25 ns a
 * unit on a quiet machine, up to 60 on a loaded one: each is a cache miss
 * or so).  It was 20000, whose slices of 0.5 to 1.0 ms were the longest
 * pauses once nothing else was; a smaller budget paces slices twice as
 * often for the same work per allocation, so a cycle ends as soon and
 * garbage waits as long (peak 207.8k both).  subtract and mark
 * stop inside a list or tuple and go on from the next item (has_item in
 * gc/inc.h: the benchmark's root list of 15k items made slices of 26k units
 * before); other types' traverse hooks cannot be cut, so a slice may end
 * with one whole traverse past the budget.  A cycle's work buffers stay for
 * the next cycle (gc_state.inc_spare).  The member and garbage lists are
 * sized for all of S when group starts (gc/verify.c), never grown by
 * doubling inside a slice: a doubling copied the whole list into fresh
 * pages, 350 to 530 page faults in one group or verify slice (1.2 to 1.7 ms
 * of CPU, the longest pauses of gc_pause); now their pages fault a few per
 * slice as the lists fill.  A slice runs
 * every gc_slice_work / GC_INC_PACE_DIV (39) object allocations, so a cycle
 * over n old objects (about 4n + 2 * references units) ends within about
 * n / 32 allocations; with cycles starting when generation 2 grew by 1/8
 * (gc/trigger.c), old garbage waits for at most about 1/8 + 1/32 of the old
 * generation's size.  The free phase frees gc_slice_work / GC_INC_FREE_COST
 * objects a slice.  verify does the budget's worth of whole pieces a slice:
 * a slice costs at most the budget plus the largest garbage piece (it was
 * one step of O(|S|) before: 12 ms of CPU when a cycle over 1M live objects
 * found 150k objects of garbage in pairs; now about 1 ms, see
 * docs/design.md).  What no phase's units count is kept out of the slices
 * that do work: the arrays a full collection left (gc/full.c, 12 bytes an
 * entry) are freed by the first slices of the next cycle, one array a
 * slice and nothing else in it (all four at the end of a cycle were a 1.1
 * to 1.3 ms slice: returning their pages to the OS).
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
    inc->buf = st->inc_spare; /* the last cycle's buffers */
    st->inc_spare = (struct gc_inc_buffers){0};
    inc->last_alloc = st->rt->allocated;
    st->inc = inc;
    om_gc_info info = {.generation = 2, .automatic = 1, .incremental = 1};
    gc_call_callbacks(st, "start", &info);
    gc_update_trigger(st);
    return 0;
}

static void finish(gc_state *st);

void gc_inc_free_spare(gc_state *st)
{
    struct gc_inc_buffers *b = &st->inc_spare;
    gc_vec_free(&b->garbage);
    gc_vec_free(&b->cands);
    gc_vec_free(&b->mark);
    om_free(b->stack);
    om_free(b->members);
    *b = (struct gc_inc_buffers){0};
}

/* The cycle's buffers stay for the next cycle, unless they are far larger
 * than the old table (a cycle after a large heap shrank). */
static void keep_buffers(gc_state *st, struct gc_inc *inc)
{
    gc_inc_free_spare(st);
    size_t most = 2 * st->old.len + GC_KEEP_MIN;
    struct gc_inc_buffers *b = &st->inc_spare;
    *b = inc->buf;
    b->garbage.len = b->cands.len = b->mark.len = 0;
    if (b->garbage.cap > most)
        gc_vec_free(&b->garbage);
    if (b->cands.cap > most)
        gc_vec_free(&b->cands);
    if (b->mark.cap > most)
        gc_vec_free(&b->mark);
    if (b->stack_cap > most) {
        om_free(b->stack);
        b->stack = NULL;
        b->stack_cap = 0;
    }
    if (b->members_cap > most) {
        om_free(b->members);
        b->members = NULL;
        b->members_cap = 0;
    }
}

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
        gc_free_step(st, &inc->buf.garbage, &inc->free_pos, SIZE_MAX);
        finish(st);
        return;
    }
    if (inc->phase == INC_COMPACT) /* entries between write and cursor are stale copies */
        for (size_t i = inc->write; i < inc->cursor; i++)
            *gc_slot(&st->old, i) = NULL;
    keep_buffers(st, inc);
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
    /* The program collects in cycles now, not in full collections: the
     * arrays of the last one go first, one a slice, and that is the slice. */
    if (gc_full_drop_one(st)) {
        inc->work = budget;
        return;
    }
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
    size_t i = inc->cursor, work = inc->work, n = inc->n;
    for (; i < n && work < budget; i++, work++) {
        gc_chunk *chunk = t->chunks[i >> GC_CHUNK_SHIFT];
        om_object *o = chunk->objs[i & (GC_CHUNK - 1)];
        if (o)
            chunk->refs[i & (GC_CHUNK - 1)] =
                o->ob_refcnt < GC_REFS_MAX ? o->ob_refcnt : GC_REFS_MAX;
    }
    inc->cursor = i;
    inc->work = work;
    if (inc->cursor == inc->n) {
        inc->cursor = 0;
        inc->phase = INC_SUBTRACT;
    }
}

/* The refs of o's entry when o is one of the cycle's entries, else NULL. */
static inline uint32_t *entry_refs(gc_state *st, const struct gc_inc *inc, const om_object *o)
{
    long i = gc_inc_entry(inc, o);
    return i >= 0 ? gc_refs_of(&st->old, (size_t)i) : NULL;
}

static inline void subtract_child(gc_state *st, struct gc_inc *inc, om_object *child)
{
    uint32_t *r = entry_refs(st, inc, child);
    if (r && *r > 0 && *r < GC_REFS_MAX) /* the program may have changed counts: clamp */
        *r -= 1;
}

static int subtract_visit(om_object *child, void *arg)
{
    visit_ctx *c = arg;
    c->inc->work++;
    subtract_child(c->st, c->inc, child);
    return 0;
}

static inline void mark_child(gc_state *st, struct gc_inc *inc, om_object *child)
{
    long i = gc_inc_entry(inc, child);
    if (i < 0)
        return;
    uint32_t *r = gc_refs_of(&st->old, (size_t)i);
    if (!(*r & GC_OLD_MARK)) {
        *r |= GC_OLD_MARK;
        inc->marked++;
        inc->buf.stack[inc->sp++] = (uint32_t)i; /* capacity n: each entry once */
    }
}

static int mark_visit(om_object *child, void *arg)
{
    visit_ctx *c = arg;
    c->inc->work++;
    mark_child(c->st, c->inc, child);
    return 0;
}

/* Visits the references of entry i: a list or tuple item by item from
 * inc->item_pos, stopping at the budget (has_item then says where to go
 * on), anything else whole through its traverse hook.  mark: the mark
 * phase's visit, else subtract's. */
static void visit_entry(gc_state *st, struct gc_inc *inc, uint32_t i, bool mark, size_t budget)
{
    om_object *o = *gc_slot(&st->old, i); /* NULL: freed since */
    size_t k, pos = inc->has_item && inc->item_entry == i ? inc->item_pos : 0;
    om_object *const *items;
    inc->has_item = false;
    if (!o)
        return;
    if (!gc_items(&st->layouts, o, &items, &k)) {
        visit_ctx c = {st, inc};
        if (o->ob_type->traverse)
            o->ob_type->traverse(o, mark ? mark_visit : subtract_visit, &c);
        return;
    }
    size_t work = inc->work, end = k;
    if (pos < k && k - pos > (budget > work ? budget - work : 0)) {
        end = pos + (budget > work ? budget - work : 0); /* the budget ends inside */
        inc->has_item = true;
        inc->item_entry = i;
        inc->item_pos = end;
    }
    inc->work = work + (end > pos ? end - pos : 0);
    if (mark) {
        for (; pos < end; pos++)
            if (items[pos])
                mark_child(st, inc, items[pos]);
    } else {
        for (; pos < end; pos++)
            if (items[pos])
                subtract_child(st, inc, items[pos]);
    }
}

static void subtract(gc_state *st, struct gc_inc *inc, size_t budget)
{
    const gc_layouts lay = st->layouts;
    gc_table *t = &st->old;
    while (inc->cursor < inc->n && inc->work < budget) {
        size_t i = inc->cursor, k;
        om_object *o = *gc_slot(t, i);
        om_object *const *items;
        /* the common case inline: a list or tuple that fits the budget */
        if (o && !inc->has_item && gc_items(&lay, o, &items, &k) && k < budget - inc->work) {
            for (size_t j = 0; j < k; j++)
                if (items[j])
                    subtract_child(st, inc, items[j]);
            inc->work += k;
        } else {
            visit_entry(st, inc, (uint32_t)i, false, budget);
            if (inc->has_item)
                return; /* the budget ran out inside this entry */
        }
        inc->cursor++;
        inc->work++;
    }
    if (inc->cursor == inc->n) {
        inc->cursor = 0;
        inc->phase = INC_MARK;
    }
}

static void mark(gc_state *st, struct gc_inc *inc, size_t budget)
{
    const gc_layouts lay = st->layouts;
    gc_table *t = &st->old;
    if (inc->buf.stack_cap < inc->n) { /* room for the table's growth until the next cycle */
        size_t cap = inc->n + inc->n / 4;
        om_free(inc->buf.stack);
        inc->buf.stack_cap = 0;
        inc->buf.stack = om_malloc(cap * sizeof *inc->buf.stack);
        if (!inc->buf.stack) {
            gc_inc_abort(st);
            return;
        }
        inc->buf.stack_cap = cap;
    }
    while (inc->work < budget) {
        if (inc->has_item) { /* an entry whose items the last slice did not finish */
            visit_entry(st, inc, inc->item_entry, true, budget);
            continue;
        }
        if (inc->sp) {
            uint32_t i = inc->buf.stack[--inc->sp];
            inc->work++;
            om_object *o = *gc_slot(t, i);
            om_object *const *items;
            size_t k;
            if (o && gc_items(&lay, o, &items, &k) && k < budget - inc->work) {
                for (size_t j = 0; j < k; j++) /* a list or tuple that fits: inline */
                    if (items[j])
                        mark_child(st, inc, items[j]);
                inc->work += k;
            } else {
                visit_entry(st, inc, i, true, budget);
            }
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
            inc->marked++;
            inc->buf.stack[inc->sp++] = (uint32_t)i;
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
    keep_buffers(st, inc);
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
            size_t before = inc->free_pos.pos;
            int done = gc_free_step(st, &inc->buf.garbage, &inc->free_pos, quota);
            inc->work += (done ? quota : inc->free_pos.pos - before) * GC_INC_FREE_COST;
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
