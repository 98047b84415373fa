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
 *
 * And the memory table: om_sys_getsizeof (the object's block plus the
 * buffers it owns, as the heap spent them) of the shapes CPython's
 * sys.getsizeof is asked about in bench/python/objcost.py:
 *
 *     tuple_N_bytes    a tuple of N items             N = 0, 1, 8, 64
 *     list_N_bytes     a list grown by N appends
 *     dict_N_bytes     a dict of N int keys set one by one (values None)
 *     record_N_bytes   a record of N slots (a class with N __slots__), N >= 1
 *     shapes_bytes     the sum of the above: the row's figure
 *
 * Items are shared (small ints, None), so only the containers count, as
 * with sys.getsizeof.
 */
#include <stdio.h>

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

static const size_t shape_items[] = {0, 1, 8, 64};
#define SHAPES     (sizeof shape_items / sizeof shape_items[0])
#define SHAPES_MAX 64

static om_object *checked(om_object *o, const char *what)
{
    if (!o)
        bench_fail("objcost: %s: %s", what, om_error_message());
    return o;
}

/* Reports key's bytes (om_sys_getsizeof of o), drops o, returns the bytes. */
static double shape_metric(const char *kind, size_t n, om_object *o)
{
    char key[48];
    double bytes = (double)om_sys_getsizeof(o);
    snprintf(key, sizeof key, "%s_%zu_bytes", kind, n);
    bench_metric(key, bytes, "B");
    om_decref(o);
    return bytes;
}

static om_object *record_of(om_runtime *rt, size_t n, om_object *value, om_record_type **type)
{
    static const char *const names[SHAPES_MAX] = {
        "s0",  "s1",  "s2",  "s3",  "s4",  "s5",  "s6",  "s7",  "s8",  "s9",  "s10", "s11", "s12",
        "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25",
        "s26", "s27", "s28", "s29", "s30", "s31", "s32", "s33", "s34", "s35", "s36", "s37", "s38",
        "s39", "s40", "s41", "s42", "s43", "s44", "s45", "s46", "s47", "s48", "s49", "s50", "s51",
        "s52", "s53", "s54", "s55", "s56", "s57", "s58", "s59", "s60", "s61", "s62", "s63"};
    *type = om_record_type_new("Shape", n, names);
    if (!*type)
        bench_fail("objcost: om_record_type_new: %s", om_error_message());
    om_object *r = checked(om_record_new(rt, *type), "om_record_new");
    for (size_t i = 0; i < n; i++)
        if (om_record_set(r, (int64_t)i, value) < 0)
            bench_fail("objcost: om_record_set: %s", om_error_message());
    return r;
}

/* The memory table (see the top of the file); returns shapes_bytes. */
static double shape_table(om_runtime *rt)
{
    om_object *items[SHAPES_MAX];
    for (size_t i = 0; i < SHAPES_MAX; i++)
        items[i] = checked(om_int_from_int64(rt, (int64_t)i), "an int");
    om_object *none = om_none(rt);
    om_record_type *types[SHAPES] = {NULL};
    double total = 0;
    for (size_t k = 0; k < SHAPES; k++) {
        size_t n = shape_items[k];
        total += shape_metric("tuple", n, checked(om_tuple_from_array(rt, items, n), "a tuple"));
        om_object *l = checked(om_list_new(rt), "a list");
        om_object *d = checked(om_dict_new(rt), "a dict");
        for (size_t i = 0; i < n; i++)
            if (om_list_append(l, items[i]) < 0 || om_dict_setitem(d, items[i], none) < 0)
                bench_fail("objcost: append or setitem: %s", om_error_message());
        total += shape_metric("list", n, l);
        total += shape_metric("dict", n, d);
        if (n > 0)
            total += shape_metric("record", n, record_of(rt, n, none, &types[k]));
    }
    om_decref(none);
    for (size_t i = 0; i < SHAPES_MAX; i++)
        om_decref(items[i]);
    om_runtime_free(rt); /* before the record types it used */
    for (size_t k = 0; k < SHAPES; k++)
        om_record_type_free(types[k]);
    return total;
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
    bench_metric("shapes_bytes", shape_table(rt), "B");
    return 0;
}
