/*
 * types/dict_table.c: the compact hash table shared by dict, set and the LRU
 * cache.  The layout and its numbers are in dict_table.h; this file holds
 * the probing, insertion, deletion and resizing.
 *
 * Probing.  A key's first slot is hash & mask; later slots follow the
 * recurrence i = 5i + 1 + perturb (mod nslots), with perturb starting at the
 * hash and shifted right by 5 each step.  The 5i + 1 part alone visits every
 * slot of a power-of-two table (a full-period linear congruential sequence);
 * the perturbation lets the high bits of the hash take part early.  This is
 * the published scheme of CPython's dictobject.c, written anew here.
 *
 * Deletion leaves a DUMMY in the index (so probe sequences that pass through
 * it still reach their key) and a NULL key in the entry (so the insertion
 * order of the others is kept).  Both disappear at the next resize, which
 * always rebuilds from the live entries only.
 *
 * Comparison may run user code (a type's `equal` hook) that changes the
 * table; a lookup holds a reference to the key it compares with and starts
 * again when the table moved under it.
 *
 * Two loops.  Most lookups find the very key object they were given (str
 * keys of a program, interned names, small ints), so the first loop
 * (ty_find_same, inline in dict_table.h) compares by identity only, reads
 * the index at a width fixed at compile time (one copy per width) and
 * calls nothing, so it needs no frame; at the first entry of equal hash
 * holding another object it hands over to the full loop
 * (ty_table_find_equal), which calls om_equal.  Rebuilds re-index with one
 * copy of their loop per width too.  An insert places its entry in the
 * EMPTY slot that ended its lookup's miss: the slot a fresh probe for an
 * empty slot would find, since both stop at the first EMPTY slot of the
 * same sequence (unless the table grew in between).
 *
 * NUMBERS (callgrind, bench_objops_om dict: 1024 str keys set then read,
 * per operation with the benchmark's loop): 228 instructions before the
 * speed pass of issue #3, 154 after.
 */
#include <string.h>

#include "types/dict_table.h"

#define IX_EMPTY      TY_IX_EMPTY
#define IX_DUMMY      (-2)
#define PERTURB_SHIFT TY_PERTURB_SHIFT

static size_t usable_of(size_t nslots)
{
    return nslots * 2 / 3;
}

/* The entries of a table of nslots slots: two thirds of the slots (the
 * load bound, usable_of), or fewer when that many would spill just past one
 * of the heap's block sizes: then as many as fill the block size below, if
 * that still holds `need` entries.  With nslots >= 3 * used the block below
 * still holds about 1.6 * used entries or more (the medium classes are 1.25
 * apart), so a growing table keeps growing geometrically. */
static size_t capacity_of(size_t nslots, size_t need)
{
    size_t index = nslots * ty_index_width(nslots), most = usable_of(nslots);
    size_t below = hp_block_size_below(index + most * sizeof(ty_entry));
    size_t fit = below > index ? (below - index) / sizeof(ty_entry) : 0;
    return fit >= need && fit < most ? fit : most;
}

static int64_t index_get(const ty_table *t, size_t i)
{
    switch (ty_index_width(t->nslots)) {
    case 1:
        return ((const int8_t *)t->mem)[i];
    case 2:
        return ((const int16_t *)t->mem)[i];
    case 4:
        return ((const int32_t *)t->mem)[i];
    default:
        return ((const int64_t *)t->mem)[i];
    }
}

static void index_set(ty_table *t, size_t i, int64_t ix)
{
    switch (ty_index_width(t->nslots)) {
    case 1:
        ((int8_t *)t->mem)[i] = (int8_t)ix;
        break;
    case 2:
        ((int16_t *)t->mem)[i] = (int16_t)ix;
        break;
    case 4:
        ((int32_t *)t->mem)[i] = (int32_t)ix;
        break;
    default:
        ((int64_t *)t->mem)[i] = ix;
        break;
    }
}

