/*
 * heap/alloc.c: the public malloc family, the private-heap entry points,
 * and the slow lane (debug heap, fault injection, hooks, secure mode).
 *
 * Fast paths (no lock, no atomic read-modify-write):
 *
 *   alloc  class = size class; pool = heap->cur[plain][class];
 *          pop pool->free; used++; set live bit; count     (about 12 instructions)
 *   free   registry byte -> segment -> slot -> pool; check the live bit;
 *          if pool is ours: clear bit, push pool->free, used--; count
 *          else: push on pool->thread_free (one CAS)
 *
 * Everything else leaves through one test of hp_mode (zero unless the debug
 * heap, fault injection, hooks or secure mode is on) to the slow lane, or
 * through a missed pop to hp_alloc_generic (heapcore.c).
 */
#include "heap/core.h"

static const hp_hooks *hooks;
static OM_THREAD_LOCAL int in_hook; /* a hook that allocates does not recurse */

void hp_hooks_install(const hp_hooks *h)
{
    __atomic_store_n(&hooks, h, __ATOMIC_RELEASE);
    if (h)
        hp_mode_set(HP_MODE_HOOKS);
    else
        hp_mode_clear(HP_MODE_HOOKS);
}

/* ---- the inline pop and push ------------------------------------------------------- */

static inline void *pop_plain(hp_heap *h, size_t size)
{
    if (OM_UNLIKELY(size > HP_MEDIUM_MAX))
        return NULL;
    unsigned cls = hp_class_of(size);
    hp_pool *p = h->cur[HP_KIND_PLAIN][cls];
    hp_block *b = p->free;
    if (OM_UNLIKELY(!b))
        return NULL;
    p->free = (hp_block *)b->next;
    p->used++;
    size_t g = ((uintptr_t)b - p->start) >> p->shift;
    HP_STORE(&p->live[g >> 6], HP_LOAD(&p->live[g >> 6]) | (1ull << (g & 63)));
    HP_BUMP(&h->count.allocs[cls]);
    return b;
}

/* Says precisely what is wrong with freeing block, then aborts. */
static OM_COLD OM_NOINLINE __attribute__((noreturn)) void bad_free(const hp_pool *p,
                                                                   const void *block)
{
    long idx = hp_block_index(p, block);
    if (idx < 0 || p->start + (size_t)idx * p->block_size != (uintptr_t)block)
        hp_invalid_free(block, "not the start of a block");
    hp_invalid_free(block, "double free, or never allocated");
}

/* The segment holding p when p is past the first 4 MiB of a large block. */
static hp_segment *segment_behind(uintptr_t a)
{
    if (a >> HP_ADDRESS_BITS)
        return NULL;
    size_t i = a >> HP_SEGMENT_SHIFT;
    while (i > 0 && HP_LOAD(&hp_registry[i]) == HP_REG_CONT)
        i--;
    if (HP_LOAD(&hp_registry[i]) != HP_REG_LARGE || i == a >> HP_SEGMENT_SHIFT)
        return NULL;
    return (hp_segment *)(i << HP_SEGMENT_SHIFT);
}

/* The pool of p, also when p is a large block aligned past the first 4 MiB of
 * its segment (alignments of 4 MiB and more); one line and abort if none. */
static OM_NOINLINE hp_pool *pool_behind_or_die(const void *p)
{
    hp_segment *s = segment_behind((uintptr_t)p);
    if (!s || s->kind != HP_SEG_LARGE)
        hp_invalid_free(p, "not allocated by objmem");
    hp_pool *pool = &s->pools[0];
    /* a debug block's user pointer lies inside its block; the debug heap checks it */
    uintptr_t a = (uintptr_t)p;
    if (a != pool->start && (pool->kind != HP_KIND_DEBUG || a - pool->start >= pool->block_size))
        hp_invalid_free(p, "not the start of a block");
    return pool;
}

static inline __attribute__((always_inline)) hp_pool *pool_or_die(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (OM_UNLIKELY(!pool))
        return pool_behind_or_die(p);
    return pool;
}

/* ---- the slow lane --------------------------------------------------------------------- */

static size_t user_size(void *p);

