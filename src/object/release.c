/*
 * object/release.c: what happens when a reference count reaches zero.
 *
 * PHASES of om_object_release(o), each with what holds after it:
 *
 *   finalize      the type's finalize hook has run once in o's life (PEP 442):
 *                 o is revived to count 1 for the call and OM_GC_FINALIZED is
 *                 set.  If the count is still above 1 afterwards the
 *                 finalizer stored a new reference (resurrection): drop the
 *                 temporary one and stop; o lives on and never finalizes
 *                 again.
 *   clear_weakrefs no weak reference can reach o any more (targets are NULL)
 *                 and their callbacks have run; o has no OM_GC_WEAKREFS.
 *   announce      the collector (gc_on_free, when o carries a phase bit) and
 *                 the tracer (trace_on_free) have seen o for the last time.
 *   destroy       the type's dealloc has dropped what o owned, and o's block
 *                 is back on a free list or in the heap.
 *
 * FAST PATH.  Most releases need none of the first three phases.  One
 * heap lookup (hp_heap_lookup) gives the runtime (the slot's private heap
 * -> its owner) and o's slot, which the free at the end reuses
 * (hp_heap_free_at): the block is looked up once, not twice.  One branch
 * (release_is_plain: no finalizer, no weak references, no collector phase,
 * no tracer) and one for the depth (not deeper than release_limit) lead to
 * an inline destroy: dealloc, one counter (released), the block kept on
 * its class's free list (keep_or_free: a fixed-size untracked type of
 * 17..128 bytes, a plain pool's block, no mode on, room on the list;
 * object/alloc.c) or else to the heap; GC and free-list types add one
 * branch.  With a mode on, keep_special: exact tracing's ids alone keep the
 * block all the same once the heap has dropped its id (counted as freed);
 * other modes go straight to the heap's lane, which the inline push would
 * only reach after its owner compare failed.  The rest go through
 * release_general, the phases in order; objects the lookup does not answer
 * for (large ones, those past the first slot of a medium pool) through
 * release_elsewhere, which finds the runtime the slow way.  release_limit
 * is min(max_depth, OB_RELEASE_MAX_DEPTH): a release nested deeper than
 * any before takes the general path, which records the new deepest
 * nesting, so the statistic stays exact without a compare of its own on
 * the fast path.  Three values live across the dealloc call (o, the
 * runtime, the slot), so the frame saves three registers.
 *
 * DEEP CHAINS.  dealloc drops o's children, which may reach zero and release
 * their own children, and so on: a linked list of 10 million nodes would
 * nest 10 million calls.  So the nesting is counted per runtime (a runtime
 * is used by one thread at a time, which makes this per thread, and exact
 * when one thread drives several runtimes), and past OB_RELEASE_MAX_DEPTH an
 * object that is ready for `destroy` is pushed on the runtime's deferred list
 * instead, linked through its bytes 8..15 (refcount and gc word, both dead
 * by then).  The outermost release drains the list in a loop:
 *
 *     release(a) depth 1 -> dealloc(a) -> release(b) depth 2 -> ... depth 64
 *                                                  -> release(x): push x
 *     unwind to depth 1; loop: pop x, destroy(x) -> release(y) depth 2 ...
 *
 * The C stack stays under OB_RELEASE_MAX_DEPTH nested releases, each object
 * is destroyed exactly once, and the work is linear in the chain.
 *
 * While release_depth > 0, deferred objects have no valid header words, so
 * om_new does not start a collection then, and explicit collections must
 * wait (ob_releasing).  This also covers the objects at count zero while
 * their weak reference callbacks run.
 *
 * NUMBERS.  OB_RELEASE_MAX_DEPTH = 64: a release, a dealloc and a decref take
 * a few hundred bytes of stack, so 64 levels stay well under 64 KiB and keep
 * the deferral (two stores) rare for ordinary, shallow data.  A plain
 * release costs 76 instructions when its block is kept (callgrind,
 * `bench_objtrees_om 10`), 84 when it goes to the heap's push, lookup
 * included (112 before the second speed pass: a second lookup of about
 * 19, the live-bit check of the push built a mask, a frame of four
 * registers, two counters).
 */
#include "object/private.h"

/* Must be at least 1; the C stack grows by about one release + dealloc frame
 * pair per level. */
#define OB_RELEASE_MAX_DEPTH 64

/* The deferred-list link lives in the dead bytes 8..15. */
static om_object **deferred_link(om_object *o)
{
    return (om_object **)(void *)((char *)o + 8);
}

/* false if the finalizer resurrected o. */
static bool finalize(om_object *o)
{
    const om_type *type = o->ob_type;
    o->ob_refcnt = 1;
    o->ob_gc |= OM_GC_FINALIZED;
    type->finalize(o);
    if (o->ob_refcnt == 1) {
        o->ob_refcnt = 0;
        return true;
    }
    if (o->ob_refcnt < OM_IMMORTAL_REFCNT)
        o->ob_refcnt--; /* drop the temporary reference: o was resurrected */
    return false;
}

