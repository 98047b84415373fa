/*
 * heap/fast.h: the inline fast paths of the heap, shared by alloc.c (behind
 * om_malloc / om_free) and by the layers above, which get hp_heap_alloc and
 * hp_heap_free as static inline functions through heap/heap.h: the object
 * layer calls them for every object, and this way they cost no call.
 *
 *   pop   class = (size - 1) / 16 (small; medium by hp_class_of);
 *         pool = heap->cur[plain][class]; b = pool->free;
 *         sample countdown - size >= hp_mode (0 unless a mode is on);
 *         pool->free = b->next; above++ (the live count less the
 *         pool's wake level, heap/core.h); [set b's live bit] or raise
 *         pool->top to b; count.  Misses (no free block, a sample due, a
 *         mode on, large) leave by one call.            (about 27 instructions)
 *         hp_pop_unsampled, the preload's: the same without the
 *         countdown, "any mode?" folded into the class's bound check
 *         (class | hp_mode).                            (about 19 instructions)
 *   push  registry byte -> segment -> slot descriptor (256 bytes: a shift
 *         and a mask); pool->fast == heap | hp_mode, one compare for "the
 *         owner is this heap, the pool is plain, no mode";
 *         [check and clear b's live bit] or check b by arithmetic
 *         (hp_plausible: one multiply); push, count, above--.  A pool
 *         that is not the current one and reaches zero (emptied, or down
 *         to its wake level: sparse), and anything else, leaves by one
 *         call.                                         (about 40 instructions)
 *
 * [bracketed]: only for exact pools (heap/core.h), i.e. private heaps; the
 * caller says which at compile time (`exact`), since a thread heap owns only
 * inexact pools and a private heap only exact ones.  Dropping the bitmap
 * from om_malloc's paths saves a cache line per call: the bitmap of a pool
 * of 16-byte blocks spans 8 lines, a random free touches a cold one.
 *
 * The object layer's entries reuse them: hp_heap_try_alloc is the pop
 * alone (NULL on a miss, so its caller can stay a leaf), hp_heap_lookup is
 * hp_heap_of that also hands back the block's slot, and hp_heap_free_at the
 * free given that slot, so a release looks its block up once.
 * hp_heap_can_keep says whether a block of that slot may instead wait in
 * the owner's cache (the object layer's free lists: a plain pool, no
 * mode), hp_heap_quiet whether a kept block may be handed out again
 * without the heap (no mode: no hooks, debug heap or fault injection that
 * must see the allocation).  Under exact tracing alone (hp_heap_ids_only)
 * the owner keeps and reuses blocks too, and hp_heap_ids_try_drop /
 * hp_heap_ids_try_take do the id lanes' work on them inline (heap/alloc.c):
 * the block's id beside it and the thread's counts.
 *
 * Both touch the descriptor's lines 0 and 1 (heap/core.h) and the heap's
 * counters (and in exact pools one live-bitmap word), with no atomic
 * read-modify-write and no lock.  Only the heap's files see what is inside;
 * the functions are the interface.
 */
#ifndef OM_HEAP_FAST_H
#define OM_HEAP_FAST_H

#include "heap/core.h"

/* Everything hp_heap_alloc does when the pop misses (or a sample is due) or
 * a mode is on.  The
 * hooks report its return address: the call site inside the function that
 * hp_heap_alloc was inlined into, as when hp_heap_alloc was a call. */
OM_INTERNAL OM_NOINLINE void *hp_alloc_slow(hp_heap *h, size_t size);
/* Everything hp_heap_free does when the push cannot be done inline. */
OM_INTERNAL void hp_heap_free_slow(hp_heap *h, void *p);
/* The push's own way out: a free that needs the slow lane or reports, or
 * that the inline checks refused (the lane finds the fault again, names it
 * in one line and aborts). */
OM_INTERNAL OM_NOINLINE void hp_free_lane(hp_pool *pool, void *block);