static void report_alloc(void *p, hp_heap *h, void *caller)
{
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk || !hk->on_alloc || in_hook)
        return;
    in_hook = 1;
    hk->on_alloc(p, user_size(p), h, caller);
    in_hook = 0;
}

static void report_free(void *p, hp_heap *h)
{
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk || !hk->on_free || in_hook)
        return;
    in_hook = 1;
    hk->on_free(p, user_size(p), h);
    in_hook = 0;
}

static OM_NOINLINE void *slow_alloc(hp_heap *h, size_t size, size_t align, void *caller)
{
    unsigned mode = HP_LOAD(&hp_mode);
    if ((mode & HP_MODE_FAULT) && !in_hook && hp_fault_should_fail())
        return NULL; /* hp_fault_should_fail set errno and the message */
    void *p;
    if ((mode & HP_MODE_DEBUG) && !in_hook) {
        hp_op_enter();
        p = hp_debug_alloc(h, size, align);
        hp_op_leave();
    } else
        p = hp_alloc_generic(h, size, align, HP_KIND_PLAIN);
    if (p && (mode & HP_MODE_HOOKS))
        report_alloc(p, h, caller);
    return p;
}

/* Frees user pointer p of any kind, reporting to the hooks. */
static OM_NOINLINE void slow_free(hp_pool *pool, void *p)
{
    pool = pool_or_die(p); /* the caller may have passed an alias or free slot */
    if (HP_LOAD(&hp_mode) & HP_MODE_HOOKS) {
        hp_heap *owner = HP_LOAD(&pool->heap);
        report_free(p, owner && owner->is_private ? owner : NULL);
    }
    if (pool->kind == HP_KIND_DEBUG) {
        hp_op_enter();
        hp_debug_free(p);
        hp_op_leave();
    } else {
        hp_free_generic(pool, p);
    }
}

static inline void *alloc_entry(hp_heap *h, size_t size, size_t align, void *caller)
{
    if (OM_LIKELY(!HP_LOAD(&hp_mode) && align <= 16)) {
        void *b = pop_plain(h ? h : hp_tls_heap, size);
        if (OM_LIKELY(b))
            return b;
        return hp_alloc_generic(h, size, align, HP_KIND_PLAIN);
    }
    return slow_alloc(h, size, align, caller);
}

/* Free of block p of pool by heap h.  Local and plain: clear the live bit,
 * push, count; every other case leaves by a tail call, so this stays a leaf.
 * The slot lookup bounds the offset to the pool's slots, so the bit index is
 * inside live[], and a pointer that is not a block start, or not live, finds
 * a clear bit (only live block starts have theirs set). */
static inline void free_fast(hp_heap *h, hp_pool *p, void *block)
{
    if (OM_UNLIKELY(HP_LOAD(&p->heap) != h || (HP_LOAD(&hp_mode) | p->special))) {
        slow_free(p, block);
        return;
    }
    uintptr_t off = (uintptr_t)block - p->start;
    size_t g = off >> p->shift;
    uint64_t *word = &p->live[g >> 6];
    uint64_t bit = 1ull << (g & 63), w = HP_LOAD(word);
    if (OM_UNLIKELY(!(w & bit) || (off & ((1u << p->shift) - 1))))
        bad_free(p, block);
    HP_STORE(word, w & ~bit);
    ((hp_block *)block)->next = (uintptr_t)p->free;
    p->free = block;
    HP_BUMP(&h->count.frees[p->cls]);
    uint32_t used = --p->used, countdown = --h->purge_countdown;
    if (OM_UNLIKELY((used == 0) | (countdown == 0) | (p->flags & HP_POOL_FULL)))
        hp_free_slow_local(h, p);
}

/* NULL, a foreign pointer, or a block aligned past its segment's first 4 MiB. */
static OM_NOINLINE void free_odd(void *p)
{
    if (p)
        slow_free(pool_behind_or_die(p), p);
}

/* The fast path reads the descriptor of p's slot without resolving aliases:
 * an alias or free slot has no owner, so it falls to slow_free, which looks
 * the pool up properly. */
