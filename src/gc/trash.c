/*
 * gc/trash.c: what happens to the unreachable set U of a collection.
 *
 * By the time U arrives here the decision is made: nothing outside U refers
 * to any member of U, and no user code has run.  From now on user code runs
 * (weak reference callbacks, finalizers), so first the collector takes a
 * reference to every member of U ("hold"): whatever a callback or finalizer
 * does to the graph, no member of U can be freed under the collector's
 * feet, and the list stays valid.
 *
 *     hold              incref every member of U, noting whether any has
 *                       a legacy finalizer, weak references or a finalizer
 *                       (the steps for what none has are skipped); done by
 *                       the caller's last pass over U (gc_hold)
 *     move_legacy       members with OM_TYPE_LEGACY_FINALIZER, and all they
 *                       reach inside U, leave U for good: the legacy ones go
 *                       to `garbage`, the rest stay alive because of them
 *     handle_weakrefs   weak references to members of U are cleared, all of
 *                       them before any callback runs; callbacks run only for
 *                       weak reference records whose owner is not in U
 *     finalize          each member's finalizer runs, once ever (PEP 442:
 *                       OM_GC_FINALIZED is set before the call)
 *     resurrect         if user code ran: U is checked again, like the first
 *                       time (gc_refs = refcnt - 1 for our hold, minus the
 *                       references from inside U); members that something
 *                       outside U now refers to, and all they reach in U,
 *                       leave U alive and untouched
 *     delete            a block of 128 members at a time: `clear` on each
 *                       (we still hold each), then each one's hold is
 *                       dropped, which frees it while it is still in cache
 *                       (one that a later block still refers to waits for
 *                       the end: gc_free_step).  A list or tuple is not
 *                       cleared but emptied in place (detach_items): its
 *                       references to other members only lower their
 *                       counts, with no call and no release; then it and
 *                       its array are freed without its dealloc
 *                       (ob_free_unreachable)
 *
 * After each step U holds only members with GC_COLLECTING, alive, and held
 * once by the collector; whatever leaves U leaves with clean phase bits and
 * the collector's reference dropped (or handed to the garbage list).
 *
 * THE PLAIN WAY (gc_plain_free).  When no member needs a step before the
 * clear (the common case: no legacy finalizer, no finalizer due, no weak
 * reference), a full collection over the tables (gc/full.c) does not list
 * U at all: one pass over its table takes each unmarked entry as it meets
 * it (hold), empties it (detach_plain: the marks say which children are
 * members not taken yet) and frees a block of them at a time (delete), so
 * each member is read from memory once here instead of three times (hold,
 * clear, release).  The members that must wait (referred to by a later
 * member; a type emptied by its clear hook, which may only run once every
 * member is held) wait in the list, as above.
 *
 *     table   | a  | x  | b  | c  | y  | ...      x, y alive (marked)
 *     pass      take a: hold, empty (b not taken yet: its count only drops)
 *               take b, take c ... block full: release a, b, c (count 1:
 *               only the hold) or let one wait
 *
 * Numbers (lists in pairs, `gc_work free`): the pass takes about 160
 * instructions a list (226 when each block was freed alone, 175 when the
 * object layer tested the block in a second loop), 55 of them the two heap
 * frees in bulk, 29 the flush with the object layer's tests; the pass is
 * about two thirds of the collection's time.
 */
#include <stdlib.h>

#include "gc/state.h"

static void print_object(const char *what, om_object *o)
{
    om_fdprintf(2, "objmem: gc: %s <%s at %p>\n", what, o->ob_type->name, (void *)o);
}

/* Marks with GC_REACHABLE every unmarked member of U reachable from a marked
 * one on the stack.  The stack's capacity covers every member of U. */
static int mark_member(om_object *child, void *arg)
{
    gc_vec *stack = arg;
    if (child && (child->ob_gc & (GC_COLLECTING | GC_REACHABLE)) == GC_COLLECTING) {
        child->ob_gc |= GC_REACHABLE;
        stack->items[stack->len++] = child;
    }
    return 0;
}

static void mark_from(om_object *root, gc_vec *stack)
{
    root->ob_gc |= GC_REACHABLE;
    stack->items[stack->len++] = root;
    while (stack->len) {
        om_object *o = stack->items[--stack->len];
        if (o->ob_type->traverse)
            o->ob_type->traverse(o, mark_member, stack);
    }
}