static void clear_weakrefs(om_runtime *rt, om_object *o)
{
    ob_weakref_pending pending = {NULL, NULL};
    ob_weakref_clear(rt, o, &pending);
    ob_weakref_run(&pending);
}

static void announce(om_runtime *rt, om_object *o)
{
    if ((o->ob_gc & OM_GC_PHASE_MASK) && rt->gc_on_free)
        rt->gc_on_free(rt, o);
    if (rt->trace_on_free)
        rt->trace_on_free(rt, o);
}

/* Runs the phases before destroy; false when o must live on. */
static bool prepare(om_runtime *rt, om_object *o)
{
    const om_type *type = o->ob_type;
    if (type->finalize && !(o->ob_gc & OM_GC_FINALIZED) && !finalize(o))
        return false;
    if (o->ob_gc & OM_GC_WEAKREFS)
        clear_weakrefs(rt, o);
    if (OM_UNLIKELY(o->ob_refcnt != 0))
        om_fatal("object %p (type %s) was revived by a weak reference callback (count %u)",
                 (void *)o, type->name, o->ob_refcnt);
    announce(rt, o);
    return true;
}

/* keep_or_free's block when hp_heap_can_keep said no: a mode of the heap
 * is on, or the pool is special (debug, sampled).  Exact tracing's ids
 * alone keep a plain pool's block all the same, once the heap has dropped
 * its id (counted as freed), and send the rest straight to the heap's lane
 * (the inline push would only reach it after its owner compare failed);
 * anything else goes to the heap as with no mode. */
static OM_NOINLINE void keep_special(om_runtime *rt, om_object *o, hp_pool *slot)
{
    if (OM_LIKELY(hp_heap_ids_only())) {
        if (hp_heap_slot_plain(slot) && ob_park_on(ob_freelist_of(rt, o->ob_type->basicsize), o)) {
            if (OM_UNLIKELY(!hp_heap_ids_try_drop(slot, o)))
                hp_heap_ids_drop_rare(slot, o); /* the hooks' way */
            return;
        }
        ob_mark_freed(o);
        hp_heap_free_moded(slot, o);
        return;
    }
    ob_mark_freed(o);
    hp_heap_free_at(rt->heap, slot, o);
}

/* The block of a plain object of a type without OM_TYPE_FREELIST, dead and
 * deallocated: kept on the free list of its class when the type is
 * fixed-size and small, the block a plain pool's and no mode on
 * (hp_heap_can_keep), else to the heap through its slot.  slot is a slot of
 * rt->heap (om_object_release passes no other). */
static inline void keep_or_free(om_runtime *rt, om_object *o, hp_pool *slot)
{
    const om_type *type = o->ob_type;
    if (OM_LIKELY(ob_keepable(type))) {
        if (OM_LIKELY(hp_heap_can_keep(slot))) {
            if (OM_LIKELY(ob_park_on(ob_freelist_of(rt, type->basicsize), o)))
                return;
        } else {
            keep_special(rt, o, slot);
            return;
        }
    }
    ob_mark_freed(o);
    hp_heap_free_at(rt->heap, slot, o);
}

/* The block of a plain object, dead and deallocated: to its free list, or
 * to the heap through the slot found at the start of the release. */
static inline void free_plain(om_runtime *rt, om_object *o, uint32_t flags, hp_pool *slot)
{
    if (!(flags & (OM_TYPE_GC | OM_TYPE_FREELIST))) {
        keep_or_free(rt, o, slot);
        return;
    }
    if ((flags & OM_TYPE_FREELIST) && ob_park(rt, o, o->ob_type))
        return;
    ob_mark_freed(o);
    hp_heap_free_at(rt->heap, slot, o);
}

/* slot: o's slot from hp_heap_lookup, a slot of rt->heap, or NULL (then the
 * free looks it up). */
static void destroy(om_runtime *rt, om_object *o, hp_pool *slot)
{
    const om_type *type = o->ob_type;
    uint32_t flags = type->flags;
    if (type->dealloc)
        type->dealloc(o);
    rt->released++;
    if (flags & OM_TYPE_GC)
        rt->young_count -= rt->young_count > 0;
    if (slot)
        free_plain(rt, o, flags, slot);
    else
        ob_free_block(rt, o, type, flags);
}

static void drain(om_runtime *rt)
{
    while (rt->deferred) {
        om_object *o = rt->deferred;
        rt->deferred = *deferred_link(o);
        destroy(rt, o, NULL);
    }
}

/* Records a new deepest nesting; releases up to min(max_depth,
 * OB_RELEASE_MAX_DEPTH) deep may take the fast path. */
