/*
 * types/dict.c: the insertion-ordered mapping.
 *
 * A dict is a 64-byte object holding a ty_table (dict_table.h), whose one
 * buffer has the sparse index and the dense, ordered entries:
 *
 *     dict object (64 B)            table buffer (buffer heap)
 *     +--------+---------------+    +-----------+-----------------------+
 *     | header | used, ...,mem-+--->| index (8) | entries (5 x 24 B)    |
 *     +--------+---------------+    +-----------+-----------------------+
 *
 * An empty dict owns no buffer; the first insertion makes a table of 8
 * slots and 5 entries (128 bytes, the heap's class for 8 + 120), and each
 * growth rebuilds for three times the live count.  Keys must be hashable:
 * an unhashable key fails with "unhashable type: 'list'".  A missing key
 * fails with "key not found: <key>" where Python raises KeyError, and
 * om_dict_lookup tells a miss (0) from an error (-1).
 *
 * Values and replaced keys are released last, after the table is
 * consistent, because a release may run a finalizer that reads the dict.
 */
#include <stdio.h>

#include "types/containers.h"

static size_t dict_repr(om_object *self, char *buf, size_t size)
{
    return ty_repr_count(self, buf, size, TY_DICT(self)->t.used, "items");
}

static int dict_equal(om_object *a, om_object *b);

const om_type ty_dict_type = {
    .name = "dict",
    .basicsize = sizeof(ty_dict),
    .flags = OM_TYPE_GC | OM_TYPE_FREELIST,
    .dealloc = ty_table_object_dealloc,
    .traverse = ty_table_object_traverse,
    .clear = ty_table_object_clear,
    .size_of = ty_table_object_size_of,
    .equal = dict_equal,
    .repr = dict_repr,
};

bool om_dict_check(const om_object *o)
{
    return ty_is(o, &ty_dict_type);
}

int ty_hash_any(om_object *o, om_hash_t *out)
{
    om_hash_t h = om_hash(o);
    if (h == (om_hash_t)-1)
        return -1;
    *out = h;
    return 0;
}

size_t ty_repr_count(const om_object *self, char *buf, size_t size, size_t n, const char *unit)
{
    int len =
        snprintf(buf, size, "<%s at %p, %zu %s>", om_type_name(self), (const void *)self, n, unit);
    return len < 0 ? 0 : (size_t)len;
}

void ty_key_error(om_object *key)
{
    char what[96];
    om_repr(key, what, sizeof what);
    om_set_error("key not found: %s", what);
}

void ty_dict_check(const om_object *d)
{
    ty_table_check(&TY_DICT(d)->t, om_type_name(d));
}

static ty_dict *as_dict(om_object *d)
{
    return ty_is(d, &ty_dict_type) ? TY_DICT(d) : ty_type_error("dict", d);
}

om_object *om_dict_new(om_runtime *rt)
{
    return om_new(rt, &ty_dict_type);
}

int64_t om_dict_len(const om_object *d)
{
    return ty_is(d, &ty_dict_type) ? (int64_t)TY_DICT(d)->t.used : ty_type_error_int("dict", d);
}

int om_dict_setitem(om_object *d, om_object *key, om_object *value)
{
    ty_dict *dict = as_dict(d);
    om_hash_t h;
    if (!dict || ty_hash(key, &h) < 0)
        return -1;
    ty_same_runtime(d, key);
    ty_same_runtime(d, value);
    return ty_table_insert(d, &dict->t, key, h, value) < 0 ? -1 : 0;
}

/* om_dict_lookup, inline in the functions of this file (an exported
 * function is not inlined into its callers, which may be interposed). */
static inline int dict_lookup(om_object *d, om_object *key, om_object **value)
{
    ty_dict *dict = as_dict(d);
    om_hash_t h;
    *value = NULL;
    if (!dict || ty_hash(key, &h) < 0)
        return -1;
    int64_t ix = ty_table_find(&dict->t, key, h);
    if (ix == TY_ERROR)
        return -1;
    if (ix == TY_MISSING)
        return 0;
    *value = ty_table_entries(&dict->t)[ix].value;
    om_incref(*value);
    return 1;
}

int om_dict_lookup(om_object *d, om_object *key, om_object **value)
{
    return dict_lookup(d, key, value);
}

om_object *om_dict_getitem(om_object *d, om_object *key)
{
    om_object *v;
    int r = dict_lookup(d, key, &v);
    if (OM_UNLIKELY(r == 0))
        ty_key_error(key);
    return v;
}

int om_dict_contains(om_object *d, om_object *key)
{
    om_object *v;
    int r = dict_lookup(d, key, &v);
    om_xdecref(v);
    return r;
}