/* Moves the marked members out of U into out (packed), keeping the rest. */
static void split_marked(gc_vec *u, gc_vec *out)
{
    size_t keep = 0;
    out->len = 0;
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        if (o->ob_gc & GC_REACHABLE)
            out->items[out->len++] = o;
        else
            u->items[keep++] = o;
    }
    u->len = keep;
}

/* Puts o (held) on the garbage list, handing over the collector's reference.
 * When the list cannot grow, o keeps the reference and stays alive forever:
 * a leak, never a crash. */
static void save(gc_state *st, om_object *o)
{
    if (gc_vec_push(&st->garbage, o) != 0)
        om_warn("gc: out of memory for the garbage list; <%s at %p> is leaked", o->ob_type->name,
                (void *)o);
}

/* After: no member of U has a legacy finalizer or is reachable from one. */
static void move_legacy(gc_state *st, gc_vec *u, gc_vec *stack, gc_result *res)
{
    size_t found = 0;
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        if ((o->ob_type->flags & OM_TYPE_LEGACY_FINALIZER) && !(o->ob_gc & GC_REACHABLE)) {
            mark_from(o, stack);
            found = 1;
        }
    }
    if (!found)
        return;
    split_marked(u, stack);
    bool saveall = st->debug & OM_GC_DEBUG_SAVEALL;
    for (size_t i = 0; i < stack->len; i++) { /* first the ones that keep the rest alive */
        om_object *o = stack->items[i];
        if (st->debug & OM_GC_DEBUG_UNCOLLECTABLE)
            print_object("uncollectable", o);
        if (saveall || (o->ob_type->flags & OM_TYPE_LEGACY_FINALIZER)) {
            gc_promote(st, o, GC_GEN_OLD); /* alive: its table entry keeps tables complete */
            save(st, o);
            stack->items[i] = NULL;
        }
    }
    for (size_t i = 0; i < stack->len; i++) {
        om_object *o = stack->items[i];
        if (o) {
            gc_promote(st, o, GC_GEN_OLD);
            om_decref(o); /* a legacy object on the garbage list still refers to it */
        }
    }
    res->uncollectable += stack->len;
    stack->len = 0;
}

/* ---- handle_weakrefs --------------------------------------------------------------
 * A record's callback runs only when its owner (the weak reference object)
 * survives.  An owner in U is trash.  So is an owner that is not tracked (a
 * weak reference object of a non-GC type) when every reference to it comes
 * from U or from the pending records themselves: such owners are found by
 * counting, like subtract_refs, with GC_REACHABLE (never set on a non-member
 * at this point) as the mark and the scratch as the count. */
typedef struct owners {
    gc_vec dead; /* untracked owners that only trash refers to, sorted */
} owners;

static bool owner_in_question(const om_object *o)
{
    return o && !(o->ob_gc & GC_COLLECTING);
}

static int count_owner_ref(om_object *child, void *arg)
{
    (void)arg;
    if (child && (child->ob_gc & (GC_REACHABLE | GC_COLLECTING)) == GC_REACHABLE) {
        uint32_t n = gc_scratch(child);
        if (n > 0 && n != GC_REFS_MAX)
            gc_set_scratch(child, n - 1);
    }
    return 0;
}

static int compare_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (om_object *const *)a, y = (uintptr_t) * (om_object *const *)b;
    return x < y ? -1 : x > y;
}

/* Fills o->dead; on failure to allocate it stays empty (callbacks then run,
 * as if the owners were alive: never a crash). */
static void find_dead_owners(gc_vec *u, ob_weakref_pending *pending, owners *o)
{
    size_t marked = 0;
    for (ob_weakref *r = pending->head; r; r = r->pending_next) {
        om_object *w = r->owner;
        if (!owner_in_question(w) || gc_is_tracked(w))
            continue;
        if (!(w->ob_gc & GC_REACHABLE)) {
            w->ob_gc |= GC_REACHABLE;
            uint32_t rc = w->ob_refcnt;
            gc_set_scratch(w, rc < GC_REFS_MAX ? rc : GC_REFS_MAX);
            marked++;
        }
        count_owner_ref(w, NULL); /* the reference the pending record holds */
    }
    if (!marked)
        return;
    for (size_t i = 0; i < u->len; i++) {
        om_object *m = u->items[i];
        if (m->ob_type->traverse)
            m->ob_type->traverse(m, count_owner_ref, NULL);
    }
    for (ob_weakref *r = pending->head; r; r = r->pending_next) {
        om_object *w = r->owner;
        if (!w || (w->ob_gc & (GC_REACHABLE | GC_COLLECTING)) != GC_REACHABLE)
            continue;
        if (gc_scratch(w) == 0 && gc_vec_push(&o->dead, w) != 0)
            o->dead.len = 0;
        w->ob_gc &= ~GC_REACHABLE; /* each owner handled once */
        gc_set_scratch(w, 0);
    }
    if (o->dead.len > 1)
        qsort(o->dead.items, o->dead.len, sizeof *o->dead.items, compare_ptr);
}

