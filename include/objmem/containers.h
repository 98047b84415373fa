/*
 * objmem/containers.h: the container builtin types (tuple, list, dict, set),
 * fixed-slot records beside dict-backed instances, lazy iterators and range,
 * the LRU memo cache, weak references, and om_sys_getsizeof.
 *
 * Names follow Python: om_<type>_<method>, so `d[k] = v` is
 * om_dict_setitem(d, k, v) and `functools.lru_cache` is om_lru_cache_new.
 * The ownership rule of objmem.h holds everywhere: every om_object * returned
 * is a new reference, every argument is borrowed.
 *
 * Status conventions:
 *   - a function returning om_object * returns NULL with a message
 *     (om_error_message) on failure;
 *   - a function returning int returns -1 with a message on failure; where
 *     a yes/no answer is due it returns 1 or 0 (contains, discard, lookup);
 *   - lengths and indexes are int64_t; a length of -1 means "not this type";
 *   - negative indexes count from the end, as in Python.
 *
 * Lookups that can miss have two forms: om_dict_getitem returns NULL with the
 * message "key not found: <key>" (Python's KeyError), and om_dict_lookup
 * returns 1 (found, *value set), 0 (missing, no error) or -1 (error, such as
 * an unhashable key), so a caller can tell a miss from a failure.
 *
 * Iterators: om_iter_next returns the next item, or NULL when the iterator is
 * exhausted (it then clears the error message) or on failure (a message is
 * set).  om_iter_next_item returns 1 / 0 / -1 for item / end / error, which
 * is the unambiguous form.  Iterating a dict or set whose size changes during
 * the iteration fails with "dict changed size during iteration".
 */
#ifndef OBJMEM_CONTAINERS_H
#define OBJMEM_CONTAINERS_H

#include "objmem/common.h"
#include "objmem/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- type checks --------------------------------------------------------- */
OM_API bool om_tuple_check(const om_object *o);
OM_API bool om_list_check(const om_object *o);
OM_API bool om_dict_check(const om_object *o);
OM_API bool om_set_check(const om_object *o);
OM_API bool om_range_check(const om_object *o);
OM_API bool om_record_check(const om_object *o);
OM_API bool om_instance_check(const om_object *o);
OM_API bool om_weakref_check(const om_object *o);
OM_API bool om_lru_check(const om_object *o);

/* ---- tuple: immutable, items inline after the header ---------------------- */
/* The n items are borrowed; the tuple takes its own references.  The empty
 * tuple is one immortal object per runtime. */
OM_API om_object *om_tuple_from_array(om_runtime *rt, om_object *const *items, size_t n);
/* om_tuple_pack(rt, 2, a, b) is (a, b). */
OM_API om_object *om_tuple_pack(om_runtime *rt, size_t n, ...);
OM_API int64_t om_tuple_size(const om_object *t);
OM_API om_object *om_tuple_getitem(om_object *t, int64_t i);
/* t[lo:hi] with Python's clamping of out-of-range bounds. */
OM_API om_object *om_tuple_getslice(om_object *t, int64_t lo, int64_t hi);

/* ---- list ------------------------------------------------------------------ */
OM_API om_object *om_list_new(om_runtime *rt);
OM_API om_object *om_list_from_array(om_runtime *rt, om_object *const *items, size_t n);
OM_API int64_t om_list_len(const om_object *l);
OM_API int om_list_append(om_object *l, om_object *x);
/* Inserts before index i; i is clamped to [0, len] like list.insert. */
OM_API int om_list_insert(om_object *l, int64_t i, om_object *x);
OM_API om_object *om_list_pop(om_object *l, int64_t i);
OM_API om_object *om_list_getitem(om_object *l, int64_t i);
OM_API int om_list_setitem(om_object *l, int64_t i, om_object *x);
OM_API int om_list_delitem(om_object *l, int64_t i);
OM_API om_object *om_list_getslice(om_object *l, int64_t lo, int64_t hi);
/* Appends every item of any iterable (list, tuple, dict keys, set, range,
 * iterator). */
OM_API int om_list_extend(om_object *l, om_object *iterable);
OM_API int om_list_reverse(om_object *l);
OM_API int om_list_clear(om_object *l);
/* 1 if some item equals x, 0 if none, -1 on error. */
OM_API int om_list_contains(om_object *l, om_object *x);
/* The index of the first item equal to x; -1 with "x not in list" when
 * there is none (or on another error). */
OM_API int64_t om_list_index(om_object *l, om_object *x);

/* A comparison for sorting: negative, zero or positive like strcmp, or
 * OM_COMPARE_ERROR with a message set. */
#define OM_COMPARE_ERROR INT32_MIN
typedef int (*om_compare_fn)(om_object *a, om_object *b, void *arg);
/* Python's natural order for int, float (mixed), str (by code point), bytes
 * and tuples of those; OM_COMPARE_ERROR with a message for other types. */
