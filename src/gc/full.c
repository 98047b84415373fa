/*
 * gc/full.c: a full collection over the generation tables, decided over
 * flat arrays indexed by table entry.
 *
 * STRATEGY.  The same trial deletion as gc/collect.c (Bacon and Rajan,
 * 2001), but a full collection whose tables are complete does not mark the
 * objects: every candidate is an entry of the old table, its header already
 * holds its index (GC_WATCHED, scratch), and the counts, the marks and the
 * references between candidates live in arrays beside the table.  The heap
 * is read once and no survivor's header is written:
 *
 *     enter     the young candidates (dirty pools) and the middle table's
 *               entries become old entries (gc_settle to 2, table add); a
 *               table that is more than half holes is compacted first
 *     count     one pass over the table: refs[i] += refcnt of entry i, and
 *               for each reference from entry i to entry j, refs[j] -= 1
 *               and j is appended to edges[] (start[i]: where entry i's
 *               references begin).  A tracked object that entry i reaches
 *               in no table (recycled from a free list, outside the dirty
 *               pools) is entered on the spot, so the pass reaches it too.
 *               After: refs[i] = references to entry i from outside the
 *               candidates (refs starts at 0, so the order of the adds and
 *               the subtractions does not matter)
 *     mark      from every entry with refs > 0: refs = GC_OLD_MARK on all
 *               entries it reaches, over edges[] (an explicit stack of
 *               indices); stops once every live entry is marked
 *     collect   the unmarked entries leave the table, become
 *               GC_COLLECTING and are held: U, for gc/trash.c; or, when
 *               none of them needs a step before it is cleared (count
 *               notes the entries of other types with a finalizer due or
 *               a legacy one, the runtime's weak reference table names the
 *               rest), they are taken, emptied and freed in the same pass
 *               (gc_plain_free, "the plain way"): U is read once, not three
 *               times
 *
 *        old table           refs       start     edges
 *     +-----+-----+-----+   +----+      +---+     +---+---+---+
 *   0 | a   |     |     |   | +1 |  0   | 0 |---->| 1 | 2 |   |  a -> b, a -> c
 *   1 | b   |     |     |   |  0 |  1   | 2 |--+  +---+---+---+
 *   2 | c   |     |     |   |  0 |  2   | 2 |  +--> (none)
 *     +-----+               +----+      +---+
 *
 * Survivors stay where they are in the table: nothing is written into a
 * live object, so the collection reads the heap once and dirties none of
 * its lines (the marking collection of gc/collect.c reads every object
 * twice and writes its header twice).  Immutable containers of atomic
 * objects (a tuple of ints) found while counting are untracked once mark
 * has shown them alive, as gc/collect.c does.
 *
 * NUMBERS.  Work memory: 4 bytes of refs, 4 of start and 4 of mark stack
 * per entry, 4 per reference between entries; references past
 * GC_FULL_EDGES_PER_ENTRY per entry on average are not recorded, and the
 * entries whose references were not recorded are traversed again by mark
 * (reading the objects a second time, as gc/collect.c does).  The arrays
 * stay between full collections (their pages stay mapped), unless far
 * larger than the last one needed; the first slices of an incremental
 * cycle drop them, one array a slice (gc_full_drop_one: a program whose
 * old generation is collected in cycles makes few full collections, and
 * 12 MiB held for 1M entries was 10% of such a run's RSS).
 * A count above GC_FULL_CLAMP is clamped: such an object is always
 * referenced from outside (its count can only go below zero through more
 * than 2^30 references from the candidates; below zero otherwise is a
 * reference counting bug, fatal).  One full collection over 300k live
 * lists (callgrind, a 4 MiB last-level cache): 79 instructions and 1.4
 * misses an object, against 131 and 2.2 for the marking collection it
 * replaced; 1M lists, `bench/run gc_full`: 11 to 17 ns an object on a
 * loaded machine, 28 for the marking collection in the same conditions.
 */
#include <string.h>

#include "gc/state.h"

/* Counts are kept as signed 32-bit sums; one bit below the mark. */
#define GC_FULL_CLAMP 0x40000000u
/* Average recorded references per entry before recording stops (plus a
 * fixed allowance for small tables). */