static bool owner_survives(ob_weakref *r, void *arg)
{
    const owners *o = arg;
    if (!r->owner)
        return true; /* a C user's record */
    if (r->owner->ob_gc & GC_COLLECTING)
        return false;
    return !o->dead.len ||
           !bsearch(&r->owner, o->dead.items, o->dead.len, sizeof *o->dead.items, compare_ptr);
}

/* After: no weak reference points at a member of U, and callbacks ran for
 * the records whose owner survives.  Returns true if a callback ran. */
static bool handle_weakrefs(gc_state *st, gc_vec *u)
{
    ob_weakref_pending pending = {0};
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        if (o->ob_gc & OM_GC_WEAKREFS)
            ob_weakref_clear(st->rt, o, &pending);
    }
    if (!pending.head)
        return false;
    owners o = {{0}};
    find_dead_owners(u, &pending, &o);
    ob_weakref_filter(&pending, owner_survives, &o);
    gc_vec_free(&o.dead);
    if (!pending.head)
        return false;
    ob_weakref_run(&pending);
    return true;
}

/* After: every member of U with a finalizer has OM_GC_FINALIZED and its
 * finalizer has run.  Returns true if one ran. */
static bool finalize(gc_vec *u)
{
    bool ran = false;
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        void (*fin)(om_object *) = o->ob_type->finalize;
        if (fin && !(o->ob_gc & OM_GC_FINALIZED)) {
            o->ob_gc |= OM_GC_FINALIZED;
            fin(o);
            ran = true;
        }
    }
    return ran;
}

/* After: U holds only members that nothing outside U refers to; the rest
 * (resurrected, and all they reach) are alive, clean, in promote_to. */
static void resurrect(gc_state *st, gc_vec *u, gc_vec *stack, unsigned promote_to)
{
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        uint32_t refs = o->ob_refcnt - 1; /* minus our hold */
        o->ob_gc &= ~GC_REACHABLE;
        gc_set_scratch(o, refs < GC_REFS_MAX ? refs : GC_REFS_MAX);
    }
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        if (o->ob_type->traverse)
            o->ob_type->traverse(o, gc_subtract_visit, NULL);
    }
    for (size_t i = 0; i < u->len; i++) {
        om_object *o = u->items[i];
        if (gc_scratch(o) > 0 && !(o->ob_gc & GC_REACHABLE))
            mark_from(o, stack);
    }
    split_marked(u, stack);
    for (size_t i = 0; i < stack->len; i++)
        gc_promote(st, stack->items[i], promote_to);
    for (size_t i = 0; i < stack->len; i++)
        om_decref(stack->items[i]); /* something outside U keeps it alive */
    stack->len = 0;
}

/* Garbage is freed a block at a time: the block's members are cleared, then
 * released while they are still in cache (one pass of clears over all of
 * the garbage, then one of releases, read every member twice from memory).
 * Each member is held once by us, so clearing frees none of them; dropping
 * the hold of a cleared member frees it, unless a member of a later block,
 * not cleared yet, still refers to it: that one waits at the front of the
 * list (g[0, kept), below every position still to read) and its hold is
 * dropped at the end, when every member is cleared (a member whose type could
 * not break its references survives then, clean, in the old generation,
 * with its table entry).  Positions (B: GC_FREE_BLOCK, gc/state.h): block b
 * covers [2 b B, 2 (b + 1) B), its clears then its releases; [2 len, 2 len +
 * kept) the members that waited. */

static OM_NOINLINE OM_COLD void overcounted(const om_object *child)
{
    om_fatal("gc: garbage object %p of type %s is referred to more often than its "
             "reference count %u says (a missing incref?)",
             (void *)child, child->ob_type->name, child->ob_refcnt);
}