static inline void free_entry(hp_heap *h, void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_LIKELY(!(a >> HP_ADDRESS_BITS) &&
                  HP_LOAD(&hp_registry[a >> HP_SEGMENT_SHIFT]) == HP_REG_ARENA)) {
        hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
        free_fast(h ? h : hp_tls_heap, &s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)], p);
        return;
    }
    hp_pool *pool = hp_pool_of(p);
    if (OM_UNLIKELY(!pool)) {
        free_odd(p);
        return;
    }
    free_fast(h ? h : hp_tls_heap, pool, p);
}

/* ---- sizes ------------------------------------------------------------------------------ */

static size_t plain_size(hp_pool *pool, const void *p, const char *what)
{
    long idx = hp_block_index(pool, p);
    if (idx < 0 || pool->start + (size_t)idx * pool->block_size != (uintptr_t)p ||
        !hp_live_test(pool, (size_t)idx))
        om_fatal("%s of %p (not a live block of objmem)", what, p);
    return pool->block_size;
}

static size_t user_size(void *p)
{
    hp_pool *pool = pool_or_die(p);
    if (pool->kind == HP_KIND_DEBUG)
        return hp_debug_usable_size(p);
    return plain_size(pool, p, "usable-size query");
}

/* ---- the public malloc family ------------------------------------------------------------- */

void *om_malloc(size_t size)
{
    return alloc_entry(NULL, size, 16, __builtin_return_address(0));
}

/* calloc's zeroing, skipped for a large block fresh from the OS (so a big
 * calloc does not touch, and make resident, every page). */
static void zero_block(void *p, size_t size)
{
    if (size > HP_MEDIUM_MAX) {
        hp_pool *pool = hp_pool_of(p);
        if (pool && pool->cls == HP_CLASS_LARGE && (pool->flags & HP_POOL_ZEROED) &&
            pool->start == (uintptr_t)p)
            return;
    }
    memset(p, 0, size);
}

void *om_calloc(size_t count, size_t size)
{
    size_t total;
    if (OM_UNLIKELY(__builtin_mul_overflow(count, size, &total))) {
        errno = ENOMEM;
        om_set_error("out of memory: calloc(%zu, %zu) overflows", count, size);
        return NULL;
    }
    void *p = alloc_entry(NULL, total, 16, __builtin_return_address(0));
    if (p)
        zero_block(p, total);
    return p;
}

void om_free(void *p)
{
    free_entry(NULL, p);
}

void *om_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1))) {
        errno = EINVAL;
        om_set_error("aligned_alloc: alignment %zu is not a power of two", alignment);
        return NULL;
    }
    return alloc_entry(NULL, size, alignment < 16 ? 16 : alignment, __builtin_return_address(0));
}

size_t om_usable_size(const void *p)
{
    if (!p)
        return 0;
    return user_size((void *)p);
}

static void *realloc_in(hp_heap *h, void *p, size_t size, void *caller)
{
    if (!p)
        return alloc_entry(h, size, 16, caller);
    if (size == 0) {
        free_entry(h, p);
        return NULL;
    }
    hp_pool *pool = pool_or_die(p);
    size_t old =
        pool->kind == HP_KIND_DEBUG ? hp_debug_usable_size(p) : plain_size(pool, p, "realloc");
    if (pool->kind == HP_KIND_PLAIN && size <= old && (size >= old / 2 || old <= HP_SMALL_MAX)) {
        if (HP_LOAD(&hp_mode) & HP_MODE_HOOKS) {
            hp_heap *owner = HP_LOAD(&pool->heap);
            owner = owner && owner->is_private ? owner : NULL;
            report_free(p, owner);
            report_alloc(p, owner, caller);
        }
        return p;
    }
    void *q = alloc_entry(h, size, 16, caller);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    free_entry(h, p);
    return q;
}

void *om_realloc(void *p, size_t size)
{
    return realloc_in(NULL, p, size, __builtin_return_address(0));
}