#define GC_FULL_EDGES_PER_ENTRY 4
#define GC_FULL_EDGES_MIN       (1u << 16)
/* What an old entry's gc word shows under this mask. */
#define OLD_ENTRY_MASK (GC_WATCHED | OM_GC_GEN_MASK)
#define OLD_ENTRY      (GC_WATCHED | (GC_GEN_OLD << OM_GC_GEN_SHIFT))

typedef struct full {
    gc_state *st;
    gc_table *t;
    uint32_t *refs, *start, *edges; /* the arrays of st->full_spare */
    size_t nedges, edges_cap;       /* edges used; the cap recording may reach */
    size_t recorded;                /* entries [0, recorded) have their references in edges */
    bool recording;                 /* the entry being counted records its references */
    bool failed;                    /* out of memory for the arrays */
    size_t live, marked;            /* entries with an object; marked ones */
    size_t traversed;               /* entries mark had to traverse */
    size_t looked;
    gc_vec untrack; /* immutable entries holding atomic objects only */
    /* Entries of types other than the inline loop's that need a step
     * before a clear if they are garbage (a legacy finalizer, a finalizer
     * due, weak references; the objects with weak references are also
     * found through the runtime's table of them): when mark reached them
     * all, U is freed the plain way (gc_plain_free). */
    uint32_t *care;
    size_t ncare, care_cap;
    bool care_lost; /* no memory to note one: the ordinary way */
} full;

static inline bool is_old_entry(uint32_t g)
{
    return (g & OLD_ENTRY_MASK) == OLD_ENTRY;
}

/* ---- enter: every candidate becomes an old entry --------------------------------- */
/* Room in the flat arrays for entry index len - 1 and the end of start. */
static int arrays_fit(full *f, size_t len)
{
    struct gc_full_buffers *b = &f->st->full_spare;
    size_t cap = len + len / 2 + 1024;
    if (len + 1 > b->refs.cap || len + 1 > b->start.cap) {
        if (gc_ivec_reserve(&b->refs, cap) != 0 || gc_ivec_reserve(&b->start, cap) != 0) {
            f->failed = true;
            return -1;
        }
    }
    f->refs = b->refs.items;
    f->start = b->start.items;
    return 0;
}

/* o (tracked, in no table) becomes an old entry with refs 0.  False when
 * it cannot (no memory for an entry: it is then no candidate, as if
 * referenced from outside, and the table is incomplete). */
static bool enter(full *f, om_object *o)
{
    gc_settle(o, GC_GEN_OLD);
    gc_table_add(f->t, o);
    if (!(o->ob_gc & GC_WATCHED))
        return false;
    if (arrays_fit(f, f->t->len) != 0)
        return false;
    f->refs[f->t->len - 1] = 0;
    return true;
}

/* o (a young or middle candidate) becomes an old entry, before the arrays
 * are sized for the table (its count is cleared with the others').  The
 * inline part of gc_table_add: a new chunk is its business. */
static inline void enter_table(gc_table *t, om_object *o)
{
    if (OM_UNLIKELY(t->len == t->cap)) {
        gc_settle(o, GC_GEN_OLD);
        gc_table_add(t, o);
        return;
    }
    size_t i = t->len++;
    t->chunks[i >> GC_CHUNK_SHIFT]->objs[i & (GC_CHUNK - 1)] = o;
    o->ob_gc = (o->ob_gc & (OM_GC_TRACKED | OM_GC_FINALIZED | OM_GC_WEAKREFS)) |
               (GC_GEN_OLD << OM_GC_GEN_SHIFT) | GC_WATCHED | ((uint32_t)i << OM_GC_SCRATCH_SHIFT);
}

typedef struct young_arg {
    full *f;
    gc_vec *found;
} young_arg;

static int young_block(void *block, size_t size, void *arg)
{
    young_arg *a = arg;
    om_object *o = block;
    (void)size;
    a->f->looked++;
    if (ob_is_object(block) && gc_is_tracked(o) && gc_gen(o) == 0 && gc_vec_push(a->found, o) != 0)
        enter_table(a->f->t, o); /* no memory to keep the order: entered at once */
    return 0;
}