OM_API int om_compare(om_object *a, om_object *b, void *arg);
/* A stable sort (list.sort); cmp NULL means om_compare.  The list appears
 * empty to the comparison while it runs; if the comparison changes it, the
 * sort fails with "list modified during sort". */
OM_API int om_list_sort(om_object *l, om_compare_fn cmp, void *arg);

/* ---- dict: insertion-ordered, compact -------------------------------------- */
OM_API om_object *om_dict_new(om_runtime *rt);
OM_API int64_t om_dict_len(const om_object *d);
OM_API int om_dict_setitem(om_object *d, om_object *key, om_object *value);
/* NULL with "key not found: <key>" when missing. */
OM_API om_object *om_dict_getitem(om_object *d, om_object *key);
/* 1 and *value (a new reference) when found, 0 when missing, -1 on error. */
OM_API int om_dict_lookup(om_object *d, om_object *key, om_object **value);
/* -1 with "key not found: <key>" when missing. */
OM_API int om_dict_delitem(om_object *d, om_object *key);
OM_API int om_dict_contains(om_object *d, om_object *key);
/* dict.pop(key[, dflt]): dflt NULL makes a missing key an error. */
OM_API om_object *om_dict_pop(om_object *d, om_object *key, om_object *dflt);
/* Lists, in insertion order (copies: dict.keys() materialised). */
OM_API om_object *om_dict_keys(om_object *d);
OM_API om_object *om_dict_values(om_object *d);
OM_API om_object *om_dict_items(om_object *d); /* list of (key, value) tuples */
OM_API om_object *om_dict_copy(om_object *d);
OM_API int om_dict_update(om_object *d, om_object *other);
OM_API int om_dict_clear(om_object *d);
/* Conveniences keyed by a C string (the key is an interned str). */
OM_API int om_dict_setitem_str(om_object *d, const char *key, om_object *value);
OM_API om_object *om_dict_getitem_str(om_object *d, const char *key);

/* ---- set ------------------------------------------------------------------- */
OM_API om_object *om_set_new(om_runtime *rt);
/* A set of the items of any iterable. */
OM_API om_object *om_set_from_iterable(om_runtime *rt, om_object *iterable);
OM_API int64_t om_set_len(const om_object *s);
OM_API int om_set_add(om_object *s, om_object *key);
/* 1 if key was there and is removed, 0 if it was absent, -1 on error. */
OM_API int om_set_discard(om_object *s, om_object *key);
OM_API int om_set_contains(om_object *s, om_object *key);
OM_API om_object *om_set_pop(om_object *s);
OM_API int om_set_clear(om_object *s);
/* New sets; the arguments are sets. */
OM_API om_object *om_set_union(om_object *a, om_object *b);
OM_API om_object *om_set_intersection(om_object *a, om_object *b);
OM_API om_object *om_set_difference(om_object *a, om_object *b);
/* 1 if every item of a is in b. */
OM_API int om_set_issubset(om_object *a, om_object *b);

/* ---- records: fixed named slots (the __slots__ idea) ----------------------- */
/*
 * A record type is an om_type followed by its slot names.  Instances are the
 * 16-byte header and one pointer per slot, nothing else: no dict.  A slot
 * starts unset; reading an unset slot fails like Python's AttributeError.
 *
 * Define one statically:
 *     OM_RECORD_TYPE(point_type, "Point", "x", "y");
 *     om_object *p = om_record_new(rt, &point_type);
 * or at run time with om_record_type_new (freed with om_record_type_free once
 * no runtime holds an instance of it, that is after om_runtime_free).
 */
typedef struct om_record_type {
    om_type type; /* first: an instance's ob_type points here */
    size_t nslots;
    const char *const *slot_names;
} om_record_type;

OM_API void om_record_dealloc(om_object *self);
OM_API int om_record_traverse(om_object *self, om_visitproc visit, void *arg);
OM_API int om_record_clear(om_object *self);
OM_API size_t om_record_repr(om_object *self, char *buf, size_t size);
OM_API om_hash_t om_record_hash(om_object *self); /* by identity, as in Python */