static void deeper(om_runtime *rt, uint32_t depth)
{
    if (depth > rt->max_depth) {
        rt->max_depth = depth;
        rt->release_limit = depth < OB_RELEASE_MAX_DEPTH ? depth : OB_RELEASE_MAX_DEPTH;
    }
}

/* The general path: a finalizer, weak references, a collector or tracer to
 * tell, a chain deep enough to defer, or a new deepest nesting. */
static OM_NOINLINE void release_general(om_runtime *rt, om_object *o, uint32_t depth, hp_pool *slot)
{
    rt->release_depth = depth;
    deeper(rt, depth);
    if (prepare(rt, o)) {
        if (OM_LIKELY(depth <= OB_RELEASE_MAX_DEPTH)) {
            destroy(rt, o, slot);
        } else {
            *deferred_link(o) = rt->deferred;
            rt->deferred = o;
            rt->deferred_count++;
        }
    }
    if (depth == 1 && OM_UNLIKELY(rt->deferred != NULL))
        drain(rt);
    rt->release_depth = depth - 1;
}

/* True when releasing o is "dealloc, count, park or free": no finalizer, no
 * weak references, no collector phase, no tracer.  The type and object
 * words are in cache already (the decref read them); the tests are folded
 * with | into one branch.  (The depth has a branch of its own.) */
static inline bool release_is_plain(const om_runtime *rt, const om_object *o, const om_type *type)
{
    uintptr_t slow = (uintptr_t)type->finalize | (uintptr_t)rt->trace_on_free;
    return (slow | (o->ob_gc & (OM_GC_WEAKREFS | OM_GC_PHASE_MASK))) == 0;
}

/* After a plain release found deferred objects: drain them if it is the
 * outermost release. */
static OM_NOINLINE void drain_if_outermost(om_runtime *rt)
{
    if (rt->release_depth == 1)
        drain(rt);
}

/* o's block is not where hp_heap_lookup answers (a large object, or not
 * an object of any runtime, a runtime's buffer included: ob_runtime_of says
 * so and aborts). */
static OM_NOINLINE void release_elsewhere(om_object *o)
{
    om_runtime *rt = ob_runtime_of(o);
    release_general(rt, o, rt->release_depth + 1, NULL);
}

void om_object_release(om_object *o)
{
    hp_pool *slot;
    hp_heap *h = hp_heap_lookup(o, &slot); /* the runtime, and the slot for the free */
    if (OM_UNLIKELY(!h)) {
        release_elsewhere(o);
        return;
    }
    om_runtime *rt = hp_heap_owner(h);
    om_assert(o->ob_refcnt == 0);
    const om_type *type = o->ob_type;
    uint32_t depth = rt->release_depth; /* of the releases around this one */
    if (OM_UNLIKELY(!release_is_plain(rt, o, type) || depth >= rt->release_limit)) {
        release_general(rt, o, depth + 1, slot);
        return;
    }
    /* destroy.  Three values live across the dealloc call (o, rt, slot), so
     * the frame saves three registers and needs no alignment: the flags are
     * read again afterwards (dealloc leaves the header alone), and the
     * depth is rt->release_depth + 1 again (nested releases restore it). */
    rt->release_depth = depth + 1;
    /* One register for the slot across the call (the compiler would rather
     * keep the segment and the slot index apart, and more registers). */
    __asm__("" : "+r"(slot));
    if (type->dealloc)
        type->dealloc(o); /* may release children: read young_count after */
    uint32_t flags = o->ob_type->flags;
    rt->released++;
    if (OM_UNLIKELY(flags & (OM_TYPE_GC | OM_TYPE_FREELIST))) {
        if (flags & OM_TYPE_GC)
            rt->young_count -= rt->young_count > 0;
        free_plain(rt, o, flags, slot);
    } else {
        free_plain(rt, o, 0, slot);
    }
    if (OM_UNLIKELY(rt->deferred != NULL))
        drain_if_outermost(rt);
    rt->release_depth--;
}

/* True if o looks freed: poisoned (debug builds), parked on a free list, or
 * holding a heap's free-list link where its type should be (a type
 * descriptor never lives in an object heap, which holds objects only). */
static bool looks_freed(const om_object *o)
{
    const om_type *t = o->ob_type;
    if (t == OB_FREED_TYPE || t == &ob_freelist_type || o->ob_gc == OB_FREED_GC || t == NULL)
        return true;
    hp_heap *h = hp_heap_of(t); /* O(1) and safe for any address */
    return h && h == hp_heap_of(o);
}

void om_refcount_error(om_object *o)
{
    if (looks_freed(o))
        om_fatal("decref of freed object %p: its memory was already released (count %u)", (void *)o,
                 o->ob_refcnt);
    om_fatal("reference count of object %p (type %s) would go below zero (count %u)", (void *)o,
             o->ob_type->name ? o->ob_type->name : "?", o->ob_refcnt);
}

void om_make_immortal(om_object *o)
{
    o->ob_refcnt = OM_IMMORTAL_REFCNT;
}
