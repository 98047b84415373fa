/*
 * object/object.h: what the object layer offers the layers above it (gc,
 * types, runtime, inspect, trace), grouped by the file that defines it.
 *
 * The public half (om_new, om_decref, ...) is include/objmem/object.h; the
 * runtime record is object/runtime.h.
 */
#ifndef OM_OBJECT_OBJECT_H
#define OM_OBJECT_OBJECT_H

#include "objmem/heap.h"
#include "objmem/object.h"
#include "object/runtime.h"
#include "util/util.h"

/* ---- object/alloc.c: objects and the buffers they own ---------------------- */

/* The sentinel type of blocks parked on a free list: not objects. */
OM_INTERNAL extern const om_type ob_freelist_type;

/* True if the live heap block `block` of a runtime's heap is an object (and
 * not a block waiting on a free list).  Heap walkers (gc, inspect) skip the
 * rest.  Only valid while !ob_releasing(rt). */
static inline bool ob_is_object(const void *block)
{
    return ((const om_object *)block)->ob_type != &ob_freelist_type;
}

/* Memory for what an object owns outside its block (item arrays, tables),
 * from the runtime's second private heap, so that the object heap holds
 * objects only.  Same contract as om_malloc / om_realloc / om_free: NULL
 * with a message and errno = ENOMEM on failure, fault injection included;
 * ob_mem_realloc(rt, NULL, n) allocates, ob_mem_free(rt, NULL) does nothing. */
OM_INTERNAL void *ob_mem_alloc(om_runtime *rt, size_t size);
OM_INTERNAL void *ob_mem_calloc(om_runtime *rt, size_t count, size_t size);
OM_INTERNAL void *ob_mem_realloc(om_runtime *rt, void *p, size_t size);
OM_INTERNAL void ob_mem_free(om_runtime *rt, void *p);

/* object/unreachable.c: frees o, at count 0, that the collector found
 * unreachable and emptied (its items dropped, its count 0: gc/gc.h), and
 * array (an ob_mem block, or NULL) that o's dealloc would have freed,
 * without calling the dealloc.  False, with nothing done, when o needs
 * om_object_release (a finalizer due, weak references, a phase bit, the
 * tracer's hook). */
OM_INTERNAL bool ob_free_unreachable(om_runtime *rt, om_object *o, void *array);
#define OB_UNREACHABLE_BATCH 128 /* most objects of one ob_free_unreachable_tested */
/* Does o, unreachable and emptied, need om_object_release rather than the
 * frees above (a finalizer due, weak references, a phase bit; the tracer's
 * hook is rt's, tested once a batch by the caller)? */
static inline bool ob_unreachable_refused(const om_object *o)
{
    bool finalizer_due = o->ob_type->finalize && !(o->ob_gc & OM_GC_FINALIZED);
    return finalizer_due || (o->ob_gc & (OM_GC_WEAKREFS | OM_GC_PHASE_MASK));
}
/* ob_free_unreachable for many objects at once, tested by the caller in its
 * own loop: objs[0 .. n) (n <= OB_UNREACHABLE_BATCH) are collector-tracked,
 * emptied, at count 0, none refused, with rt->trace_on_free off (unless n is 0);
 * arrays[0 .. na) are their non-NULL arrays.  Frees them all, in bulk. */
OM_INTERNAL void ob_free_unreachable_tested(om_runtime *rt, om_object **objs, size_t n,
                                            void **arrays, size_t na);

/* Gives the blocks of every free list back to the heap (also public as
 * om_runtime_clear_freelists; the collector may call it on a full
 * collection, as CPython does). */
OM_INTERNAL void ob_freelists_clear(om_runtime *rt);

/* The runtime of o: heap metadata of o's address -> hp_heap -> owner.  O(1),
 * inline (om_runtime_of is the exported call, NULL-tolerant).  o must be a
 * live object: anything else (a runtime's buffer too: rt->mem has no
 * owner) is one line and abort. */
static inline om_runtime *ob_runtime_of(const om_object *o)
{
    hp_heap *h = hp_heap_of(o);
    om_runtime *rt = h ? (om_runtime *)hp_heap_owner(h) : NULL;
    if (OM_UNLIKELY(!rt))
        om_fatal("object %p is not in any runtime's heap of objects (type pointer %p)",
                 (const void *)o, (const void *)o->ob_type);
    return rt;
}

/* ---- object/table.c: a pointer hash table for side tables --------------------
 * Open addressing, keys are non-NULL pointers, each slot keeps its hash.
 * A zero-initialised ob_table is empty.  The caller picks the hash. */
/* (ob_table and ob_table_slot are declared in object/runtime.h.) */
/* true if the stored key matches what the caller looks for. */
typedef bool (*ob_table_match)(const void *key, const void *probe);
/* The first slot of hash's probe run (Fibonacci hashing: the multiply
 * spreads any bits of the hash over the ones the mask keeps). */
static inline size_t ob_table_home(const ob_table *t, uint64_t hash)
{
    return (size_t)((hash * 0x9e3779b97f4a7c15ull) >> 20) & t->mask;
}
/* The slot whose hash equals hash and whose key matches probe (match NULL:
 * key == probe), or NULL.  Valid until the next insert or delete.  Inline,
 * so that a caller's match function is inlined into the probe loop (the
 * interning lookup is one per om_str_intern). */
