/*
 * gc/state.h: the collector's state and phases, private to src/gc.
 *
 * GLOSSARY
 *   tracked      ob_gc has OM_GC_TRACKED: the collector considers the object.
 *   generation   bits 3-4 of ob_gc: 0 young, 1 middle, 2 old, 3 frozen.
 *   candidate    an object taking part in the running collection (its
 *                generation is at most the one collected).
 *   gc_refs      the upper 24 bits of ob_gc during a collection: the
 *                candidate's references not yet explained by other
 *                candidates.  GC_REFS_MAX means "too many to count": such an
 *                object is always treated as referenced from outside.
 *   unreachable  a candidate that no reference from outside the candidates
 *                leads to (U below); cyclic trash.
 *
 * THE PHASE BITS (bits 5-7 of ob_gc, OM_GC_PHASE_MASK)
 *   GC_COLLECTING  the object is a candidate of the running atomic
 *                  collection, and its scratch holds gc_refs (a full
 *                  collection over the tables, gc/full.c, keeps its counts
 *                  beside the table and sets it only on the unreachable);
 *   GC_REACHABLE   marked during a mark phase of that collection;
 *   GC_WATCHED     the object has an entry in the table of its generation
 *                  (gc/tables.c: generation 1, or 2 in incremental mode)
 *                  and its scratch holds the entry's index.
 * The object layer calls rt->gc_on_free for an object with any of these
 * bits, so the collector can drop its pointer (GC_WATCHED) or detect a
 * reference counting bug (GC_COLLECTING: a candidate cannot be freed while
 * the collector holds it).
 *
 * INVARIANTS (checked by gc_check_clean in debug builds)
 *   - Outside a collection, no object has GC_COLLECTING or GC_REACHABLE
 *     (except the garbage an incremental cycle is freeing in slices); an
 *     object has GC_WATCHED exactly when the table of its generation points
 *     at it from the index in its scratch.
 *   - Every tracked object of generation 0 lives in a pool dirtied since the
 *     last collection (the heap's dirty list): every collection clears the
 *     list right after its walk, and moves its survivors to generation 1 or
 *     2.  Every tracked object of generation 1 is in the mid table (or, when
 *     memory for an entry ran out, only older collections find it).  So a
 *     young collection walks only the pools that received allocations since
 *     the previous collection, plus the mid table.
 *   - A runtime is used by one thread at a time: nothing here is atomic.
 */
#ifndef OM_GC_STATE_H
#define OM_GC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "gc/gc.h"
#include "objmem/heap.h"
#include "object/object.h"

/* ---- bits of ob_gc ----------------------------------------------------------- */
#define GC_COLLECTING 0x20u
#define GC_REACHABLE  0x40u
#define GC_WATCHED    0x80u
#define GC_PHASE_BITS (GC_COLLECTING | GC_REACHABLE | GC_WATCHED)
#if (GC_PHASE_BITS & ~OM_GC_PHASE_MASK) != 0
#error "the collector's phase bits must sit inside OM_GC_PHASE_MASK"
#endif
/* 24 bits of scratch: counts above this are "too many", see gc_refs. */
#define GC_REFS_MAX   0xffffffu
#define GC_GEN_FROZEN 3u
#define GC_GEN_OLD    2u

static inline unsigned gc_gen(const om_object *o)
{
    return (o->ob_gc & OM_GC_GEN_MASK) >> OM_GC_GEN_SHIFT;
}
static inline void gc_set_gen(om_object *o, unsigned gen)
{
    o->ob_gc = (o->ob_gc & ~OM_GC_GEN_MASK) | (gen << OM_GC_GEN_SHIFT);
}
static inline uint32_t gc_scratch(const om_object *o)
{
    return o->ob_gc >> OM_GC_SCRATCH_SHIFT;
}
static inline void gc_set_scratch(om_object *o, uint32_t v)
{
    o->ob_gc = (o->ob_gc & ((1u << OM_GC_SCRATCH_SHIFT) - 1)) | (v << OM_GC_SCRATCH_SHIFT);
}
/* Leaves a candidate as a plain tracked (or untracked) object of `gen`. */
static inline void gc_settle(om_object *o, unsigned gen)
{
    o->ob_gc &= (OM_GC_TRACKED | OM_GC_FINALIZED | OM_GC_WEAKREFS);
    o->ob_gc |= gen << OM_GC_GEN_SHIFT;
}
static inline bool gc_is_tracked(const om_object *o)
{
    return (o->ob_gc & OM_GC_TRACKED) != 0;
}

/* A child that can never be part of a cycle: not a GC type, or an untracked
 * immutable one (which never becomes tracked again). */
