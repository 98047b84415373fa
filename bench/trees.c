/*
 * bench/trees.c: the binary-trees driver (see trees.h).
 */
#include "bench.h"
#include "trees.h"

static long perfect(int depth)
{
    return (2L << depth) - 1;
}

/* Builds, checks and drops `count` trees of `depth`; returns the nodes made. */
static long churn(const bench_tree_ops *ops, int depth, long count)
{
    long sum = 0;
    for (long i = 0; i < count; i++) {
        void *t = ops->make(depth);
        sum += ops->check(t);
        ops->drop(t);
    }
    if (sum != count * perfect(depth))
        bench_fail("binary-trees: %ld trees of depth %d hold %ld nodes", count, depth, sum);
    return sum;
}

void bench_trees_run(int max_depth, const bench_tree_ops *ops)
{
    if (max_depth < BENCH_TREES_MIN_DEPTH + 2)
        max_depth = BENCH_TREES_MIN_DEPTH + 2;

    double t0 = bench_now();
    long nodes = churn(ops, max_depth + 1, 1);
    void *long_lived = ops->make(max_depth);
    nodes += perfect(max_depth);
    for (int d = BENCH_TREES_MIN_DEPTH; d <= max_depth; d += 2)
        nodes += churn(ops, d, 1L << (max_depth - d + BENCH_TREES_MIN_DEPTH));
    if (ops->check(long_lived) != perfect(max_depth))
        bench_fail("binary-trees: the long-lived tree lost nodes");
    ops->drop(long_lived);
    double t = bench_now() - t0;

    bench_metric("time", t, "s");
    bench_metric("nodes", (double)nodes, "nodes");
    bench_metric("ns_per_node", t * 1e9 / (double)nodes, "ns");
}