static inline ob_table_slot *ob_table_find(const ob_table *t, uint64_t hash, ob_table_match match,
                                           const void *probe)
{
    if (!t->slots)
        return NULL;
    for (size_t i = ob_table_home(t, hash);; i = (i + 1) & t->mask) {
        ob_table_slot *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == hash && (match ? match(s->key, probe) : s->key == probe))
            return s;
    }
}
/* Adds a key that is not in the table.  0, or -1 (out of memory, message set). */
OM_INTERNAL int ob_table_insert(om_runtime *rt, ob_table *t, uint64_t hash, void *key, void *value);
OM_INTERNAL void ob_table_delete(ob_table *t, ob_table_slot *s);
OM_INTERNAL void ob_table_free(om_runtime *rt, ob_table *t);

/* ---- object/release.c: release at zero ------------------------------------ */

/* True while a release is running on rt: objects on the deferred list have
 * no valid refcount or gc word, so heap walks (a collection) must wait. */
static inline bool ob_releasing(const om_runtime *rt)
{
    return rt->release_depth != 0;
}

/* Debug builds mark a freed object: ob_type = OB_FREED_TYPE and ob_gc =
 * OB_FREED_GC (bytes the heap leaves alone unless its debug mode fills
 * them), so a decref of freed memory is reported as such. */
#define OB_FREED_TYPE ((const om_type *)(uintptr_t)0xdeadf7eedeadf7eeull)
#define OB_FREED_GC   0xf7eef7eeu

/* ---- object/weakref.c: the weak reference table ---------------------------
 *
 * A per-runtime hash map from an object to the list of weak reference
 * records that point at it.  ob_gc has OM_GC_WEAKREFS while the list is not
 * empty, so releasing an object without weak references costs one bit test.
 *
 * A record is owned by whoever embeds it (the types layer's weakref object,
 * or a C user).  Clearing happens in two steps, so that the collector can
 * clear the weak references of all unreachable objects before any callback
 * runs, and run callbacks only for records whose owner is reachable
 * (PEP 442; CPython's handle_weakrefs):
 *
 *     ob_weakref_clear(o, &pending)    targets become NULL, callbacks queued
 *     ob_weakref_filter(&pending, ...) the collector drops some (optional)
 *     ob_weakref_run(&pending)         callbacks run; per target the newest
 *                                      record first
 */
typedef struct ob_weakref ob_weakref;
/* Called once, after the target died.  `ref` is the record (its target is
 * NULL by then); its owner is kept alive for the duration of the call. */
typedef void (*ob_weakref_callback)(ob_weakref *ref, void *arg);

struct ob_weakref {
    om_object *target;            /* borrowed; NULL once the target died */
    om_object *owner;             /* the object embedding the record, or NULL */
    ob_weakref_callback callback; /* NULL: none */
    void *arg;
    ob_weakref *next;         /* object layer: the next record on the target */
    ob_weakref *pending_next; /* object layer: the next queued callback */
};

typedef struct ob_weakref_pending {
    ob_weakref *head, *tail;
} ob_weakref_pending;

/* Registers r (target, owner, callback and arg filled in by the caller) on
 * its target.  0, or -1 with a message (out of memory). */
OM_INTERNAL int ob_weakref_register(om_runtime *rt, ob_weakref *r);
/* Removes r from its target's list (nothing if the target already died). */
OM_INTERNAL void ob_weakref_unregister(om_runtime *rt, ob_weakref *r);
/* r's target (borrowed), or NULL once it died. */
static inline om_object *ob_weakref_target(const ob_weakref *r)
{
    return r->target;
}
/* Number of records pointing at o. */
OM_INTERNAL size_t ob_weakref_count(om_runtime *rt, const om_object *o);
/* Detaches every record pointing at o: each target becomes NULL, o loses
 * OM_GC_WEAKREFS, and the records with a callback are appended to pending,
 * each taking a reference to its owner (if any) so that it outlives the
 * callback.  Runs no user code. */
OM_INTERNAL void ob_weakref_clear(om_runtime *rt, om_object *o, ob_weakref_pending *pending);
/* Drops from pending, without calling them, the records for which keep
 * returns false (releasing the owner references taken by clear). */
OM_INTERNAL void ob_weakref_filter(ob_weakref_pending *pending,
                                   bool (*keep)(ob_weakref *r, void *arg), void *arg);
/* Runs and empties pending: each callback once, then drops its owner. */
OM_INTERNAL void ob_weakref_run(ob_weakref_pending *pending);
/* Frees the table (teardown; every record must have been cleared). */
OM_INTERNAL void ob_weakref_table_free(om_runtime *rt);

/* ---- object/teardown.c: the object layer's share of om_runtime_free -------- */
OM_INTERNAL int ob_runtime_init(om_runtime *rt, const om_config *config);
/* Finalizers, clear, dealloc and free of every object left (see
 * om_runtime_free); the heaps stay (empty) until ob_runtime_fini. */
OM_INTERNAL void ob_release_all(om_runtime *rt);
OM_INTERNAL void ob_runtime_fini(om_runtime *rt);

#endif