/* Enters the objects found by the walk of the dirty pools in ascending
 * address order where it can: the heap lists its dirty pools newest first,
 * each pool's blocks ascending, so the runs of ascending addresses are
 * entered last run first.  The table then holds the objects in the order
 * the program made them, which the count pass reads with the hardware's
 * prefetch and a later freeing of them empties pool after pool. */
static void enter_runs(full *f, gc_vec *found)
{
    om_object **v = found->items;
    size_t end = found->len;
    while (end > 0) {
        size_t begin = end - 1;
        while (begin > 0 && v[begin - 1] < v[begin])
            begin--;
        for (size_t i = begin; i < end; i++)
            enter_table(f->t, v[i]);
        end = begin;
    }
    found->len = 0;
}

/* After: the dirty list is empty; the middle table is empty and complete;
 * every young and middle candidate is an old entry (or, without memory for
 * its entry, in generation 2 and in no table). */
static void enter_young(full *f)
{
    gc_state *st = f->st;
    gc_table *mid = &st->mid;
    f->looked += mid->len;
    for (size_t i = 0; i < mid->len; i++) {
        om_object *o = *gc_slot(mid, i);
        if (o)
            enter_table(f->t, o); /* its gc word is rewritten whole */
    }
    mid->len = 0;
    mid->tombstones = 0;
    mid->incomplete = 0;
    young_arg a = {.f = f, .found = &st->spare_cands};
    a.found->len = 0;
    hp_heap_walk_dirty(st->rt->heap, young_block, &a);
    hp_heap_clear_dirty(st->rt->heap);
    enter_runs(f, a.found);
}

/* ---- care: what the plain way of freeing cannot take ---------------------------- */
static bool needs_care(const om_object *o)
{
    const om_type *t = o->ob_type;
    return (t->flags & OM_TYPE_LEGACY_FINALIZER) || (o->ob_gc & OM_GC_WEAKREFS) ||
           (t->finalize && !(o->ob_gc & OM_GC_FINALIZED));
}

static OM_NOINLINE void note_care(full *f, size_t i)
{
    if (f->care_lost)
        return;
    if (f->ncare == f->care_cap) {
        size_t cap = f->care_cap ? 2 * f->care_cap : 256;
        uint32_t *c = om_realloc(f->care, cap * sizeof *c);
        if (!c) {
            f->care_lost = true;
            return;
        }
        f->care = c;
        f->care_cap = cap;
    }
    f->care[f->ncare++] = (uint32_t)i;
}

/* ---- count: update and subtract in one pass, the references recorded -------------
 * The hot loop keeps the arrays and the edge count in locals (a counter);
 * what is rare (a child in no table, the edge array full, a type read
 * through its traverse hook, an immutable container) leaves by a call that
 * syncs the counter with f and reloads it. */
typedef struct counter {
    uint32_t *refs, *start, *edges;
    size_t nedges, room; /* edges used; edges the array holds (0: not recording) */
} counter;

static void counter_save(full *f, const counter *c)
{
    f->nedges = c->nedges;
}

static counter counter_load(const full *f)
{
    gc_ivec *v = &f->st->full_spare.edges;
    return (counter){.refs = f->refs,
                     .start = f->start,
                     .edges = f->edges,
                     .nedges = f->nedges,
                     .room = f->recording ? v->cap : 0};
}

/* The edge array is full (or recording stopped): grows it, or stops
 * recording at entry `from` (mark traverses it and every later entry).
 * True when the edge may be stored. */
static OM_NOINLINE bool edge_room(full *f, size_t from)
{
    if (!f->recording)
        return false;
    gc_ivec *v = &f->st->full_spare.edges;
    size_t cap = v->cap ? 2 * v->cap : GC_FULL_EDGES_MIN;
    if (cap > f->edges_cap)
        cap = f->edges_cap;
    if (cap > v->cap && gc_ivec_reserve(v, cap) == 0) {
        f->edges = v->items;
        return true;
    }
    f->recording = false;
    f->recorded = from;
    return false;
}

/* A child that is no old entry: its gc word once entered (an object in
 * no table that may be a candidate), or 0 (no candidate). */
