/*
 * types/set.c: the unordered collection of distinct hashable items.
 *
 * A set is the dict's table with no values (every entry's value is NULL):
 *
 *     set object (64 B)             table buffer
 *     +--------+---------------+    +-----------+---------------------+
 *     | header | used, ...,mem-+--->| index     | (hash, key, NULL)   |
 *     +--------+---------------+    +-----------+---------------------+
 *
 * Sharing the table costs 8 bytes per entry against a table of its own
 * (CPython's setobject keeps (key, hash) pairs in a plain open-addressing
 * table) and buys one tested hash table for dict, set and the LRU cache.
 * As a side effect iteration follows insertion order, which Python does not
 * promise for sets and callers must not rely on.
 *
 * Sets are mutable and so unhashable ("unhashable type: 'set'").
 */
#include <stdio.h>

#include "types/containers.h"

static size_t set_repr(om_object *self, char *buf, size_t size)
{
    return ty_repr_count(self, buf, size, TY_DICT(self)->t.used, "items");
}

static int set_equal(om_object *a, om_object *b)
{
    if (!ty_is(b, &ty_set_type) || TY_DICT(a)->t.used != TY_DICT(b)->t.used)
        return 0;
    return om_set_issubset(a, b);
}

const om_type ty_set_type = {
    .name = "set",
    .basicsize = sizeof(ty_set),
    .flags = OM_TYPE_GC | OM_TYPE_FREELIST,
    .dealloc = ty_table_object_dealloc,
    .traverse = ty_table_object_traverse,
    .clear = ty_table_object_clear,
    .size_of = ty_table_object_size_of,
    .equal = set_equal,
    .repr = set_repr,
};

bool om_set_check(const om_object *o)
{
    return ty_is(o, &ty_set_type);
}

void ty_set_check(const om_object *s)
{
    ty_table_check(&TY_DICT(s)->t, "set");
}

static ty_set *as_set(om_object *s)
{
    return ty_is(s, &ty_set_type) ? TY_DICT(s) : ty_type_error("set", s);
}

om_object *om_set_new(om_runtime *rt)
{
    return om_new(rt, &ty_set_type);
}

int64_t om_set_len(const om_object *s)
{
    return ty_is(s, &ty_set_type) ? (int64_t)TY_DICT(s)->t.used : ty_type_error_int("set", s);
}

int om_set_add(om_object *s, om_object *key)
{
    ty_set *set = as_set(s);
    om_hash_t h;
    if (!set || ty_hash(key, &h) < 0)
        return -1;
    ty_same_runtime(s, key);
    return ty_table_insert(s, &set->t, key, h, NULL) < 0 ? -1 : 0;
}

/* The entry index of key, TY_MISSING or TY_ERROR. */
static int64_t set_find(om_object *s, om_object *key)
{
    ty_set *set = as_set(s);
    om_hash_t h;
    if (!set || ty_hash(key, &h) < 0)
        return TY_ERROR;
    return ty_table_find(&set->t, key, h);
}

int om_set_contains(om_object *s, om_object *key)
{
    int64_t ix = set_find(s, key);
    return ix == TY_ERROR ? -1 : ix >= 0;
}

int om_set_discard(om_object *s, om_object *key)
{
    int64_t ix = set_find(s, key);
    if (ix == TY_ERROR)
        return -1;
    if (ix == TY_MISSING)
        return 0;
    ty_table_remove_at(&TY_DICT(s)->t, ix, NULL, NULL);
    return 1;
}

om_object *om_set_pop(om_object *s)
{
    ty_set *set = as_set(s);
    if (!set)
        return NULL;
    int64_t ix = ty_table_next(&set->t, 0);
    if (ix < 0) {
        om_set_error("pop from an empty set");
        return NULL;
    }
    om_object *key;
    ty_table_remove_at(&set->t, ix, &key, NULL);
    return key;
}

int om_set_clear(om_object *s)
{
    if (!as_set(s))
        return -1;
    return ty_table_object_clear(s);
}

int ty_set_update(om_object *s, om_object *iterable)
{
    om_object *it = om_iter(iterable);
    if (!it)
        return -1;
    om_object *x;
    int r;
    while ((r = om_iter_next_item(it, &x)) > 0) {
        r = om_set_add(s, x);
        om_decref(x);
        if (r < 0)
            break;
    }
    om_decref(it);
    return r < 0 ? -1 : 0;
}

om_object *om_set_from_iterable(om_runtime *rt, om_object *iterable)
{
    om_object *s = om_set_new(rt);
    if (s && ty_set_update(s, iterable) < 0) {
        om_decref(s);
        return NULL;
    }
    return s;
}

/* A new set of the items of a for which (b contains them) == want. */
static om_object *set_filter(om_object *a, om_object *b, int want)
{
    if (!as_set(a) || !as_set(b))
        return NULL;
    om_object *out = om_set_new(ob_runtime_of(a));
    if (!out)
        return NULL;
    ty_table *t = &TY_DICT(a)->t;
    for (int64_t ix = ty_table_next(t, 0); ix >= 0; ix = ty_table_next(t, (size_t)ix + 1)) {
        om_object *key = ty_table_entries(t)[ix].key;
        om_incref(key);
        int r = om_set_contains(b, key);
        if (r == want)
            r = om_set_add(out, key) < 0 ? -1 : r;
        om_decref(key);
        if (r < 0) {
            om_decref(out);
            return NULL;
        }
    }
    return out;
}

om_object *om_set_intersection(om_object *a, om_object *b)
{
    return set_filter(a, b, 1);
}
om_object *om_set_difference(om_object *a, om_object *b)
{
    return set_filter(a, b, 0);
}

om_object *om_set_union(om_object *a, om_object *b)
{
    if (!as_set(a) || !as_set(b))
        return NULL;
    om_object *out = om_set_from_iterable(ob_runtime_of(a), a);
    if (out && ty_set_update(out, b) < 0) {
        om_decref(out);
        return NULL;
    }
    return out;
}

int om_set_issubset(om_object *a, om_object *b)
{
    if (!as_set(a) || !as_set(b))
        return -1;
    ty_table *t = &TY_DICT(a)->t;
    for (int64_t ix = ty_table_next(t, 0); ix >= 0; ix = ty_table_next(t, (size_t)ix + 1)) {
        om_object *key = ty_table_entries(t)[ix].key;
        om_incref(key);
        int r = om_set_contains(b, key);
        om_decref(key);
        if (r <= 0)
            return r;
    }
    return 1;
}