#define OM_RECORD_TYPE(var, tname, ...)                                                            \
    static const char *const var##_slot_names[] = {__VA_ARGS__};                                   \
    static const om_record_type var = {                                                            \
        .type = {.name = tname,                                                                    \
                 .basicsize = sizeof(om_object) + sizeof(var##_slot_names),                        \
                 .flags = OM_TYPE_GC | OM_TYPE_FREELIST,                                           \
                 .dealloc = om_record_dealloc,                                                     \
                 .traverse = om_record_traverse,                                                   \
                 .clear = om_record_clear,                                                         \
                 .hash = om_record_hash,                                                           \
                 .repr = om_record_repr},                                                          \
        .nslots = sizeof(var##_slot_names) / sizeof(var##_slot_names[0]),                          \
        .slot_names = var##_slot_names}

/* name and the slot names are copied.  NULL with a message on failure
 * (duplicate or empty slot names, nslots == 0). */
OM_API om_record_type *om_record_type_new(const char *name, size_t nslots,
                                          const char *const *slot_names);
OM_API void om_record_type_free(om_record_type *t);
OM_API om_object *om_record_new(om_runtime *rt, const om_record_type *t);
OM_API int64_t om_record_nslots(const om_object *r);
/* The index of a slot name, or -1 with a message. */
OM_API int64_t om_record_slot_index(const om_object *r, const char *name);
OM_API om_object *om_record_get(om_object *r, int64_t i);
OM_API int om_record_set(om_object *r, int64_t i, om_object *value);
OM_API om_object *om_record_getattr(om_object *r, const char *name);
OM_API int om_record_setattr(om_object *r, const char *name, om_object *value);

/* ---- instances: attributes in a dict (Python's default __dict__) ----------- */
OM_API om_object *om_instance_new(om_runtime *rt);
OM_API om_object *om_instance_getattr(om_object *o, const char *name);
OM_API int om_instance_setattr(om_object *o, const char *name, om_object *value);
OM_API int om_instance_delattr(om_object *o, const char *name);
/* The attribute dict itself (created on first use). */
OM_API om_object *om_instance_dict(om_object *o);

/* ---- iterators: O(1) memory ------------------------------------------------ */
/* An iterator over list, tuple, dict (keys), set, range, or an iterator
 * itself (returned as is, with a new reference). */
OM_API om_object *om_iter(om_object *iterable);
OM_API om_object *om_dict_iter_keys(om_object *d);
OM_API om_object *om_dict_iter_values(om_object *d);
OM_API om_object *om_dict_iter_items(om_object *d); /* yields (key, value) tuples */
OM_API om_object *om_iter_next(om_object *it);
/* 1 with *item set (new reference), 0 at the end, -1 on error. */
OM_API int om_iter_next_item(om_object *it, om_object **item);
OM_API bool om_iter_check(const om_object *o);

/* ---- range: start, stop, step; never materialised --------------------------- */
OM_API om_object *om_range(om_runtime *rt, int64_t start, int64_t stop, int64_t step);
OM_API int64_t om_range_len(const om_object *r);
/* r[i] as an int64 in *out; -1 with a message when out of range. */
OM_API int om_range_item(const om_object *r, int64_t i, int64_t *out);
OM_API int om_range_contains(const om_object *r, int64_t value);

/* ---- the LRU memo cache (functools.lru_cache) -------------------------------- */
#define OM_LRU_UNBOUNDED (-1)
/* Called on a miss with the argument object (the key); returns a new
 * reference or NULL with a message (nothing is cached then). */
typedef om_object *(*om_lru_fn)(om_object *args, void *ctx);
typedef struct om_lru_info {
    uint64_t hits;
    uint64_t misses;
    int64_t maxsize; /* OM_LRU_UNBOUNDED for no bound */
    int64_t currsize;
} om_lru_info;
/* maxsize >= 0 or OM_LRU_UNBOUNDED (maxsize 0 caches nothing, like Python);
 * fn may be NULL for a cache used only through get/put. */
OM_API om_object *om_lru_cache_new(om_runtime *rt, int64_t maxsize, om_lru_fn fn, void *ctx);
/* 1 with *value (new reference) on a hit, 0 on a miss, -1 on error.  A hit
 * makes the key the most recently used; both count in the statistics. */
OM_API int om_lru_get(om_object *cache, om_object *key, om_object **value);
/* Stores key -> value, evicting the least recently used entry when full. */
OM_API int om_lru_put(om_object *cache, om_object *key, om_object *value);
/* The cached value for args, or fn(args) stored on a miss. */
OM_API om_object *om_lru_call(om_object *cache, om_object *args);
/* om_lru_call with the tuple (a0, ..., an-1) as the key; n <= 16. */
OM_API om_object *om_lru_callv(om_object *cache, size_t n, ...);
OM_API void om_lru_cache_clear(om_object *cache);
OM_API int om_lru_cache_info(const om_object *cache, om_lru_info *out);

/* ---- weak references ----------------------------------------------------------- */
/* Called once when the target dies, after the weakref went dead (om_weakref_get
 * returns NULL by then).  wr is the weak reference object. */
typedef void (*om_weakref_callback)(om_object *wr, void *arg);
/* A weak reference to target (which it does not keep alive), an object of
 * the runtime rt.  The callback may be NULL. */
OM_API om_object *om_weakref_new(om_runtime *rt, om_object *target, om_weakref_callback cb,
                                 void *arg);
/* The target (new reference), or NULL with no error when it is dead. */
OM_API om_object *om_weakref_get(om_object *wr);
OM_API bool om_weakref_alive(const om_object *wr);

/* ---- sys.getsizeof ------------------------------------------------------------- */
/* Bytes the object costs: the usable size of its heap block plus what it owns
 * outside it (a list's item buffer, a dict's table), as the heap counts them. */
OM_API size_t om_sys_getsizeof(const om_object *o);

#ifdef __cplusplus
}
#endif
#endif
