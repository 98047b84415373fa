/*
 * types/containers.h: the layouts of the container types and what their
 * files share.  Private to src/types (tuple.c, list.c, dict.c, set.c,
 * record.c, instance.c, iter.c, range.c, lru.c, weakref.c, sizeof.c).
 *
 * Layouts (bytes on a 64-bit machine, 16-byte header included; the heap
 * rounds each block up to a multiple of 16):
 *
 *     tuple     24 + 8n        items inline, no separate buffer
 *     list      40             + item buffer of `allocated` pointers
 *     dict      64             + table (see dict_table.h), none when empty
 *     set       64             + table
 *     record    16 + 8n        n fixed slots, no dict
 *     instance  24             + its attribute dict when it has one
 *     range     48             start, stop, step, len: O(1) whatever the length
 *     iterator  40             the container, a position, the expected size
 *     lru_cache 104            + table
 *     weakref   80             a record of the object layer's weakref table
 *
 * Who owns what: a container owns one reference to each item it holds;
 * buffers (list items, tables) come from the runtime's buffer heap
 * (ob_mem_alloc) and are owned by the one object that points at them.
 */
#ifndef OM_TYPES_CONTAINERS_H
#define OM_TYPES_CONTAINERS_H

#include "objmem/containers.h"
#include "types/dict_table.h"
#include "types/types.h"

typedef struct ty_tuple {
    om_object ob;
    size_t size;
    om_object *items[]; /* NULL only after the collector cleared the tuple */
} ty_tuple;

typedef struct ty_list {
    om_object ob;
    size_t size;
    size_t allocated; /* capacity of items */
    om_object **items;
} ty_list;

typedef ty_table_object ty_dict;

typedef ty_dict ty_set; /* a set is a table whose values are NULL */

typedef struct ty_record {
    om_object ob;
    om_object *slots[]; /* NULL: unset */
} ty_record;

typedef struct ty_instance {
    om_object ob;
    om_object *dict; /* NULL until the first attribute */
} ty_instance;

typedef struct ty_range {
    om_object ob;
    int64_t start, stop, step;
    int64_t len;
} ty_range;

OM_INTERNAL extern const om_type ty_tuple_type;
OM_INTERNAL extern const om_type ty_list_type;
OM_INTERNAL extern const om_type ty_dict_type;
OM_INTERNAL extern const om_type ty_set_type;
OM_INTERNAL extern const om_type ty_instance_type;
OM_INTERNAL extern const om_type ty_range_type;
OM_INTERNAL extern const om_type ty_range_iter_type;

/* range.c: the range iterator, driven by om_iter / om_iter_next_item. */
OM_INTERNAL om_object *ty_range_iter(om_object *range);
OM_INTERNAL int ty_range_iter_next(om_object *it, om_object **item);

/* The type test of the om_*_check functions, inlined for the hot paths
 * (the public functions are exported, so calls to them cannot be). */
static inline bool ty_is(const om_object *o, const om_type *type)
{
    return o && o->ob_type == type;
}

#define TY_TUPLE(o) ((ty_tuple *)(o))
#define TY_LIST(o)  ((ty_list *)(o))
#define TY_DICT(o)  ((ty_dict *)(o))

/* Normalises a Python index against len: -1 with "<what> index out of
 * range" when it falls outside [0, len). */
OM_INTERNAL int64_t ty_index(int64_t i, size_t len, const char *what);
/* Clamps a slice bound to [0, len] as Python does. */
OM_INTERNAL size_t ty_slice_bound(int64_t i, size_t len);
/* A tuple of n items without the empty-tuple shortcut's checks; internal. */
OM_INTERNAL om_object *ty_tuple_pair(om_runtime *rt, om_object *a, om_object *b);
/* The hash of o, or -1 with "unhashable type: 'list'" already set: 0 and
 * *out.  Inline for the commonest key, a str whose hash is cached; the rest
 * goes through om_hash (ty_hash_any). */
OM_INTERNAL int ty_hash_any(om_object *o, om_hash_t *out);
static inline int ty_hash(om_object *o, om_hash_t *out)
{
    if (OM_LIKELY(o && o->ob_type == &om_str_type)) {
        om_hash_t h = ((const ty_str *)o)->hash;
        if (OM_LIKELY(h != (om_hash_t)-1)) {
            *out = h;
            return 0;
        }
    }
    return ty_hash_any(o, out);
}
/* Adds every item of iterable to the list / set. */
OM_INTERNAL int ty_set_update(om_object *s, om_object *iterable);
/* Calls visit on each non-NULL item of an array (the traverse of tuple,
 * list and record). */
static inline int ty_visit_items(om_object *const *items, size_t n, om_visitproc visit, void *arg)
{
    for (size_t i = 0; i < n; i++) {
        int r = items[i] ? visit(items[i], arg) : 0;
        if (r)
            return r;
    }
    return 0;
}

/* Objects never cross runtimes (objmem.h): in debug builds (OM_DEBUG >= 2)
 * a container handed an object of another runtime is a fatal error. */
static inline void ty_same_runtime(const om_object *container, const om_object *item)
{
    if (OM_DEBUG >= 2 && item && om_runtime_of(item) != om_runtime_of(container))
        om_fatal("a %s at %p was given a %s at %p from another runtime", om_type_name(container),
                 (const void *)container, om_type_name(item), (const void *)item);
}

/* "<list at 0x..., 3 items>": the repr of the containers. */
OM_INTERNAL size_t ty_repr_count(const om_object *self, char *buf, size_t size, size_t n,
                                 const char *unit);

/* Python's default hash: from the address, never -1. */
static inline om_hash_t ty_identity_hash(const om_object *o)
{
    uint64_t a = (uint64_t)(uintptr_t)o;
    return (a >> 4) | (a << 60);
}

/* Invariant checkers for the tests: a broken table is fatal. */
OM_INTERNAL void ty_dict_check(const om_object *d);
OM_INTERNAL void ty_set_check(const om_object *s);
/* "key not found: <repr of key>" as the error message. */
OM_INTERNAL void ty_key_error(om_object *key);

#endif
