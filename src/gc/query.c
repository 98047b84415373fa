/*
 * gc/query.c: questions about objects and generations, and freeze.
 *
 * Everything here that looks at "all objects" walks the runtime's object
 * heap (no lists exist), so it costs O(live objects) and cannot run while
 * the object layer is releasing objects (their headers are not valid then):
 * it fails with a message instead.
 *
 * The visitors gather what they found into a list first and take a
 * reference to each object, then call the visitor function, then drop the
 * references: the visitor may allocate and run any code.
 */
#include <stdlib.h>

#include "gc/state.h"

int om_gc_is_tracked(const om_object *o)
{
    return gc_is_tracked(o);
}

int om_gc_is_finalized(const om_object *o)
{
    return (o->ob_gc & OM_GC_FINALIZED) != 0;
}

/* A tracked object of the program's graph.  Garbage that an incremental
 * cycle holds between slices (GC_COLLECTING: verified, finalized, maybe
 * cleared already) is not: it is never listed, so user code cannot take it
 * back. */
static bool listable(void *block)
{
    const om_object *o = block;
    return ob_is_object(block) && gc_is_tracked(o) && !(o->ob_gc & GC_COLLECTING);
}

static int can_walk(const om_runtime *rt, const char *what)
{
    if (ob_releasing(rt) || gc_of(rt)->collecting) {
        om_set_error("gc: %s cannot run while objects are being released or collected", what);
        return 0;
    }
    return 1;
}

/* Calls fn on each gathered object, holding a reference to each meanwhile. */
static int visit_gathered(gc_vec *v, gc_object_fn fn, void *arg)
{
    int rc = 0;
    for (size_t i = 0; i < v->len; i++)
        om_incref(v->items[i]);
    for (size_t i = 0; i < v->len && rc == 0; i++)
        rc = fn(v->items[i], arg);
    for (size_t i = 0; i < v->len; i++)
        om_decref(v->items[i]);
    gc_vec_free(v);
    return rc;
}

/* ---- objects of a generation --------------------------------------------------------- */
typedef struct gather_gen {
    int gen; /* -1: all */
    gc_vec found;
    int failed;
} gather_gen;

static int gather_gen_block(void *block, size_t size, void *arg)
{
    gather_gen *g = arg;
    om_object *o = block;
    (void)size;
    if (!listable(block))
        return 0;
    if (g->gen >= 0 && gc_gen(o) != (unsigned)g->gen)
        return 0;
    if (gc_vec_push(&g->found, o) != 0) {
        g->failed = 1;
        return 1;
    }
    return 0;
}

int gc_visit_objects(om_runtime *rt, int generation, gc_object_fn fn, void *arg)
{
    if (generation < -1 || generation > (int)GC_GEN_FROZEN) {
        om_set_error("gc: invalid generation %d (0, 1, 2, or -1 for all)", generation);
        return -1;
    }
    if (!can_walk(rt, "get_objects"))
        return -1;
    gather_gen g = {.gen = generation};
    hp_heap_walk(rt->heap, gather_gen_block, &g);
    if (g.failed) {
        gc_vec_free(&g.found);
        return -1;
    }
    return visit_gathered(&g.found, fn, arg);
}

/* ---- referrers ------------------------------------------------------------------------ */
typedef struct gather_referrers {
    om_object *const *targets; /* sorted when n > REFERRER_SCAN */
    size_t n;
    bool hit;
    gc_vec found;
    int failed;
} gather_referrers;

/* Up to this many targets a linear scan beats sorting. */
#define REFERRER_SCAN 8

static int compare_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (om_object *const *)a, y = (uintptr_t) * (om_object *const *)b;
    return x < y ? -1 : x > y;
}

static bool is_target(const gather_referrers *g, const om_object *o)
{
    if (g->n <= REFERRER_SCAN) {
        for (size_t i = 0; i < g->n; i++)
            if (g->targets[i] == o)
                return true;
        return false;
    }
    return bsearch(&o, g->targets, g->n, sizeof *g->targets, compare_ptr) != NULL;
}

static int referrer_visit(om_object *child, void *arg)
{
    gather_referrers *g = arg;
    if (child && is_target(g, child)) {
        g->hit = true;
        return 1; /* one hit is enough */
    }
    return 0;
}