size_t om_release(void)
{
    size_t bytes = 0;
    hp_op_enter();
    hp_debug_flush(NULL); /* quarantined debug blocks of the global heap */
    hp_op_leave();
    hp_heap *h = hp_tls_heap;
    if (h != &hp_empty_heap) {
        bytes += hp_heap_purge(h, false);
        for (unsigned k = 0; k < HP_NKINDS; k++)
            for (unsigned c = 0; c < HP_NCLASSES; c++) {
                hp_pool *p = h->cur[k][c];
                if (p != &hp_empty_pool && p->used == 0) {
                    h->cur[k][c] = &hp_empty_pool;
                    hp_pool_emptied(h, p);
                }
            }
    }
    pthread_mutex_lock(&hp_lock);
    hp_abandoned_reclaim_locked();
    bytes += hp_segments_purge_locked(true);
    pthread_mutex_unlock(&hp_lock);
    return bytes;
}

/* ---- private heaps ------------------------------------------------------------------------ */

void *hp_heap_alloc(hp_heap *h, size_t size)
{
    return alloc_entry(h, size, 16, __builtin_return_address(0));
}

void *hp_heap_calloc(hp_heap *h, size_t size)
{
    void *p = alloc_entry(h, size, 16, __builtin_return_address(0));
    if (p)
        zero_block(p, size);
    return p;
}

void *hp_heap_realloc(hp_heap *h, void *p, size_t size)
{
    return realloc_in(h, p, size, __builtin_return_address(0));
}

void hp_heap_free(hp_heap *h, void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_LIKELY(!(a >> HP_ADDRESS_BITS) &&
                  HP_LOAD(&hp_registry[a >> HP_SEGMENT_SHIFT]) == HP_REG_ARENA)) {
        hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
        hp_pool *q = &s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)];
        if (OM_LIKELY(HP_LOAD(&q->heap) == h)) { /* only a pool's first slot has an owner */
            free_fast(h, q, p);
            return;
        }
    }
    if (!p)
        return;
    hp_pool *pool = pool_or_die(p);
    if (OM_UNLIKELY(HP_LOAD(&pool->heap) != h))
        om_fatal("invalid free of %p (not a block of private heap %p)", p, (void *)h);
    free_fast(h, pool, p);
}

hp_heap *hp_heap_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_LIKELY(!(a >> HP_ADDRESS_BITS) &&
                  HP_LOAD(&hp_registry[a >> HP_SEGMENT_SHIFT]) == HP_REG_ARENA)) {
        hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
        hp_heap *h = HP_LOAD(&s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)].heap);
        if (OM_LIKELY(h)) /* the first slot of an owned pool */
            return h->is_private ? h : NULL;
    }
    hp_pool *pool = hp_pool_of(p);
    if (!pool)
        return NULL;
    hp_heap *h = HP_LOAD(&pool->heap);
    return h && h->is_private ? h : NULL;
}

size_t hp_usable_size(const void *p)
{
    return user_size((void *)p);
}

/* ---- the core half of the slow-lane interface ------------------------------------------------ */

void *hp_alloc_block(hp_heap *h, size_t size, size_t align, enum hp_kind kind)
{
    return hp_alloc_generic(h, size, align < 16 ? 16 : align, (unsigned)kind);
}

void hp_free_block(void *block)
{
    hp_free_generic(pool_or_die(block), block);
}

void *hp_block_of(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool) {
        hp_segment *s = segment_behind((uintptr_t)p);
        if (!s || s->kind != HP_SEG_LARGE)
            return NULL;
        pool = &s->pools[0];
    }
    /* carved is the owner's; a block past it has a clear bit anyway */
    long idx = hp_block_index(pool, p);
    if (idx < 0 || !hp_live_test(pool, (size_t)idx))
        return NULL;
    return (void *)(pool->start + (size_t)idx * pool->block_size);
}

enum hp_kind hp_block_kind(const void *block)
{
    return (enum hp_kind)pool_or_die(block)->kind;
}

size_t hp_block_size(const void *block)
{
    return pool_or_die(block)->block_size;
}

bool hp_owns(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool)
        return false;
    long idx = hp_block_index(pool, p);
    if (idx < 0 || !hp_live_test(pool, (size_t)idx))
        return false;
    uintptr_t block = pool->start + (size_t)idx * pool->block_size;
    if (pool->kind == HP_KIND_DEBUG)
        return hp_debug_user_of((void *)block, NULL) == p;
    return block == (uintptr_t)p;
}
