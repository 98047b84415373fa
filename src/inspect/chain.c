/*
 * inspect/chain.c: why is this object alive?  objgraph's
 * find_backref_chain and get_leaking_objects.
 *
 * Both stand on the reverse edges of the graph (graph.c).  The chain is a
 * breadth-first search from the object back along "is referred to by"
 * edges, so the first root it meets is a nearest one and the chain is a
 * shortest one:
 *
 *     obj <- a <- b <- root        returned as the list [root, b, a, obj]
 *
 * A root is an object the caller names, or by default one that no live
 * object refers to (something in C holds it, or nothing does: a leak).
 * The queue and the predecessor array are arrays of indices: no recursion,
 * each object visited once, so cycles and millions of objects are fine.
 */
#include <stdlib.h>

#include "inspect/inspect.h"

typedef struct search {
    const in_graph *g;
    uint32_t *pred;  /* next object towards obj; IN_NONE: not reached */
    uint32_t *queue; /* BFS order */
    uint32_t *depth;
    bool *is_root;
} search;

static void mark_roots(search *s, om_object *const *roots, size_t nroots)
{
    const in_graph *g = s->g;
    for (size_t i = 0; i < g->n; i++)
        s->is_root[i] = nroots == 0 && g->in_off[i] == g->in_off[i + 1];
    for (size_t i = 0; i < nroots; i++) {
        uint32_t r = in_graph_find(g, roots[i]);
        if (r != IN_NONE)
            s->is_root[r] = true;
    }
}

/* bfs: the index of the first root reached from t, or IN_NONE. */
static uint32_t bfs(search *s, uint32_t t, size_t max_depth)
{
    const in_graph *g = s->g;
    size_t head = 0, tail = 0;
    s->queue[tail++] = t;
    s->pred[t] = t;
    s->depth[t] = 0;
    while (head < tail) {
        uint32_t u = s->queue[head++];
        if (s->is_root[u])
            return u;
        if (max_depth && s->depth[u] >= max_depth)
            continue;
        for (uint32_t e = g->in_off[u]; e < g->in_off[u + 1]; e++) {
            uint32_t p = g->in_edges[e];
            if (s->pred[p] != IN_NONE)
                continue;
            s->pred[p] = u;
            s->depth[p] = s->depth[u] + 1;
            s->queue[tail++] = p;
        }
    }
    return IN_NONE;
}

static om_object *chain_list(const search *s, uint32_t root, uint32_t t)
{
    const in_graph *g = s->g;
    size_t n = 1;
    for (uint32_t u = root; u != t; u = s->pred[u])
        n++;
    om_object **objs = malloc(n * sizeof *objs);
    if (!objs) {
        om_set_error("om_objgraph_find_backref_chain: out of memory");
        return NULL;
    }
    size_t k = 0;
    for (uint32_t u = root; u != t; u = s->pred[u])
        objs[k++] = g->objs[u];
    objs[k] = g->objs[t];
    om_object *list = in_list_of(g->rt, objs, n);
    free(objs);
    return list;
}

om_object *om_objgraph_find_backref_chain(om_runtime *rt, om_object *obj, om_object *const *roots,
                                          size_t nroots, size_t max_depth)
{
    in_graph g;
    if (nroots && !roots) {
        om_set_error("om_objgraph_find_backref_chain: %zu roots but no array", nroots);
        return NULL;
    }
    if (in_graph_build(&g, rt, true) != 0)
        return NULL;
    uint32_t t = in_graph_find(&g, obj);
    om_object *list = NULL;
    search s = {&g, malloc((g.n + 1) * sizeof(uint32_t)), malloc((g.n + 1) * sizeof(uint32_t)),
                malloc((g.n + 1) * sizeof(uint32_t)), malloc((g.n + 1) * sizeof(bool))};
    if (t == IN_NONE) {
        om_set_error("om_objgraph_find_backref_chain: %p is not a live object of this runtime",
                     (void *)obj);
    } else if (!s.pred || !s.queue || !s.depth || !s.is_root) {
        om_set_error("om_objgraph_find_backref_chain: out of memory");
    } else {
        for (size_t i = 0; i < g.n; i++)
            s.pred[i] = IN_NONE;
        mark_roots(&s, roots, nroots);
        uint32_t root = bfs(&s, t, max_depth);
        if (root == IN_NONE)
            om_set_error("om_objgraph_find_backref_chain: no root reaches the object within "
                         "depth %zu",
                         max_depth);
        else
            list = chain_list(&s, root, t);
    }
    free(s.pred);
    free(s.queue);
    free(s.depth);
    free(s.is_root);
    in_graph_free(&g);
    return list;
}

om_object *om_objgraph_get_leaking_objects(om_runtime *rt)
{
    in_graph g;
    if (in_graph_build(&g, rt, true) != 0)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (g.in_off[i] == g.in_off[i + 1] && !om_is_immortal(g.objs[i]))
            g.objs[k++] = g.objs[i]; /* k <= i: compacting in place is safe */
    om_object *list = in_list_of(rt, g.objs, k);
    in_graph_free(&g);
    return list;
}
