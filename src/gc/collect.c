/*
 * gc/collect.c: one atomic collection of generations 0..g.
 *
 * STRATEGY.  Trial deletion (the algorithm of CPython's collector, after
 * Bacon and Rajan's "Concurrent Cycle Collection in Reference Counted
 * Systems", 2001), with the candidates found in the heap and the generation
 * tables instead of lists threaded through the objects: the header has no
 * links (16 bytes per object, not 32).  A full collection whose tables are
 * complete goes to gc/full.c instead (the same algorithm over arrays beside
 * the old table, no candidate's header written); this file does the young
 * collections, and the full ones that must walk the heap.
 *
 *     gather           the dirty pools (a young collection; all pools for a
 *                      full one) and the table of generation 1; every
 *                      tracked object of generation <= g becomes a
 *                      candidate: GC_COLLECTING, gc_refs = refcnt
 *     subtract_refs    each candidate's references to other candidates are
 *                      subtracted: gc_refs = references from outside
 *     mark_and_sort    from every candidate with gc_refs > 0, mark
 *                      (GC_REACHABLE) all candidates it reaches, with an
 *                      explicit stack, promoting each as it is traversed;
 *                      those with gc_refs = 0 are put aside, and what no
 *                      later root reaches is U, held (gc_hold) as it is
 *                      packed at the front of the list; immutable
 *                      containers of atomic objects are untracked on the way
 *     (gc/trash.c)     U is garbage: weak references, finalizers,
 *                      resurrection, legacy finalizers, clear, free
 *
 *     mid table             heap (dirty pools)      candidates (gc_vec)
 *     +---+---+---+         +-----+------+-----+     +---+---+---+---+---+
 *     | a | b | c |  ---+   | obj | free | obj | --> | y | z | a | b | c |
 *     +---+---+---+     |   +-----+------+-----+     +---+---+---+---+---+
 *                       +------------ gather ------------->   | U U |  sort
 *
 * Lists and tuples are traversed in place (their layouts are registered by
 * the types layer, gc/gc.h): no call per object or per reference; other
 * types through their traverse hook.
 *
 * References from objects that are not candidates (older generations, C
 * locals, untracked objects) are not subtracted, so they count as external:
 * a young collection needs no write barrier, at the price of keeping young
 * trash that only old trash refers to until an older collection.
 *
 * NUMBERS.  Per candidate: one traverse in subtract, at most one in mark
 * (the loop over the candidates stops once every one is promoted or put
 * aside: after the root of a connected live heap it reads nothing more),
 * one hold for each member of U; 8 bytes of list and 8 of mark stack, kept
 * between collections.  A list's items are pushed last to first, so
 * survivors are promoted, and the tables ordered, the way the program
 * built its containers: later collections then read the heap upwards, in
 * the direction the hardware prefetches best (about 20% faster on the
 * benchmark's graph than the reverse order).  No user code runs before U
 * is known, so nothing can change the graph while the collector decides
 * what is garbage.
 */
#include <errno.h>

#include "gc/state.h"

typedef struct collection {
    gc_state *st;
    unsigned gen;  /* collecting generations 0..gen */
    gc_vec cands;  /* every candidate */
    gc_vec stack;  /* the mark stack, reserved for every candidate */
    int failed;    /* gather ran out of memory */
    size_t looked; /* heap blocks and table entries gather looked at */
} collection;

/* ---- gather: candidates get GC_COLLECTING and gc_refs = refcnt ----------------- */
/* Makes o a candidate, with room on the list already made (it loses
 * GC_WATCHED: its table entry is dropped wholesale at the end of gather). */
static inline void enlist_reserved(gc_vec *cands, om_object *o)
{
    uint32_t refs = o->ob_refcnt < GC_REFS_MAX ? o->ob_refcnt : GC_REFS_MAX;
    cands->items[cands->len++] = o;
    o->ob_gc = (o->ob_gc & ((1u << OM_GC_SCRATCH_SHIFT) - 1 - GC_WATCHED)) | GC_COLLECTING |
               (refs << OM_GC_SCRATCH_SHIFT);
}

