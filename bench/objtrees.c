/*
 * bench/objtrees.c: binary-trees built from objmem objects with reference
 * counts (the object layer's benchmark; its peers in the same row of
 * benchmarks.list are bench/binary_trees.c on malloc/free and
 * bench/python/binary_trees.py on CPython).
 *
 *     objtrees DEPTH [plain | gc]
 *
 * The shape of bench/binary_trees.c (driven by trees.h), with a node that is
 * an object:
 *
 *     tree_node:  om_object header (16 bytes) | left | right     32 bytes
 *
 * om_new makes a node with count 1; the parent owns its children; dropping
 * the root (one om_decref) frees the whole tree through the nodes' dealloc,
 * which drops both children.  "plain" nodes are not tracked by the cycle
 * collector (reference counting alone, like a C program that frees); "gc"
 * nodes are (OM_TYPE_GC, with traverse and clear), like CPython's tuples and
 * instances, so the collector's thresholds and young collections count too.
 *
 * Reports: time (s), nodes, ns per node.
 */
#include <string.h>

#include "alloc_api.h"
#include "bench.h"
#include "trees.h"

typedef struct tree_node {
    om_object ob;
    om_object *left, *right;
} tree_node;

static void node_dealloc(om_object *self)
{
    tree_node *n = (tree_node *)self;
    om_xdecref(n->left);
    om_xdecref(n->right);
}

static int node_traverse(om_object *self, om_visitproc visit, void *arg)
{
    tree_node *n = (tree_node *)self;
    int r = n->left ? visit(n->left, arg) : 0;
    return r ? r : n->right ? visit(n->right, arg) : 0;
}

static int node_clear(om_object *self)
{
    tree_node *n = (tree_node *)self;
    om_object *l = n->left, *r = n->right;
    n->left = n->right = NULL;
    om_xdecref(l);
    om_xdecref(r);
    return 0;
}

static const om_type plain_node = {
    .name = "tree_node", .basicsize = sizeof(tree_node), .dealloc = node_dealloc};
static const om_type gc_node = {.name = "tree_node_gc",
                                .basicsize = sizeof(tree_node),
                                .flags = OM_TYPE_GC,
                                .dealloc = node_dealloc,
                                .traverse = node_traverse,
                                .clear = node_clear};

static om_runtime *rt;
static const om_type *node_type;

static om_object *make(int depth)
{
    tree_node *n = (tree_node *)om_new(rt, node_type);
    if (!n)
        bench_fail("objtrees: om_new failed at depth %d: %s", depth, om_error_message());
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return &n->ob;
}

static long check(const om_object *o)
{
    const tree_node *n = (const tree_node *)o;
    return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

static void *make_tree(int depth)
{
    return make(depth);
}
static long check_tree(const void *t)
{
    return check(t);
}
static void drop_tree(void *t)
{
    om_decref(t);
}

int main(int argc, char **argv)
{
    static const bench_tree_ops ops = {make_tree, check_tree, drop_tree};
    bench_alloc_start();
    node_type = argc > 2 && strcmp(argv[2], "gc") == 0 ? &gc_node : &plain_node;
    rt = om_runtime_new(NULL);
    if (!rt)
        bench_fail("objtrees: om_runtime_new: %s", om_error_message());
    bench_trees_run((int)bench_arg(argc, argv, 1, 18), &ops);
    om_runtime_free(rt);
    return 0;
}