static OM_NOINLINE uint32_t enter_child(full *f, om_object *child)
{
    uint32_t g = child->ob_gc;
    bool candidate = (g & OM_GC_TRACKED) && !(g & GC_WATCHED) &&
                     (g & OM_GC_GEN_MASK) != (GC_GEN_FROZEN << OM_GC_GEN_SHIFT);
    return candidate && enter(f, child) ? child->ob_gc : 0;
}

/* A reference from entry `from` to child (non-NULL). */
static inline void count_child(full *f, counter *c, size_t from, om_object *child)
{
    uint32_t g = child->ob_gc;
    if (OM_UNLIKELY(!is_old_entry(g))) {
        counter_save(f, c);
        g = enter_child(f, child);
        *c = counter_load(f);
        if (!g)
            return;
    }
    uint32_t j = g >> OM_GC_SCRATCH_SHIFT;
    c->refs[j]--;
    if (OM_UNLIKELY(c->nedges >= c->room)) {
        counter_save(f, c);
        bool ok = edge_room(f, from);
        *c = counter_load(f);
        if (!ok)
            return;
    }
    c->edges[c->nedges++] = j;
}

typedef struct count_arg {
    full *f;
    counter c;
    size_t from;
    bool immutable, all_atomic;
} count_arg;

static int count_visit(om_object *child, void *arg)
{
    count_arg *a = arg;
    if (!child)
        return 0;
    if (a->immutable && a->all_atomic && !gc_is_atomic(child))
        a->all_atomic = false;
    count_child(a->f, &a->c, a->from, child);
    return 0;
}

/* Entry i (object o) of a type without a mutable registered layout: through
 * its traverse hook, or an immutable one (noted for untrack_atomic when it
 * holds atomic objects only). */
static OM_NOINLINE counter count_other(full *f, counter c, size_t i, om_object *o)
{
    const gc_layouts *lay = &f->st->layouts;
    const om_type *t = o->ob_type;
    count_arg a = {.f = f,
                   .c = c,
                   .from = i,
                   .immutable = (t->flags & OM_TYPE_IMMUTABLE) != 0,
                   .all_atomic = true};
    size_t k;
    om_object *const *items;
    if (gc_items(lay, o, &items, &k)) {
        for (size_t j = 0; j < k; j++)
            count_visit(items[j], &a);
    } else if (t->traverse) {
        t->traverse(o, count_visit, &a);
    }
    if (a.immutable && a.all_atomic && gc_vec_push(&f->untrack, o) != 0)
        f->untrack.len = 0; /* no memory: they stay tracked this time */
    if (needs_care(o))
        note_care(f, i);
    return a.c;
}

/* After: refs[i] = references to entry i from outside the candidates, for
 * every entry (the table may have grown: objects the entries reach in no
 * table were entered); start[] and edges[] hold the references of entries
 * [0, recorded). */
static void count(full *f)
{
    enum { AHEAD = 8 };
    /* the mutable type of the pointer layout (a list): counted inline */
    const gc_layouts *lay = &f->st->layouts;
    const om_type *list = lay->pointer_type;
    size_t at_size = lay->pointer_size, at_items = lay->pointer_items;
    if (list && ((list->flags & (OM_TYPE_IMMUTABLE | OM_TYPE_LEGACY_FINALIZER)) || list->finalize))
        list = NULL; /* count_other looks at what the inline loop does not */
    gc_table *t = f->t;
    counter c = counter_load(f);
    size_t i = 0, live = 0;
    while (i < t->len && !f->failed) {
        om_object *const *objs = t->chunks[i >> GC_CHUNK_SHIFT]->objs;
        size_t end = (i | (GC_CHUNK - 1)) + 1;
        if (end > t->len)
            end = t->len;
        for (; i < end; i++) {
            size_t slot = i & (GC_CHUNK - 1);
            __builtin_prefetch(objs[(slot + AHEAD) & (GC_CHUNK - 1)]); /* never faults */
            c.start[i] = (uint32_t)c.nedges;
            om_object *o = objs[slot];
            if (!o)
                continue;
            live++;
            uint32_t rc = o->ob_refcnt;
            c.refs[i] += rc < GC_FULL_CLAMP ? rc : GC_FULL_CLAMP;
            const om_type *type = o->ob_type;
            if (OM_LIKELY(type == list)) {
                const char *base = (const char *)o;
                size_t k = *(const size_t *)(const void *)(base + at_size);
                om_object *const *items =
                    *(om_object *const *const *)(const void *)(base + at_items);
                for (size_t j = 0; j < k; j++)
                    if (items[j])
                        count_child(f, &c, i, items[j]);
            } else {
                c = count_other(f, c, i, o);
            }
            if (OM_UNLIKELY(f->failed))
                break;
        } /* entries entered meanwhile: the loop goes on past end */
    }
    counter_save(f, &c);
    f->live = live;
    if (f->recording) {
        f->start[t->len] = (uint32_t)f->nedges;
        f->recorded = t->len;
    }
}