/* A reference from a member to child, another member: its count only
 * drops, no release.  held: 1 when the collector holds child (its count
 * then stays at least 1), 0 for a member not taken yet (the plain way). */
static inline void drop_held(om_object *child, uint32_t held)
{
    if (OM_UNLIKELY(child->ob_refcnt <= held))
        overcounted(child);
    child->ob_refcnt--;
}

/* Sets o's item count to 0 and returns its items in *items, *k; false when
 * o's type has no registered layout. */
static inline bool empty_items(const gc_layouts *lay, om_object *o, om_object *const **items,
                               size_t *k)
{
    if (!gc_items(lay, o, items, k))
        return false;
    size_t at = o->ob_type == lay->pointer_type ? lay->pointer_size : lay->inline_size;
    *(size_t *)(void *)((char *)o + at) = 0;
    return true;
}

/* A member of a type with a registered item layout (a list, a tuple) is
 * emptied without its clear hook (gc/gc.h: its dealloc drops exactly those
 * items): its count becomes 0 first, so it reads as empty whatever runs
 * meanwhile; then a reference to another member (GC_COLLECTING: during
 * freeing, only members of g have it) only lowers that member's count,
 * which stays at least 1, our hold, so nothing is released and no call is
 * made; any other reference is dropped as usual.  The list's array is freed
 * with the list, when its hold is dropped (release_last).  False for other
 * types. */
static bool detach_items(const gc_layouts *lay, om_object *o)
{
    size_t k;
    om_object *const *items;
    if (!empty_items(lay, o, &items, &k))
        return false;
    for (size_t j = 0; j < k; j++) {
        om_object *child = items[j];
        if (!child)
            continue;
        if (child->ob_gc & GC_COLLECTING)
            drop_held(child, 1);
        else
            om_decref(child);
    }
    return true;
}

/* detach_items for the plain way (gc_plain_free): an old entry j with
 * refs[j] != GC_OLD_MARK is a member too, one not taken yet: not held, so
 * its count may reach 0 here (its hold comes when it is taken).  A copy
 * rather than detach_items with a NULL refs: the test of refs on every
 * child cost 3.3M instructions of bench_gc_work_om free 300000 (2.5%). */
static inline bool detach_plain(const gc_layouts *lay, om_object *o, const uint32_t *refs)
{
    size_t k;
    om_object *const *items;
    if (!empty_items(lay, o, &items, &k))
        return false;
    for (size_t j = 0; j < k; j++) {
        om_object *child = items[j];
        if (!child)
            continue;
        uint32_t g = child->ob_gc;
        if (g & GC_COLLECTING)
            drop_held(child, 1);
        else if ((g & (GC_WATCHED | OM_GC_GEN_MASK)) ==
                     (GC_WATCHED | (GC_GEN_OLD << OM_GC_GEN_SHIFT)) &&
                 refs[g >> OM_GC_SCRATCH_SHIFT] != GC_OLD_MARK)
            drop_held(child, 0);
        else
            om_decref(child);
    }
    return true;
}

/* print: OM_GC_DEBUG_COLLECTABLE, read once a block. */
static void clear_member(const gc_layouts *lay, om_object *o, bool print)
{
    if (print)
        print_object("collectable", o);
    if (!detach_items(lay, o) && o->ob_type->clear)
        o->ob_type->clear(o);
}

/* o's count is 1, our hold: dropping it frees o (no phase bit left, so the
 * object layer does not call back).  A list or tuple, emptied by
 * detach_items, is freed with its item array and without its dealloc
 * (ob_free_unreachable), unless it needs the general release. */
static inline void release_last(gc_state *st, const gc_layouts *lay, om_object *o)
{
    gc_settle(o, GC_GEN_OLD);
    o->ob_refcnt = 0;
    const om_type *t = o->ob_type;
    if (t == lay->pointer_type) {
        void *array = *(void **)(void *)((char *)o + lay->pointer_items);
        if (ob_free_unreachable(st->rt, o, array))
            return;
    } else if (t == lay->inline_type && ob_free_unreachable(st->rt, o, NULL)) {
        return;
    }
    om_object_release(o);
}

static void release_member(gc_state *st, om_object *o)
{
    if (o->ob_refcnt > 1) { /* survives (or a later member's release frees it) */
        gc_promote(st, o, GC_GEN_OLD);
        om_decref(o);
        return;
    }
    const gc_layouts lay = st->layouts;
    release_last(st, &lay, o);
}

