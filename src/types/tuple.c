/*
 * types/tuple.c: the immutable sequence, leaner than a list.
 *
 * A tuple is one heap block: the header, its length and the item pointers
 * inline, with no separate buffer and no spare capacity:
 *
 *     +---------+---------+------+-----+------------+
 *     | ob_type | refcnt  | gc   | n   | items[n]   |   24 + 8n bytes
 *     +---------+---------+------+-----+------------+
 *
 * so (a, b, c) costs 48 bytes where a list of three costs 48 + its buffer
 * (CPython: 64 and 88 + buffer, counting its 16-byte GC header).  The empty
 * tuple is one immortal object per runtime.  Small tuples are recycled by the
 * object layer's per-type free lists when it keeps them.
 *
 * Hashing follows the xxHash-style combination CPython adopted in 3.8
 * (bpo-34751: each item's hash multiplied in with the xxHash64 primes and a
 * 31-bit rotation), which spreads nested and permuted tuples well.  A tuple
 * is hashable only if all its items are.
 *
 * The collector may clear a tuple in a garbage cycle (its items become
 * NULL); readers then get an error instead of a crash.
 */
#include <stdarg.h>
#include <stdio.h>

#include "types/containers.h"

#define XXPRIME_1   11400714785074694791ull
#define XXPRIME_2   14029467366897019727ull
#define XXPRIME_5   2870177450012600261ull
#define XXROTATE(x) (((x) << 31) | ((x) >> 33))

int64_t ty_index(int64_t i, size_t len, const char *what)
{
    if (i < 0)
        i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len) {
        om_set_error("%s index out of range", what);
        return -1;
    }
    return i;
}

size_t ty_slice_bound(int64_t i, size_t len)
{
    if (i < 0) {
        i += (int64_t)len;
        return i < 0 ? 0 : (size_t)i;
    }
    return (uint64_t)i > len ? len : (size_t)i;
}

static void tuple_dealloc(om_object *self)
{
    ty_tuple *t = TY_TUPLE(self);
    for (size_t i = 0; i < t->size; i++)
        om_xdecref(t->items[i]);
}

static int tuple_traverse(om_object *self, om_visitproc visit, void *arg)
{
    return ty_visit_items(TY_TUPLE(self)->items, TY_TUPLE(self)->size, visit, arg);
}

static int tuple_clear(om_object *self)
{
    ty_tuple *t = TY_TUPLE(self);
    for (size_t i = 0; i < t->size; i++) {
        om_object *x = t->items[i];
        t->items[i] = NULL;
        om_xdecref(x);
    }
    return 0;
}