om_object *om_dict_pop(om_object *d, om_object *key, om_object *dflt)
{
    ty_dict *dict = as_dict(d);
    om_hash_t h;
    if (!dict || ty_hash(key, &h) < 0)
        return NULL;
    int64_t ix = ty_table_find(&dict->t, key, h);
    if (ix == TY_ERROR)
        return NULL;
    if (ix == TY_MISSING) {
        if (!dflt) {
            ty_key_error(key);
            return NULL;
        }
        om_incref(dflt);
        return dflt;
    }
    om_object *value;
    ty_table_remove_at(&dict->t, ix, NULL, &value);
    return value;
}

int om_dict_delitem(om_object *d, om_object *key)
{
    om_object *v = om_dict_pop(d, key, NULL);
    if (!v)
        return -1;
    om_decref(v);
    return 0;
}

/* What a listing of the dict holds per entry. */
enum dict_part { PART_KEYS, PART_VALUES, PART_ITEMS };

static om_object *dict_list(om_object *d, enum dict_part part)
{
    ty_dict *dict = as_dict(d);
    if (!dict)
        return NULL;
    om_runtime *rt = ob_runtime_of(d);
    om_object *list = om_list_new(rt);
    if (!list)
        return NULL;
    for (int64_t ix = ty_table_next(&dict->t, 0); ix >= 0;
         ix = ty_table_next(&dict->t, (size_t)ix + 1)) {
        ty_entry *e = &ty_table_entries(&dict->t)[ix];
        om_object *x = part == PART_KEYS     ? e->key
                       : part == PART_VALUES ? e->value
                                             : ty_tuple_pair(rt, e->key, e->value);
        if (!x || om_list_append(list, x) < 0) {
            if (x && part == PART_ITEMS)
                om_decref(x);
            om_decref(list);
            return NULL;
        }
        if (part == PART_ITEMS)
            om_decref(x);
    }
    return list;
}

om_object *om_dict_keys(om_object *d)
{
    return dict_list(d, PART_KEYS);
}
om_object *om_dict_values(om_object *d)
{
    return dict_list(d, PART_VALUES);
}
om_object *om_dict_items(om_object *d)
{
    return dict_list(d, PART_ITEMS);
}

int om_dict_update(om_object *d, om_object *other)
{
    ty_dict *dict = as_dict(d), *src = dict ? as_dict(other) : NULL;
    if (!src)
        return -1;
    om_runtime *rt = ob_runtime_of(d);
    if (!dict->t.used && ty_table_reserve(rt, &dict->t, src->t.used) < 0)
        return -1;
    for (int64_t ix = ty_table_next(&src->t, 0); ix >= 0;
         ix = ty_table_next(&src->t, (size_t)ix + 1)) {
        ty_entry e = ty_table_entries(&src->t)[ix];
        om_incref(e.key);
        om_incref(e.value);
        int r = ty_table_insert(d, &dict->t, e.key, e.hash, e.value);
        om_decref(e.key);
        om_decref(e.value);
        if (r < 0)
            return -1;
    }
    return 0;
}

om_object *om_dict_copy(om_object *d)
{
    if (!as_dict(d))
        return NULL;
    om_object *copy = om_dict_new(ob_runtime_of(d));
    if (copy && om_dict_update(copy, d) < 0) {
        om_decref(copy);
        return NULL;
    }
    return copy;
}

int om_dict_clear(om_object *d)
{
    if (!as_dict(d))
        return -1;
    return ty_table_object_clear(d);
}

int om_dict_setitem_str(om_object *d, const char *key, om_object *value)
{
    if (!as_dict(d))
        return -1;
    om_object *k = om_str_intern_cstr(ob_runtime_of(d), key);
    if (!k)
        return -1;
    int r = om_dict_setitem(d, k, value);
    om_decref(k);
    return r;
}

om_object *om_dict_getitem_str(om_object *d, const char *key)
{
    if (!as_dict(d))
        return NULL;
    om_object *k = om_str_intern_cstr(ob_runtime_of(d), key);
    if (!k)
        return NULL;
    om_object *v = om_dict_getitem(d, k);
    om_decref(k);
    return v;
}

/* Equal when both have the same keys mapping to equal values (order does
 * not matter, as in Python). */
static int dict_equal(om_object *a, om_object *b)
{
    if (!ty_is(b, &ty_dict_type) || TY_DICT(a)->t.used != TY_DICT(b)->t.used)
        return 0;
    ty_table *t = &TY_DICT(a)->t;
    for (int64_t ix = ty_table_next(t, 0); ix >= 0; ix = ty_table_next(t, (size_t)ix + 1)) {
        ty_entry e = ty_table_entries(t)[ix];
        om_object *other;
        om_incref(e.key);
        om_incref(e.value);
        int r = om_dict_lookup(b, e.key, &other);
        if (r > 0) {
            r = other == e.value ? 1 : om_equal(e.value, other);
            om_decref(other);
        }
        om_decref(e.key);
        om_decref(e.value);
        if (r <= 0)
            return r;
    }
    return 1;
}