/* ---- mark ---------------------------------------------------------------------------- */
typedef struct mark_arg {
    full *f;
    uint32_t *top;
} mark_arg;

static inline uint32_t *mark_entry(full *f, uint32_t j, uint32_t *top)
{
    if (f->refs[j] != GC_OLD_MARK) {
        f->refs[j] = GC_OLD_MARK;
        f->marked++;
        *top++ = j;
    }
    return top;
}

static int mark_visit(om_object *child, void *arg)
{
    mark_arg *m = arg;
    if (child && is_old_entry(child->ob_gc))
        m->top = mark_entry(m->f, child->ob_gc >> OM_GC_SCRATCH_SHIFT, m->top);
    return 0;
}

/* Marks what entry k reaches by traversing its object (its references
 * were not recorded). */
static uint32_t *mark_traverse(full *f, const gc_layouts *lay, uint32_t k, uint32_t *top)
{
    om_object *o = *gc_slot(f->t, k);
    f->traversed++;
    size_t n;
    om_object *const *items;
    if (gc_items(lay, o, &items, &n)) {
        for (size_t j = 0; j < n; j++) {
            om_object *child = items[j];
            if (child && is_old_entry(child->ob_gc))
                top = mark_entry(f, child->ob_gc >> OM_GC_SCRATCH_SHIFT, top);
        }
        return top;
    }
    if (!o->ob_type->traverse)
        return top;
    mark_arg m = {.f = f, .top = top};
    o->ob_type->traverse(o, mark_visit, &m);
    return m.top;
}

/* A count below zero: the clamp of a huge count, or a missing incref. */
static bool outside_anyway(full *f, size_t i)
{
    om_object *o = *gc_slot(f->t, i);
    if (o->ob_refcnt >= GC_FULL_CLAMP)
        return true;
    om_fatal("gc: object %p of type %s is referred to more often than its reference "
             "count %u says (a missing incref?)",
             (void *)o, o->ob_type->name, o->ob_refcnt);
}

/* After: every entry reachable from an entry with references from outside
 * has refs = GC_OLD_MARK; f->marked counts them.  stack: room for every
 * entry (each is pushed once).  The scan for roots stops once every live
 * entry is marked. */
static void mark(full *f, uint32_t *stack)
{
    const gc_layouts lay = f->st->layouts;
    uint32_t *refs = f->refs, *start = f->start, *edges = f->edges;
    size_t n = f->t->len, recorded = f->recorded, marked = 0, live = f->live;
    for (size_t i = 0; i < n && marked < live; i++) {
        uint32_t r = refs[i];
        if (r == 0 || r == GC_OLD_MARK || ((int32_t)r < 0 && !outside_anyway(f, i)))
            continue;
        uint32_t *top = stack;
        refs[i] = GC_OLD_MARK;
        marked++;
        *top++ = (uint32_t)i;
        while (top != stack) {
            uint32_t k = *--top;
            if (OM_UNLIKELY(k >= recorded)) {
                f->marked = marked;
                top = mark_traverse(f, &lay, k, top);
                marked = f->marked;
                continue;
            }
            for (uint32_t e = start[k], end = start[k + 1]; e < end; e++) {
                uint32_t j = edges[e];
                if (refs[j] != GC_OLD_MARK) {
                    refs[j] = GC_OLD_MARK;
                    marked++;
                    if (j >= recorded || start[j] != start[j + 1])
                        *top++ = j; /* a leaf is marked, never pushed */
                }
            }
        }
    }
    f->marked = marked;
}

