/*
 * objmem.h: Python's memory management for C programs.
 *
 * THE OWNERSHIP RULE (it has no exceptions)
 *
 *   Every function that returns an `om_object *` gives the caller a new
 *   reference, which the caller owns and must release with `om_decref`.
 *   Every function that takes an `om_object *` borrows it: it never takes
 *   over the caller's reference.  A container that keeps an argument takes a
 *   reference of its own.
 *
 * So `om_list_append(l, x)` leaves the caller still owning `x`, and
 * `om_list_getitem(l, 0)` returns a reference the caller must drop.  Nothing
 * "steals" and nothing returns a "borrowed" reference.
 *
 * Errors: a function that can fail returns NULL or -1 and leaves a message
 * readable with `om_error_message()`.  Detected heap corruption (double free,
 * invalid free, a reference count going below zero, a broken invariant)
 * prints one line naming what, where and which type, then aborts.
 *
 * The layers, each with its own header:
 *
 *   objmem/common.h      errors, options, version
 *   objmem/heap.h        the raw heap: om_malloc and friends, statistics, checks,
 *                        the debug heap, fault injection
 *   objmem/object.h      the runtime, object header, type descriptors, reference
 *                        counting, immortals
 *   objmem/gc.h          the cycle collector: Python's gc module
 *   objmem/types.h       int, float, str, bytes, None; interning
 *   objmem/containers.h  tuple, list, dict, set, records, instances, iterators,
 *                        range, the LRU cache, weak references, getsizeof
 *   objmem/inspect.h     objgraph and pympler: type counts, growth, reference
 *                        chains, leaks, DOT, deep size
 *   objmem/trace.h       tracemalloc, regions, the timeline, process memory;
 *                        the call-site macros (included last)
 */
#ifndef OBJMEM_H
#define OBJMEM_H

#include "objmem/common.h"
#include "objmem/heap.h"
#include "objmem/object.h"
#include "objmem/gc.h"
#include "objmem/types.h"
#include "objmem/containers.h"
#include "objmem/inspect.h"
/* Keep trace.h last: its call-site macros wrap the allocating functions
 * declared above (see objmem/trace.h). */
#include "objmem/trace.h"

#endif
