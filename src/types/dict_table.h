/*
 * types/dict_table.h: the hash table under dict, set and the LRU cache.
 *
 * The compact, insertion-ordered layout of CPython 3.6's dict (Raymond
 * Hettinger's 2012 proposal "More compact dictionaries with faster
 * iteration"), in our own code: a dense array of entries in insertion order
 * and a sparse index table of small integers pointing into it.
 *
 *     mem (one block from the runtime's buffer heap)
 *     +-------------------------------+----------------------------------+
 *     | index[nslots]: 1, 2, 4 or 8   | entries[usable]: hash, key, value |
 *     | bytes each; EMPTY, DUMMY or i | in insertion order; a deleted     |
 *     |                               | entry has key NULL                |
 *     +-------------------------------+----------------------------------+
 *
 * The numbers it lives by:
 *   - nslots is a power of two, at least TY_TABLE_MIN_SLOTS (8);
 *   - usable <= nslots * 2 / 3 entries: the index is never more than two
 *     thirds full, so every probe sequence ends at an EMPTY slot; usable is
 *     cut below two thirds when those would spill just past one of the
 *     heap's block sizes: then the entries fill the block size below
 *     (capacity_of in dict_table.c; 64 keys take 2048 bytes, not 2560);
 *   - the index width is the smallest of 1, 2, 4, 8 bytes that holds
 *     nslots * 2 / 3 - 1 and the two markers (EMPTY -1, DUMMY -2);
 *   - when the entries run out, the table is rebuilt with the smallest
 *     power of two of slots >= 3 * used (CPython's GROWTH_RATE), deleted
 *     entries compacted away: a growing table doubles, and a table of n
 *     live keys holds n to 2n entries, 24 to 48 bytes a key plus 1.5 to 3
 *     index slots; an empty table owns no memory at all.
 *
 * Invariants (checked by ty_table_check): used <= nentries <= usable; every
 * live entry is reached from exactly one index slot on its probe sequence;
 * entries[0..first) are all deleted and entries[first] is live (or first ==
 * nentries), so the oldest live entry is found in O(1).
 *
 * Table memory comes from the runtime's buffer heap (ob_mem_alloc), not its
 * object heap: the collector walks the object heap as a set of objects, and
 * a raw buffer there would look like one.
 */
#ifndef OM_TYPES_DICT_TABLE_H
#define OM_TYPES_DICT_TABLE_H

#include "objmem/object.h"
#include "object/object.h"

#define TY_TABLE_MIN_SLOTS 8 /* power of two; usable 5 */

typedef struct ty_entry {
    om_hash_t hash;
    om_object *key; /* NULL: deleted */
    om_object *value;
} ty_entry;

typedef struct ty_table {
    size_t used;     /* live entries */
    size_t nentries; /* entries written, live or deleted */
    size_t usable;   /* capacity of entries[] */
    size_t nslots;   /* index slots, a power of two; 0 when mem is NULL */
    size_t first;    /* entries[0..first) are deleted */
    void *mem;       /* index then entries; NULL for an empty table */
} ty_table;

/* Lookup result: the entry index, or TY_MISSING, or TY_ERROR (message set). */
#define TY_MISSING (-1)
#define TY_ERROR   (-2)

/* Bytes per index slot for a table of nslots slots: 1, 2, 4 or 8. */
static inline size_t ty_index_width(size_t nslots)
{
    return nslots <= 128 ? 1 : nslots <= 0x8000 ? 2 : nslots <= 0x80000000ull ? 4 : 8;
}
/* The entry array, after the index (t->mem must not be NULL). */
static inline ty_entry *ty_table_entries(const ty_table *t)
{
    return (ty_entry *)((char *)t->mem + t->nslots * ty_index_width(t->nslots));
}
#define TY_IX_EMPTY      (-1) /* an index slot that was never used */
#define TY_PERTURB_SHIFT 5
#define TY_COMPARE       (-4) /* an entry of equal hash, another key: compare */

/* Index slot i of an index of width bytes a slot; width is a constant where
 * this is inlined, so each probe loop reads one width without a switch. */
static inline __attribute__((always_inline)) int64_t ty_index_at(const void *index, size_t i,
                                                                 size_t width)
{
    switch (width) {
    case 1:
        return ((const int8_t *)index)[i];
    case 2:
        return ((const int16_t *)index)[i];
    case 4:
        return ((const int32_t *)index)[i];
    default:
        return ((const int64_t *)index)[i];
    }
}