static inline bool gc_is_atomic(const om_object *o)
{
    uint32_t f = o->ob_type->flags;
    return !(f & OM_TYPE_GC) || (!gc_is_tracked(o) && (f & OM_TYPE_IMMUTABLE));
}

typedef struct gc_state gc_state;

/* ---- gc/vec.c: growable arrays of object pointers ------------------------------
 * Memory from the raw heap (om_malloc), never from the runtime's object
 * heap, so the collector's own lists never show up in a heap walk. */
typedef struct gc_vec {
    om_object **items;
    size_t len, cap;
} gc_vec;

OM_INTERNAL int gc_vec_reserve(gc_vec *v, size_t cap); /* 0, or -1 with a message */
OM_INTERNAL void gc_vec_free(gc_vec *v);
/* The same for 32-bit entry indices and counts (gc/full.c's flat arrays). */
typedef struct gc_ivec {
    uint32_t *items;
    size_t cap;
} gc_ivec;
OM_INTERNAL int gc_ivec_reserve(gc_ivec *v, size_t cap); /* 0, or -1 with a message */
OM_INTERNAL void gc_ivec_free(gc_ivec *v);
static inline int gc_vec_push(gc_vec *v, om_object *o)
{
    if (OM_UNLIKELY(v->len == v->cap) && gc_vec_reserve(v, v->cap ? v->cap * 2 : 1024) != 0)
        return -1;
    v->items[v->len++] = o;
    return 0;
}

/* ---- gc/pauses.c: pause histograms ----------------------------------------------
 * Log-linear buckets: 16 per power of two, so a percentile is within 1/16
 * of the truth; 2^40 ns (18 minutes) and above share the last bucket. */
#define GC_PAUSE_SUB     16
#define GC_PAUSE_MAX_EXP 40
#define GC_PAUSE_BUCKETS ((GC_PAUSE_MAX_EXP - 3) * GC_PAUSE_SUB)
typedef struct gc_pause_hist {
    uint64_t count, total_ns, max_ns, cpu_max_ns;
    uint32_t buckets[GC_PAUSE_BUCKETS];     /* wall time */
    uint32_t cpu_buckets[GC_PAUSE_BUCKETS]; /* CPU time of the thread */
} gc_pause_hist;

/* A pause's start: both clocks. */
typedef struct gc_clock {
    uint64_t wall, cpu;
} gc_clock;
OM_INTERNAL gc_clock gc_clock_now(void);
/* Records the pause that began at start; returns its wall-clock length. */
OM_INTERNAL uint64_t gc_pause_record(gc_pause_hist *h, gc_clock start);
/* The same with given lengths (tests). */
OM_INTERNAL void gc_pause_add(gc_pause_hist *h, uint64_t wall_ns, uint64_t cpu_ns);
OM_INTERNAL void gc_pause_summarize(const gc_pause_hist *h, om_gc_pause_stats *out);

/* ---- gc/tables.c: the side tables of generations 1 and 2 ---------------------------
 * Invariant: an object has GC_WATCHED exactly when it is objs[i] of the
 * table of its generation (mid: 1, old: 2) with i in its scratch; all such
 * objects are tracked.  The old table is kept only in incremental mode. */
#define GC_TABLE_MAX         ((size_t)GC_REFS_MAX) /* indices must fit the 24-bit scratch */
#define GC_OLD_MARK          0x80000000u           /* in refs[]: reached in the mark phase */
#define GC_TABLE_COMPACT_MIN 1024                  /* smaller tables are never compacted on add */
/* Entries live in chunks of GC_CHUNK: growing a table allocates one chunk
 * and never copies (doubling a flat array of 1M entries was a 10 ms pause
 * in a middle-generation collection). */
#define GC_CHUNK_SHIFT 12
#define GC_CHUNK       (1u << GC_CHUNK_SHIFT) /* 48 KiB of entries */
#define GC_CHUNKS      ((GC_TABLE_MAX >> GC_CHUNK_SHIFT) + 1)
typedef struct gc_chunk {
    om_object *objs[GC_CHUNK]; /* NULL: tombstone */
    uint32_t refs[GC_CHUNK];   /* gc_refs of an incremental cycle, and GC_OLD_MARK */
} gc_chunk;
typedef struct gc_table {
    int on; /* old table: incremental mode (the mid table is always kept) */
    /* Some tracked object of the table's generation may be missing from it
     * (an entry found no memory, a failed gather dropped the table, or the
     * trash steps left an object in generation 2 without an entry).  While
     * both tables are complete a full collection gathers from them instead
     * of walking the heap; a heap-walking collection of the table's
     * generation makes it complete again. */
    int incomplete;
    size_t len, cap;
    size_t tombstones; /* approximate: entries freed since the last compaction */
    gc_chunk *chunks[GC_CHUNKS];
} gc_table;