/* The same where the list may have to grow.  0, or -1 when it cannot. */
static int enlist(collection *c, om_object *o)
{
    if (OM_UNLIKELY(c->cands.len == c->cands.cap) &&
        gc_vec_reserve(&c->cands, c->cands.cap ? c->cands.cap * 2 : 1024) != 0) {
        c->failed = 1;
        return -1;
    }
    enlist_reserved(&c->cands, o);
    return 0;
}

static int gather_block(void *block, size_t size, void *arg)
{
    collection *c = arg;
    om_object *o = block;
    (void)size;
    c->looked++;
    if (!ob_is_object(block) || !gc_is_tracked(o))
        return 0;
    if (gc_gen(o) > c->gen || (o->ob_gc & GC_COLLECTING))
        return 0;
    return enlist(c, o) != 0;
}

/* Every entry of t, a chunk at a time, the headers a few entries ahead
 * fetched early: a table is a dense array, so this costs a fraction of a
 * heap walk (no free blocks, no call per block). */
static void gather_table(collection *c, gc_table *t)
{
    enum { AHEAD = 8 };
    size_t n = t->len;
    c->looked += n;
    if (n == 0 || c->failed)
        return;
    if (gc_vec_reserve(&c->cands, c->cands.len + n) != 0) {
        c->failed = 1;
        return;
    }
    for (size_t base = 0; base < n; base += GC_CHUNK) {
        om_object *const *objs = t->chunks[base >> GC_CHUNK_SHIFT]->objs;
        size_t m = n - base < GC_CHUNK ? n - base : GC_CHUNK;
        for (size_t j = 0; j < m; j++) {
            if (j + AHEAD < m && objs[j + AHEAD])
                __builtin_prefetch(objs[j + AHEAD], 1);
            om_object *o = objs[j];
            if (o && !(o->ob_gc & GC_COLLECTING))
                enlist_reserved(&c->cands, o);
        }
    }
}

/* Undoes gather after a failure: every candidate back as it was, except
 * that the tables it emptied stay empty (their objects only miss some young
 * or incremental collections until a heap walk finds them again). */
static void release_candidates(collection *c)
{
    for (size_t i = 0; i < c->cands.len; i++) {
        om_object *o = c->cands.items[i];
        gc_settle(o, gc_gen(o));
    }
    c->cands.len = 0;
    if (c->gen >= 1) {
        gc_table_drop(&c->st->mid);
        c->st->mid.incomplete = 1;
    }
    if (c->gen == GC_GEN_OLD) {
        gc_table_drop(&c->st->old);
        c->st->old.incomplete = 1;
    }
}

/* A full collection may take its candidates from the tables (plus the
 * young objects of the dirty pools) when they hold every object of their
 * generations (gc/full.c).  Tracked objects in no table and outside the
 * dirty pools (a young object recycled from a free list) are found through
 * the references of the others; the demo's report test checks, on a
 * workload that has them, that a second full collection finds nothing more. */
static bool tables_complete(const gc_state *st)
{
    return st->old.on && !st->old.incomplete && !st->mid.incomplete;
}

/* After: every tracked object of generation <= gen in the dirty pools (all
 * pools for gen 2) or in the tables of the collected generations is on
 * c->cands with GC_COLLECTING and gc_refs = min(refcnt, GC_REFS_MAX); those
 * tables are empty (and complete again: the survivors refill them); the
 * heap's dirty list is empty; the mark stack has room for every candidate.
 * 0, or -1 with nothing changed but emptied tables. */
static int gather(collection *c, hp_heap *heap)
{
    gc_state *st = c->st;
    if (c->gen == GC_GEN_OLD)
        hp_heap_walk(heap, gather_block, c);
    else
        hp_heap_walk_dirty(heap, gather_block, c);
    if (c->gen >= 1)
        gather_table(c, &st->mid);
    if (!c->failed && gc_vec_reserve(&c->stack, c->cands.len) != 0)
        c->failed = 1;
    if (c->failed) {
        release_candidates(c);
        return -1;
    }
    hp_heap_clear_dirty(heap);
    if (c->gen >= 1) { /* every entry was gathered, losing GC_WATCHED */
        st->mid.len = 0;
        st->mid.tombstones = 0;
        st->mid.incomplete = 0;
    }
    if (c->gen == GC_GEN_OLD) {
        st->old.len = 0; /* rebuilt from the survivors */
        st->old.tombstones = 0;
        st->old.incomplete = 0;
    }
    return 0;
}