/* Clears, then releases, what budget allows of the block at p->pos. */
static size_t block_step(gc_state *st, gc_vec *g, gc_free_pos *p, size_t budget)
{
    size_t first = p->pos / (2 * GC_FREE_BLOCK) * GC_FREE_BLOCK;
    size_t m = g->len - first < GC_FREE_BLOCK ? g->len - first : GC_FREE_BLOCK;
    size_t r = p->pos - 2 * first, r0 = r;
    om_object **block = g->items + first;
    const gc_layouts lay = st->layouts;
    bool print = (st->debug & OM_GC_DEBUG_COLLECTABLE) != 0;
    size_t end = budget < 2 * m - r ? r + budget : 2 * m; /* one bound a loop */
    for (size_t stop = end < m ? end : m; r < stop; r++)
        clear_member(&lay, block[r], print);
    for (; r < end; r++) {
        om_object *o = block[r - m];
        if (o->ob_refcnt > 1)
            g->items[p->kept++] = o; /* a later block may still refer to it */
        else
            release_last(st, &lay, o);
    }
    p->pos = 2 * first + r;
    return end - r0;
}

int gc_free_step(gc_state *st, gc_vec *g, gc_free_pos *p, size_t budget)
{
    size_t n = g->len, done = 0;
    while (p->pos < 2 * n && done < budget)
        done += block_step(st, g, p, budget - done);
    for (; p->pos < 2 * n + p->kept && done < budget; p->pos++, done++)
        release_member(st, g->items[p->pos - 2 * n]);
    if (p->pos < 2 * n + p->kept)
        return 0;
    g->len = 0;
    *p = (gc_free_pos){0, 0};
    return 1;
}

/* ---- the plain way (gc/full.c): taken, emptied and freed in one pass -------------
 * (see THE PLAIN WAY above).  A member that a later one still refers to
 * waits in `later`, and so does one of another type, whose clear hook runs
 * once every member is held.  A block of taken members is freed in bulk
 * (plain_flush: ob_free_unreachable_tested, then the heap's
 * hp_heap_free_batch): the members of a block were allocated together, so
 * their blocks, and their arrays', fall into a few runs of the same pool,
 * each freed with one owner check and one count update. */
_Static_assert(GC_FREE_BLOCK <= OB_UNREACHABLE_BATCH, "a block must fit a bulk free");
typedef struct plain {
    gc_state *st;
    gc_layouts lay;
    const uint32_t *refs;
    gc_vec *later; /* held: still referred to by a later member, or to clear */
    size_t n;
    om_object *block[GC_FREE_BLOCK];
} plain;

/* Releases the block's members whose count is 1 (our hold): all are lists
 * or tuples (plain_take), emptied, so the object layer frees them in bulk
 * with their arrays (ob_free_unreachable_tested), tested here in the same
 * loop; the few it would refuse (ob_unreachable_refused, the tracer's
 * hook), and any other type, take the general release after. */
static void plain_flush(plain *p)
{
    om_runtime *rt = p->st->rt;
    gc_vec *later = p->later;
    void *arrays[GC_FREE_BLOCK];
    om_object *blocks[GC_FREE_BLOCK];
    size_t nb = 0, na = 0, left = 0;
    bool traced = rt->trace_on_free != NULL;
    for (size_t i = 0; i < p->n; i++) {
        om_object *o = p->block[i];
        if (o->ob_refcnt > 1) {
            later->items[later->len++] = o; /* a later member still refers to it */
            continue;
        }
        gc_settle(o, GC_GEN_OLD);
        o->ob_refcnt = 0;
        const om_type *t = o->ob_type;
        bool listed = t == p->lay.pointer_type;
        if (traced || ob_unreachable_refused(o) || (!listed && t != p->lay.inline_type)) {
            p->block[left++] = o;
            continue;
        }
        void *array = listed ? *(void **)(void *)((char *)o + p->lay.pointer_items) : NULL;
        if (array)
            arrays[na++] = array;
        blocks[nb++] = o;
    }
    ob_free_unreachable_tested(rt, blocks, nb, arrays, na);
    for (size_t i = 0; i < left; i++)
        om_object_release(p->block[i]);
    p->n = 0;
}

