/*
 * object/runtime.h: the runtime record, struct om_runtime.
 *
 * One record per runtime.  The object layer owns it and its own fields; each
 * higher layer owns exactly one opaque pointer, allocated by that layer's
 * init and freed by its fini (src/runtime calls them in order), plus the
 * hooks it installs.  A lower layer calls a higher one only through a hook,
 * never by name.  Every field says who owns it (who writes it); anyone may
 * read.
 *
 *     om_runtime
 *     +-- heap, mem ............ object: two private heaps (objects / buffers)
 *     +-- counters ............. object: live objects, young count, stats
 *     +-- deferred, depth ...... object: the deferred-release list
 *     +-- weakrefs, freelists .. object
 *     +-- gc ................... gc:      struct gc_state *, gc_on_alloc, gc_on_free
 *     +-- types ................ types:   struct ty_state * (small ints, interning)
 *     +-- inspect, trace ....... inspect, trace: opaque, with object hooks
 *
 * A runtime is used by one thread at a time, so nothing here is atomic.
 *
 * THE HEAP INVARIANT.  Every live block of `heap` starts with an om_object
 * header: a live object, or a block parked on a free list (ob_type ==
 * &ob_freelist_type; walks skip it with ob_is_object).  Buffers that objects
 * own (item arrays, hash tables) live in `mem` (ob_mem_alloc), so a walk of
 * `heap` (hp_heap_walk, hp_heap_walk_dirty) sees objects and nothing else.
 */
#ifndef OM_OBJECT_RUNTIME_H
#define OM_OBJECT_RUNTIME_H

#include "objmem/object.h"
#include "heap/heap.h"

struct gc_state;
struct ty_state;
struct in_state;
struct tr_state;

/* A pointer hash table (object/table.c); zero-initialised is empty. */
typedef struct ob_table_slot {
    uint64_t hash;
    void *key; /* NULL: empty */
    void *value;
} ob_table_slot;
typedef struct ob_table {
    size_t mask, used;
    ob_table_slot *slots;
} ob_table;

/* A free list: a bounded stack of freed object blocks of one block size,
 * linked through their bytes 16..23 (their ob_type is ob_freelist_type). */
typedef struct ob_freelist {
    om_object *head;
    uint32_t count;
    uint32_t limit; /* most blocks it keeps: OB_FREELIST_MAX_BYTES of them */
} ob_freelist;
/* One list per 16-byte size class up to OM_FREELIST_MAX_SIZE. */
#define OB_FREELIST_CLASSES (OM_FREELIST_MAX_SIZE / 16)
/* Bytes each class may keep: enough that the churn of a loop that frees and
 * allocates temporaries, or a whole tree of 8192 32-byte nodes, never
 * reaches the heap (CPython keeps 80 to 100 objects per type), few enough
 * that a runtime's lists hold at most 7 * 256 KiB (classes 32..128).
 * (Binary trees of untracked nodes, `bench_objtrees_om 16`: 2972M
 * instructions keeping none, 2818M keeping 128 KiB a class, 2686M 256 KiB,
 * 2651M 512 KiB.)  Kept blocks scattered over many pools keep those pools from
 * going back to the OS until a full collection or
 * om_runtime_clear_freelists. */
#define OB_FREELIST_MAX_BYTES ((size_t)256 << 10)

struct om_runtime {
    /* ---- object layer ---- */
    hp_heap *heap;    /* objects only: see THE HEAP INVARIANT above */
    hp_heap *mem;     /* buffers owned by objects (ob_mem_alloc); no owner */
    om_config config; /* a copy of what om_runtime_new was given */

    /* Objects ever created and ever freed; live (immortals included) is
     * their difference (ob_live_objects): one counter for om_new, one for
     * the release. */
    uint64_t allocated;
    uint64_t released;
    uint64_t deferred_count;
    uint32_t max_depth;     /* deepest nesting of releases seen */
    uint32_t release_limit; /* min(max_depth, the deferral depth): see release.c */

    /* GC-type allocations minus GC-type deallocations since the gc layer last
     * reset it (CPython's generation-0 count).  om_new calls gc_on_alloc
     * before allocating when young_count > young_threshold.  The object layer
     * counts; the gc layer reads, resets and sets the threshold. */
    int64_t young_count;
    int64_t young_threshold;

    /* Deep-chain release (object/release.c): nesting of om_object_release
     * and the objects whose teardown was put off, linked through bytes 8..15.
     * While release_depth > 0 the deferred objects' refcount and gc words are
     * gone: no heap walk may look at the objects then (see ob_releasing). */
    uint32_t release_depth;
    om_object *deferred;
    bool tearing_down; /* om_runtime_free has started */

    ob_table weakrefs; /* object/weakref.c: target -> its records */
    ob_freelist freelists[OB_FREELIST_CLASSES];

    /* ---- gc layer: state and hooks (installed by gc_runtime_init) ---- */
    struct gc_state *gc;
    /* Called by om_new, before it allocates a GC-type object, when
     * young_count > young_threshold and no release is in progress. */
    void (*gc_on_alloc)(om_runtime *rt);
    /* Called by om_object_release for an object about to be freed whose
     * ob_gc has a bit of OM_GC_PHASE_MASK set (after its finalizer and weak
     * references, before its dealloc), so an incremental collector can drop
     * pointers to it. */
    void (*gc_on_free)(om_runtime *rt, om_object *o);

    /* ---- types layer ---- */
    struct ty_state *types;

    /* ---- inspect and trace layers ---- */
    struct in_state *inspect;
    struct tr_state *trace;
    /* Called for each new object (after its header is set) and each object
     * about to be freed (before its dealloc), when installed. */
    void (*trace_on_new)(om_runtime *rt, om_object *o);
    void (*trace_on_free)(om_runtime *rt, om_object *o);
};

/* Objects allocated and not yet freed (immortals included). */
static inline size_t ob_live_objects(const om_runtime *rt)
{
    return (size_t)(rt->allocated - rt->released);
}

#endif