/* The head of the free list of h's current pool for a request of size
 * (that pool in *pool, its class in *cls), or NULL: the pool is empty, or
 * size is 0 or above the medium classes (the inline paths leave those to a
 * call). */
static inline __attribute__((always_inline)) hp_block *hp_head(hp_heap *h, size_t size,
                                                               hp_pool **pool, size_t *cls)
{
    size_t c = (size - 1) >> 4; /* small classes; size 0 wraps and takes the call */
    if (OM_UNLIKELY(c >= HP_SMALL_MAX / 16)) {
        if (size - 1 >= HP_MEDIUM_MAX)
            return NULL;
        c = hp_class_of(size);
    }
    *cls = c;
    *pool = h->cur[HP_KIND_PLAIN][c];
    return (*pool)->free;
}

/* Hands out b, the head of p's free list (p of class cls, in heap h). */
static inline __attribute__((always_inline)) void *hp_take(hp_heap *h, hp_pool *p, hp_block *b,
                                                           size_t cls, bool exact)
{
    p->free = (hp_block *)b->next;
    p->above++; /* live count, biased by the wake level (heap/core.h) */
    if (exact) {
        size_t g = ((uintptr_t)b - p->start) >> p->shift;
        HP_STORE(&p->live[g >> 6], HP_LOAD(&p->live[g >> 6]) | (1ull << (g & 63)));
    } else if (OM_UNLIKELY((uintptr_t)b >= p->top)) { /* the watermark of blocks handed
                                                           out: same line as free */
        p->top = (uintptr_t)b + 1;
    }
    HP_COUNT(&h->count.allocs[cls]);
    return b;
}

/* A block of `size` bytes from the current pool of its class, or NULL (also
 * when the sampling countdown would fall below floor).  exact: h is a private
 * heap (its pools keep their bitmaps). */
static inline __attribute__((always_inline)) void *hp_pop_below(hp_heap *h, size_t size, bool exact,
                                                                int64_t floor)
{
    /* sampling (see hp_hooks), and any mode (its bits exceed any countdown):
     * first, so that a mode (exact tracing's) misses before the class and
     * the pool are found (unsigned arithmetic: a huge size, which hp_head
     * turns away next, must not overflow) */
    int64_t left = (int64_t)((uint64_t)h->sample_left - size);
    if (OM_UNLIKELY(left < floor))
        return NULL;
    size_t cls;
    hp_pool *p;
    hp_block *b = hp_head(h, size, &p, &cls);
    if (OM_UNLIKELY(!b))
        return NULL;
    h->sample_left = left;
    return hp_take(h, p, b, cls, exact);
}

/* The pop of every inline path: any mode (its bits exceed any countdown)
 * misses, as does an allocation due for a sample. */
static inline __attribute__((always_inline)) void *hp_pop(hp_heap *h, size_t size, bool exact)
{
    return hp_pop_below(h, size, exact, (int64_t)HP_LOAD(&hp_mode));
}

/* The pop of a thread heap that never samples: the preload's (nothing in
 * that library installs hooks).  Any mode but those in `ignore` misses; the
 * countdown, which only sampling reads, is left alone.  The mode and the
 * class share one compare: the mode bits lie above any class, so
 * `class | mode` is a small class only for a small request with no mode on;
 * the cold branch sorts out the rest (a mode, size 0, a medium or large
 * request) from size itself (the empty asm keeps the compiler from holding
 * a copy of size - 1 across the hot path for it).  Three instructions fewer
 * than the mode test first, seven fewer than hp_pop (binary trees on the
 * preload: 22.8 -> 20.8 instructions a malloc, the return included). */
static inline __attribute__((always_inline)) void *hp_pop_unsampled(hp_heap *h, size_t size,
                                                                    uint64_t ignore)
{
    size_t c = (size - 1) >> 4; /* size 0 wraps and takes the cold branch */
    if (OM_UNLIKELY((c | (HP_LOAD(&hp_mode) & ~ignore)) >= HP_SMALL_MAX / 16)) {
        __asm__("" : "+r"(size)); /* from size again: the hot path keeps no copy */
        if ((HP_LOAD(&hp_mode) & ~ignore) != 0 || size - 1 >= HP_MEDIUM_MAX)
            return NULL; /* first: a caller that records leaves at once */
        c = hp_class_of(size);
    }
    hp_pool *p = h->cur[HP_KIND_PLAIN][c];
    hp_block *b = p->free;
    if (OM_UNLIKELY(!b))
        return NULL;
    return hp_take(h, p, b, c, false);
}

