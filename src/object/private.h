/*
 * object/private.h: what the files of the object layer share among
 * themselves and nobody else.
 */
#ifndef OM_OBJECT_PRIVATE_H
#define OM_OBJECT_PRIVATE_H

#include <string.h>

#include "object/object.h"

/* object/alloc.c: parks the block of the dead object o on its free list;
 * false when the list is full or the block fits no class. */
OM_INTERNAL bool ob_freelist_push(om_runtime *rt, om_object *o);

/* The next block on a free list after the parked block o. */
static inline om_object *ob_freelist_next(const om_object *o)
{
    om_object *next;
    memcpy(&next, (const char *)o + sizeof(om_object), sizeof next);
    return next;
}

/* Gives the block of the dead object o (dealloc done) to its free list or
 * back to the heap. */
static inline void ob_free_block(om_runtime *rt, om_object *o, const om_type *type)
{
    if ((type->flags & OM_TYPE_FREELIST) && !rt->tearing_down && ob_freelist_push(rt, o))
        return;
#if OM_DEBUG >= 1
    o->ob_type = OB_FREED_TYPE;
    o->ob_refcnt = 0;
    o->ob_gc = OB_FREED_GC;
#endif
    hp_heap_free(rt->heap, o);
}

/* The runtime of o: heap metadata of o's address -> hp_heap -> owner.  O(1). */
static inline om_runtime *ob_runtime_of(const om_object *o)
{
    hp_heap *h = hp_heap_of(o);
    if (OM_UNLIKELY(!h))
        om_fatal("object %p is not in any runtime's heap (type pointer %p)", (const void *)o,
                 (const void *)o->ob_type);
    return (om_runtime *)hp_heap_owner(h);
}

#endif
