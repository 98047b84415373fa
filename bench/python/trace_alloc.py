"""bench/python/trace_alloc.py: what tracemalloc costs on the work of
bench/trace_alloc.c, the peer run by bench/run as "python".

    trace_alloc.py DEPTH exact NFRAME

Binary trees of tuples: 2^(DEPTH-d+4) trees of each depth d = 4, 6, ...
DEPTH built, checked and dropped, timed untraced, under
tracemalloc.start(NFRAME) while a long-lived tree of depth DEPTH is traced,
and untraced again, in thread CPU time.  Reports the lines of bench/bench.h: slowdown (traced
time / the better untraced time), the times, what tracing adds to each
allocation (overhead_ns, over the tuples really allocated: a leaf is the
constant (None, None)), and tracemalloc's own memory per live traced block
(get_tracemalloc_memory() / number of traces).
"""
import sys
import time
import tracemalloc

from binary_trees import check, make  # the same trees as the obj_trees peer


def churn(max_depth):
    t0 = time.thread_time()
    nodes = 0
    for d in range(4, max_depth + 1, 2):
        count = 1 << (max_depth - d + 4)
        total = 0
        for _ in range(count):
            total += check(make(d))
        if total != count * ((2 << d) - 1):
            sys.exit("trace_alloc.py: %d trees of depth %d hold %d nodes" % (count, d, total))
        nodes += (total - count) // 2  # leaves are the constant (None, None): not allocated
    return time.thread_time() - t0, nodes


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    if len(sys.argv) > 2 and sys.argv[2] != "exact":
        sys.exit("trace_alloc.py: tracemalloc has no sampling mode")
    nframe = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print("info allocator python")
    kept = make(depth)
    off1, nodes = churn(depth)
    tracemalloc.start(nframe)
    traced = make(depth)
    on, _ = churn(depth)
    memory = tracemalloc.get_tracemalloc_memory()
    traces = len(tracemalloc.take_snapshot().traces)
    del traced
    tracemalloc.stop()
    off2, _ = churn(depth)
    del kept
    off = min(off1, off2)
    print("metric slowdown %.4f x" % (on / off))
    print("metric time_untraced %.4f s" % off)
    print("metric time_traced %.4f s" % on)
    print("metric overhead_ns %.1f ns" % ((on - off) * 1e9 / nodes))
    print("metric traces %d blocks" % traces)
    print("metric bytes_per_trace %.2f B" % (memory / traces if traces else 0))


if __name__ == "__main__":
    main()
