/*
 * gc/tables.c: the side tables of generations 1 and 2.
 *
 * A young collection walks only the heap's dirty pools, and an incremental
 * cycle works over many slices (a heap walk cannot be resumed), so the
 * collector keeps two tables of object pointers, and each object's header
 * says where it sits:
 *
 *     mid: every tracked object of generation 1 (a few thousand: the
 *          survivors of generation-0 collections since the last collection
 *          of generation 1), so that the dirty list can be cleared after
 *          every collection and a generation-0 collection walks only the
 *          pools that received allocations since the previous collection;
 *     old: every tracked object of generation 2, while the option
 *          gc_incremental is on, for the incremental cycles.
 *
 *     t->chunks[0]->objs  [ o0 | o1 | NULL | o3 | ... ]    NULL: a tombstone
 *     t->chunks[0]->refs  [ r0 | r1 |  -   | r3 | ... ]    gc_refs, mark bit (old)
 *                                 ^     (entry i: chunk i / GC_CHUNK, slot i % GC_CHUNK)
 *     o1->ob_gc: GC_WATCHED, scratch = 1 (its index); its generation says
 *                which table
 *
 * The object layer calls gc_on_free for an object with GC_WATCHED; the entry
 * becomes a tombstone in O(1).  Objects enter a table when they are promoted
 * into its generation (gc_promote), and leave it when freed, taken by a
 * collection, or frozen.  The mid table is emptied by every collection of
 * generation 1; each incremental cycle compacts the old table (in slices),
 * rewriting the indices of the objects it moves.
 *
 * NUMBERS.  12 bytes per entry (a pointer and a 32-bit count) beside the
 * 16-byte header, in chunks of GC_CHUNK entries (48 KiB) reached through a
 * directory of GC_CHUNKS pointers kept in the table itself (32 KiB): growth
 * allocates a chunk and copies nothing, so no promotion ever pauses for a
 * table that doubles.  The index lives in the 24 bits of scratch, so a table
 * holds at most GC_TABLE_MAX entries; objects past that (or that find no
 * memory for an entry) stay out of it: young collections then miss them
 * (generation 1) or incremental cycles do (generation 2), and the next
 * collection of an older generation finds them; the table is marked
 * incomplete, so full collections walk the heap (instead of reading the
 * tables) until one of them rebuilds it.  Conservative, never wrong.
 */
#include "gc/state.h"

gc_table *gc_table_of(gc_state *st, const om_object *o)
{
    return gc_gen(o) == 1 ? &st->mid : &st->old;
}

/* Adds o to t, first compacting t when more than half of it is tombstones
 * (amortized O(1) per freed entry, so a table never grows without bound
 * between the collections that empty it).  The old table is not compacted
 * here while an incremental cycle holds indices into it. */
static void add(gc_state *st, gc_table *t, om_object *o)
{
    if (t->tombstones > t->len / 2 && t->len >= GC_TABLE_COMPACT_MIN &&
        (t == &st->mid || !st->inc)) {
        size_t cursor = 0, write = 0;
        gc_table_compact(t, &cursor, &write, SIZE_MAX);
    }
    gc_table_add(t, o);
}

void gc_promote(gc_state *st, om_object *o, unsigned gen)
{
    gc_settle(o, gen);
    if (!gc_is_tracked(o))
        return;
    if (gen == 1)
        add(st, &st->mid, o);
    else if (gen == GC_GEN_OLD && st->old.on)
        add(st, &st->old, o);
}

/* One more chunk: O(1), nothing moves (chunks stay until the table is
 * freed, so a table that shrank grows back without allocating). */
static int grow(gc_table *t)
{
    if (t->cap + GC_CHUNK > GC_TABLE_MAX)
        return -1;
    gc_chunk *c = om_malloc(sizeof *c);
    if (!c)
        return -1;
    t->chunks[t->cap >> GC_CHUNK_SHIFT] = c;
    t->cap += GC_CHUNK;
    return 0;
}

void gc_table_add(gc_table *t, om_object *o)
{
    if (t->len == t->cap && grow(t) != 0) {
        t->incomplete = 1; /* left out; see NUMBERS */
        return;
    }
    size_t i = t->len++;
    *gc_slot(t, i) = o;
    *gc_refs_of(t, i) = 0;
    o->ob_gc |= GC_WATCHED;
    gc_set_scratch(o, (uint32_t)i);
}

void gc_table_forget(gc_table *t, om_object *o)
{
    uint32_t i = gc_scratch(o);
    if (OM_UNLIKELY(i >= t->len || *gc_slot(t, i) != o))
        om_fatal("gc: object %p of type %s, generation %u, has a bad table index %u "
                 "(table of %zu)",
                 (void *)o, o->ob_type->name, gc_gen(o), i, t->len);
    *gc_slot(t, i) = NULL;
    t->tombstones++;
    o->ob_gc &= ~GC_WATCHED;
    gc_set_scratch(o, 0);
}

void gc_table_drop(gc_table *t)
{
    for (size_t i = 0; i < t->len; i++) {
        om_object *o = *gc_slot(t, i);
        if (o) {
            o->ob_gc &= ~GC_WATCHED;
            gc_set_scratch(o, 0);
        }
    }
    t->len = 0;
    t->tombstones = 0;
}

void gc_table_free(gc_table *t)
{
    gc_table_drop(t);
    for (size_t c = 0; c < (t->cap >> GC_CHUNK_SHIFT); c++) {
        om_free(t->chunks[c]);
        t->chunks[c] = NULL;
    }
    t->cap = 0;
}

size_t gc_table_compact(gc_table *t, size_t *cursor, size_t *write, size_t budget)
{
    size_t r = *cursor, w = *write, done = 0;
    for (; r < t->len && done < budget; r++, done++) {
        om_object *o = *gc_slot(t, r);
        if (!o)
            continue;
        if (w != r) {
            *gc_slot(t, w) = o;
            *gc_refs_of(t, w) = *gc_refs_of(t, r);
            gc_set_scratch(o, (uint32_t)w);
            done += GC_COMPACT_MOVE_COST - 1;
        }
        w++;
    }
    if (r == t->len) { /* finished: everything past w was a tombstone or a stale copy */
        t->tombstones = 0;
        t->len = w;
        r = w;
    }
    *cursor = r;
    *write = w;
    return done;
}