/* ---- subtract_refs --------------------------------------------------------------- */
/* A candidate child's gc_refs drops by one. */
static inline void subtract_one(om_object *child)
{
    if (!child)
        return;
    uint32_t g = child->ob_gc;
    if (!(g & GC_COLLECTING))
        return;
    uint32_t refs = g >> OM_GC_SCRATCH_SHIFT;
    if (refs == GC_REFS_MAX)
        return; /* too many to count: stays "referenced from outside" */
    if (OM_UNLIKELY(refs == 0))
        om_fatal("gc: object %p of type %s is referred to more often than its reference "
                 "count %u says (a missing incref?)",
                 (void *)child, child->ob_type->name, child->ob_refcnt);
    child->ob_gc = g - (1u << OM_GC_SCRATCH_SHIFT);
}

int gc_subtract_visit(om_object *child, void *arg)
{
    (void)arg;
    subtract_one(child);
    return 0;
}

/* Subtracts the references of cands[0..n) from the counts of the
 * candidates they refer to. */
static void subtract_range(collection *c, size_t n)
{
    enum { AHEAD = 8 };
    const gc_layouts lay = c->st->layouts;
    om_object *const *cands = c->cands.items;
    for (size_t i = 0; i < n; i++) {
        if (i + AHEAD < n)
            __builtin_prefetch(cands[i + AHEAD]);
        om_object *o = cands[i];
        size_t k;
        om_object *const *items;
        if (gc_items(&lay, o, &items, &k)) {
            for (size_t j = 0; j < k; j++)
                subtract_one(items[j]);
        } else if (o->ob_type->traverse) {
            o->ob_type->traverse(o, gc_subtract_visit, NULL);
        }
    }
}

/* After: each candidate's gc_refs counts the references to it from outside
 * the candidates (C locals, older objects, untracked containers). */
static void subtract_refs(collection *c)
{
    subtract_range(c, c->cands.len);
}

/* ---- mark_reachable and sort ---------------------------------------------------------- */
typedef struct mark_arg {
    gc_vec *stack;
    bool all_atomic; /* every child so far can never take part in a cycle */
} mark_arg;

/* An unmarked candidate child is marked and pushed. */
static inline void mark_child(om_object *child, gc_vec *stack)
{
    if ((child->ob_gc & (GC_COLLECTING | GC_REACHABLE)) == GC_COLLECTING) {
        child->ob_gc |= GC_REACHABLE;
        stack->items[stack->len++] = child; /* reserved: one slot per candidate */
    }
}

static int mark_one(om_object *child, void *arg)
{
    mark_arg *m = arg;
    if (!child)
        return 0;
    if (m->all_atomic && !gc_is_atomic(child))
        m->all_atomic = false;
    mark_child(child, m->stack);
    return 0;
}

/* mark_child on the stack top (a local of the loop, not the vector). */
static inline om_object **push_unmarked(om_object *child, om_object **top)
{
    uint32_t g = child->ob_gc;
    if ((g & (GC_COLLECTING | GC_REACHABLE)) == GC_COLLECTING) {
        child->ob_gc = g | GC_REACHABLE;
        *top++ = child; /* reserved: one slot per candidate */
    }
    return top;
}

/* Traverses a reachable candidate, marking what it reaches and pushing it
 * above top (stack's array); returns the new top.  Untracks the candidate
 * when it is immutable and holds only atomic objects (a tuple of ints and
 * strs). */
