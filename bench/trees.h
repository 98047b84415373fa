/*
 * bench/trees.h: the driver of binary-trees, shared by the programs that
 * build the trees in different ways (bench/binary_trees.c with malloc/free,
 * bench/objtrees.c with objmem objects).
 *
 * The benchmarks game's shape: a "stretch" tree of depth DEPTH+1 built,
 * checked and dropped; a long-lived tree of depth DEPTH; for each depth
 * d = 4, 6, ... DEPTH, 2^(DEPTH - d + 4) trees built, checked and dropped;
 * last, the long-lived tree checked and dropped.  Each check must count the
 * 2^(d+1) - 1 nodes of a perfect tree, or the program fails.
 *
 * The driver calls the program's functions once per tree, never per node.
 */
#ifndef BENCH_TREES_H
#define BENCH_TREES_H

typedef struct bench_tree_ops {
    void *(*make)(int depth);        /* a perfect tree of that depth */
    long (*check)(const void *tree); /* its nodes, counted by walking it */
    void (*drop)(void *tree);        /* frees it (or lets it go) */
} bench_tree_ops;

#define BENCH_TREES_MIN_DEPTH 4

/* Runs the whole program and reports time, nodes and ns_per_node. */
void bench_trees_run(int max_depth, const bench_tree_ops *ops);

#endif
