/*
 * inspect/graph.c: the census of a runtime and the graph of its references.
 *
 * Phases, each with what holds after it:
 *
 *   gather     one hp_heap_walk of the object heap: objs[] holds every live
 *              object (blocks parked on free lists are skipped), sizes[]
 *              their block sizes.  The walk only reads.
 *   index      an open-addressing table, at most half full, maps each
 *              object's address to its number (0 .. n-1).
 *   reverse    (when asked) two passes over every object's traverse hook:
 *              count the referrers of each object, then fill them in, so
 *              in_edges[in_off[i] .. in_off[i+1]) are the objects that
 *              refer to object i.  References to things that are not live
 *              objects of this runtime (immortals of another, C memory) are
 *              ignored.
 *
 * Costs: 16 bytes an object for objs and sizes, 24 for the index at half
 * load, 4 an edge plus 4 an object for the reverse edges: about 70 MB for a
 * million objects with two references each.  No recursion anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"
#include "inspect/inspect.h"

#define MIN_OBJECTS 256

static inline size_t slot_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

typedef struct gather {
    in_graph *g;
    size_t cap;
    bool failed;
} gather;

static int gather_one(void *block, size_t size, void *arg)
{
    gather *ga = arg;
    in_graph *g = ga->g;
    if (!ob_is_object(block))
        return 0;
    if (g->n == ga->cap) {
        size_t cap = ga->cap ? ga->cap * 2 : MIN_OBJECTS;
        om_object **objs = realloc(g->objs, cap * sizeof *objs);
        if (objs)
            g->objs = objs;
        size_t *sizes = objs ? realloc(g->sizes, cap * sizeof *sizes) : NULL;
        if (!sizes) {
            ga->failed = true;
            return 1;
        }
        g->sizes = sizes;
        ga->cap = cap;
    }
    g->objs[g->n] = block;
    g->sizes[g->n++] = size;
    return 0;
}

static int build_index(in_graph *g)
{
    size_t cap = 16;
    while (cap < g->n * 2)
        cap *= 2;
    g->keys = calloc(cap, sizeof *g->keys);
    g->vals = malloc(cap * sizeof *g->vals);
    if (!g->keys || !g->vals)
        return -1;
    g->cap = cap;
    for (size_t i = 0; i < g->n; i++) {
        uintptr_t key = (uintptr_t)g->objs[i];
        size_t j = slot_of(key, cap);
        while (g->keys[j])
            j = (j + 1) & (cap - 1);
        g->keys[j] = key;
        g->vals[j] = (uint32_t)i;
    }
    return 0;
}

uint32_t in_graph_find(const in_graph *g, const om_object *o)
{
    if (!o || !g->cap)
        return IN_NONE;
    for (size_t j = slot_of((uintptr_t)o, g->cap); g->keys[j]; j = (j + 1) & (g->cap - 1))
        if (g->keys[j] == (uintptr_t)o)
            return g->vals[j];
    return IN_NONE;
}

int in_referents(om_object *o, om_visitproc fn, void *arg)
{
    const om_type *t = o->ob_type;
    return t && t->traverse ? t->traverse(o, fn, arg) : 0;
}

typedef struct edges {
    in_graph *g;
    uint32_t from;
    bool fill;
} edges;

static int add_edge(om_object *child, void *arg)
{
    edges *e = arg;
    uint32_t to = in_graph_find(e->g, child);
    if (to == IN_NONE)
        return 0;
    if (e->fill)
        e->g->in_edges[e->g->in_off[to]++] = e->from;
    else
        e->g->in_off[to + 1]++;
    return 0;
}

static int build_reverse(in_graph *g)
{
    g->in_off = calloc(g->n + 2, sizeof *g->in_off);
    if (!g->in_off)
        return -1;
    edges e = {g, 0, false};
    for (e.from = 0; e.from < g->n; e.from++)
        in_referents(g->objs[e.from], add_edge, &e);
    for (size_t i = 1; i <= g->n; i++)
        g->in_off[i] += g->in_off[i - 1];
    g->in_edges = malloc((g->in_off[g->n] + 1) * sizeof *g->in_edges);
    if (!g->in_edges)
        return -1;
    e.fill = true; /* in_off[i] runs from the start of i's edges to its end */
    for (e.from = 0; e.from < g->n; e.from++)
        in_referents(g->objs[e.from], add_edge, &e);
    memmove(g->in_off + 1, g->in_off, g->n * sizeof *g->in_off);
    g->in_off[0] = 0;
    return 0;
}

int in_graph_build(in_graph *g, om_runtime *rt, bool referrers)
{
    memset(g, 0, sizeof *g);
    g->rt = rt;
    if (!rt) {
        om_set_error("objmem inspect: no runtime");
        return -1;
    }
    if (ob_releasing(rt)) {
        om_set_error("objmem inspect: not available while objects are being released");
        return -1;
    }
    gather ga = {g, 0, false};
    hp_heap_walk(rt->heap, gather_one, &ga);
    if (ga.failed || g->n >= IN_NONE || build_index(g) != 0 ||
        (referrers && build_reverse(g) != 0)) {
        in_graph_free(g);
        om_set_error("objmem inspect: out of memory for the object graph");
        return -1;
    }
    return 0;
}

void in_graph_free(in_graph *g)
{
    free(g->objs);
    free(g->sizes);
    free(g->keys);
    free(g->vals);
    free(g->in_off);
    free(g->in_edges);
    memset(g, 0, sizeof *g);
}