/* Entry i of t (i < t->cap): its object, and its count. */
static inline om_object **gc_slot(const gc_table *t, size_t i)
{
    return &t->chunks[i >> GC_CHUNK_SHIFT]->objs[i & (GC_CHUNK - 1)];
}
static inline uint32_t *gc_refs_of(const gc_table *t, size_t i)
{
    return &t->chunks[i >> GC_CHUNK_SHIFT]->refs[i & (GC_CHUNK - 1)];
}

/* The table an object of generation 1 or 2 belongs to. */
OM_INTERNAL gc_table *gc_table_of(gc_state *st, const om_object *o);
/* gc_settle, then an entry in the table of that generation (1; 2 in
 * incremental mode). */
OM_INTERNAL void gc_promote(gc_state *st, om_object *o, unsigned gen);
OM_INTERNAL void gc_table_add(gc_table *t, om_object *o);
/* o (GC_WATCHED) leaves t: its entry becomes a tombstone. */
OM_INTERNAL void gc_table_forget(gc_table *t, om_object *o);
/* Empties t; every object in it loses GC_WATCHED. */
OM_INTERNAL void gc_table_drop(gc_table *t);
OM_INTERNAL void gc_table_free(gc_table *t);
/* One slice of compaction: entries from *cursor on move down to *write, at
 * most budget units of work: one an entry looked at, GC_COMPACT_MOVE_COST
 * one that moves (its header is written: a cache miss and a dirtied line,
 * about 80 ns against 7 for a look).  Returns the units done; done when
 * *cursor == t->len. */
#define GC_COMPACT_MOVE_COST 4
OM_INTERNAL size_t gc_table_compact(gc_table *t, size_t *cursor, size_t *write, size_t budget);

/* ---- the state of one runtime's collector -------------------------------------- */
struct gc_inc; /* gc/incremental.c */

/* The registered item layouts (gc_register_items): one type whose items are
 * inline, one whose items are behind a pointer; NULL: none. */
typedef struct gc_layouts {
    const om_type *inline_type, *pointer_type;
    size_t inline_size, inline_items;   /* offsets of the count and the array */
    size_t pointer_size, pointer_items; /* offsets of the count and the pointer */
} gc_layouts;

struct gc_state {
    om_runtime *rt;
    int enabled;    /* automatic collection (om_gc_enable) */
    int collecting; /* a collection or slice is running: no other starts */
    int debug;      /* OM_GC_DEBUG_* */
    long threshold[OM_GC_GENERATIONS];
    /* count[0] lives in rt->young_count (the object layer counts);
     * count[1], count[2] here. */
    long count[OM_GC_GENERATIONS];
    /* The 25% rule (CPython's): objects that survived the last full
     * collection, and objects that entered generation 2 since. */
    size_t long_lived_total;
    size_t long_lived_pending;

    om_gc_stats stats;
    gc_pause_hist pauses[2][OM_GC_GENERATIONS]; /* [automatic][generation] */
    gc_vec garbage;                             /* strong references: om_gc_garbage */

    struct {
        om_gc_callback fn;
        void *data;
    } callbacks[OM_GC_MAX_CALLBACKS];
    int n_callbacks;

    gc_layouts layouts; /* containers traversed in place (gc/collect.c) */
    gc_table mid;       /* generation 1 (gc/tables.c) */
    gc_table old;       /* generation 2, in incremental mode */
    gc_vec spare_cands; /* work lists kept between collections (gc/collect.c) */
    gc_vec spare_stack;
    /* The flat arrays of a full collection over the tables (gc/full.c),
     * kept between collections like the lists above. */
    struct gc_full_buffers {
        gc_ivec refs, start, edges, stack;
    } full_spare;
    /* The last such collection: its entries, the references it recorded,
     * the entries mark traversed because theirs were not, and whether it
     * freed U the plain way (tests). */
    struct {
        size_t entries, edges, traversed;
        bool plain;
    } full_last;
    struct gc_inc *inc; /* the running incremental cycle, or NULL */
    /* The work buffers of the last incremental cycle, kept for the next
     * one (gc/incremental.c): pages that stay mapped cost no page faults
     * (fresh ones were about 260 faults, half a millisecond, in a slice). */
    struct gc_inc_buffers {
        gc_vec garbage, cands, mark;
        uint32_t *stack, *members;
        size_t stack_cap, members_cap;
    } inc_spare;
    om_gc_incremental_stats inc_stats;
    /* Units of work since the state was made: heap blocks and table entries
     * looked at, candidates passed over by each phase, slice work.  Never
     * reset; the linearity tests compare it across graph sizes. */
    uint64_t work;
};

