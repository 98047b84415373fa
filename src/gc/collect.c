/*
 * gc/collect.c: one atomic collection of generations 0..g.
 *
 * STRATEGY.  Trial deletion (the algorithm of CPython's collector, after
 * Bacon and Rajan's "Concurrent Cycle Collection in Reference Counted
 * Systems", 2001), with the candidates found by walking the heap instead of
 * following lists: the header has no links (16 bytes per object, not 32).
 *
 *     gather           walk the heap (only the dirty pools for a young
 *                      collection, plus the table of generation 1); every
 *                      tracked object of generation <= g becomes a
 *                      candidate: GC_COLLECTING, gc_refs = refcnt
 *     subtract_refs    each candidate's references to other candidates are
 *                      subtracted: gc_refs = references from outside
 *     mark_reachable   from every candidate with gc_refs > 0, mark
 *                      (GC_REACHABLE) all candidates it reaches, with an
 *                      explicit stack; immutable containers of atomic
 *                      objects are untracked on the way
 *     sort             survivors leave (clean bits, next generation); the
 *                      unmarked rest, U, is packed at the front of the list
 *     (gc/trash.c)     U is garbage: weak references, finalizers,
 *                      resurrection, legacy finalizers, clear, free
 *
 *           heap (pools)                 candidates (gc_vec, om_malloc)
 *     +------+------+------+          +---+---+---+---+---+---+
 *     | obj  | free | obj  |  ----->  | a | b | c | d | e | f |   gather
 *     +------+------+------+          +---+---+---+---+---+---+
 *                                     | U U U |   (packed)      sort
 *
 * References from objects that are not candidates (older generations, C
 * locals, untracked objects) are not subtracted, so they count as external:
 * a young collection needs no write barrier, at the price of keeping young
 * trash that only old trash refers to until an older collection.
 *
 * NUMBERS.  Per candidate: one heap-walk visit, one traverse in subtract,
 * at most one traverse in mark, one pass in sort; 8 bytes of list and 8 of
 * mark stack while the collection runs, freed at its end.  No user code
 * runs before sort has finished, so nothing can change the graph while the
 * collector decides what is garbage.
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
/* Makes o a candidate (it loses GC_WATCHED: its table entry is dropped
 * wholesale at the end of gather).  0, or -1 when the list cannot grow. */
