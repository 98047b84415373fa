/*
 * types/lru.c: the memo cache of functools.lru_cache.
 *
 * The cache is the ordered table of dict.c used as a recency list: entries
 * sit in the order they were last used, the least recently used first.
 *
 *     table entries:  [ k3 | dead | k1 | k7 | dead | k2 ]   (k2 newest)
 *                       ^ evicted next                  ^ a hit moves here
 *
 * A hit moves its entry to the end (remove, then append: O(1) amortised, the
 * dead entries left behind vanish at the next rebuild); an insertion past
 * maxsize evicts the first live entry, found in O(1) amortised through the
 * table's `first` hint.  No linked list and no node objects: a cached pair
 * costs one 24-byte entry and 1.5 to 3 index bytes, against CPython's
 * 80-byte link list node plus a dict slot.  An unbounded cache never
 * reorders (Python's maxsize=None does not track recency either).
 *
 * om_lru_call(cache, args) looks args up and on a miss calls the C function
 * with it; the function may use the cache again (a recursive memo), and its
 * result is stored after it returns.
 */
#include <stdarg.h>
#include <stdio.h>

#include "types/containers.h"

typedef struct ty_lru {
    om_object ob;
    ty_table t; /* key -> value, least recently used first; as in ty_table_object */
    om_lru_fn fn;
    void *ctx;
    int64_t maxsize; /* OM_LRU_UNBOUNDED or >= 0 */
    uint64_t hits;
    uint64_t misses;
} ty_lru;

#define TY_LRU(o) ((ty_lru *)(o))

static size_t lru_repr(om_object *self, char *buf, size_t size)
{
    ty_lru *c = TY_LRU(self);
    int n = snprintf(buf, size, "<lru_cache at %p, %zu of %lld entries>", (void *)self, c->t.used,
                     (long long)c->maxsize);
    return n < 0 ? 0 : (size_t)n;
}

static const om_type lru_type = {
    .name = "lru_cache",
    .basicsize = sizeof(ty_lru),
    .flags = OM_TYPE_GC,
    .dealloc = ty_table_object_dealloc,
    .traverse = ty_table_object_traverse,
    .clear = ty_table_object_clear,
    .size_of = ty_table_object_size_of,
    .repr = lru_repr,
};

bool om_lru_check(const om_object *o)
{
    return ty_is(o, &lru_type);
}

static ty_lru *as_lru(const om_object *o)
{
    return om_lru_check(o) ? TY_LRU(o) : ty_type_error("lru_cache", o);
}

om_object *om_lru_cache_new(om_runtime *rt, int64_t maxsize, om_lru_fn fn, void *ctx)
{
    if (maxsize < 0 && maxsize != OM_LRU_UNBOUNDED) {
        om_set_error("lru_cache maxsize must be >= 0 or OM_LRU_UNBOUNDED");
        return NULL;
    }
    om_object *o = om_new(rt, &lru_type);
    if (!o)
        return NULL;
    TY_LRU(o)->fn = fn;
    TY_LRU(o)->ctx = ctx;
    TY_LRU(o)->maxsize = maxsize;
    return o;
}

/* Moves entry ix to the most recent end.  If memory runs out the entry is
 * forgotten instead (a cache may always drop what it holds). */
static void touch(ty_lru *c, int64_t ix)
{
    ty_table *t = &c->t;
    if (c->maxsize == OM_LRU_UNBOUNDED || ty_table_next(t, (size_t)ix + 1) < 0)
        return;
    om_hash_t hash = ty_table_entries(t)[ix].hash;
    om_object *key, *value;
    ty_table_remove_at(t, ix, &key, &value);
    if (ty_table_insert(&c->ob, t, key, hash, value) < 0)
        om_error_clear();
    om_decref(key);
    om_decref(value);
}

int om_lru_get(om_object *cache, om_object *key, om_object **value)
{
    ty_lru *c = as_lru(cache);
    om_hash_t h;
    *value = NULL;
    if (!c || ty_hash(key, &h) < 0)
        return -1;
    int64_t ix = ty_table_find(&c->t, key, h);
    if (ix == TY_ERROR)
        return -1;
    if (ix == TY_MISSING) {
        c->misses++;
        return 0;
    }
    c->hits++;
    *value = ty_table_entries(&c->t)[ix].value;
    om_incref(*value);
    touch(c, ix);
    return 1;
}

/* Drops least recently used entries until at most maxsize remain. */
static void evict(ty_lru *c)
{
    while (c->maxsize != OM_LRU_UNBOUNDED && c->t.used > (size_t)c->maxsize)
        ty_table_remove_at(&c->t, ty_table_next(&c->t, 0), NULL, NULL);
}

int om_lru_put(om_object *cache, om_object *key, om_object *value)
{
    ty_lru *c = as_lru(cache);
    om_hash_t h;
    if (!c || ty_hash(key, &h) < 0)
        return -1;
    ty_same_runtime(cache, key);
    ty_same_runtime(cache, value);
    if (c->maxsize == 0)
        return 0;
    int64_t ix = ty_table_find(&c->t, key, h);
    if (ix == TY_ERROR)
        return -1;
    if (ix >= 0) {
        ty_table_remove_at(&c->t, ix, NULL, NULL);
    }
    if (ty_table_insert(cache, &c->t, key, h, value) < 0)
        return -1;
    evict(c);
    return 0;
}

om_object *om_lru_call(om_object *cache, om_object *args)
{
    ty_lru *c = as_lru(cache);
    if (!c)
        return NULL;
    if (!c->fn) {
        om_set_error("lru_cache has no function to call");
        return NULL;
    }
    om_object *value;
    int r = om_lru_get(cache, args, &value);
    if (r != 0)
        return value;
    value = c->fn(args, c->ctx);
    if (value && om_lru_put(cache, args, value) < 0) {
        om_decref(value);
        return NULL;
    }
    return value;
}

om_object *om_lru_callv(om_object *cache, size_t n, ...)
{
    if (!as_lru(cache))
        return NULL;
    om_object *items[16];
    if (n > OM_ARRAY_LEN(items)) {
        om_set_error("om_lru_callv takes at most %zu arguments", OM_ARRAY_LEN(items));
        return NULL;
    }
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        items[i] = va_arg(ap, om_object *);
    va_end(ap);
    om_object *args = om_tuple_from_array(ob_runtime_of(cache), items, n);
    if (!args)
        return NULL;
    om_object *value = om_lru_call(cache, args);
    om_decref(args);
    return value;
}

void om_lru_cache_clear(om_object *cache)
{
    ty_lru *c = as_lru(cache);
    if (!c)
        return;
    c->hits = c->misses = 0;
    ty_table_object_clear(cache);
}

int om_lru_cache_info(const om_object *cache, om_lru_info *out)
{
    const ty_lru *c = as_lru(cache);
    if (!c)
        return -1;
    *out = (om_lru_info){.hits = c->hits,
                         .misses = c->misses,
                         .maxsize = c->maxsize,
                         .currsize = (int64_t)c->t.used};
    return 0;
}
