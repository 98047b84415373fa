/*
 * bench/objcost.c: what an object costs by itself: the bytes of its header,
 * tracked by the collector or not, and the time of an om_incref + om_decref
 * pair.  Its peer is bench/python/objcost.py (CPython's sys.getsizeof).
 *
 *     objcost PAIRS
 *
 * The pairs run over a ring of RING objects, each pair a store and a load of
 * the count (a compiler barrier after each call keeps them from folding into
 * nothing), the cost a program pays to pass a reference around.
 *
 * Reports: header_bytes (sizeof(om_object)), empty_bytes and empty_gc_bytes
 * (the heap block of an object that is only a header, untracked and tracked
 * by the collector: CPython's sys.getsizeof(object()) and of an empty
 * tracked instance), incdec_ns, time (s of the pairs).
 */
#include "alloc_api.h"
#include "bench.h"

#define RING 1024 /* objects the pairs cycle through; a power of two */

static const om_type plain_type = {.name = "cost_plain", .basicsize = sizeof(om_object)};
static const om_type gc_type = {
    .name = "cost_gc", .basicsize = sizeof(om_object), .flags = OM_TYPE_GC};

/* The heap bytes an object with nothing but a header costs: its block's
 * usable size (any hidden prefix a collector might add would show here, as
 * CPython's GC header shows in sys.getsizeof). */
static size_t empty_object_bytes(om_runtime *rt, const om_type *type)
{
    om_object *o = om_new(rt, type);
    if (!o)
        bench_fail("objcost: om_new: %s", om_error_message());
    size_t bytes = om_usable_size(o);
    om_decref(o);
    return bytes;
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    long pairs = bench_arg(argc, argv, 1, 200000000);
    om_runtime *rt = om_runtime_new(NULL);
    if (!rt)
        bench_fail("objcost: om_runtime_new: %s", om_error_message());
    om_object *ring[RING];
    for (int i = 0; i < RING; i++)
        if (!(ring[i] = om_new(rt, &plain_type)))
            bench_fail("objcost: om_new: %s", om_error_message());

    double t0 = bench_now();
    for (long i = 0; i < pairs; i++) {
        om_object *o = ring[i & (RING - 1)];
        om_incref(o);
        BENCH_ESCAPE(o);
        om_decref(o);
        BENCH_ESCAPE(o);
    }
    double t = bench_now() - t0;
    for (int i = 0; i < RING; i++) {
        if (om_refcnt(ring[i]) != 1)
            bench_fail("objcost: object %d ended with count %u", i, om_refcnt(ring[i]));
        om_decref(ring[i]);
    }

    bench_metric("header_bytes", (double)sizeof(om_object), "B");
    bench_metric("empty_bytes", (double)empty_object_bytes(rt, &plain_type), "B");
    bench_metric("empty_gc_bytes", (double)empty_object_bytes(rt, &gc_type), "B");
    bench_metric("incdec_ns", t * 1e9 / (double)pairs, "ns");
    bench_metric("time", t, "s");
    om_runtime_free(rt);
    return 0;
}