/* The probe loop for one index width, by identity only, so that it calls
 * nothing (no frame, no saved registers): it returns the entry that holds
 * key itself, or TY_MISSING with *empty the EMPTY slot that ended the
 * sequence (where a probe for an empty slot would stop too), or TY_COMPARE
 * at the first entry of equal hash whose key is another object, which only
 * om_equal can judge.  The sequence is described in dict_table.c. */
static inline __attribute__((always_inline)) int64_t
ty_find_same(const ty_table *t, const om_object *key, om_hash_t hash, size_t width, size_t *empty)
{
    const void *index = t->mem;
    const ty_entry *entries = (const ty_entry *)((const char *)index + t->nslots * width);
    size_t mask = t->nslots - 1;
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        int64_t ix = ty_index_at(index, i, width);
        if (ix == TY_IX_EMPTY) {
            *empty = i;
            return TY_MISSING;
        }
        if (ix >= 0) {
            const ty_entry *e = &entries[ix];
            if (e->key == key)
                return ix;
            if (e->hash == hash)
                return TY_COMPARE;
        }
        perturb >>= TY_PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* The lookup with comparisons (om_equal, which may run user code), for
 * when the identity loop returned TY_COMPARE. */
OM_INTERNAL int64_t ty_table_find_equal(ty_table *t, om_object *key, om_hash_t hash, size_t *empty);

/* Finds key (hash precomputed by om_hash): its entry index, TY_MISSING
 * with *empty the EMPTY slot that ended the search, or TY_ERROR.  May call
 * om_equal.  Inline: the common lookup, by identity, costs no call. */
static inline int64_t ty_table_find_slot(ty_table *t, om_object *key, om_hash_t hash, size_t *empty)
{
    if (!t->mem)
        return TY_MISSING;
    int64_t ix;
    switch (ty_index_width(t->nslots)) {
    case 1:
        ix = ty_find_same(t, key, hash, 1, empty);
        break;
    case 2:
        ix = ty_find_same(t, key, hash, 2, empty);
        break;
    case 4:
        ix = ty_find_same(t, key, hash, 4, empty);
        break;
    default:
        ix = ty_find_same(t, key, hash, 8, empty);
        break;
    }
    return OM_LIKELY(ix != TY_COMPARE) ? ix : ty_table_find_equal(t, key, hash, empty);
}

/* Finds key: its entry index, TY_MISSING or TY_ERROR (see above). */
static inline int64_t ty_table_find(ty_table *t, om_object *key, om_hash_t hash)
{
    size_t empty;
    return ty_table_find_slot(t, key, hash, &empty);
}
/* Inserts or replaces key -> value (value may be NULL for sets); takes its
 * own references.  owner is the container (its runtime's buffer heap holds
 * the table, looked up only when the table grows).  Returns 1 if added, 0
 * if replaced, -1 on failure. */
OM_INTERNAL int ty_table_insert(const om_object *owner, ty_table *t, om_object *key, om_hash_t hash,
                                om_object *value);
/* Removes the entry found at index ix; hands its references to the caller
 * through *key and *value (either may be NULL to drop them). */
OM_INTERNAL void ty_table_remove_at(ty_table *t, int64_t ix, om_object **key, om_object **value);
/* Grows (or compacts) to hold at least `want` entries.  -1 on failure. */
OM_INTERNAL int ty_table_reserve(om_runtime *rt, ty_table *t, size_t want);
/* Drops every entry and the memory. */
OM_INTERNAL void ty_table_clear(om_runtime *rt, ty_table *t);
/* The first live entry index at or after pos, or -1. */
OM_INTERNAL int64_t ty_table_next(const ty_table *t, size_t pos);
OM_INTERNAL int ty_table_traverse(const ty_table *t, om_visitproc visit, void *arg);
OM_INTERNAL size_t ty_table_memsize(const ty_table *t);
/* Verifies the invariants; a broken one is fatal (what names the owner type). */
OM_INTERNAL void ty_table_check(const ty_table *t, const char *what);

/* An object that is a header followed by a table: dict, set, the LRU cache
 * (which adds fields after it).  Their dealloc, traverse, clear and size_of
 * hooks are these. */
typedef struct ty_table_object {
    om_object ob;
    ty_table t;
} ty_table_object;

OM_INTERNAL void ty_table_object_dealloc(om_object *self);
OM_INTERNAL int ty_table_object_traverse(om_object *self, om_visitproc visit, void *arg);
OM_INTERNAL int ty_table_object_clear(om_object *self);
OM_INTERNAL size_t ty_table_object_size_of(const om_object *self);

#endif
