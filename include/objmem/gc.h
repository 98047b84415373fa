/*
 * objmem/gc.h: the cycle collector and its control surface, named after
 * Python's `gc` module (gc.collect -> om_gc_collect, gc.get_threshold ->
 * om_gc_get_threshold, ...).
 *
 * Reference counting frees an object the moment its last reference goes; the
 * collector frees what reference counting cannot: groups of objects that
 * refer to each other and that nothing outside the group refers to.  It has
 * three generations.  New tracked objects start in generation 0; an object
 * that survives a collection of its generation moves to the next one.
 * Collections run automatically when tracked allocations (net of
 * deallocations) pass the threshold of generation 0, and explicitly with
 * om_gc_collect.  Automatic collections of the old generation are
 * incremental (bounded pauses); om_gc_collect(rt, 2) is always a full,
 * atomic collection.
 *
 * Finalizers (om_type.finalize) of objects in cyclic trash run exactly once
 * per object, ever (PEP 442); an object a finalizer resurrects stays alive
 * and intact with all it reaches.  Objects whose type has
 * OM_TYPE_LEGACY_FINALIZER, and all they reach, are not freed: they go to
 * the `garbage` list (om_gc_garbage).  Weak references to trash are cleared
 * before any weak reference callback runs; a callback runs only when its
 * weak reference object is itself alive.
 *
 * Every function takes the runtime (or an object) and follows the ownership
 * rule of objmem.h: list-returning functions return a new list.
 */
#ifndef OBJMEM_GC_H
#define OBJMEM_GC_H

#include "objmem/common.h"
#include "objmem/object.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OM_GC_GENERATIONS 3

/* ---- collecting ------------------------------------------------------------
 * Collects generations 0..generation (0, 1 or 2; -1 or 2 means all, atomic)
 * and returns the number of unreachable objects found: collected plus
 * uncollectable.  -1 with a message for a bad generation or when memory for
 * the collector's work lists runs out (nothing is freed then).  Returns 0
 * at once when called from inside a collection (from a finalizer). */
OM_API long om_gc_collect(om_runtime *rt, int generation);

/* Automatic collection on or off (explicit collections always run). */
OM_API void om_gc_enable(om_runtime *rt);
OM_API void om_gc_disable(om_runtime *rt);
OM_API int om_gc_isenabled(const om_runtime *rt);

/* ---- thresholds and counts ---------------------------------------------------
 * count[0]: tracked allocations minus deallocations since the last
 * collection of generation 0; count[1]: collections of generation 0 since
 * the last of generation 1; count[2]: collections of generation 1 since the
 * last of generation 2.  A collection of generation g runs when count[g]
 * passes threshold[g] (700, 10, 10 by default; threshold[0] == 0 disables
 * automatic collection).  A full collection also waits until the objects
 * that entered generation 2 since the last one exceed 25% of those that
 * survived it, so building a large structure costs linear work in total. */
OM_API void om_gc_get_count(const om_runtime *rt, long count[OM_GC_GENERATIONS]);
/* -1 with a message for a negative threshold. */
OM_API int om_gc_set_threshold(om_runtime *rt, long t0, long t1, long t2);
OM_API void om_gc_get_threshold(const om_runtime *rt, long threshold[OM_GC_GENERATIONS]);

/* ---- statistics -------------------------------------------------------------- */
typedef struct om_gc_gen_stats {
    uint64_t collections;   /* collections of this generation (and the younger ones) */
    uint64_t collected;     /* unreachable objects freed by them */
    uint64_t uncollectable; /* unreachable objects they could not free (see garbage) */
} om_gc_gen_stats;

typedef struct om_gc_stats {
    om_gc_gen_stats gen[OM_GC_GENERATIONS];
} om_gc_stats;

OM_API void om_gc_get_stats(const om_runtime *rt, om_gc_stats *out);

/* Pauses: how long collections stopped the program, per generation, for
 * automatic collections (each slice of an incremental cycle is one pause)
 * and explicit ones.  Percentiles come from a log-scale histogram (within
 * 1/16 of the true value); max and total are exact.  Wall-clock time, and
 * beside it the CPU time of the collecting thread (on a busy machine the
 * wall time also counts what other processes took). */
typedef struct om_gc_pause_stats {
    uint64_t count;
    uint64_t p50_ns;
    uint64_t p99_ns;
    uint64_t max_ns;
    uint64_t total_ns;
    uint64_t cpu_p99_ns;
    uint64_t cpu_max_ns;
} om_gc_pause_stats;

typedef struct om_gc_pauses {
    om_gc_pause_stats automatic[OM_GC_GENERATIONS];
    om_gc_pause_stats manual[OM_GC_GENERATIONS];
} om_gc_pauses;

OM_API void om_gc_get_pauses(const om_runtime *rt, om_gc_pauses *out);

