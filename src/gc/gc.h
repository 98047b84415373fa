/*
 * gc/gc.h: what the collector offers the layers above it (src/runtime,
 * inspect, the command), nothing more.  The public control surface is in
 * include/objmem/gc.h; the collector's own state and phases are in
 * gc/state.h, private to src/gc.
 */
#ifndef OM_GC_GC_H
#define OM_GC_GC_H

#include <stddef.h>

#include "objmem/gc.h"
#include "util/util.h"

/* Called by om_runtime_new after the object layer is set up: allocates the
 * collector's state (rt->gc) and installs its hooks in the runtime.  -1 with
 * a message on failure. */
OM_INTERNAL int gc_runtime_init(om_runtime *rt);
/* Called by om_runtime_free before the object layer tears down: runs a final
 * full collection (finalizers of cyclic trash run, weak reference callbacks
 * run), drops the garbage list, removes the hooks and frees the state.
 * Safe on a runtime whose gc_runtime_init failed or never ran. */
OM_INTERNAL void gc_runtime_fini(om_runtime *rt);

/* ---- item layouts: containers the collector traverses without a call ---------
 * A type whose traverse hook visits exactly the non-NULL entries of one
 * array of `om_object *` may describe that array, and the collector's loops
 * then read it in place instead of calling the hook (the hook stays, for
 * everyone else and for the collector's rare paths).  The count is the
 * size_t at size_offset; the array starts at items_offset, or, with
 * indirect, is the pointer stored there.  One type of each kind per runtime
 * (the builtin list: items through a pointer; the builtin tuple: items
 * inline); registering the same type again replaces its layout.  0, or -1
 * when that kind is taken by another type or the type is not a GC type.
 * The types layer registers its containers in its init.
 * The type's dealloc must do nothing but drop the references of items
 * [0, count) and, for a pointer layout, free the array (an ob_mem block):
 * the collector empties an unreachable instance by dropping those
 * references itself and setting the count to 0, then frees the instance
 * and its array without calling the dealloc (gc/trash.c,
 * ob_free_unreachable). */
OM_INTERNAL int gc_register_items(om_runtime *rt, const om_type *type, size_t size_offset,
                                  size_t items_offset, bool indirect);

/* ---- the visitor interface, for the list-returning functions -----------------
 * (src/runtime/gc_lists.c builds om lists on top of it, since lists sit
 * above the collector.)  fn is called once per object; a non-zero return
 * stops and is passed back.  The objects are gathered first, so fn may
 * allocate, and may even free what it was given. */
typedef int (*gc_object_fn)(om_object *o, void *arg);

/* Every tracked object of generation 0..2 (3 = frozen), or of all of them for
 * generation -1.  -1 with a message when memory runs out. */
OM_INTERNAL int gc_visit_objects(om_runtime *rt, int generation, gc_object_fn fn, void *arg);
/* Every tracked object that refers to one of objs[0..n-1]. */
OM_INTERNAL int gc_visit_referrers(om_runtime *rt, om_object *const *objs, size_t n,
                                   gc_object_fn fn, void *arg);
/* Every object o refers to (through its traverse hook). */
OM_INTERNAL int gc_visit_referents(om_object *o, gc_object_fn fn, void *arg);
/* Every object on the garbage list, in the order it was found. */
OM_INTERNAL int gc_visit_garbage(om_runtime *rt, gc_object_fn fn, void *arg);

#endif