/* The first EMPTY slot on hash's probe sequence (the table has one). */
static size_t find_empty_slot(const ty_table *t, om_hash_t hash)
{
    size_t mask = t->nslots - 1;
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    while (index_get(t, i) != IX_EMPTY) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

/* The index slot that points at entry ix. */
static size_t find_slot_of(const ty_table *t, om_hash_t hash, int64_t ix)
{
    size_t mask = t->nslots - 1;
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        int64_t cur = index_get(t, i);
        if (cur == ix)
            return i;
        if (cur == IX_EMPTY)
            om_fatal("dict table: entry %lld not on its probe sequence", (long long)ix);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* Compares a live entry's key with key; 1 equal, 0 not, -1 error, 2 when the
 * table changed during the comparison (the caller starts again). */
static int compare_entry(ty_table *t, int64_t ix, om_object *key)
{
    ty_entry *e = &ty_table_entries(t)[ix];
    om_object *start = e->key;
    void *mem = t->mem;
    om_incref(start);
    int eq = om_equal(start, key);
    bool moved = t->mem != mem || (size_t)ix >= t->nentries || ty_table_entries(t)[ix].key != start;
    om_decref(start);
    if (eq < 0)
        return -1;
    return moved ? 2 : eq;
}

/* The whole lookup, comparisons included: after the identity loop
 * (ty_table_find_slot, dict_table.h) said TY_COMPARE. */
int64_t ty_table_find_equal(ty_table *t, om_object *key, om_hash_t hash, size_t *empty)
{
again:
    if (!t->mem)
        return TY_MISSING;
    size_t mask = t->nslots - 1;
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        int64_t ix = index_get(t, i);
        if (ix == IX_EMPTY) {
            *empty = i;
            return TY_MISSING;
        }
        if (ix >= 0) {
            ty_entry *e = &ty_table_entries(t)[ix];
            if (e->key == key)
                return ix;
            if (e->hash == hash) {
                int r = compare_entry(t, ix, key);
                if (r < 0)
                    return TY_ERROR;
                if (r == 2)
                    goto again;
                if (r == 1)
                    return ix;
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* Slot i of an index of width bytes a slot gets ix (width a constant where
 * this is inlined, as for index_at). */
static inline __attribute__((always_inline)) void index_put(void *index, size_t i, int64_t ix,
                                                            size_t width)
{
    switch (width) {
    case 1:
        ((int8_t *)index)[i] = (int8_t)ix;
        break;
    case 2:
        ((int16_t *)index)[i] = (int16_t)ix;
        break;
    case 4:
        ((int32_t *)index)[i] = (int32_t)ix;
        break;
    default:
        ((int64_t *)index)[i] = ix;
        break;
    }
}

/* Copies the live entries of t, in order, into the empty table fresh and
 * indexes each at the first EMPTY slot of its probe sequence; width is
 * fresh's index width, one copy of the loop per width. */
static inline __attribute__((always_inline)) void refill(ty_table *fresh, const ty_table *t,
                                                         size_t width)
{
    void *index = fresh->mem;
    ty_entry *dst = (ty_entry *)((char *)index + fresh->nslots * width);
    const ty_entry *src = ty_table_entries(t);
    size_t mask = fresh->nslots - 1, n = 0;
    for (size_t k = t->first; k < t->nentries; k++) {
        if (!src[k].key)
            continue;
        dst[n] = src[k];
        size_t perturb = (size_t)src[k].hash;
        size_t i = perturb & mask;
        while (ty_index_at(index, i, width) != IX_EMPTY) {
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + perturb + 1) & mask;
        }
        index_put(index, i, (int64_t)n, width);
        n++;
    }
    fresh->nentries = n;
}

/* Rebuilds into a table of nslots slots from the live entries, in order,
 * with room for at least need entries (need <= usable_of(nslots)). */
static int rebuild(om_runtime *rt, ty_table *t, size_t nslots, size_t need)
{
    size_t width = ty_index_width(nslots);
    size_t usable = capacity_of(nslots, need);
    void *mem = ob_mem_alloc(rt, nslots * width + usable * sizeof(ty_entry));
    if (!mem)
        return -1;
    ty_table fresh = {.nslots = nslots, .usable = usable, .mem = mem};
    memset(mem, 0xff, nslots * width); /* every slot IX_EMPTY (-1) */
    if (t->mem) {
        switch (width) {
        case 1:
            refill(&fresh, t, 1);
            break;
        case 2:
            refill(&fresh, t, 2);
            break;
        case 4:
            refill(&fresh, t, 4);
            break;
        default:
            refill(&fresh, t, 8);
            break;
        }
    }
    fresh.used = fresh.nentries;
    om_assert(fresh.used == t->used);
    ob_mem_free(rt, t->mem);
    *t = fresh;
    return 0;
}

int ty_table_reserve(om_runtime *rt, ty_table *t, size_t want)
{
    size_t nslots = TY_TABLE_MIN_SLOTS;
    while (usable_of(nslots) < want) {
        if (nslots > SIZE_MAX / 4 / sizeof(ty_entry)) {
            om_set_error("dict table: %zu entries is too many", want);
            return -1;
        }
        nslots *= 2;
    }
    return rebuild(rt, t, nslots, want > t->used ? want : t->used);
}

/* Makes room for one more entry: rebuilds with the smallest power of two
 * of slots at least three times the live count (CPython's GROWTH_RATE), so
 * a growing table doubles and a table full of deleted entries compacts. */
static int make_room(om_runtime *rt, ty_table *t)
{
    if (t->mem && t->nentries < t->usable)
        return 0;
    size_t nslots = TY_TABLE_MIN_SLOTS;
    while (nslots < t->used * 3)
        nslots *= 2;
    return rebuild(rt, t, nslots, t->used + 1);
}

int ty_table_insert(const om_object *owner, ty_table *t, om_object *key, om_hash_t hash,
                    om_object *value)
{
    size_t slot = 0;
    int64_t ix = ty_table_find_slot(t, key, hash, &slot);
    if (ix == TY_ERROR)
        return -1;
    if (ix >= 0) {
        ty_entry *e = &ty_table_entries(t)[ix];
        om_object *old = e->value;
        om_xincref(value);
        e->value = value;
        om_xdecref(old); /* last: it may run user code */
        return 0;
    }
    if (!t->mem || t->nentries >= t->usable) { /* the miss's slot is gone with the index */
        if (make_room(ob_runtime_of(owner), t) < 0)
            return -1;
        slot = find_empty_slot(t, hash);
    }
    ty_entry *e = &ty_table_entries(t)[t->nentries];
    om_incref(key);
    om_xincref(value);
    e->hash = hash;
    e->key = key;
    e->value = value;
    index_set(t, slot, (int64_t)t->nentries);
    t->nentries++;
    t->used++;
    return 1;
}

void ty_table_remove_at(ty_table *t, int64_t ix, om_object **key, om_object **value)
{
    ty_entry *e = &ty_table_entries(t)[ix];
    index_set(t, find_slot_of(t, e->hash, ix), IX_DUMMY);
    om_object *k = e->key, *v = e->value;
    e->key = NULL;
    e->value = NULL;
    t->used--;
    while (t->first < t->nentries && !ty_table_entries(t)[t->first].key)
        t->first++;
    if (key)
        *key = k;
    else
        om_decref(k);
    if (value)
        *value = v;
    else
        om_xdecref(v);
}

void ty_table_clear(om_runtime *rt, ty_table *t)
{
    ty_table old = *t;
    *t = (ty_table){0};
    if (!old.mem)
        return;
    ty_entry *e = ty_table_entries(&old);
    for (size_t k = old.first; k < old.nentries; k++) {
        if (e[k].key) {
            om_decref(e[k].key);
            om_xdecref(e[k].value);
        }
    }
    ob_mem_free(rt, old.mem);
}

int64_t ty_table_next(const ty_table *t, size_t pos)
{
    if (!t->mem)
        return -1;
    if (pos < t->first)
        pos = t->first;
    const ty_entry *e = ty_table_entries(t);
    for (; pos < t->nentries; pos++)
        if (e[pos].key)
            return (int64_t)pos;
    return -1;
}

int ty_table_traverse(const ty_table *t, om_visitproc visit, void *arg)
{
    if (!t->mem)
        return 0;
    const ty_entry *e = ty_table_entries(t);
    for (size_t k = t->first; k < t->nentries; k++) {
        if (!e[k].key)
            continue;
        int r = visit(e[k].key, arg);
        if (!r && e[k].value)
            r = visit(e[k].value, arg);
        if (r)
            return r;
    }
    return 0;
}

size_t ty_table_memsize(const ty_table *t)
{
    return t->mem ? hp_usable_size(t->mem) : 0;
}

void ty_table_check(const ty_table *t, const char *what)
{
    if (!t->mem) {
        if (t->used || t->nentries || t->nslots)
            om_fatal("%s table: no memory but %zu entries", what, t->used);
        return;
    }
    if (t->used > t->nentries || t->nentries > t->usable || t->usable > usable_of(t->nslots) ||
        t->usable == 0 || (t->nslots & (t->nslots - 1)))
        om_fatal("%s table: bad counts (used %zu, entries %zu, usable %zu, slots %zu)", what,
                 t->used, t->nentries, t->usable, t->nslots);
    const ty_entry *e = ty_table_entries(t);
    size_t live = 0;
    for (size_t k = 0; k < t->nentries; k++) {
        if (!e[k].key)
            continue;
        if (k < t->first)
            om_fatal("%s table: live entry %zu below first %zu", what, k, t->first);
        if (find_slot_of(t, e[k].hash, (int64_t)k) >= t->nslots)
            om_fatal("%s table: entry %zu unreachable", what, k);
        live++;
    }
    if (t->first < t->nentries && !e[t->first].key)
        om_fatal("%s table: first entry %zu is dead", what, t->first);
    size_t pointed = 0;
    for (size_t i = 0; i < t->nslots; i++) {
        int64_t ix = index_get(t, i);
        if (ix >= 0 && ((size_t)ix >= t->nentries || !e[ix].key))
            om_fatal("%s table: slot %zu points at dead entry %lld", what, i, (long long)ix);
        pointed += ix >= 0;
    }
    if (live != t->used || pointed != t->used)
        om_fatal("%s table: %zu live entries, %zu indexed, used says %zu", what, live, pointed,
                 t->used);
}

void ty_table_object_dealloc(om_object *self)
{
    ty_table_clear(ob_runtime_of(self), &((ty_table_object *)self)->t);
}

int ty_table_object_traverse(om_object *self, om_visitproc visit, void *arg)
{
    return ty_table_traverse(&((ty_table_object *)self)->t, visit, arg);
}

int ty_table_object_clear(om_object *self)
{
    ty_table_object_dealloc(self);
    return 0;
}

size_t ty_table_object_size_of(const om_object *self)
{
    return ty_table_memsize(&((const ty_table_object *)self)->t);
}
