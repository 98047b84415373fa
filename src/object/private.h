/*
 * object/private.h: what the files of the object layer share among
 * themselves and nobody else.
 */
#ifndef OM_OBJECT_PRIVATE_H
#define OM_OBJECT_PRIVATE_H

#include <string.h>

#include "object/object.h"

/* object/alloc.c: parks the block of the dead object o on its free list;
 * false when the list is full or the block fits no class.  Asks the heap
 * for the block's usable size: for variable-sized types. */
OM_INTERNAL bool ob_freelist_push(om_runtime *rt, om_object *o);

/* The free-list class that serves requests of size bytes (17..128), and
 * holds blocks of at least 16 * (class + 1) usable bytes. */
static inline size_t ob_freelist_class(size_t size)
{
    return (size - 1) / 16;
}

/* Bytes om_new asks the heap for, for an instance of size bytes of a type
 * with OM_TYPE_FREELIST: rounded up to its class's block size, so that any
 * block of the type fits its class, debug blocks (whose usable size is
 * their request) included, and a fixed-size type's block parks in class
 * ob_freelist_class(basicsize) without asking the heap its size. */
static inline size_t ob_freelist_request(size_t size)
{
    return (size + 15) & ~(size_t)15;
}

/* True if the dead objects of type park by class ob_freelist_class(basicsize)
 * (fixed-size, 17..OM_FREELIST_MAX_SIZE bytes). */
static inline bool ob_freelist_fixed(const om_type *type)
{
    return type->itemsize == 0 && type->basicsize > 16 && type->basicsize <= OM_FREELIST_MAX_SIZE;
}

/* The free list of class ob_freelist_class(size), for size 17..128: its
 * byte offset in rt->freelists is (size - 1) rounded down to 16. */
_Static_assert(sizeof(ob_freelist) == 16, "a free list's offset is its class times 16");
static inline ob_freelist *ob_freelist_of(om_runtime *rt, size_t size)
{
    return (ob_freelist *)(void *)((char *)rt->freelists + ((size - 1) & ~(size_t)15));
}

/* True if the dead objects of a type without OM_TYPE_FREELIST may wait on a
 * free list (fixed-size, 17..OM_FREELIST_MAX_SIZE bytes), in class
 * ob_freelist_class(basicsize).  Such an object's block is a plain pool's
 * whenever it may be kept (hp_heap_can_keep), so it holds a whole granule
 * (16 * (class + 1) bytes) without its request rounded up. */
static inline bool ob_keepable(const om_type *type)
{
    return type->basicsize - 17 < OM_FREELIST_MAX_SIZE - 16 && type->itemsize == 0;
}

/* Parks the dead object o on the free list fl; false when it is full. */
static inline bool ob_park_on(ob_freelist *fl, om_object *o)
{
    if (OM_UNLIKELY(fl->count >= fl->limit))
        return false;
    o->ob_type = &ob_freelist_type;
    o->ob_refcnt = 0;
    o->ob_gc = OB_FREED_GC;
    memcpy((char *)o + sizeof(om_object), &fl->head, sizeof fl->head);
    fl->head = o;
    fl->count++;
    return true;
}

/* Parks the dead object o on free list class cls; false when it is full. */
static inline bool ob_freelist_park(om_runtime *rt, om_object *o, size_t cls)
{
    return ob_park_on(&rt->freelists[cls], o);
}

/* The next block on a free list after the parked block o. */
static inline om_object *ob_freelist_next(const om_object *o)
{
    om_object *next;
    memcpy(&next, (const char *)o + sizeof(om_object), sizeof next);
    return next;
}

/* Debug builds mark the dead object o before its block goes back to the
 * heap (OB_FREED_TYPE, OB_FREED_GC: a decref of it is named as such). */
static inline void ob_mark_freed(om_object *o)
{
#if OM_DEBUG >= 1
    o->ob_type = OB_FREED_TYPE;
    o->ob_refcnt = 0;
    o->ob_gc = OB_FREED_GC;
#else
    (void)o;
#endif
}

/* Parks the block of the dead object o (dealloc done, header intact) of a
 * type with a free list; false when it goes to the heap (the list is full,
 * the block fits no class, the runtime is going). */
static inline bool ob_park(om_runtime *rt, om_object *o, const om_type *type)
{
    if (OM_UNLIKELY(rt->tearing_down))
        return false;
    if (OM_LIKELY(ob_freelist_fixed(type)))
        return ob_freelist_park(rt, o, ob_freelist_class(type->basicsize));
    return ob_freelist_push(rt, o);
}

/* Gives the block of the dead object o (dealloc done) to its free list or
 * back to the heap.  flags: type->flags, read before the dealloc. */
static inline void ob_free_block(om_runtime *rt, om_object *o, const om_type *type, uint32_t flags)
{
    if (OM_UNLIKELY(flags & OM_TYPE_FREELIST) && ob_park(rt, o, type))
        return;
    ob_mark_freed(o);
    hp_heap_free(rt->heap, o);
}

#endif