static int gather_referrer_block(void *block, size_t size, void *arg)
{
    gather_referrers *g = arg;
    om_object *o = block;
    (void)size;
    if (!listable(block) || !o->ob_type->traverse)
        return 0;
    g->hit = false;
    o->ob_type->traverse(o, referrer_visit, g);
    if (g->hit && gc_vec_push(&g->found, o) != 0) {
        g->failed = 1;
        return 1;
    }
    return 0;
}

int gc_visit_referrers(om_runtime *rt, om_object *const *objs, size_t n, gc_object_fn fn, void *arg)
{
    if (!can_walk(rt, "get_referrers"))
        return -1;
    gather_referrers g = {.targets = objs, .n = n};
    gc_vec sorted = {0};
    if (n > REFERRER_SCAN) {
        if (gc_vec_reserve(&sorted, n) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            sorted.items[i] = objs[i];
        qsort(sorted.items, n, sizeof *sorted.items, compare_ptr);
        g.targets = sorted.items;
    }
    if (n > 0)
        hp_heap_walk(rt->heap, gather_referrer_block, &g);
    gc_vec_free(&sorted);
    if (g.failed) {
        gc_vec_free(&g.found);
        return -1;
    }
    return visit_gathered(&g.found, fn, arg);
}

/* ---- referents ------------------------------------------------------------------------- */
typedef struct gather_children {
    gc_vec found;
    int failed;
} gather_children;

static int referent_visit(om_object *child, void *arg)
{
    gather_children *g = arg;
    if (child && gc_vec_push(&g->found, child) != 0) {
        g->failed = 1;
        return 1;
    }
    return 0;
}

int gc_visit_referents(om_object *o, gc_object_fn fn, void *arg)
{
    gather_children g = {0};
    if (o->ob_type->traverse)
        o->ob_type->traverse(o, referent_visit, &g);
    if (g.failed) {
        gc_vec_free(&g.found);
        return -1;
    }
    return visit_gathered(&g.found, fn, arg);
}

/* ---- garbage ----------------------------------------------------------------------------- */
int gc_visit_garbage(om_runtime *rt, gc_object_fn fn, void *arg)
{
    gc_state *st = gc_of(rt);
    gc_vec copy = {0};
    if (gc_vec_reserve(&copy, st->garbage.len ? st->garbage.len : 1) != 0)
        return -1;
    for (size_t i = 0; i < st->garbage.len; i++)
        copy.items[i] = st->garbage.items[i];
    copy.len = st->garbage.len;
    return visit_gathered(&copy, fn, arg);
}

/* ---- freeze ------------------------------------------------------------------------------- */
typedef struct move_gen {
    gc_state *st;
    unsigned from; /* a bit per generation to move: 1u << gen */
    unsigned to;
    size_t moved;
} move_gen;

static int move_block(void *block, size_t size, void *arg)
{
    move_gen *m = arg;
    om_object *o = block;
    (void)size;
    if (ob_is_object(block) && gc_is_tracked(o) && (m->from & (1u << gc_gen(o)))) {
        gc_promote(m->st, o, m->to);
        m->moved++;
    }
    return 0;
}

void om_gc_freeze(om_runtime *rt)
{
    gc_state *st = gc_of(rt);
    if (!can_walk(rt, "freeze"))
        return;
    if (st->inc)
        gc_inc_abort(st);
    gc_table_drop(&st->mid); /* frozen objects leave the tables */
    gc_table_drop(&st->old);
    move_gen m = {.st = st, .from = 0x7, .to = GC_GEN_FROZEN};
    hp_heap_walk(rt->heap, move_block, &m);
    rt->young_count = 0;
    gc_update_trigger(st);
}

void om_gc_unfreeze(om_runtime *rt)
{
    if (!can_walk(rt, "unfreeze"))
        return;
    move_gen m = {.st = gc_of(rt), .from = 1u << GC_GEN_FROZEN, .to = GC_GEN_OLD};
    hp_heap_walk(rt->heap, move_block, &m);
    gc_of(rt)->long_lived_pending += m.moved;
}

static int count_frozen(void *block, size_t size, void *arg)
{
    om_object *o = block;
    (void)size;
    if (ob_is_object(block) && gc_is_tracked(o) && gc_gen(o) == GC_GEN_FROZEN)
        ++*(size_t *)arg;
    return 0;
}

size_t om_gc_get_freeze_count(om_runtime *rt)
{
    size_t n = 0;
    if (can_walk(rt, "get_freeze_count"))
        hp_heap_walk(rt->heap, count_frozen, &n);
    return n;
}