static inline om_object **scan_reachable(const gc_layouts *lay, om_object *o, om_object **top,
                                         gc_vec *stack)
{
    const om_type *t = o->ob_type;
    bool immutable = (t->flags & OM_TYPE_IMMUTABLE) != 0;
    size_t k;
    om_object *const *items;
    if (gc_items(lay, o, &items, &k)) {
        if (!immutable) { /* pushed last to first: popped, and promoted, in order */
            for (size_t j = k; j-- > 0;)
                if (items[j])
                    top = push_unmarked(items[j], top);
            return top;
        }
        bool all_atomic = true;
        for (size_t j = k; j-- > 0;) {
            om_object *child = items[j];
            if (!child)
                continue;
            if (all_atomic && !gc_is_atomic(child))
                all_atomic = false;
            top = push_unmarked(child, top);
        }
        if (all_atomic)
            o->ob_gc &= ~OM_GC_TRACKED;
        return top;
    }
    if (!t->traverse)
        return top;
    stack->len = (size_t)(top - stack->items);
    mark_arg m = {.stack = stack, .all_atomic = true};
    t->traverse(o, mark_one, &m);
    if (m.all_atomic && immutable)
        o->ob_gc &= ~OM_GC_TRACKED;
    return stack->items + stack->len;
}

/* gc_promote for the loop of mark_and_sort: the table of the generation
 * survivors enter (NULL: it keeps none), its length kept here while the
 * loop runs (promoter_sync writes it back), and how far it can grow before
 * gc_promote must be asked (a new chunk, or compaction due; tombstones do
 * not change while the collector decides, so the limit holds until then;
 * 0 without a table). */
typedef struct promoter {
    gc_state *st;
    gc_table *t;
    size_t len, limit;
    unsigned gen;
} promoter;

static void promoter_load(promoter *p)
{
    gc_table *t = p->t;
    p->len = t ? t->len : 0;
    p->limit = t && t->tombstones <= t->len / 2 ? t->cap : 0;
}

static void promoter_sync(promoter *p)
{
    if (p->t)
        p->t->len = p->len;
}

static promoter promoter_of(gc_state *st, unsigned gen)
{
    promoter p = {.st = st, .gen = gen};
    if (gen == 1)
        p.t = &st->mid;
    else if (gen == GC_GEN_OLD && st->old.on)
        p.t = &st->old;
    promoter_load(&p);
    return p;
}

/* After: o (whose gc word is g) is clean, in generation p->gen, in its
 * table if it is tracked. */
static inline void promote_one(promoter *p, om_object *o, uint32_t g)
{
    if (p->len < p->limit && (g & OM_GC_TRACKED)) {
        size_t i = p->len++;
        gc_chunk *chunk = p->t->chunks[i >> GC_CHUNK_SHIFT];
        chunk->objs[i & (GC_CHUNK - 1)] = o; /* refs[i]: written by a cycle's update */
        o->ob_gc = (g & (OM_GC_TRACKED | OM_GC_FINALIZED | OM_GC_WEAKREFS)) |
                   (p->gen << OM_GC_GEN_SHIFT) | GC_WATCHED | ((uint32_t)i << OM_GC_SCRATCH_SHIFT);
        return;
    }
    promoter_sync(p);
    gc_promote(p->st, o, p->gen);
    promoter_load(p);
}

/* mark_reachable and sort in one pass, like CPython's move_unreachable: a
 * candidate with gc_refs > 0 is marked (GC_REACHABLE) with all it reaches,
 * each promoted as soon as it is traversed; one with gc_refs = 0 is put
 * aside as tentatively unreachable (GC_WATCHED, free during a collection,
 * says so), and a later root may still reach it.  The pass ends as soon as
 * every candidate is promoted or put aside: after a root that reaches the
 * rest, the rest is not read again.  After: survivors are clean and in
 * generation `promote` (in its table); c->cands holds only U, the
 * unreachable candidates (still GC_COLLECTING), each held once by the
 * collector, with *s noting what they need.  Returns the number of
 * survivors. */
