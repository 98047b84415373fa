/*
 * inspect/dot.c: a Graphviz picture of the references around some objects
 * (objgraph's show_refs and show_backrefs, written as DOT text).
 *
 * A breadth-first walk from the given objects, forward along references,
 * backward along referrers, or both, up to max_depth steps and max_nodes
 * nodes.  Nodes are numbered by their index in the census; each edge is
 * written once (a set of (from, to) pairs), and the objects asked about
 * are filled.  Labels are the type name and the repr, escaped as in JSON,
 * which DOT reads the same way (\" \\ \n).
 *
 *     digraph objmem {
 *       n12 [label="list\n<list, 3 items>", style=filled, fillcolor="#f0c674"];
 *       n12 -> n40;
 *     }
 */
#include <stdlib.h>
#include <string.h>

#include "inspect/inspect.h"

#define DEFAULT_MAX_NODES 1000
#define REPR_BYTES        96 /* longer reprs are cut */

typedef struct walk {
    const in_graph *g;
    uint32_t *queue, *depth;
    bool *in;
    size_t n, max;
    in_set edges;
    FILE *out;
    bool failed;
} walk;

static void write_node(walk *w, uint32_t i, bool start)
{
    om_object *o = w->g->objs[i];
    char repr[REPR_BYTES], label[REPR_BYTES + 64];
    om_repr(o, repr, sizeof repr);
    snprintf(label, sizeof label, "%s\n%s", om_type_name(o), repr);
    fprintf(w->out, "  n%u [label=", i);
    in_json_string(w->out, label);
    fputs(start ? ", style=filled, fillcolor=\"#f0c674\"];\n" : "];\n", w->out);
}

static void include(walk *w, uint32_t i, uint32_t depth, bool start)
{
    if (w->in[i] || w->n >= w->max)
        return;
    w->in[i] = true;
    w->depth[i] = depth;
    w->queue[w->n++] = i;
    write_node(w, i, start);
}

static void edge(walk *w, uint32_t from, uint32_t to)
{
    uint64_t key = ((uint64_t)from << 32 | to) + 1;
    int added = in_set_add(&w->edges, (const void *)(uintptr_t)key);
    if (added < 0)
        w->failed = true;
    if (added == 1)
        fprintf(w->out, "  n%u -> n%u;\n", from, to);
}

typedef struct forward {
    walk *w;
    uint32_t from;
} forward;

static int follow(om_object *child, void *arg)
{
    forward *f = arg;
    uint32_t c = in_graph_find(f->w->g, child);
    if (c == IN_NONE)
        return 0;
    include(f->w, c, f->w->depth[f->from] + 1, false);
    if (f->w->in[c])
        edge(f->w, f->from, c);
    return 0;
}

static void expand(walk *w, int directions, size_t max_depth)
{
    for (size_t head = 0; head < w->n; head++) {
        uint32_t u = w->queue[head];
        if (w->depth[u] >= max_depth)
            continue;
        if (directions & OM_REFS_FORWARD) {
            forward f = {w, u};
            in_referents(w->g->objs[u], follow, &f);
        }
        if (directions & OM_REFS_BACKWARD) {
            for (uint32_t e = w->g->in_off[u]; e < w->g->in_off[u + 1]; e++) {
                uint32_t p = w->g->in_edges[e];
                include(w, p, w->depth[u] + 1, false);
                if (w->in[p])
                    edge(w, p, u);
            }
        }
    }
}

int om_objgraph_show_refs(om_runtime *rt, om_object *const *objs, size_t n, int directions,
                          size_t max_depth, size_t max_nodes, FILE *out)
{
    if (!out || (n && !objs) || !(directions & (OM_REFS_FORWARD | OM_REFS_BACKWARD))) {
        om_set_error("om_objgraph_show_refs: needs objects, a direction and a stream");
        return -1;
    }
    in_graph g;
    if (in_graph_build(&g, rt, (directions & OM_REFS_BACKWARD) != 0) != 0)
        return -1;
    walk w = {&g,
              malloc((g.n + 1) * sizeof(uint32_t)),
              malloc((g.n + 1) * sizeof(uint32_t)),
              calloc(g.n + 1, sizeof(bool)),
              0,
              max_nodes ? max_nodes : DEFAULT_MAX_NODES,
              {0},
              out,
              false};
    int rc = w.queue && w.depth && w.in ? 0 : -1;
    if (rc == 0) {
        fputs("digraph objmem {\n  node [shape=box, fontname=\"monospace\"];\n", out);
        for (size_t i = 0; i < n; i++) {
            uint32_t k = in_graph_find(&g, objs[i]);
            if (k != IN_NONE)
                include(&w, k, 0, true);
        }
        expand(&w, directions, max_depth);
        fputs("}\n", out);
        rc = w.failed || ferror(out) ? -1 : 0;
    }
    if (rc != 0)
        om_set_error("om_objgraph_show_refs: out of memory or write error");
    free(w.queue);
    free(w.depth);
    free(w.in);
    in_set_free(&w.edges);
    in_graph_free(&g);
    return rc;
}
