/*
 * bench/trace_alloc.c: what allocation tracing costs on an allocation-heavy
 * workload, measured in one process: the same work untraced, traced, and
 * untraced again (the peer is bench/python/trace_alloc.py with tracemalloc).
 *
 *     trace_alloc DEPTH exact NFRAME    exact tracing, NFRAME frames
 *     trace_alloc DEPTH sample MEAN     sampling, one sample per MEAN bytes
 *
 * The work: binary trees of objmem objects (a 32-byte object a node,
 * reference counted), 2^(DEPTH-d+4) trees of each depth d = 4, 6, ...
 * DEPTH built, checked and dropped, while a long-lived tree of depth DEPTH
 * stays alive (so the tracer holds 2^(DEPTH+1) live traces at the end).
 *
 * Times are the thread's CPU time.  Reports: slowdown (traced time / the
 * better untraced time), the times,
 * what tracing adds to each allocation (overhead_ns: the difference of the
 * times over the nodes allocated; fairer across runtimes whose untraced
 * allocation costs differ tenfold), and the tracer's own memory per live
 * traced block (bytes_per_trace), as the tracer reports it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_api.h"
#include "bench.h"

typedef struct node {
    om_object ob;
    om_object *left, *right;
} node;

static void node_dealloc(om_object *self)
{
    node *n = (node *)self;
    om_xdecref(n->left);
    om_xdecref(n->right);
}

static const om_type node_type = {
    .name = "node", .basicsize = sizeof(node), .dealloc = node_dealloc};
static om_runtime *rt;

static om_object *make(int depth)
{
    node *n = (node *)om_new(rt, &node_type);
    if (!n)
        bench_fail("trace_alloc: om_new failed: %s", om_error_message());
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return &n->ob;
}

static long check(const om_object *o)
{
    const node *n = (const node *)o;
    return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

static long nodes; /* allocated by one churn */

/* CPU seconds of this (single) thread: steadier than wall time on a busy
 * machine, and the work is single-threaded. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double churn(int max_depth)
{
    nodes = 0;
    double t0 = cpu_now();
    for (int d = 4; d <= max_depth; d += 2) {
        long count = 1L << (max_depth - d + 4), total = 0;
        for (long i = 0; i < count; i++) {
            om_object *t = make(d);
            total += check(t);
            om_decref(t);
        }
        nodes += total;
        if (total != count * ((2L << d) - 1))
            bench_fail("trace_alloc: %ld trees of depth %d hold %ld nodes", count, d, total);
    }
    return cpu_now() - t0;
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    int depth = (int)bench_arg(argc, argv, 1, 16);
    bool sample = argc > 2 && !strcmp(argv[2], "sample");
    long arg = bench_arg(argc, argv, 3, sample ? 512 * 1024 : 1);
    rt = om_runtime_new(NULL);
    if (!rt)
        bench_fail("trace_alloc: om_runtime_new: %s", om_error_message());
    om_object *kept = make(depth);
    double off1 = churn(depth);
    int rc = sample ? om_trace_start_sampling(1, (size_t)arg) : om_trace_start((int)arg);
    if (rc != 0)
        bench_fail("trace_alloc: %s", om_error_message());
    om_object *traced = make(depth); /* a long-lived tree the tracer holds */
    double on = churn(depth);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    om_decref(traced);
    om_trace_stop();
    double off2 = churn(depth);
    om_decref(kept);
    om_runtime_free(rt);
    double off = off1 < off2 ? off1 : off2;
    bench_metric("slowdown", on / off, "x");
    bench_metric("time_untraced", off, "s");
    bench_metric("time_traced", on, "s");
    bench_metric("overhead_ns", (on - off) * 1e9 / (double)nodes, "ns");
    bench_metric("traces", (double)st.traces, "blocks");
    bench_metric("bytes_per_trace", st.bytes_per_trace, "B");
    return 0;
}