static int enlist(collection *c, om_object *o)
{
    if (gc_vec_push(&c->cands, o) != 0) {
        c->failed = 1;
        return -1;
    }
    uint32_t refs = o->ob_refcnt < GC_REFS_MAX ? o->ob_refcnt : GC_REFS_MAX;
    o->ob_gc = (o->ob_gc & ~GC_WATCHED) | GC_COLLECTING;
    gc_set_scratch(o, refs);
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

/* Generation 1 lives in the mid table, not (only) in the dirty pools. */
static void gather_mid(collection *c)
{
    gc_table *t = &c->st->mid;
    c->looked += t->len;
    for (size_t i = 0; i < t->len && !c->failed; i++) {
        om_object *o = *gc_slot(t, i);
        if (o && !(o->ob_gc & GC_COLLECTING))
            enlist(c, o);
    }
}

/* Undoes gather after a failure: every candidate back as it was, except
 * that the tables it emptied stay empty (their objects only miss some young
 * or incremental collections: conservative). */
static void release_candidates(collection *c)
{
    for (size_t i = 0; i < c->cands.len; i++) {
        om_object *o = c->cands.items[i];
        gc_settle(o, gc_gen(o));
    }
    c->cands.len = 0;
    if (c->gen >= 1)
        gc_table_drop(&c->st->mid);
    if (c->gen == GC_GEN_OLD)
        gc_table_drop(&c->st->old);
}

/* After: every tracked object of generation <= gen in the dirty pools (all
 * pools for gen 2) or in the tables of the collected generations is on
 * c->cands with GC_COLLECTING and gc_refs = min(refcnt, GC_REFS_MAX); those
 * tables are empty; the heap's dirty list is empty.  0, or -1 with nothing
 * changed but emptied tables. */
static int gather(collection *c, hp_heap *heap)
{
    if (c->gen == GC_GEN_OLD)
        hp_heap_walk(heap, gather_block, c);
    else
        hp_heap_walk_dirty(heap, gather_block, c);
    if (c->gen >= 1)
        gather_mid(c);
    if (!c->failed && gc_vec_reserve(&c->stack, c->cands.len) != 0)
        c->failed = 1;
    if (c->failed) {
        release_candidates(c);
        return -1;
    }
    hp_heap_clear_dirty(heap);
    if (c->gen >= 1) { /* every entry was gathered, losing GC_WATCHED */
        c->st->mid.len = 0;
        c->st->mid.tombstones = 0;
    }
    if (c->gen == GC_GEN_OLD) {
        c->st->old.len = 0; /* rebuilt from the survivors */
        c->st->old.tombstones = 0;
    }
    return 0;
}

/* ---- subtract_refs --------------------------------------------------------------- */
int gc_subtract_visit(om_object *child, void *arg)
{
    (void)arg;
    if (!child || !(child->ob_gc & GC_COLLECTING))
        return 0;
    uint32_t refs = gc_scratch(child);
    if (refs == GC_REFS_MAX)
        return 0; /* too many to count: stays "referenced from outside" */
    if (OM_UNLIKELY(refs == 0))
        om_fatal("gc: object %p of type %s is referred to more often than its reference "
                 "count %u says (a missing incref?)",
                 (void *)child, child->ob_type->name, child->ob_refcnt);
    gc_set_scratch(child, refs - 1);
    return 0;
}

/* After: each candidate's gc_refs counts the references to it from outside
 * the candidates (C locals, older objects, untracked containers). */
static void subtract_refs(collection *c)
{
    for (size_t i = 0; i < c->cands.len; i++) {
        om_object *o = c->cands.items[i];
        if (o->ob_type->traverse)
            o->ob_type->traverse(o, gc_subtract_visit, NULL);
    }
}

/* ---- mark_reachable ------------------------------------------------------------------ */
typedef struct mark_arg {
    gc_vec *stack;
    bool all_atomic; /* every child so far can never take part in a cycle */
} mark_arg;

/* A child that can never be part of a cycle: not a GC type, or an untracked
 * immutable one (which never becomes tracked again). */
static bool is_atomic(const om_object *o)
{
    uint32_t f = o->ob_type->flags;
    return !(f & OM_TYPE_GC) || (!gc_is_tracked(o) && (f & OM_TYPE_IMMUTABLE));
}

static int mark_one(om_object *child, void *arg)
{
    mark_arg *m = arg;
    if (!child)
        return 0;
    if (m->all_atomic && !is_atomic(child))
        m->all_atomic = false;
    if ((child->ob_gc & (GC_COLLECTING | GC_REACHABLE)) == GC_COLLECTING) {
        child->ob_gc |= GC_REACHABLE;
        m->stack->items[m->stack->len++] = child; /* reserved: one slot per candidate */
    }
    return 0;
}

/* Traverses a reachable candidate, marking what it reaches; untracks it when
 * it is immutable and holds only atomic objects (a tuple of ints and strs). */
static void scan_reachable(om_object *o, gc_vec *stack)
{
    const om_type *t = o->ob_type;
    if (!t->traverse)
        return;
    mark_arg m = {.stack = stack, .all_atomic = true};
    t->traverse(o, mark_one, &m);
    if (m.all_atomic && (t->flags & OM_TYPE_IMMUTABLE))
        o->ob_gc &= ~OM_GC_TRACKED;
}

/* After: GC_REACHABLE is set on exactly the candidates that a reference
 * from outside the candidates leads to. */
static void mark_reachable(collection *c)
{
    gc_vec *stack = &c->stack;
    for (size_t i = 0; i < c->cands.len; i++) {
        om_object *root = c->cands.items[i];
        if (gc_scratch(root) == 0 || (root->ob_gc & GC_REACHABLE))
            continue;
        root->ob_gc |= GC_REACHABLE;
        stack->items[stack->len++] = root;
        while (stack->len)
            scan_reachable(stack->items[--stack->len], stack);
    }
}

/* ---- sort -------------------------------------------------------------------------- */
/* After: survivors are clean and in generation `promote` (in the old table
 * when that is 2); c->cands holds only U, the unreachable candidates (still
 * GC_COLLECTING).  Returns the number of survivors. */
static size_t sort(collection *c, unsigned promote)
{
    size_t nu = 0, n = c->cands.len;
    for (size_t i = 0; i < n; i++) {
        om_object *o = c->cands.items[i];
        if (o->ob_gc & GC_REACHABLE)
            gc_promote(c->st, o, promote);
        else
            c->cands.items[nu++] = o;
    }
    c->cands.len = nu;
    return n - nu;
}

void gc_collect_candidates(gc_state *st, gc_vec *cands, gc_vec *stack, unsigned promote,
                           gc_result *res, gc_vec *later)
{
    collection c = {.st = st, .cands = *cands, .stack = *stack};
    subtract_refs(&c);
    mark_reachable(&c);
    res->survivors += sort(&c, promote);
    if (c.cands.len)
        gc_handle_unreachable(st, &c.cands, &c.stack, promote, res, later);
    *cands = c.cands;
    *stack = c.stack;
    cands->len = 0;
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
    om_runtime *rt = st->rt;
    collection c = {
        .st = st, .gen = (unsigned)gen, .cands = st->spare_cands, .stack = st->spare_stack};
    st->spare_cands = st->spare_stack = (gc_vec){0};
    *res = (gc_result){0};
    if (gather(&c, rt->heap) != 0) {
        keep_lists(st, &c, 0);
        return -1;
    }
    unsigned promote = c.gen + 1 < GC_GEN_OLD ? c.gen + 1 : GC_GEN_OLD;
    res->candidates = c.cands.len;
    st->work += c.looked + GC_PASSES * c.cands.len;
    gc_collect_candidates(st, &c.cands, &c.stack, promote, res, NULL);
    keep_lists(st, &c, res->candidates);
    return 0;
}
