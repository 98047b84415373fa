/*
 * bench/gc_work.c: the cycle collector's benchmarks (its peer is
 * bench/python/gc_work.py, the same shapes on CPython).
 *
 *     gc_work full  N          a full collection over N live lists
 *     gc_work free  N          a collection that frees N lists held in cycles
 *     gc_work pause N CHURN    automatic collections while the program makes
 *                              CHURN pieces of cyclic garbage beside N live
 *                              lists: the longest pause and the most cyclic
 *                              garbage outstanding
 *
 * The shapes, in both languages:
 *   live graph   a root list of N/64 lists of 64 lists each (every object is
 *                a tracked container, as in CPython: lists, not tuples, which
 *                CPython may untrack)
 *   cycles       pairs of lists, each holding the other
 *   churn        each step makes a pair and stores it in a ring of RING slots,
 *                replacing the pair made RING steps earlier, which becomes
 *                garbage: it lived long enough to grow old
 *
 * Reports: full: ns_per_object (one full collection, best of 3); free:
 * ns_per_object (the collection, per object freed), both in CPU time of the
 * thread (a busy machine's other processes do not count; wall time is
 * reported beside); pause: max_pause_ms and
 * p99_pause_ms (automatic pauses), peak_garbage (objects of cyclic garbage
 * outstanding, sampled every 1000 steps: made dead minus collected).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc_api.h"
#include "bench.h"

#define FANOUT 64
#define RING   20000

static om_runtime *rt;

/* CPU seconds of this thread: a collection's cost without the time other
 * processes of a busy machine took from it (wall time is reported too). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static om_object *list_or_die(void)
{
    om_object *l = om_list_new(rt);
    if (!l)
        bench_fail("gc_work: om_list_new: %s", om_error_message());
    return l;
}

static void append_or_die(om_object *l, om_object *x)
{
    if (om_list_append(l, x) != 0)
        bench_fail("gc_work: om_list_append: %s", om_error_message());
}

/* The live graph: about n lists, every one tracked. */
static om_object *build_live(long n)
{
    om_object *root = list_or_die();
    for (long made = 1; made < n;) {
        om_object *group = list_or_die();
        made++;
        for (int i = 0; i < FANOUT - 1 && made < n; i++, made++) {
            om_object *leaf = list_or_die();
            append_or_die(group, leaf);
            om_decref(leaf);
        }
        append_or_die(root, group);
        om_decref(group);
    }
    return root;
}

static void make_pair(om_object *holder, long slot)
{
    om_object *a = list_or_die(), *b = list_or_die();
    append_or_die(a, b);
    append_or_die(b, a);
    if (holder) {
        if (slot < om_list_len(holder)) {
            if (om_list_setitem(holder, slot, a) != 0)
                bench_fail("gc_work: om_list_setitem: %s", om_error_message());
        } else {
            append_or_die(holder, a);
        }
    }
    om_decref(a);
    om_decref(b);
}

static uint64_t collected_total(void)
{
    om_gc_stats s;
    om_gc_get_stats(rt, &s);
    return s.gen[0].collected + s.gen[1].collected + s.gen[2].collected;
}

static void full(long n)
{
    om_gc_disable(rt);
    om_object *root = build_live(n);
    om_gc_collect(rt, 2); /* everything old, free lists settled */
    double best = 1e30, best_wall = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double w0 = bench_now(), t0 = cpu_now();
        long found = om_gc_collect(rt, 2);
        double t = cpu_now() - t0, w = bench_now() - w0;
        if (found != 0)
            bench_fail("gc_work: a live graph had %ld unreachable objects", found);
        if (t < best)
            best = t;
        if (w < best_wall)
            best_wall = w;
    }
    bench_metric("ns_per_object", best * 1e9 / (double)n, "ns");
    bench_metric("collection_cpu_ms", best * 1e3, "ms");
    bench_metric("collection_wall_ms", best_wall * 1e3, "ms");
    om_decref(root);
}