/* The incremental old generation: how its cycles went. */
typedef struct om_gc_incremental_stats {
    uint64_t cycles;         /* completed incremental cycles of generation 2 */
    uint64_t slices;         /* slices run (each a pause) */
    uint64_t max_slice_work; /* most objects visited in one slice */
    uint64_t candidates;     /* objects proposed as garbage by the sliced phase */
    uint64_t verified;       /* of those, confirmed garbage by the atomic check */
    uint64_t peak_garbage;   /* most cyclic garbage outstanding at a cycle's end,
                                in objects (found by that cycle) */
    uint64_t aborted;        /* cycles abandoned (explicit collection, freeze) */
} om_gc_incremental_stats;

OM_API void om_gc_get_incremental_stats(const om_runtime *rt, om_gc_incremental_stats *out);

/* ---- objects ----------------------------------------------------------------- */
/* 1 if the collector considers o (its type has OM_TYPE_GC and it was not
 * untracked), else 0. */
OM_API int om_gc_is_tracked(const om_object *o);
/* 1 if o's finalizer has run (it never runs again), else 0. */
OM_API int om_gc_is_finalized(const om_object *o);

/* A new list of the tracked objects of a generation (0, 1, 2), or of all
 * generations for -1 (frozen objects included); NULL with a message for a
 * bad generation or on failure. */
OM_API om_object *om_gc_get_objects(om_runtime *rt, int generation);
/* A new list of the tracked objects that refer to any of objs[0..n-1]. */
OM_API om_object *om_gc_get_referrers(om_runtime *rt, om_object *const *objs, size_t n);
/* A new list of the objects o refers to (its traverse hook; empty when it
 * has none). */
OM_API om_object *om_gc_get_referents(om_object *o);

/* ---- freeze --------------------------------------------------------------------
 * freeze moves every tracked object to a permanent generation that no
 * collection looks at (use it after start-up, before fork, so children's
 * pages stay shared); unfreeze moves them back to the oldest generation. */
OM_API void om_gc_freeze(om_runtime *rt);
OM_API void om_gc_unfreeze(om_runtime *rt);
OM_API size_t om_gc_get_freeze_count(om_runtime *rt);

/* ---- callbacks -------------------------------------------------------------------
 * Called before ("start") and after ("stop") every collection and every
 * incremental cycle, like Python's gc.callbacks.  At "start" collected,
 * uncollectable and duration are 0. */
typedef struct om_gc_info {
    int generation;       /* 0, 1 or 2 */
    int automatic;        /* 1 when triggered by allocation, 0 for om_gc_collect */
    int incremental;      /* 1 for the end of an incremental cycle */
    size_t collected;     /* unreachable objects freed */
    size_t uncollectable; /* unreachable objects moved to garbage */
    uint64_t duration_ns; /* time the collection stopped the program */
    size_t candidates;    /* objects the collection examined */
} om_gc_info;

typedef void (*om_gc_callback)(om_runtime *rt, const char *phase, const om_gc_info *info,
                               void *data);

/* At most OM_GC_MAX_CALLBACKS; -1 with a message when full.  Removing a
 * callback that is not installed returns -1 with a message. */
#define OM_GC_MAX_CALLBACKS 16
OM_API int om_gc_callback_add(om_runtime *rt, om_gc_callback fn, void *data);
OM_API int om_gc_callback_remove(om_runtime *rt, om_gc_callback fn, void *data);

/* ---- garbage and debugging --------------------------------------------------------
 * A new list holding what the collector found unreachable but could not
 * free (objects with legacy finalizers and all they reach; with
 * OM_GC_DEBUG_SAVEALL, everything it found).  The collector keeps its own
 * references until om_gc_clear_garbage, which drops them (freeing what
 * nothing else holds) and returns how many it dropped. */
OM_API om_object *om_gc_garbage(om_runtime *rt);
OM_API size_t om_gc_garbage_count(const om_runtime *rt);
OM_API size_t om_gc_clear_garbage(om_runtime *rt);

/* The debug flags of Python's gc module (same values). */
#define OM_GC_DEBUG_STATS         0x01 /* a line on stderr per collection */
#define OM_GC_DEBUG_COLLECTABLE   0x02 /* a line per collectable object found */
#define OM_GC_DEBUG_UNCOLLECTABLE 0x04 /* a line per uncollectable object found */
#define OM_GC_DEBUG_SAVEALL       0x20 /* keep everything found in garbage, free nothing */
#define OM_GC_DEBUG_LEAK          (OM_GC_DEBUG_COLLECTABLE | OM_GC_DEBUG_UNCOLLECTABLE | OM_GC_DEBUG_SAVEALL)

OM_API void om_gc_set_debug(om_runtime *rt, int flags);
OM_API int om_gc_get_debug(const om_runtime *rt);

#ifdef __cplusplus
}
#endif
#endif