/* Is block (inside p's first slot) a block start below the watermark of
 * blocks handed out (pool->top) and not the head of the free list?  What an
 * inexact pool can check cheaply: a pointer never handed out, or the block
 * freed last freed again.  The offset is below 64 KiB, so one multiply by
 * pool->magic says whether it is a multiple of the block size. */
static inline __attribute__((always_inline)) bool hp_plausible(const hp_pool *p, const void *block)
{
    return hp_divides(p, (uintptr_t)block - p->start) && (uintptr_t)block < p->top &&
           block != (void *)p->free;
}

/* The word a pool's fast-owner word must equal for h's free to take the
 * inline push: h itself, but never any heap while a mode is on (the mode
 * bits lie above every user-space address, heap/special.h). */
static inline __attribute__((always_inline)) uintptr_t hp_fast_key(const hp_heap *h)
{
    return (uintptr_t)h | (uintptr_t)HP_LOAD(&hp_mode);
}

/* The push into an inexact pool (a thread heap's), once hp_fast_key
 * matched p->fast: check (hp_plausible), push, count; false, with nothing
 * done, for a block that fails the check (the caller's lane finds the fault
 * again, names it and aborts).  The slow lane runs only for an emptied (or
 * sparse: a wake level reached, heap/core.h) pool that is not the current
 * one (it may go back to its arena); an emptied current pool stays as it
 * is. */
static inline __attribute__((always_inline)) bool hp_push_inexact(hp_heap *h, hp_pool *p,
                                                                  void *block)
{
    if (OM_UNLIKELY(!hp_plausible(p, block)))
        return false;
    ((hp_block *)block)->next = (uintptr_t)p->free;
    p->free = block;
    HP_COUNT(&h->count.frees[p->cls]);
    if (OM_UNLIKELY(--p->above == 0) && h->cur[HP_KIND_PLAIN][p->cls] != p) /* empty, or sparse */
        hp_free_slow_local(h, p);
    return true;
}

/* The push itself, once hp_fast_key matched p->fast: check, push, count
 * (exact: the live bit; inexact: hp_push_inexact). */
static inline __attribute__((always_inline)) void hp_push_owned(hp_heap *h, hp_pool *p, void *block,
                                                                bool exact)
{
    if (!exact) {
        if (OM_UNLIKELY(!hp_push_inexact(h, p, block)))
            hp_free_lane(p, block); /* finds the same, says which and aborts */
        return;
    }
    uintptr_t off = (uintptr_t)block - p->start;
    unsigned shift = p->shift;
    size_t g = off >> shift;
    uint64_t *word = &p->live[g >> 6];
    uint64_t w = HP_LOAD(word);
    if (OM_UNLIKELY(!((w >> (g & 63)) & 1) || (g << shift) != off)) {
        hp_free_lane(p, block); /* finds the same, says which and aborts */
        return;
    }
    HP_STORE(word, w & ~(1ull << (g & 63)));
    ((hp_block *)block)->next = (uintptr_t)p->free;
    p->free = block;
    HP_COUNT(&h->count.frees[p->cls]);
    if (OM_UNLIKELY(--p->above == 0) && h->cur[HP_KIND_PLAIN][p->cls] != p) /* empty, or sparse */
        hp_free_slow_local(h, p);
}

/* Free of block of pool p by heap h.  The owner's free into a plain pool that
 * with no mode on: push inline (one compare says all that; a pool on the
 * full list calls out at its first free, heap/core.h hp_pool_arm);
 * every other case leaves by a call.  The slot lookup bounds the offset to
 * the pool's first slot.  exact (a private heap): check and clear the live
 * bit; a pointer that is not a block start, or not live, finds a clear bit
 * (only live block starts have theirs set).  Inexact: hp_plausible. */