/* o: a member just out of the table, GC_COLLECTING. */
static inline void plain_take(plain *p, om_object *o)
{
    om_incref(o); /* the hold */
    if (!detach_plain(&p->lay, o, p->refs)) {
        p->later->items[p->later->len++] = o; /* cleared when every member is held */
        return;
    }
    p->block[p->n++] = o;
    if (p->n == GC_FREE_BLOCK)
        plain_flush(p);
}

void gc_plain_free(gc_state *st, gc_table *t, uint32_t *refs, gc_vec *later, bool compact)
{
    enum { AHEAD = 8 };
    plain p = {.st = st, .lay = st->layouts, .refs = refs, .later = later};
    size_t w = 0, nu = 0, len = t->len;
    later->len = 0;
    hp_heap_bulk_begin(st->rt->heap); /* pages go back once, at the end */
    hp_heap_bulk_begin(st->rt->mem);
    for (size_t base = 0; base < len; base += GC_CHUNK) { /* a chunk at a time */
        om_object **objs = t->chunks[base >> GC_CHUNK_SHIFT]->objs;
        const uint32_t *marks = refs + base;
        size_t end = len - base < GC_CHUNK ? len - base : GC_CHUNK;
        for (size_t slot = 0; slot < end; slot++) {
            __builtin_prefetch(objs[(slot + AHEAD) & (GC_CHUNK - 1)], 1); /* never faults */
            om_object *o = objs[slot];
            if (!o)
                continue;
            if (marks[slot] == GC_OLD_MARK) { /* alive */
                if (compact && w != base + slot) {
                    *gc_slot(t, w) = o;
                    refs[w] = GC_OLD_MARK;
                    gc_set_scratch(o, (uint32_t)w);
                }
                w++;
                continue;
            }
            objs[slot] = NULL;
            o->ob_gc = (o->ob_gc & ((1u << OM_GC_SCRATCH_SHIFT) - 1) & ~GC_WATCHED) | GC_COLLECTING;
            nu++;
            plain_take(&p, o);
        }
    }
    if (compact) {
        t->len = w;
        t->tombstones = 0;
    } else {
        t->tombstones += nu;
    }
    plain_flush(&p);
    for (size_t i = 0; i < later->len; i++)
        clear_member(&p.lay, later->items[i], false); /* an emptied list or tuple: nothing */
    for (size_t i = 0; i < later->len; i++)
        release_member(st, later->items[i]);
    later->len = 0;
    hp_heap_bulk_end(st->rt->mem);
    hp_heap_bulk_end(st->rt->heap);
}

/* After: U is empty; its members were cleared and freed (or, with
 * OM_GC_DEBUG_SAVEALL, handed to the garbage list; or, with later, moved
 * there for gc_free_step). */
static void delete_garbage(gc_state *st, gc_vec *u, gc_result *res, gc_vec *later)
{
    res->collected += u->len;
    if (st->debug & OM_GC_DEBUG_SAVEALL) {
        for (size_t i = 0; i < u->len; i++) {
            gc_promote(st, u->items[i], GC_GEN_OLD);
            save(st, u->items[i]);
        }
        u->len = 0;
        return;
    }
    if (later && later->len == 0 && later->cap < u->len) {
        gc_vec tmp = *later; /* swap: later takes U's array, U keeps a spare */
        *later = *u;
        *u = tmp;
        u->len = 0;
        return;
    }
    size_t need = later ? later->len + u->len : 0, grown = later ? 2 * later->cap : 0;
    if (later && gc_vec_reserve(later, need <= later->cap || need > grown ? need : grown) == 0) {
        for (size_t i = 0; i < u->len; i++)
            later->items[later->len++] = u->items[i];
        u->len = 0;
        return;
    } /* no memory to defer: freed now */
    gc_free_pos pos = {0, 0};
    gc_free_step(st, u, &pos, SIZE_MAX);
}

void gc_handle_unreachable(gc_state *st, gc_vec *u, gc_vec *stack, unsigned promote_to,
                           gc_result *res, gc_vec *later, gc_survey s)
{
    if (s.legacy)
        move_legacy(st, u, stack, res);
    bool user_code = s.weakrefs && handle_weakrefs(st, u);
    if (s.finalizers)
        user_code |= finalize(u);
    if (user_code)
        resurrect(st, u, stack, promote_to);
    delete_garbage(st, u, res, later);
}
