"""bench/python/gc_work.py: the cycle collector's benchmarks on CPython, the
peer of bench/gc_work.c (same modes, same graph shapes, same report lines).

    gc_work.py full  N          a full collection over N live lists
    gc_work.py free  N          a collection that frees N lists held in cycles
    gc_work.py pause N CHURN    automatic collections while CHURN pairs of
                                lists become garbage beside N live lists

Collections are timed in CPU time of the thread (time.thread_time), with the
wall time beside; pauses are measured with gc.callbacks (start to stop of
each collection, wall time).
header_bytes: sys.getsizeof of an empty tracked object (__slots__ = ()),
which includes the GC head.
"""
import gc
import sys
import time

FANOUT = 64
RING = 20000


class Empty:
    __slots__ = ()


def build_live(n):
    root = []
    made = 1
    while made < n:
        group = []
        made += 1
        i = 0
        while i < FANOUT - 1 and made < n:
            group.append([])
            i += 1
            made += 1
        root.append(group)
    return root


def make_pair(holder, slot):
    a = []
    b = [a]
    a.append(b)
    if holder is not None:
        if slot < len(holder):
            holder[slot] = a
        else:
            holder.append(a)


def metric(key, value, unit):
    print("metric %s %s %s" % (key, repr(float(value)), unit))


def full(n):
    gc.disable()
    root = build_live(n)
    gc.collect()
    best = best_wall = 1e30
    for _ in range(3):
        w0, t0 = time.perf_counter(), time.thread_time()
        found = gc.collect()
        t, w = time.thread_time() - t0, time.perf_counter() - w0
        if found != 0:
            sys.exit("gc_work.py: a live graph had %d unreachable objects" % found)
        best = min(best, t)
        best_wall = min(best_wall, w)
    metric("ns_per_object", best * 1e9 / n, "ns")
    metric("collection_cpu_ms", best * 1e3, "ms")
    metric("collection_wall_ms", best_wall * 1e3, "ms")
    del root


def free_cycles(n):
    gc.disable()
    holder = []
    for i in range(n // 2):
        make_pair(holder, i)
    gc.collect()
    del holder
    w0, t0 = time.perf_counter(), time.thread_time()
    found = gc.collect()
    t, w = time.thread_time() - t0, time.perf_counter() - w0
    if found < n:
        sys.exit("gc_work.py: %d of %d objects in cycles were found" % (found, n))
    metric("ns_per_object", t * 1e9 / found, "ns")
    metric("collection_cpu_ms", t * 1e3, "ms")
    metric("collection_wall_ms", w * 1e3, "ms")


def pause(n, churn):
    pauses = []
    collected = [0]
    start = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            start[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - start[0])
            collected[0] += info["collected"]

    root = build_live(n)
    gc.collect()
    gc.enable()
    gc.callbacks.append(on_gc)
    ring = []
    peak = 0
    t0 = time.perf_counter()
    for i in range(churn):
        make_pair(ring, i % RING)
        if i % 1000 == 0:
            dead = 2 * (i - RING + 1) if i >= RING else 0
            peak = max(peak, dead - collected[0])
    t = time.perf_counter() - t0
    gc.callbacks.remove(on_gc)
    pauses.sort()
    p99 = pauses[min(len(pauses) - 1, (len(pauses) * 99 + 99) // 100 - 1)] if pauses else 0
    metric("max_pause_ms", (pauses[-1] if pauses else 0) * 1e3, "ms")
    metric("p99_pause_ms", p99 * 1e3, "ms")
    metric("pauses", len(pauses), "")
    metric("peak_garbage", peak, "objects")
    metric("time", t, "s")
    del ring, root


def main():
    print("info allocator python")
    mode = sys.argv[1] if len(sys.argv) > 1 else "full"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    metric("header_bytes", sys.getsizeof(Empty()), "B")
    if mode == "full":
        full(n)
    elif mode == "free":
        free_cycles(n)
    elif mode == "pause":
        pause(n, int(sys.argv[3]) if len(sys.argv) > 3 else 2000000)
    else:
        sys.exit("usage: gc_work.py full|free|pause N [CHURN]")


if __name__ == "__main__":
    main()