static void free_cycles(long n)
{
    om_gc_disable(rt);
    om_object *holder = list_or_die();
    for (long i = 0; i < n / 2; i++)
        make_pair(holder, i);
    om_gc_collect(rt, 2);
    om_decref(holder); /* n lists in cycles, unreachable */
    double w0 = bench_now(), t0 = cpu_now();
    long found = om_gc_collect(rt, 2);
    double t = cpu_now() - t0, w = bench_now() - w0;
    if (found < n)
        bench_fail("gc_work: %ld of %ld objects in cycles were found", found, n);
    bench_metric("ns_per_object", t * 1e9 / (double)found, "ns");
    bench_metric("collection_cpu_ms", t * 1e3, "ms");
    bench_metric("collection_wall_ms", w * 1e3, "ms");
}

static void pause(long n, long churn)
{
    om_object *root = build_live(n);
    om_gc_collect(rt, 2);
    om_object *ring = list_or_die();
    uint64_t base = collected_total(), peak = 0;
    double t0 = bench_now();
    for (long i = 0; i < churn; i++) {
        make_pair(ring, i % RING);
        if (i % 1000 == 0) {
            long dead = i >= RING ? 2 * (i - RING + 1) : 0;
            long outstanding = dead - (long)(collected_total() - base);
            if (outstanding > (long)peak)
                peak = (uint64_t)outstanding;
        }
    }
    double t = bench_now() - t0;
    om_gc_pauses p;
    om_gc_get_pauses(rt, &p);
    uint64_t max = 0, p99 = 0, count = 0, cpu_max = 0, cpu_p99 = 0;
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        const om_gc_pause_stats *a = &p.automatic[g];
        max = a->max_ns > max ? a->max_ns : max;
        p99 = a->p99_ns > p99 ? a->p99_ns : p99;
        cpu_max = a->cpu_max_ns > cpu_max ? a->cpu_max_ns : cpu_max;
        cpu_p99 = a->cpu_p99_ns > cpu_p99 ? a->cpu_p99_ns : cpu_p99;
        count += a->count;
    }
    om_gc_incremental_stats inc;
    om_gc_get_incremental_stats(rt, &inc);
    bench_metric("max_pause_ms", (double)max / 1e6, "ms");
    bench_metric("max_pause_cpu_ms", (double)cpu_max / 1e6, "ms");
    bench_metric("p99_pause_cpu_ms", (double)cpu_p99 / 1e6, "ms");
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        char key[32];
        snprintf(key, sizeof key, "max_pause_gen%d_cpu_ms", g);
        bench_metric(key, (double)p.automatic[g].cpu_max_ns / 1e6, "ms");
    }
    bench_metric("slice_work_max", (double)inc.max_slice_work, "units");
    bench_metric("p99_pause_ms", (double)p99 / 1e6, "ms");
    bench_metric("pauses", (double)count, "");
    bench_metric("peak_garbage", (double)peak, "objects");
    bench_metric("old_cycles", (double)inc.cycles, "");
    bench_metric("time", t, "s");
    om_decref(ring);
    om_decref(root);
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    const char *mode = argc > 1 ? argv[1] : "full";
    long n = bench_arg(argc, argv, 2, 1000000);
    rt = om_runtime_new(NULL);
    if (!rt)
        bench_fail("gc_work: om_runtime_new: %s", om_error_message());
    bench_metric("header_bytes", (double)sizeof(om_object), "B");
    if (!strcmp(mode, "full"))
        full(n);
    else if (!strcmp(mode, "free"))
        free_cycles(n);
    else if (!strcmp(mode, "pause"))
        pause(n, bench_arg(argc, argv, 3, 2000000));
    else
        bench_fail("usage: gc_work full|free|pause N [CHURN]");
    om_runtime_free(rt);
    return 0;
}
