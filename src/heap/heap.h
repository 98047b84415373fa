/*
 * heap/heap.h: what the heap offers the layers above it.
 *
 * Two kinds of heap share the same arenas and pools:
 *   - the global heap behind om_malloc: one thread heap per thread, frees
 *     from any thread;
 *   - private heaps (hp_heap), one per runtime: used by one thread at a time,
 *     never freed into from elsewhere, and walkable: the heap can visit every
 *     live block, and every block in the pools that received allocations
 *     since the last hp_heap_clear_dirty (the collector's young generation).
 *
 * Finding the heap and size of any block is O(1) from its address.
 */
#ifndef OM_HEAP_HEAP_H
#define OM_HEAP_HEAP_H

#include <stddef.h>
#include "util/util.h"

typedef struct hp_heap hp_heap;

/* A private heap owned by `owner` (the runtime), or by nobody (NULL: then
 * hp_heap_lookup does not answer for its blocks).  NULL with a message on
 * failure. */
OM_INTERNAL hp_heap *hp_heap_new(void *owner);
/* Frees every block still in the heap, then the heap. */
OM_INTERNAL void hp_heap_delete(hp_heap *h);
/* The owner given to hp_heap_new; static inline (heap/fast.h):
 *   void *hp_heap_owner(const hp_heap *h); */

/* 16-byte aligned; NULL with a message and errno = ENOMEM on failure.
 * hp_heap_alloc and hp_heap_free are static inline (heap/fast.h, included
 * at the end of this header): no call on their fast paths.
 *   void *hp_heap_alloc(hp_heap *h, size_t size);
 *   void hp_heap_free(hp_heap *h, void *p);   p must be a live block of h;
 *                                              an invalid or double free aborts */
OM_INTERNAL void *hp_heap_calloc(hp_heap *h, size_t size);
OM_INTERNAL void *hp_heap_realloc(hp_heap *h, void *p, size_t size);

/* The object layer's fast paths (static inline, heap/fast.h):
 *   void *hp_heap_try_alloc(hp_heap *h, size_t size);   the pop alone, or NULL:
 *        no call inside, so a caller may stay a leaf (take hp_heap_alloc on NULL)
 *   hp_heap *hp_heap_lookup(const void *p, hp_pool **slot);   hp_heap_of's
 *        common case (NULL otherwise), with p's slot for the free:
 *   void hp_heap_free_at(hp_heap *h, hp_pool *slot, void *p);   hp_heap_free
 *        without a second lookup
 *   bool hp_heap_can_keep(const hp_pool *slot);   may p (of that slot, of
 *        the heap the lookup gave) wait in the cache of the heap's owner
 *        instead of being freed (a plain pool, no mode)
 *   bool hp_heap_quiet(void);   no mode is on: a kept block may be reused
 * and for containers that size their buffers by the heap's classes:
 *   size_t hp_block_size_below(size_t size);   the largest block size <= size */
typedef struct hp_pool hp_pool;

/* The private heap that holds block p, or NULL for a block of the global heap
 * or a pointer objmem does not own.  O(1); static inline (heap/fast.h) for
 * the common case of a block in an arena pool's first slot:
 *   hp_heap *hp_heap_of(const void *p); */
OM_INTERNAL hp_heap *hp_heap_of_slow(const void *p);
/* True if p is the start of a live block of any objmem heap.  O(1). */
OM_INTERNAL bool hp_owns(const void *p);
/* Usable bytes of the live block p (any heap). */
OM_INTERNAL size_t hp_usable_size(const void *p);

/* Visits every live block of h (address and usable size).  A non-zero return
 * from visit stops the walk and is returned.  The visitor may free the block
 * it is given, and nothing else. */
typedef int (*hp_visit_fn)(void *block, size_t size, void *arg);
OM_INTERNAL int hp_heap_walk(hp_heap *h, hp_visit_fn visit, void *arg);
/* The same, only for the pools that received an allocation since the last
 * hp_heap_clear_dirty(h). */
OM_INTERNAL int hp_heap_walk_dirty(hp_heap *h, hp_visit_fn visit, void *arg);
OM_INTERNAL void hp_heap_clear_dirty(hp_heap *h);
/* Counts the pool of p, a live block of h handed out again without an
 * allocation (an object layer's free list), as allocated from: the next
 * hp_heap_walk_dirty visits it.  O(1); static inline (heap/fast.h):
 *   void hp_heap_touch(hp_heap *h, void *p); */
OM_INTERNAL void hp_heap_touch_slow(hp_heap *h, void *p);
/* heap/batch.c: frees the n blocks (live blocks of h, any order), like n
 * calls of hp_heap_free but with one owner check and one count update per
 * run of blocks in the same pool. */
OM_INTERNAL void hp_heap_free_batch(hp_heap *h, void **blocks, size_t n);
/* Brackets a bulk free of h (nesting, any heaps): the pools it empties go
 * back to their arenas, but the prompt purge of free slots waits for the
 * last end, which runs it once if it is due. */
OM_INTERNAL void hp_heap_bulk_begin(hp_heap *h);
OM_INTERNAL void hp_heap_bulk_end(hp_heap *h);
/* Live blocks and bytes of h. */
OM_INTERNAL void hp_heap_usage(const hp_heap *h, size_t *blocks, size_t *bytes);

#endif

/* Outside the guard: when heap/core.h or heap/special.h is the one that
 * includes this header, the inline paths wait until that one is complete
 * (special.h includes them at its end; the heap's own files include
 * heap/fast.h themselves). */
#if !defined(OM_HEAP_CORE_H) && !defined(OM_HEAP_SPECIAL_H)
#include "heap/fast.h"
#endif