/* ---- collect: the unmarked entries are U ---------------------------------------------- */
/* After: u holds the unmarked entries' objects, out of the table, with
 * GC_COLLECTING, each held once (gc_hold filled s); u has room for them.
 * With compact, the survivors move down over the holes (their indices
 * rewritten, their marks moved along) and the table has no tombstones;
 * without, each member leaves a tombstone. */
static void collect_unmarked(full *f, gc_vec *u, gc_survey *s, bool compact)
{
    gc_table *t = f->t;
    uint32_t *refs = f->refs;
    size_t w = 0;
    gc_survey found = *s; /* locals: kept in registers, not written back each time */
    om_object **items = u->items;
    size_t nu = u->len, len = t->len;
    for (size_t i = 0; i < len; i++) {
        om_object **slot = gc_slot(t, i);
        om_object *o = *slot;
        if (!o)
            continue;
        if (refs[i] == GC_OLD_MARK) {
            if (compact && w != i) {
                *gc_slot(t, w) = o;
                refs[w] = GC_OLD_MARK;
                gc_set_scratch(o, (uint32_t)w);
            }
            w++;
            continue;
        }
        *slot = NULL;
        o->ob_gc = (o->ob_gc & ((1u << OM_GC_SCRATCH_SHIFT) - 1) & ~GC_WATCHED) | GC_COLLECTING;
        gc_hold(o, &found);
        items[nu++] = o;
    }
    *s = found;
    u->len = nu;
    if (compact) {
        t->len = w;
        t->tombstones = 0;
    } else {
        t->tombstones += u->len;
    }
}

/* ---- the plain way of freeing U (gc/trash.c, gc_plain_free) ----------------------- */
/* True when no member of U needs a step before it is cleared (every entry
 * that would is marked) and no debug flag asks to see or keep U. */
static bool plain(const full *f)
{
    if (f->care_lost || (f->st->debug & (OM_GC_DEBUG_SAVEALL | OM_GC_DEBUG_COLLECTABLE)))
        return false;
    for (size_t k = 0; k < f->ncare; k++)
        if (f->refs[f->care[k]] != GC_OLD_MARK)
            return false;
    /* weak references: the table of their targets, not a test in count's
     * inline loop (5 instructions an entry there, 5% of gc_full) */
    const ob_table *w = &f->st->rt->weakrefs;
    for (size_t k = 0; w->used && k <= w->mask; k++) {
        const om_object *o = w->slots[k].key;
        if (o && is_old_entry(o->ob_gc) && f->refs[gc_scratch(o)] != GC_OLD_MARK)
            return false;
    }
    return true;
}

/* Immutable containers of atomic objects that survived stop being tracked. */
static void untrack_atomic(full *f)
{
    for (size_t i = 0; i < f->untrack.len; i++) {
        om_object *o = f->untrack.items[i];
        if (!is_old_entry(o->ob_gc) || f->refs[gc_scratch(o)] != GC_OLD_MARK)
            continue; /* garbage (or left the table) */
        gc_table_forget(f->t, o);
        o->ob_gc &= ~OM_GC_TRACKED;
    }
    gc_vec_free(&f->untrack);
}

/* The arrays stay for the next collection unless far larger than needed. */
static void keep_arrays(gc_state *st, size_t entries, size_t edges)
{
    struct gc_full_buffers *b = &st->full_spare;
    size_t most = 4 * entries + GC_KEEP_MIN;
    if (b->refs.cap > most || b->start.cap > most || b->stack.cap > most) {
        gc_ivec_free(&b->refs);
        gc_ivec_free(&b->start);
        gc_ivec_free(&b->stack);
    }
    if (b->edges.cap > 4 * edges + most)
        gc_ivec_free(&b->edges);
}

bool gc_full_drop_one(gc_state *st)
{
    struct gc_full_buffers *b = &st->full_spare;
    gc_ivec *all[] = {&b->refs, &b->start, &b->edges, &b->stack};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]->items) {
            gc_ivec_free(all[i]);
            return true;
        }
    return false;
}