static inline __attribute__((always_inline)) void hp_push(hp_heap *h, hp_pool *p, void *block,
                                                          bool exact)
{
    if (OM_UNLIKELY((uintptr_t)HP_LOAD(&p->fast) != hp_fast_key(h))) {
        hp_free_lane(p, block);
        return;
    }
    hp_push_owned(h, p, block, exact);
}

/* The descriptor of p's slot when p lies in an arena, else NULL.  Not
 * resolved through aliases: an alias or free slot has no owner, so a push
 * on it leaves for the slow lane, which looks the pool up properly. */
static inline __attribute__((always_inline)) hp_pool *hp_slot_of(const void *p)
{
    uintptr_t a = (uintptr_t)p, i = a >> HP_SEGMENT_SHIFT; /* one compare bounds i */
    if (OM_LIKELY(i < HP_REGISTRY_SIZE && HP_LOAD(&hp_registry[i]) == HP_REG_ARENA)) {
        hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
        return &s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)];
    }
    return NULL;
}

/* ---- the private-heap entry points (declared in heap/heap.h) ---------------- */

static inline void *hp_heap_owner(const hp_heap *h)
{
    return h->owner;
}

/* The first slot of an owned pool answers here; anything else in the slow
 * lookup.  The object layer calls this on every release. */
static inline hp_heap *hp_heap_of(const void *p)
{
    hp_pool *q = hp_slot_of(p);
    hp_heap *h = q ? HP_LOAD(&q->heap) : NULL;
    if (OM_LIKELY(h))
        return h->is_private ? h : NULL;
    return hp_heap_of_slow(p);
}

static inline void *hp_heap_alloc(hp_heap *h, size_t size)
{
    void *b = hp_pop(h, size, true); /* misses when a mode is on */
    if (OM_LIKELY(b))
        return b;
    return hp_alloc_slow(h, size);
}

/* ---- entries for the object layer's fast paths (issue #3) -------------------- */

/* hp_heap_alloc without its slow call: a block from h's current pool of its
 * class, or NULL (the pool is empty, a sample is due, or a mode is on).  A
 * caller that has nothing else to call stays a leaf function, and takes
 * hp_heap_alloc (or its own slow path) on NULL. */
static inline __attribute__((always_inline)) void *hp_heap_try_alloc(hp_heap *h, size_t size)
{
    return hp_pop(h, size, true);
}

/* The private heap that holds p, with p's slot in *slot for hp_heap_free_at,
 * when p lies in the first slot of a pool of a private heap that has an
 * owner (every block of up to 8 KiB does, and the first ones of bigger
 * classes); else NULL (then ask hp_heap_of).  One lookup serves the object
 * layer's "which runtime" and the free after it.  (A thread heap has no
 * owner, nor has a private heap created with none.) */
static inline __attribute__((always_inline)) hp_heap *hp_heap_lookup(const void *p, hp_pool **slot)
{
    hp_pool *q = hp_slot_of(p);
    hp_heap *h = q ? HP_LOAD(&q->heap) : NULL;
    *slot = q;
    return OM_LIKELY(h && h->owner) ? h : NULL;
}

/* True when the live block p, whose slot hp_heap_lookup gave along with
 * p's heap h, may wait in a cache of h's owner instead of going back to h
 * (the object layer's free lists): its pool is plain (not debug, sampled or
 * tracked: those frees must reach the slow lane) and no mode is on (the
 * hooks must see every free).  A kept block stays live in the heap's eyes.
 * (The caller makes sure h is the heap it means to free into.) */
static inline __attribute__((always_inline)) bool hp_heap_can_keep(const hp_pool *slot)
{
    return (slot->special | HP_LOAD(&hp_mode)) == 0;
}

/* hp_heap_can_keep without the modes: the slot's pool is plain (a mode's
 * own caller, exact tracing's, keeps its blocks all the same). */