static inline gc_state *gc_of(const om_runtime *rt)
{
    return rt->gc;
}

/* True when o's type has a registered layout: then its references are the
 * non-NULL ones of (*items)[0..*n) (items may be NULL when *n is 0), else
 * its traverse hook is the way.  The loops pass a local copy of the
 * layouts, which the compiler keeps in registers. */
static inline bool gc_items(const gc_layouts *l, const om_object *o, om_object *const **items,
                            size_t *n)
{
    const char *base = (const char *)o;
    if (o->ob_type == l->pointer_type) {
        *n = *(const size_t *)(const void *)(base + l->pointer_size);
        *items = *(om_object *const *const *)(const void *)(base + l->pointer_items);
        return true;
    }
    if (o->ob_type == l->inline_type) {
        *n = *(const size_t *)(const void *)(base + l->inline_size);
        *items = (om_object *const *)(const void *)(base + l->inline_items);
        return true;
    }
    return false;
}

/* ---- gc/collect.c: one atomic collection -----------------------------------------
 * Work lists up to this many entries are always kept between collections. */
#define GC_KEEP_MIN 65536
/* Units of work counted per candidate after gather (gc_state.work: its
 * subtraction, its mark and sort, its hold or promotion). */
#define GC_PASSES 3
typedef struct gc_result {
    size_t collected;     /* unreachable objects freed */
    size_t uncollectable; /* unreachable objects sent to garbage */
    size_t candidates;    /* objects examined */
    size_t survivors;     /* candidates that stayed alive */
} gc_result;

/* Collects generations 0..gen atomically.  0, or -1 with a message (out of
 * memory for the work lists: then nothing changed).  No callbacks, stats or
 * pauses: see gc_run. */
OM_INTERNAL int gc_collect_atomic(gc_state *st, int gen, gc_result *res);
/* The visitor of subtract_refs: a candidate child's gc_refs drops by one (a
 * count already 0 is a reference counting bug: fatal). */
OM_INTERNAL int gc_subtract_visit(om_object *child, void *arg);

/* Decides over a set of candidates already marked (GC_COLLECTING, gc_refs =
 * refcnt) and listed in cands, with stack reserved for cands->len entries:
 * subtract_refs, mark_and_sort (survivors to generation promote, U held),
 * then gc_handle_unreachable (with `later`, see there).  Empties cands. */
OM_INTERNAL void gc_collect_candidates(gc_state *st, gc_vec *cands, gc_vec *stack, unsigned promote,
                                       gc_result *res, gc_vec *later);

/* ---- gc/full.c: a full collection over complete tables ------------------------------
 * Every candidate becomes an entry of the old table (the young ones and the
 * middle table's enter it first), and the decision runs over flat arrays
 * indexed by entry: survivors keep their entries and their headers are
 * never written.  Called by gc_collect_atomic for generation 2 when both
 * tables are complete and the old one is kept.  0, or -1 with a message
 * (out of memory for the arrays: nothing was collected; the young
 * candidates stay in generation 2). */
OM_INTERNAL int gc_full_collect(gc_state *st, gc_result *res);
/* Frees the arrays kept between full collections (gc_runtime_fini). */
OM_INTERNAL void gc_full_free_spare(gc_state *st);
/* Frees one of them; false when none is left.  An incremental cycle drops
 * them one a slice (freeing 6 MiB of touched pages costs about 0.3 ms; all
 * four at once were the longest slice of gc_pause, 1.1 to 1.3 ms). */
OM_INTERNAL bool gc_full_drop_one(gc_state *st);

/* ---- gc/trash.c: what happens to the unreachable set ------------------------------
 * What the steps after hold will find in U, noted while the collector takes
 * its hold on each member (gc_hold, in the caller's last pass over U), so
 * that the common case (no legacy finalizer, no weak reference, no
 * finalizer) skips three passes over U. */
typedef struct gc_survey {
    bool legacy, weakrefs, finalizers;
} gc_survey;
static inline void gc_hold(om_object *o, gc_survey *s)
{
    const om_type *t = o->ob_type;
    om_incref(o);
    s->legacy |= (t->flags & OM_TYPE_LEGACY_FINALIZER) != 0;
    s->weakrefs |= (o->ob_gc & OM_GC_WEAKREFS) != 0;
    s->finalizers |= t->finalize != NULL && !(o->ob_gc & OM_GC_FINALIZED);
}

