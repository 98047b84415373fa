/*
 * object/unreachable.c: freeing an object that the collector found
 * unreachable and emptied, without its dealloc.
 *
 * The collector empties a garbage list or tuple in place (gc/trash.c): it
 * drops the items itself and sets the count to 0, which the contract of
 * gc_register_items (gc/gc.h) allows, so that the type's dealloc would only
 * free a list's item array.  ob_free_unreachable does that and frees the
 * block, and skips what om_object_release must do for any object at count
 * zero: the runtime lookup (the collector knows the runtime), the nesting
 * count (no dealloc runs, so no release nests) and the dealloc call.  An
 * object that needs more (a finalizer not run yet, weak references, a
 * collector phase bit, the tracer's hook) is refused, untouched, and goes
 * the ordinary way.
 *
 * Both blocks go straight back to the heap, never to the object layer's
 * free lists: the collector frees garbage in bulk (a free list holds a few
 * hundred blocks and is full after the first of them), and the free list's
 * checks (is the type's size fixed, its class, is the list full) cost 17
 * instructions an object that a bulk free would pay for nothing.  The
 * array's free is inlined (no call through ob_mem_free).  About 80
 * instructions fewer an object than a release through om_object_release and
 * the list's dealloc.
 *
 * ob_free_unreachable_tested does the same for up to OB_UNREACHABLE_BATCH
 * objects at once and gives their blocks to the heap's bulk free
 * (hp_heap_free_batch): the objects of a batch were allocated together and
 * share a few pools, and so do their arrays, so each run of them pays one
 * owner check and one count update.  Its caller (the collector's plain
 * pass, gc/trash.c) tests each object (ob_unreachable_refused, object.h,
 * and the tracer's hook once a batch) in the loop it runs over them anyway:
 * one loop over a batch instead of two, 14 instructions a list fewer.
 */
#include "object/private.h"

/* Does o need om_object_release (see above)? */
static inline bool refused(const om_runtime *rt, const om_object *o)
{
    return ob_unreachable_refused(o) || rt->trace_on_free;
}

bool ob_free_unreachable(om_runtime *rt, om_object *o, void *array)
{
    const om_type *type = o->ob_type;
    if (refused(rt, o))
        return false;
    om_assert(o->ob_refcnt == 0);
    if (array)
        hp_heap_free(rt->mem, array);
    rt->released++;
    if ((type->flags & OM_TYPE_GC) && rt->young_count > 0)
        rt->young_count--;
    ob_mark_freed(o);
    hp_heap_free(rt->heap, o);
    return true;
}

void ob_free_unreachable_tested(om_runtime *rt, om_object **objs, size_t n, void **arrays,
                                size_t na)
{
    om_assert(n <= OB_UNREACHABLE_BATCH && na <= n && (n == 0 || !rt->trace_on_free));
#if OM_DEBUG >= 1
    for (size_t i = 0; i < n; i++) {
        om_assert(objs[i]->ob_refcnt == 0 && (objs[i]->ob_type->flags & OM_TYPE_GC));
        om_assert(!ob_unreachable_refused(objs[i]));
        ob_mark_freed(objs[i]);
    }
#endif
    hp_heap_free_batch(rt->mem, arrays, na);
    rt->released += n;
    if (rt->young_count > 0)
        rt->young_count = rt->young_count > (int64_t)n ? rt->young_count - (int64_t)n : 0;
    hp_heap_free_batch(rt->heap, (void **)objs, n);
}