static inline __attribute__((always_inline)) bool hp_heap_slot_plain(const hp_pool *slot)
{
    return slot->special == 0;
}

/* Counts an allocation of size bytes that the owner serves from its own
 * cache (the object layer's kept blocks and free lists) down h's sampling
 * countdown, as the pop does: false, and nothing counted, when a sample is
 * due (or the heap is fresh); then the caller takes the heap's way (its
 * pop misses too, and the slow path samples or tops the countdown up).
 * Without it, sampling would never see an object served from a cache.
 * The modes are the caller's business (hp_heap_quiet), not tested here. */
static inline __attribute__((always_inline)) bool hp_heap_charge(hp_heap *h, size_t size)
{
    int64_t left = (int64_t)((uint64_t)h->sample_left - size);
    if (OM_UNLIKELY(left < 0))
        return false;
    h->sample_left = left;
    return true;
}

/* True when no mode is on: a block kept by the owner (hp_heap_can_keep)
 * may be handed out again without the heap (no hooks, no debug heap, no
 * fault injection to see the allocation). */
static inline __attribute__((always_inline)) bool hp_heap_quiet(void)
{
    return HP_LOAD(&hp_mode) == 0;
}

/* hp_heap_free(h, p) for a p whose slot hp_heap_lookup gave (p must not
 * have been freed since; h need not be the heap the lookup returned: a
 * block of another heap goes to the slow path, which names it). */
static inline __attribute__((always_inline)) void hp_heap_free_at(hp_heap *h, hp_pool *slot,
                                                                  void *p)
{
    if (OM_LIKELY((uintptr_t)HP_LOAD(&slot->fast) == hp_fast_key(h))) {
        hp_push_owned(h, slot, p, true);
        return;
    }
    if (HP_LOAD(&slot->heap) == h) { /* h's pool: special, or a mode on */
        hp_free_lane(slot, p);
        return;
    }
    hp_heap_free_slow(h, p);
}

/* hp_heap_free_at(h, slot, p) while a mode is on (hp_heap_quiet is
 * false), for a slot of h's that hp_heap_lookup gave: the fast-owner
 * compare would fail, so straight to the lane (exact tracing's id lane).
 * (With no mode: hp_heap_free_at.) */
static inline __attribute__((always_inline)) void hp_heap_free_moded(hp_pool *slot, void *p)
{
    hp_free_lane(slot, p);
}

/* True when the only mode on is exact tracing's ids (HP_MODE_HOOKS |
 * HP_MODE_IDS): then an owner's kept block may be handed out again, or a
 * block kept, as long as hp_heap_ids_take or hp_heap_ids_drop gives it its
 * id or takes it away (the tracer sees every object; no debug heap or
 * fault injection is on that must see the allocation). */
static inline __attribute__((always_inline)) bool hp_heap_ids_only(void)
{
    return HP_LOAD(&hp_mode) == (HP_MODE_HOOKS | HP_MODE_IDS);
}
/* The id work of the object layer's kept blocks while hp_heap_ids_only,
 * inline in the owner's paths as the heap's id lanes do it (heap/alloc.c):
 * the key is the call site the macros of objmem/trace.h set, else the
 * caller.  (Declared here as in trace/capture.c, by the struct's tag.) */
struct om_trace_site;
extern __thread const struct om_trace_site *om_trace_site_tls
    __attribute__((tls_model("initial-exec")));
/* The rare ways of the two below (a cache miss, another owner, a pool
 * without an array this session, a block without an id: the hooks). */
OM_INTERNAL OM_NOINLINE void hp_heap_ids_take_rare(hp_heap *h, void *b, void *caller);
OM_INTERNAL OM_NOINLINE void hp_heap_ids_drop_rare(hp_pool *slot, void *b);

/* The descriptor of the slot of b, a block of a small class's pool (in an
 * arena, in its pool's first slot). */
static inline __attribute__((always_inline)) hp_pool *hp_small_slot_of(const void *b)
{
    uintptr_t a = (uintptr_t)b;
    hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
    return &s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)];
}