/* u: the unreachable candidates (GC_COLLECTING set, not GC_REACHABLE, gc_refs
 * free to reuse), all alive and each held once by the collector (gc_hold,
 * which filled s).  stack: capacity >= u->len.  Frees what is
 * garbage, sends legacy-finalizer groups to the garbage list, leaves
 * resurrected objects alive in generation `promote_to`, and empties u.
 * With later != NULL (and no OM_GC_DEBUG_SAVEALL) the garbage is not freed
 * but appended to *later, held and marked, for gc_free_step: nothing outside it
 * refers to it any more, so it can be freed a piece at a time. */
OM_INTERNAL void gc_handle_unreachable(gc_state *st, gc_vec *u, gc_vec *stack, unsigned promote_to,
                                       gc_result *res, gc_vec *later, gc_survey s);
/* Frees deferred garbage g, at most budget steps per call (a `clear` or a
 * dropped hold: two steps a member, three for one a later member still
 * referred to), a block of members at a time: `clear` on each, then each
 * hold is dropped.  *p starts at {0, 0} (p->pos counts the steps done);
 * returns 1 when all of g is done (g is then empty). */
typedef struct gc_free_pos {
    size_t pos, kept;
} gc_free_pos;
OM_INTERNAL int gc_free_step(gc_state *st, gc_vec *g, gc_free_pos *p, size_t budget);
/* Members freed a block at a time: cleared, then released while in cache. */
#define GC_FREE_BLOCK 128
/* The plain way of a full collection (gc/full.c) that found U as the
 * entries of t whose refs is not GC_OLD_MARK, when nothing in U has a
 * legacy finalizer, a finalizer due or weak references and no debug flag
 * asks to see or keep U: one pass over t takes each member out of it (with
 * compact, the survivors move down over the holes, as collect_unmarked
 * does), holds it, empties it and frees it with its block.  later: room for
 * every member (those that wait for the end). */
OM_INTERNAL void gc_plain_free(gc_state *st, gc_table *t, uint32_t *refs, gc_vec *later,
                               bool compact);

/* ---- gc/run.c: a collection as the program sees it ---------------------------------
 * Callbacks, debug output, statistics, pauses, counts around one collection
 * of generation gen.  Returns collected + uncollectable, or -1 with a message. */
OM_INTERNAL long gc_run(gc_state *st, int gen, int automatic);
/* Informs the callbacks and the stats of an incremental cycle's end. */
OM_INTERNAL void gc_call_callbacks(gc_state *st, const char *phase, const om_gc_info *info);
OM_INTERNAL void gc_account(gc_state *st, int gen, const gc_result *res);

/* ---- gc/trigger.c: automatic collection ------------------------------------------- */
OM_INTERNAL void gc_on_alloc(om_runtime *rt);
OM_INTERNAL void gc_on_free(om_runtime *rt, om_object *o);
/* Sets rt->young_threshold from the thresholds and the enabled flag. */
OM_INTERNAL void gc_update_trigger(gc_state *st);

/* ---- gc/incremental.c: the incremental old generation ------------------------------
 * While a cycle runs, a slice runs every gc_slice_work / GC_INC_PACE_DIV
 * object allocations (see the essay in gc/incremental.c). */
#define GC_INC_PACE_DIV 256
/* Starts a cycle over generation 2: 0, or -1 when none can start now. */
OM_INTERNAL int gc_inc_start(gc_state *st);
/* Runs a slice when enough allocations passed since the last one. */
OM_INTERNAL void gc_inc_pace(gc_state *st);
/* True while the cycle frees its garbage: those objects keep GC_COLLECTING. */
OM_INTERNAL bool gc_inc_freeing(const gc_state *st);
/* Runs one slice of the running cycle; 1 while the cycle goes on. */
OM_INTERNAL int gc_inc_slice(gc_state *st);
/* Runs the cycle to its end, slice after slice. */
OM_INTERNAL void gc_inc_finish(gc_state *st);
/* Abandons the running cycle; the table stays valid.  Called while a
 * collection or slice runs (from user code in it), it only asks: the cycle
 * ends when that returns (gc_inc_settle). */
OM_INTERNAL void gc_inc_abort(gc_state *st);
/* Ends the running cycle if an abort was asked for meanwhile. */
OM_INTERNAL void gc_inc_settle(gc_state *st);
/* Frees the buffers kept between cycles (gc_runtime_fini). */
OM_INTERNAL void gc_inc_free_spare(gc_state *st);

/* ---- gc/check.c: invariant checks for debug builds and tests ----------------------- */
/* Walks the heap; a phase bit left outside a collection is fatal. */
OM_INTERNAL void gc_check_clean(gc_state *st);

#endif
