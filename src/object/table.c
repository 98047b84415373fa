/*
 * object/table.c: a small open-addressing hash table of pointers, for the
 * side tables of the object and types layers (weak references, interned
 * strings).
 *
 * Linear probing; deletion shifts the rest of the probe run back (Knuth,
 * TAOCP vol. 3, section 6.4, Algorithm R), so there are no tombstones and a
 * lookup stops at the first empty slot.  Each slot keeps its hash, so
 * neither growing nor deleting ever recomputes one.
 *
 *     slots: [ - | h,key,value | h,key,value | - | ... ]   mask = slots - 1
 *
 * NUMBERS: 24-byte slots; at most 2/3 full (a miss probes about 5 slots at
 * that load); starts at OB_TABLE_MIN_SLOTS and doubles.  Memory comes from
 * the runtime's buffer heap.  Lookups (ob_table_find) are inline in
 * object/object.h, so that a caller's match function is inlined too.
 */
#include <errno.h>

#include "object/object.h"

/* Must be a power of two. */
#define OB_TABLE_MIN_SLOTS 16

static size_t home_of(const ob_table *t, uint64_t hash)
{
    return ob_table_home(t, hash);
}

static void place(ob_table *t, uint64_t hash, void *key, void *value)
{
    size_t i = home_of(t, hash);
    while (t->slots[i].key)
        i = (i + 1) & t->mask;
    t->slots[i] = (ob_table_slot){hash, key, value};
    t->used++;
}

static int grow(om_runtime *rt, ob_table *t)
{
    size_t n = t->slots ? (t->mask + 1) * 2 : OB_TABLE_MIN_SLOTS;
    ob_table_slot *slots = ob_mem_calloc(rt, n, sizeof *slots);
    if (!slots)
        return -1;
    ob_table_slot *old = t->slots;
    size_t old_n = old ? t->mask + 1 : 0;
    t->slots = slots;
    t->mask = n - 1;
    t->used = 0;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].key)
            place(t, old[i].hash, old[i].key, old[i].value);
    ob_mem_free(rt, old);
    return 0;
}

int ob_table_insert(om_runtime *rt, ob_table *t, uint64_t hash, void *key, void *value)
{
    if ((!t->slots || (t->used + 1) * 3 > (t->mask + 1) * 2) && grow(rt, t) != 0)
        return -1;
    place(t, hash, key, value);
    return 0;
}

void ob_table_delete(ob_table *t, ob_table_slot *s)
{
    size_t hole = (size_t)(s - t->slots);
    for (size_t j = (hole + 1) & t->mask; t->slots[j].key; j = (j + 1) & t->mask) {
        size_t home = home_of(t, t->slots[j].hash);
        /* The entry at j may fill the hole unless its home lies in (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole] = (ob_table_slot){0, NULL, NULL};
    t->used--;
}

void ob_table_free(om_runtime *rt, ob_table *t)
{
    ob_mem_free(rt, t->slots);
    *t = (ob_table){0, 0, NULL};
}