/* Kept block b of private heap h (17..128 bytes) handed out again while
 * hp_heap_ids_only: its id written beside it from the thread's cache, and
 * counted, when the thread owns the counts of h; false with nothing done
 * otherwise (then hp_heap_ids_take_rare). */
static inline __attribute__((always_inline)) bool hp_heap_ids_try_take(hp_heap *h, void *b,
                                                                       void *caller)
{
    hp_ids_local *me = &hp_ids_me;
    const struct om_trace_site *site = om_trace_site_tls;
    uintptr_t key = site ? (uintptr_t)site : (uintptr_t)caller;
    const struct hp_ids_entry *e = hp_ids_entry_of(me, key);
    hp_pool *p = hp_small_slot_of(b);
    if (OM_UNLIKELY(HP_LOAD(&me->lane) != h || e->key != key ||
                    p->ids_epoch != HP_LOAD(&hp_ids_epoch))) /* the owner reads its own */
        return false;
    int64_t bytes = HP_LOAD(&me->bytes) + (int64_t)p->block_size;
    HP_STORE(&me->bytes, bytes);
    if (bytes > HP_LOAD(&me->hi))
        HP_STORE(&me->hi, bytes);
    HP_COUNT(&me->allocs);
    HP_STORE(hp_ids_slot(p, b), e->id);
    return true;
}

/* Live block b of a plain pool (slot, from hp_heap_lookup) about to be
 * kept by its owner while hp_heap_ids_only: its id dropped and counted as
 * freed, when it has one and the thread owns the counts; false with
 * nothing done otherwise (then hp_heap_ids_drop_rare, which reports a
 * block without an id freed). */
static inline __attribute__((always_inline)) bool hp_heap_ids_try_drop(hp_pool *slot, void *b)
{
    hp_ids_local *me = &hp_ids_me;
    if (OM_UNLIKELY(slot->ids_epoch != HP_LOAD(&hp_ids_epoch) || !HP_LOAD(&me->lane)))
        return false;
    uint32_t *id = hp_ids_slot(slot, b);
    if (OM_UNLIKELY(!HP_LOAD(id)))
        return false;
    HP_STORE(id, 0u);
    HP_STORE(&me->bytes, HP_LOAD(&me->bytes) - (int64_t)slot->block_size);
    HP_COUNT(&me->frees);
    return true;
}

/* The largest block size of the plain heap that is at most size (0 below
 * 16 bytes); size itself above the medium classes, whose page rounding
 * wastes under 3%.  For containers that size a buffer to fill a block
 * rather than spill just past one (a 536-byte request takes a 640-byte
 * block).  (The debug heap's blocks are as large as their request.) */
static inline size_t hp_block_size_below(size_t size)
{
    if (size < 16)
        return 0;
    if (size > HP_MEDIUM_MAX)
        return size;
    unsigned cls = hp_class_of(size);
    size_t bytes = hp_class_size(cls);
    return bytes <= size ? bytes : hp_class_size(cls - 1);
}

static inline void hp_heap_touch(hp_heap *h, void *p)
{
    hp_pool *q = hp_slot_of(p);
    if (OM_LIKELY(q && HP_LOAD(&q->heap) == h && (q->flags & HP_POOL_DIRTY)))
        return; /* already on the dirty list */
    hp_heap_touch_slow(h, p);
}

static inline void hp_heap_free(hp_heap *h, void *p)
{
    hp_pool *q = hp_slot_of(p);
    /* only a pool's first slot has an owner; a special pool, or a
     * mode, sends the free to the slow lane, which names a foreign heap */
    if (OM_LIKELY(q && (uintptr_t)HP_LOAD(&q->fast) == hp_fast_key(h))) {
        hp_push_owned(h, q, p, true);
        return;
    }
    if (q && HP_LOAD(&q->heap) == h) { /* h's pool: special, or a mode on */
        hp_free_lane(q, p);
        return;
    }
    hp_heap_free_slow(h, p);
}

#endif
