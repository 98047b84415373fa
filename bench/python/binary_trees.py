"""bench/python/binary_trees.py: binary-trees on CPython, the peer of
bench/binary_trees.c and bench/objtrees.c, run by bench/run as the "python"
peer with the same depth.

The same shape as the C programs: a stretch tree of depth DEPTH+1, a
long-lived tree of depth DEPTH, then 2^(DEPTH - d + 4) trees of each depth
d = 4, 6, ... DEPTH, each built, checked and dropped.  A node is a tuple of
its two children (None for a leaf), the fastest node CPython offers; its
reference counting frees each tree when it is dropped, as om_decref does.

Prints the report lines of bench/bench.h: time (s), nodes, ns per node.
"""
import sys
import time

MIN_DEPTH = 4


def make(depth):
    if depth == 0:
        return (None, None)
    depth -= 1
    return (make(depth), make(depth))


def check(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check(left) + check(right)


def perfect(depth):
    return (2 << depth) - 1


def churn(depth, count):
    total = 0
    for _ in range(count):
        total += check(make(depth))
    if total != count * perfect(depth):
        sys.exit("binary_trees.py: %d trees of depth %d hold %d nodes" % (count, depth, total))
    return total


def main():
    max_depth = max(MIN_DEPTH + 2, int(sys.argv[1]) if len(sys.argv) > 1 else 18)
    print("info allocator python")
    t0 = time.perf_counter()
    nodes = churn(max_depth + 1, 1)
    long_lived = make(max_depth)
    nodes += perfect(max_depth)
    for depth in range(MIN_DEPTH, max_depth + 1, 2):
        nodes += churn(depth, 1 << (max_depth - depth + MIN_DEPTH))
    if check(long_lived) != perfect(max_depth):
        sys.exit("binary_trees.py: the long-lived tree lost nodes")
    del long_lived
    elapsed = time.perf_counter() - t0
    print("metric time %.6f s" % elapsed)
    print("metric nodes %d nodes" % nodes)
    print("metric ns_per_node %.6f ns" % (elapsed * 1e9 / nodes))


if __name__ == "__main__":
    main()