static size_t mark_and_sort(collection *c, unsigned promote, gc_survey *s)
{
    enum { AHEAD = 16 };
    gc_state *st = c->st;
    const gc_layouts lay = st->layouts;
    promoter p = promoter_of(st, promote);
    gc_vec *stack = &c->stack;
    om_object **cands = c->cands.items;
    size_t n = c->cands.len, nu = 0, survivors = 0;
    size_t aside_reached = 0; /* put aside, then promoted */
    size_t settled = 0;       /* cands[settled..nu) were put aside after the last root */
    for (size_t i = 0; i < n; i++) {
        if (i + AHEAD < n)
            __builtin_prefetch(cands[i + AHEAD]);
        om_object *root = cands[i];
        uint32_t g = root->ob_gc;
        if (!(g & GC_COLLECTING))
            continue; /* reached and promoted already */
        if ((g >> OM_GC_SCRATCH_SHIFT) == 0) {
            root->ob_gc = g | GC_WATCHED;
            cands[nu++] = root; /* i >= nu: nothing unread is overwritten */
            continue;
        }
        settled = nu;
        root->ob_gc = g | GC_REACHABLE;
        om_object **base = stack->items, **top = base;
        *top++ = root;
        while (top != base) {
            om_object *o = *--top;
            top = scan_reachable(&lay, o, top, stack);
            uint32_t og = o->ob_gc;
            aside_reached += (og & GC_WATCHED) != 0;
            promote_one(&p, o, og);
            survivors++;
        }
        if (survivors + nu - aside_reached == n)
            break; /* every candidate is promoted or put aside */
    }
    promoter_sync(&p);
    stack->len = 0;
    /* U: those put aside that no later root reached, each held (gc_hold).
     * A later root can only have reached those put aside before it. */
    size_t nun = 0;
    for (size_t i = 0; i < nu; i++) {
        om_object *o = cands[i];
        if (i < settled && !(o->ob_gc & GC_COLLECTING))
            continue;
        o->ob_gc &= ~GC_WATCHED;
        gc_hold(o, s);
        cands[nun++] = o;
    }
    c->cands.len = nun;
    return survivors;
}

/* mark_and_sort, then the unreachable set to gc/trash.c. */
static void decide(collection *c, unsigned promote, gc_result *res, gc_vec *later)
{
    gc_survey s = {false, false, false};
    res->survivors += mark_and_sort(c, promote, &s);
    if (c->cands.len)
        gc_handle_unreachable(c->st, &c->cands, &c->stack, promote, res, later, s);
    c->cands.len = 0;
}

void gc_collect_candidates(gc_state *st, gc_vec *cands, gc_vec *stack, unsigned promote,
                           gc_result *res, gc_vec *later)
{
    collection c = {.st = st, .cands = *cands, .stack = *stack};
    subtract_refs(&c);
    decide(&c, promote, res, later);
    *cands = c.cands;
    *stack = c.stack;
}

/* The work lists stay with the state between collections (their pages
 * stay mapped: no page faults next time), unless they are far larger than
 * the last collection needed. */
static void keep_lists(gc_state *st, collection *c, size_t used)
{
    if (c->cands.cap > GC_KEEP_MIN && c->cands.cap / 4 > used) {
        gc_vec_free(&c->cands);
        gc_vec_free(&c->stack);
    }
    c->cands.len = c->stack.len = 0;
    st->spare_cands = c->cands;
    st->spare_stack = c->stack;
}

int gc_collect_atomic(gc_state *st, int gen, gc_result *res)
{
    if (gen == GC_GEN_OLD && tables_complete(st))
        return gc_full_collect(st, res);
    om_runtime *rt = st->rt;
    collection c = {
        .st = st, .gen = (unsigned)gen, .cands = st->spare_cands, .stack = st->spare_stack};
    st->spare_cands = st->spare_stack = (gc_vec){0};
    *res = (gc_result){0};
    if (gather(&c, rt->heap) != 0) {
        keep_lists(st, &c, 0);
        return -1;
    }
    subtract_refs(&c);
    unsigned promote = c.gen + 1 < GC_GEN_OLD ? c.gen + 1 : GC_GEN_OLD;
    res->candidates = c.cands.len;
    st->work += c.looked + GC_PASSES * c.cands.len;
    decide(&c, promote, res, NULL);
    keep_lists(st, &c, res->candidates);
    return 0;
}
