/*
 * bench/binary_trees.c: the benchmarks game's binary-trees, one thread, with
 * malloc and free (issue #2, benchmark 2).
 *
 *     binary_trees DEPTH
 *
 * The program's shape is the benchmarks game's (see trees.h, which drives
 * it).  A node is two pointers (16 bytes): the smallest block, allocated and
 * freed in bursts of millions.  At depth 18 that is about 67 million nodes.
 *
 * Boehm's variant allocates with GC_MALLOC and drops whole trees instead of
 * freeing them, which is how a collected program would write it.
 *
 * Every check is compared with the node count a perfect tree must have, so a
 * broken allocator (overlapping blocks) fails the run.
 *
 * Reports: time (s), nodes allocated, ns per node.
 */
#include "alloc_api.h"
#include "bench.h"
#include "trees.h"

typedef struct node {
    struct node *left, *right;
} node;

static node *make(int depth)
{
    node *n = BENCH_MALLOC(sizeof *n);
    if (!n)
        bench_fail("binary_trees: allocation failed at depth %d", depth);
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static long check(const node *n)
{
    return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

static void drop(node *n)
{
    if (n->left) {
        drop(n->left);
        drop(n->right);
    }
    BENCH_FREE(n);
}

static void *make_tree(int depth)
{
    return make(depth);
}
static long check_tree(const void *t)
{
    return check(t);
}
/* Boehm's variant lets the tree go: the collector reclaims it. */
static void drop_tree(void *t)
{
    if (BENCH_HAS_FREE)
        drop(t);
}

int main(int argc, char **argv)
{
    static const bench_tree_ops ops = {make_tree, check_tree, drop_tree};
    bench_alloc_start();
    bench_trees_run((int)bench_arg(argc, argv, 1, 18), &ops);
    return 0;
}
