/*
 * bench/objops.c: the builtin containers' everyday operations, each set
 * against CPython doing the same work (bench/python/objops.py, the peer in
 * the same row of benchmarks.list).
 *
 *     objops append OPS    lists of LEN items built by appending one object,
 *                          then dropped: ns per append (growth and the
 *                          list's teardown included)
 *     objops dict OPS      dicts of KEYS str keys built by d[k] = v, then
 *                          read back by d[k], then dropped: ns per set or get
 *     objops intern OPS    interning lookups: om_str_intern of a str that is
 *                          not interned but equal to one that is (Python's
 *                          sys.intern of an equal copy): ns per lookup
 *
 * Keys and copies are made before the clock starts, with their hashes
 * computed, as CPython's are cached in the str.  Every phase checks what it
 * built (lengths, the values read back, the canonical objects returned), so
 * a broken container fails the run.
 *
 * Reports: ns_per_op, ops, time (s).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_api.h"
#include "bench.h"

#define LEN  1000 /* items per list */
#define KEYS 1024 /* keys per dict, strings in the interning table */

static om_runtime *rt;

static om_object *must(om_object *o, const char *what)
{
    if (!o)
        bench_fail("objops: %s: %s", what, om_error_message());
    return o;
}

static void must_ok(int r, const char *what)
{
    if (r < 0)
        bench_fail("objops: %s: %s", what, om_error_message());
}

/* KEYS distinct str objects "key0" ... with their hashes cached. */
static void make_keys(om_object **keys, const char *prefix, bool intern)
{
    char text[32];
    for (int i = 0; i < KEYS; i++) {
        snprintf(text, sizeof text, "%s%d", prefix, i);
        keys[i] = must(intern ? om_str_intern_cstr(rt, text) : om_str_from_cstr(rt, text), "a key");
        if (om_hash(keys[i]) == (om_hash_t)-1)
            bench_fail("objops: hash: %s", om_error_message());
    }
}

static void drop_all(om_object **objs, int n)
{
    for (int i = 0; i < n; i++)
        om_decref(objs[i]);
}

static long run_append(long ops)
{
    om_object *x = must(om_float_from_double(rt, 1.5), "a float");
    long rounds = ops / LEN;
    for (long r = 0; r < rounds; r++) {
        om_object *l = must(om_list_new(rt), "om_list_new");
        for (int i = 0; i < LEN; i++)
            must_ok(om_list_append(l, x), "om_list_append");
        if (om_list_len(l) != LEN || om_refcnt(x) != LEN + 1)
            bench_fail("objops: a list of %d appends holds %lld", LEN, (long long)om_list_len(l));
        om_decref(l);
    }
    om_decref(x);
    return rounds * LEN;
}

static long run_dict(long ops)
{
    om_object *keys[KEYS];
    make_keys(keys, "key", false);
    om_object *v = must(om_float_from_double(rt, 2.5), "a float");
    long rounds = ops / (2 * KEYS), found = 0;
    for (long r = 0; r < rounds; r++) {
        om_object *d = must(om_dict_new(rt), "om_dict_new");
        for (int i = 0; i < KEYS; i++)
            must_ok(om_dict_setitem(d, keys[i], v), "om_dict_setitem");
        for (int i = 0; i < KEYS; i++) {
            om_object *got = must(om_dict_getitem(d, keys[i]), "om_dict_getitem");
            found += got == v;
            om_decref(got);
        }
        if (om_dict_len(d) != KEYS)
            bench_fail("objops: a dict of %d keys holds %lld", KEYS, (long long)om_dict_len(d));
        om_decref(d);
    }
    if (found != rounds * KEYS)
        bench_fail("objops: %ld of %ld dict reads found their value", found, rounds * KEYS);
    om_decref(v);
    drop_all(keys, KEYS);
    return rounds * 2 * KEYS;
}

static long run_intern(long ops)
{
    om_object *canon[KEYS], *copies[KEYS];
    make_keys(canon, "name", true);
    make_keys(copies, "name", false);
    for (int i = 0; i < KEYS; i++)
        if (copies[i] == canon[i] || om_str_is_interned(copies[i]))
            bench_fail("objops: the copy of an interned str is interned");
    long rounds = ops / KEYS, same = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < KEYS; i++) {
            om_object *s = must(om_str_intern(copies[i]), "om_str_intern");
            same += s == canon[i];
            om_decref(s);
        }
    }
    if (same != rounds * KEYS)
        bench_fail("objops: %ld of %ld lookups found the interned str", same, rounds * KEYS);
    drop_all(copies, KEYS);
    drop_all(canon, KEYS);
    return rounds * KEYS;
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    const char *mode = argc > 1 ? argv[1] : "";
    long ops = bench_arg(argc, argv, 2, 10000000);
    rt = om_runtime_new(NULL);
    if (!rt)
        bench_fail("objops: om_runtime_new: %s", om_error_message());
    long (*run)(long) = strcmp(mode, "append") == 0   ? run_append
                        : strcmp(mode, "dict") == 0   ? run_dict
                        : strcmp(mode, "intern") == 0 ? run_intern
                                                      : NULL;
    if (!run)
        bench_fail("usage: objops append|dict|intern OPS");
    double t0 = bench_now();
    long done = run(ops);
    double t = bench_now() - t0;
    if (done <= 0)
        bench_fail("objops: %ld operations is too few for one round", ops);
    bench_metric("ns_per_op", t * 1e9 / (double)done, "ns");
    bench_metric("ops", (double)done, "ops");
    bench_metric("time", t, "s");
    om_runtime_free(rt);
    return 0;
}