static om_hash_t tuple_hash(om_object *self)
{
    ty_tuple *t = TY_TUPLE(self);
    uint64_t acc = XXPRIME_5;
    for (size_t i = 0; i < t->size; i++) {
        om_hash_t lane;
        if (!t->items[i]) {
            om_set_error("tuple item was cleared by the collector");
            return (om_hash_t)-1;
        }
        if (ty_hash(t->items[i], &lane) < 0)
            return (om_hash_t)-1;
        acc += lane * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += t->size ^ (XXPRIME_5 ^ 3527539ull);
    return acc == (uint64_t)-1 ? 1546275796ull : acc;
}

static int tuple_equal(om_object *a, om_object *b)
{
    if (b->ob_type != &ty_tuple_type)
        return 0;
    ty_tuple *x = TY_TUPLE(a), *y = TY_TUPLE(b);
    if (x->size != y->size)
        return 0;
    for (size_t i = 0; i < x->size; i++) {
        if (x->items[i] == y->items[i])
            continue;
        if (!x->items[i] || !y->items[i])
            return 0;
        int r = om_equal(x->items[i], y->items[i]);
        if (r <= 0)
            return r;
    }
    return 1;
}

static size_t tuple_repr(om_object *self, char *buf, size_t size)
{
    return ty_repr_count(self, buf, size, TY_TUPLE(self)->size, "items");
}

const om_type ty_tuple_type = {
    .name = "tuple",
    .basicsize = sizeof(ty_tuple),
    .itemsize = sizeof(om_object *),
    .flags = OM_TYPE_GC | OM_TYPE_IMMUTABLE | OM_TYPE_FREELIST,
    .dealloc = tuple_dealloc,
    .traverse = tuple_traverse,
    .clear = tuple_clear,
    .hash = tuple_hash,
    .equal = tuple_equal,
    .repr = tuple_repr,
};

bool om_tuple_check(const om_object *o)
{
    return ty_is(o, &ty_tuple_type);
}

/* The runtime's empty tuple: created on first use, immortal. */
static om_object *empty_tuple(om_runtime *rt)
{
    struct ty_state *st = ty_state_of(rt);
    if (!st->empty_tuple) {
        om_object *o = om_new_var(rt, &ty_tuple_type, 0);
        if (!o)
            return NULL;
        om_make_immortal(o);
        st->empty_tuple = o;
    }
    return st->empty_tuple;
}

/* A tuple of n items, all NULL, for the caller to fill. */
static om_object *tuple_alloc(om_runtime *rt, size_t n)
{
    if (n == 0)
        return empty_tuple(rt);
    if (n > (SIZE_MAX - sizeof(ty_tuple)) / sizeof(om_object *)) {
        om_set_error("tuple of %zu items is too large", n);
        return NULL;
    }
    om_object *o = om_new_var(rt, &ty_tuple_type, n);
    if (o)
        TY_TUPLE(o)->size = n;
    return o;
}

om_object *om_tuple_from_array(om_runtime *rt, om_object *const *items, size_t n)
{
    om_object *o = tuple_alloc(rt, n);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        ty_same_runtime(o, items[i]);
        om_incref(items[i]);
        TY_TUPLE(o)->items[i] = items[i];
    }
    return o;
}

om_object *om_tuple_pack(om_runtime *rt, size_t n, ...)
{
    om_object *o = tuple_alloc(rt, n);
    if (!o)
        return NULL;
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        om_object *x = va_arg(ap, om_object *);
        ty_same_runtime(o, x);
        om_incref(x);
        TY_TUPLE(o)->items[i] = x;
    }
    va_end(ap);
    return o;
}

om_object *ty_tuple_pair(om_runtime *rt, om_object *a, om_object *b)
{
    return om_tuple_pack(rt, 2, a, b);
}

int64_t om_tuple_size(const om_object *t)
{
    if (!ty_is(t, &ty_tuple_type))
        return ty_type_error_int("tuple", t);
    return (int64_t)TY_TUPLE(t)->size;
}

om_object *om_tuple_getitem(om_object *t, int64_t i)
{
    if (!ty_is(t, &ty_tuple_type))
        return ty_type_error("tuple", t);
    int64_t k = ty_index(i, TY_TUPLE(t)->size, "tuple");
    if (k < 0)
        return NULL;
    om_object *x = TY_TUPLE(t)->items[k];
    if (!x) {
        om_set_error("tuple item was cleared by the collector");
        return NULL;
    }
    om_incref(x);
    return x;
}

om_object *om_tuple_getslice(om_object *t, int64_t lo, int64_t hi)
{
    if (!ty_is(t, &ty_tuple_type))
        return ty_type_error("tuple", t);
    size_t n = TY_TUPLE(t)->size;
    size_t a = ty_slice_bound(lo, n), b = ty_slice_bound(hi, n);
    if (a == 0 && b == n) {
        om_incref(t);
        return t;
    }
    om_object *o = tuple_alloc(ob_runtime_of(t), b > a ? b - a : 0);
    if (!o)
        return NULL;
    for (size_t i = a; i < b; i++) {
        om_xincref(TY_TUPLE(t)->items[i]);
        TY_TUPLE(o)->items[i - a] = TY_TUPLE(t)->items[i];
    }
    return o;
}