void gc_full_free_spare(gc_state *st)
{
    struct gc_full_buffers *b = &st->full_spare;
    gc_ivec_free(&b->refs);
    gc_ivec_free(&b->start);
    gc_ivec_free(&b->edges);
    gc_ivec_free(&b->stack);
}

/* enter, then the arrays sized for the table: refs cleared, the edge array
 * as large as the last collection's or one reference per entry (no
 * doubling while counting).  0, or -1 (no memory for refs and start). */
static int prepare(full *f)
{
    struct gc_full_buffers *b = &f->st->full_spare;
    enter_young(f);
    if (f->t->tombstones > f->t->len / 2) { /* mostly freed since: no arrays for the holes */
        size_t cursor = 0, write = 0;
        gc_table_compact(f->t, &cursor, &write, SIZE_MAX);
    }
    size_t n0 = f->t->len;
    f->edges_cap = GC_FULL_EDGES_PER_ENTRY * n0 + GC_FULL_EDGES_MIN;
    if (f->edges_cap > UINT32_MAX)
        f->edges_cap = UINT32_MAX;
    if (arrays_fit(f, n0) != 0)
        return -1;
    size_t want = n0 + n0 / 4 < f->edges_cap ? n0 + n0 / 4 : f->edges_cap;
    if (b->edges.cap < want && gc_ivec_reserve(&b->edges, want) != 0)
        gc_ivec_free(&b->edges); /* then grown on demand, or not recorded */
    f->edges = b->edges.items;
    memset(f->refs, 0, n0 * sizeof *f->refs);
    return 0;
}

/* count and mark; u and stack get room for the unmarked entries.  0, or -1
 * when memory ran out (refs, edges and marks are scratch: nothing
 * changed but the young candidates' entering generation 2). */
static int decide(full *f, gc_vec *u, gc_vec *stack)
{
    struct gc_full_buffers *b = &f->st->full_spare;
    count(f);
    if (f->failed || gc_ivec_reserve(&b->stack, f->t->len) != 0)
        return -1;
    mark(f, b->stack.items);
    size_t nu = f->live - f->marked;
    if (gc_vec_reserve(u, nu) != 0 || gc_vec_reserve(stack, nu) != 0)
        return -1;
    return 0;
}

int gc_full_collect(gc_state *st, gc_result *res)
{
    full f = {.st = st, .t = &st->old, .recording = true};
    gc_vec *u = &st->spare_cands, *stack = &st->spare_stack;
    *res = (gc_result){0};
    if (prepare(&f) != 0 || decide(&f, u, stack) != 0) {
        gc_vec_free(&f.untrack);
        om_free(f.care);
        return -1;
    }
    size_t nu = f.live - f.marked;
    gc_survey s = {false, false, false};
    untrack_atomic(&f); /* before U is freed: it reads the headers of the entries it noted */
    bool compact = f.t->tombstones + nu > f.t->len / 2; /* as gc/tables.c's add would */
    res->candidates = f.live;
    res->survivors = f.marked;
    st->full_last.entries = f.live;
    st->full_last.edges = f.nedges;
    st->full_last.traversed = f.traversed;
    st->full_last.plain = nu && plain(&f);
    st->work += f.looked + f.t->len + GC_PASSES * f.live;
    if (st->full_last.plain) {
        gc_plain_free(st, f.t, f.refs, u, compact);
        res->collected = nu;
    } else if (nu || compact) {
        collect_unmarked(&f, u, &s, compact);
    }
    om_free(f.care);
    keep_arrays(st, f.t->len, f.nedges);
    if (u->len)
        gc_handle_unreachable(st, u, stack, GC_GEN_OLD, res, NULL, s);
    u->len = stack->len = 0;
    if (u->cap > GC_KEEP_MIN && u->cap / 4 > f.live) { /* far more than the next one needs */
        gc_vec_free(u);
        gc_vec_free(stack);
    } /* else kept: a fresh list for 1M members was 2000 page faults, 2 to 9 ns an object */
    return 0;
}
