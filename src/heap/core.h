/*
 * heap/core.h: the types of the core heap, their invariants, and the inline
 * helpers its files share.  Only src/heap includes it.
 *
 * GLOSSARY
 *   segment   a 4 MiB-aligned mapping: an arena, or one large block.  Its
 *             header sits at its start, so p & ~(4 MiB - 1) finds it.
 *   arena     a segment cut into 64 slots of 64 KiB; slot 0 is the header
 *             (segment fields + 64 pool descriptors + their bitmaps).
 *   pool      one or more adjacent slots of an arena serving one size class
 *             and one kind (plain or debug); or the single block of a large
 *             segment.  Its descriptor lives in the segment header, indexed
 *             by its first slot.
 *   block     what a caller gets.  Block i of a pool starts at
 *             start + i * block_size.
 *   heap      hp_heap: per-class current pools and pool lists.  One per
 *             thread for om_malloc (the thread heap), one per runtime for
 *             the private heaps.
 *   registry  one byte per 4 MiB of the 47-bit address space: is there a
 *             segment of ours here.  What makes foreign frees detectable.
 *
 * EXACT AND INEXACT POOLS
 *   A pool is exact (hp_pool_exact) when its bitmap is kept: the pools of
 *   private heaps (which walks must see block by block), debug pools and
 *   large blocks.  The pools of thread heaps (om_malloc) are inexact: their
 *   fast paths do not touch the bitmap (a cache line per call saved), and a
 *   block is live iff it is carved, not on pool->free and not in a purged
 *   hole.  Their bits are stale; hp_pool_sync_bits makes them exact again
 *   when a purge, a rebuild or an adoption by a private heap needs them.
 *
 * INVARIANTS (om_heap_check verifies them)
 *   - In an exact or tracked pool a block is live iff its bit in pool->live
 *     is set; hp_pool_used == live bits.  In every pool a live block is in
 *     no free list, a block in pool->free or pool->thread_free is carved,
 *     and free + used == carved unless the pool has holes (a tracked pool
 *     always has: its free list is empty, its free blocks are clear bits).
 *   - A pool not current has above == used - wake > 0 unless it is empty
 *     (the current pool's count may pass its wake silently; it is re-armed
 *     when it stops being current).
 *   - Every block handed out starts below pool->top; top is at most the
 *     start of block carved.
 *   - Blocks waiting in thread_free are still live (counted in used, their
 *     bit set in an exact pool) until the owner collects them; so are the
 *     blocks [0, reclaimed) of a pool whose reclaim is not 0, which are on
 *     no list (a remote reclaim took them, pool.c).  Only inexact plain
 *     pools are ever reclaimed.
 *   - Every free-list link points inside the same pool at a block start.
 *   - pool->heap is the owner; NULL while abandoned.  Only the owner touches
 *     free, used, carved and the live bits (others read bits atomically);
 *     any thread may push onto thread_free.
 *   - pool->fast is pool->heap when special == 0, else NULL (alias and
 *     free slots: NULL).  A pool on the full list has wake == used - 1
 *     (0 when empty), so that its owner's first free calls out.
 *   - Every pool of a heap is on exactly one of its lists: avail (may have
 *     free blocks) or full.  heap->cur[k][c] is the head of avail[k][c] or
 *     the empty sentinel.
 *   - Outside a walk a heap's sweep list is empty and no pool of it has
 *     HP_POOL_SWEEP; during one, the list holds exactly the flagged pools.
 *   - A thread heap's sparse queue holds exactly its pools flagged
 *     HP_POOL_SPARSE, none of them current or full; a tracked pool
 *     (HP_SPECIAL_TRACKED) is on avail and not current.
 *   - The registry marks exactly the segments on the segment list.
 */
#ifndef OM_HEAP_CORE_H
#define OM_HEAP_CORE_H

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "heap/special.h"
#include "objmem/heap.h"
#include "os/os.h"

/* ---- geometry -------------------------------------------------------------
 * Segment 4 MiB: big enough that the header (slot 0) is under 2% of it,
 * small enough that a nearly empty arena can be unmapped.  Must be a power of
 * two; the registry has one byte per segment-size of address space. */
#define HP_SEGMENT_SHIFT 22
#define HP_SEGMENT_SIZE  ((size_t)1 << HP_SEGMENT_SHIFT)
/* Slot 64 KiB: 4096 blocks of 16 bytes, so a pool's bitmap is 64 words. */
#define HP_SLOT_SHIFT    16
#define HP_SLOT_SIZE     ((size_t)1 << HP_SLOT_SHIFT)
#define HP_SLOTS         (HP_SEGMENT_SIZE / HP_SLOT_SIZE) /* 64: one uint64_t mask */
#define HP_MAX_BLOCKS    (HP_SLOT_SIZE / 16)              /* most blocks in a pool */
#define HP_LIVE_WORDS    (HP_MAX_BLOCKS / 64)
#define HP_ADDRESS_BITS  47 /* user space of x86-64 and arm64 (4-level tables) */
#define HP_REGISTRY_SIZE ((size_t)1 << (HP_ADDRESS_BITS - HP_SEGMENT_SHIFT))

/* ---- size classes -----------------------------------------------------------
 *   small   16..512 step 16            32 classes (0..31), 1-slot pools
 *   medium  640..128 KiB, 4 a doubling 32 classes (32..63), pools of at least
 *           HP_MEDIUM_MIN_BLOCKS blocks (1 to 16 slots)
 *   large   above 128 KiB: a segment of its own from the OS
 * HP_NCLASSES must not exceed OM_HEAP_MAX_CLASSES. */
#define HP_SMALL_MAX         512
#define HP_MEDIUM_MAX        ((size_t)128 << 10)
#define HP_NCLASSES          64
#define HP_NKINDS            3 /* enum hp_kind (heap/special.h) */
#define HP_MEDIUM_MIN_BLOCKS 8
#define HP_LARGE_HEADER      4096 /* offset of a large block in its segment */

static inline unsigned hp_class_of(size_t size)
{
    if (size <= HP_SMALL_MAX)
        return (unsigned)((size - (size != 0)) >> 4);
    size_t n = size - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(n);
    return 32u + (e - 9u) * 4u + (unsigned)((n >> (e - 2)) & 3u);
}
static inline size_t hp_class_size(unsigned cls)
{
    if (cls < 32)
        return (size_t)(cls + 1) << 4;
    unsigned e = 9u + (cls - 32u) / 4u, m = (cls - 32u) % 4u;
    return (size_t)(5u + m) << (e - 2u);
}

/* ---- types ----------------------------------------------------------------- */
typedef struct hp_block {
    uintptr_t next; /* encoded in secure mode */
} hp_block;

typedef struct hp_segment hp_segment;
typedef struct hp_pool hp_pool;

enum { HP_SEG_ARENA = 1, HP_SEG_LARGE = 2 };
#define HP_CLASS_LARGE 0xFF /* pool->cls of a large block */
enum {
    HP_POOL_FULL = 0x1,    /* on its heap's full list */
    HP_POOL_DIRTY = 0x2,   /* on its (private) heap's dirty list */
    HP_POOL_HOLES = 0x4,   /* some free pages were given back */
    HP_POOL_LARGE = 0x8,   /* the one block of a large segment */
    HP_POOL_IDLE = 0x10,   /* not allocated from since the last purge tick */
    HP_POOL_ZEROED = 0x20, /* a large block straight from the OS: all zero */
    HP_POOL_SWEEP = 0x40,  /* on its (private) heap's sweep list: freed into during a walk */
    HP_POOL_SPARSE = 0x80  /* on its (thread) heap's sparse queue, waiting for a purge */
};

/* 256 bytes (a power of two, so that finding a slot's descriptor is a shift
 * and a mask), in lines by who writes them, so that frees from other threads
 * (which read the first) do not fight the owner's allocations (which write
 * the second):
 *   line 0     fixed while the pool lives: read by every thread
 *   lines 1-2  the owner's: free list, counts, flags, list links
 *   line 3     thread_free: pushed onto by other threads
 * The live bitmap lies apart, behind the descriptors (hp_segment).  (Putting
 * the owner's free list and counts in line 0 too, so that a free into a
 * cold pool touches one descriptor line instead of two, measured no faster
 * single-threaded and 4-8% slower on prodcons.) */
struct __attribute__((aligned(64))) hp_pool {
    hp_heap *heap; /* owner (atomic); NULL while abandoned, and in alias or free slots */
    /* The owner while a free by it may take the inline push: the pool is
     * plain (special == 0); else NULL (atomic).  Kept by hp_pool_set_fast at
     * every change of heap or special, so that the push tests one word
     * (against heap | hp_mode: see heap/fast.h).  A pool on the full list
     * takes the inline push too: its wake level is one below its count
     * (hp_pool_arm), so the first free calls out and moves it to avail. */
    hp_heap *fast;
    uintptr_t start; /* block 0 */
    /* floor(2^64 / block_size) + 1, the constant of Lemire, Kaser and Kurz,
     * "Faster remainder by direct computation" (2019): for an offset below
     * 2^32, off / block_size = (off * magic) >> 64 (high half), and off is a
     * multiple of block_size iff off * magic mod 2^64 < magic (hp_div,
     * hp_divides).  Offsets inside a pool are below 1 MiB. */
    uint64_t magic;
    size_t block_size;
    uint32_t capacity;   /* blocks that fit */
    uint16_t span;       /* slots; 0 in alias and free slots */
    uint16_t live_words; /* words of live[] in use */
    uint8_t cls, kind;
    uint8_t special; /* kind | HP_SPECIAL_*: non-zero sends frees to the slow lane */
    uint8_t shift;   /* live bit of the block at offset off: off >> shift */
    uint8_t alias;   /* slot i of a pool starting at slot f: i - f (0 in the first) */
    uint8_t slot;
    /* One bit per granule of 2^shift bytes (shift = the largest power of two
     * dividing block_size, so each block start has a bit of its own and no
     * multiply is needed to find it); only block-start bits are ever set.
     * HP_LIVE_WORDS words: in an arena, its slot's part of the bitmaps behind
     * the descriptors; in a large segment, right behind its one descriptor. */
    uint64_t *live;

    hp_block *free __attribute__((aligned(64))); /* local free list */
    /* Live blocks (thread_free ones included) minus wake, modulo 2^32: read
     * the count with hp_pool_used.  The inline free decrements it and calls
     * out when it reaches zero, so one test finds both "empty" (wake 0) and
     * "sparse" (a thread heap's pool down to wake live blocks, see
     * hp_pool_arm), at no cost beyond the emptiness test it always made. */
    uint32_t above;
    uint32_t carved; /* blocks 0..carved-1 have been handed to the free list */
    uintptr_t top;   /* one past the start of the highest block handed out: what an
                        inexact pool's frees check for "never allocated" */
    uint8_t flags;
    uint16_t wake;                    /* the live count at which a free calls out (above) */
    uint32_t hole_pages;              /* pages given back by hp_pool_purge_pages */
    uint64_t gone[4];                 /* those pages, one bit each (256 at most) */
    hp_pool *next, *prev;             /* heap list (avail / full / large / abandoned) */
    hp_pool *dirty_next, *dirty_prev; /* private heaps: dirty list; thread heaps: sparse queue */
    hp_pool *sweep_next;              /* private heaps: sweep list (HP_POOL_SWEEP) */
    uint64_t key;                     /* secure mode: free-link key */
    /* Block ids for the hooks (heap/ids.c): one per live bit, valid while
     * ids_epoch == hp_ids_epoch; the owner writes them, NULL until a first
     * allocation while ids are on (atomic: heap walks read them). */
    uint32_t *ids;
    uint32_t ids_epoch;
    uint32_t queued_at; /* thread heaps: the sparse batch count when it was queued */

    /* Other threads' frees (atomic): the head of a stack of blocks in the
     * low HP_TF_SHIFT bits, how many were pushed since the owner last took
     * the stack in the high ones (hp_tf_head, hp_tf_count). */
    uintptr_t thread_free __attribute__((aligned(64)));
    /* A remote reclaim (pool.c): the freer whose push made the stack hold
     * every carved block took them all, blocks [0, reclaimed), and gives
     * their pages back for an owner that does not collect (HP_RECLAIM_BUSY,
     * then HP_RECLAIM_DONE); the owner's next collect takes them (0 again).
     * Both atomic. */
    uint32_t reclaimed;
    uint8_t reclaim;
    /* The owner's allocations of the class (count.allocs), and om_now_ns,
     * when the first block since its last collect was pushed (atomic): a
     * pool is reclaimed only when the owner allocated nothing of the class
     * since, for a while (pool.c, owner_idle). */
    uint64_t allocs_at, pushed_at;
};
#define HP_POOL_SHIFT 8 /* log2 sizeof(hp_pool) */
/* The thread_free word: a block address (below 2^47) and a count of 16
 * bits, more than any pool's blocks (only double frees could carry it over,
 * out of the word). */
#define HP_TF_SHIFT 48
static inline hp_block *hp_tf_head(uintptr_t word)
{
    return (hp_block *)(word & (((uintptr_t)1 << HP_TF_SHIFT) - 1));
}
static inline uint32_t hp_tf_count(uintptr_t word)
{
    return (uint32_t)(word >> HP_TF_SHIFT);
}
enum { HP_RECLAIM_BUSY = 1, HP_RECLAIM_DONE = 2 }; /* hp_pool.reclaim */
_Static_assert(sizeof(hp_pool) == (size_t)1 << HP_POOL_SHIFT, "hp_pool must be 256 bytes");

struct hp_segment {
    uint64_t magic;          /* HP_SEGMENT_MAGIC ^ address */
    uint32_t kind;           /* HP_SEG_ARENA or HP_SEG_LARGE */
    uint32_t guard;          /* secure mode: guard pages at the ends */
    size_t size;             /* bytes mapped */
    uint64_t free_slots;     /* arena: free slots (bit i = slot i) */
    uint64_t dirty_slots;    /* arena: free slots whose pages may be resident */
    uint64_t stale_slots;    /* arena: dirty slots that were dirty at the last purge tick too */
    hp_segment *next, *prev; /* all segments (global lock) */
    /* arena: one per slot; slot i of a pool starting at slot f is an alias
     * (alias = i - f, span 0); a free slot has span 0 and alias 0.  Large: 1.
     * Behind them the live bitmaps (hp_pool.live, HP_LIVE_BYTES each): an
     * arena's, one per slot, at HP_ARENA_LIVE; a large segment's right
     * behind pools[0]. */
    hp_pool pools[];
};
#define HP_LIVE_BYTES (HP_LIVE_WORDS * sizeof(uint64_t))
#define HP_ARENA_LIVE (sizeof(hp_segment) + HP_SLOTS * sizeof(hp_pool))

/* The segment whose header holds descriptor p (always in its first 4 MiB). */
static inline hp_segment *hp_pool_segment(const hp_pool *p)
{
    return (hp_segment *)((uintptr_t)p & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
}
#define HP_SEGMENT_MAGIC 0x6f626a6d656d5347ull

typedef struct hp_pool_list {
    hp_pool *head, *tail;
} hp_pool_list;

/* Per-heap counters, written by the owner only (relaxed), read by anyone. */
typedef struct hp_counters {
    uint64_t allocs[HP_NCLASSES];
    uint64_t frees[HP_NCLASSES];
    size_t peak[HP_NCLASSES];
    uint64_t large_allocs, large_frees;
} hp_counters;

struct hp_heap {
    hp_pool *cur[HP_NKINDS][HP_NCLASSES]; /* never NULL: &hp_empty_pool when none */
    hp_counters count;
    hp_pool_list avail[HP_NKINDS][HP_NCLASSES];
    hp_pool_list full[HP_NKINDS][HP_NCLASSES];
    hp_pool_list large;      /* private heaps: their large blocks */
    uint64_t remote_classes; /* atomic: classes with pools that got remote frees */
    hp_pool *dirty;          /* private heaps: pools allocated from since clear_dirty */
    hp_pool *sparse;         /* thread heaps: pools that fell to a wake level (HP_POOL_SPARSE) */
    size_t sparse_bytes;     /* bytes queued since the last sparse batch */
    uint32_t sparse_batches; /* sparse batches run */
    hp_pool *sweep;          /* pools freed into during the current walk (HP_POOL_SWEEP) */
    uint64_t sweep_examined; /* pools the sweeps after walks and clears looked at */
    uint64_t purge_mark;     /* this heap's frees (all classes) at the last purge look */
    uint64_t purge_every;    /* frees between two purges (heapcore.c, look_purge) */
    uint32_t purge_looks;    /* slow-path events, for the pace of looks */
    uint32_t refills;        /* for the pace of note_peak */
    uint32_t remote_frees;   /* frees into other heaps' pools, for hp_heap_report_live */
    uint64_t last_purge;     /* om_now_ns of that purge */
    uint16_t purge_cursor;   /* kind * HP_NCLASSES + class where the last purge stopped */
    int64_t sample_left;     /* bytes the fast path may hand out before the next sample */
    uint64_t sample_rng;     /* the sampling gaps' generator */
    int64_t sample_far;      /* the near leg, still to add when sample_left runs out */
    bool sample_near;        /* counted in om_trace_sites_on (written under hp_lock) */
    int64_t reported_bytes, reported_blocks; /* this heap's share of hp_live_bytes/blocks */
    void *owner; /* hp_heap_new's (a runtime), or NULL: thread heaps, ownerless private heaps */
    bool is_private, walking, live;
    hp_heap *next, *prev; /* all heaps (global lock) */
};

/* ---- globals (state.c) --------------------------------------------------------- */
OM_INTERNAL extern hp_pool hp_empty_pool;
OM_INTERNAL extern hp_heap hp_empty_heap;
OM_INTERNAL extern OM_THREAD_LOCAL hp_heap *hp_tls_heap;
OM_INTERNAL extern uint8_t hp_registry[HP_REGISTRY_SIZE];
OM_INTERNAL extern bool hp_secure;
OM_INTERNAL extern pthread_mutex_t hp_lock; /* segments, heaps, abandoned pools, large cache */

/* ---- atomics, named ----------------------------------------------------------------- */
#define HP_LOAD(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define HP_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define HP_BUMP(p)     HP_STORE((p), HP_LOAD(p) + 1)
/* HP_BUMP of a 64-bit counter that only one thread writes, for the inline
 * paths: on x86-64 a single add to memory (not locked: an aligned 8-byte
 * store, which readers see whole, as with HP_STORE), one instruction
 * instead of three; elsewhere HP_BUMP. */
#if defined(__x86_64__)
#define HP_COUNT(p) __asm__("addq $1, %0" : "+m"(*(p)))
#else
#define HP_COUNT(p) HP_BUMP(p)
#endif

/* ---- finding a pointer's pool: O(1), touches only our own memory -------------- */
enum { HP_REG_NONE = 0, HP_REG_ARENA = 1, HP_REG_CONT = 2, HP_REG_LARGE = 3 };

static inline hp_segment *hp_segment_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_UNLIKELY(a >> HP_ADDRESS_BITS))
        return NULL;
    if (OM_UNLIKELY(!(HP_LOAD(&hp_registry[a >> HP_SEGMENT_SHIFT]) & 1))) /* arena or large */
        return NULL;
    return (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
}

/* heap/special.h: any registry byte but none, continuations included. */
static inline bool hp_in_heap(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return !(a >> HP_ADDRESS_BITS) && HP_LOAD(&hp_registry[a >> HP_SEGMENT_SHIFT]) != HP_REG_NONE;
}

static inline hp_pool *hp_pool_of(const void *p)
{
    hp_segment *s = hp_segment_of(p);
    if (OM_UNLIKELY(!s))
        return NULL;
    if (OM_UNLIKELY(s->kind != HP_SEG_ARENA))
        return &s->pools[0];
    hp_pool *q = &s->pools[((uintptr_t)p >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)];
    q -= HP_LOAD(&q->alias);
    return HP_LOAD(&q->span) ? q : NULL;
}

/* off / block_size and "off is a multiple of block_size", for offsets below
 * 2^32 (see hp_pool.magic). */
static inline uint64_t hp_div(const hp_pool *pool, uint64_t off)
{
    return (uint64_t)(((unsigned __int128)off * pool->magic) >> 64);
}
static inline bool hp_divides(const hp_pool *pool, uint64_t off)
{
    return off * pool->magic < pool->magic;
}
static inline uint64_t hp_magic_of(size_t block_size)
{
    return UINT64_MAX / block_size + 1;
}

/* What pool->fast must be now (see hp_pool); the owner (or hp_lock for an
 * ownerless pool) calls it after changing heap or special. */
static inline void hp_pool_set_fast(hp_pool *pool)
{
    hp_heap *h = HP_LOAD(&pool->heap);
    HP_STORE(&pool->fast, HP_LOAD(&pool->special) ? NULL : h);
}

/* The dirty list of a private heap and the sparse queue of a thread heap
 * share the descriptor's side links (dirty_next / dirty_prev): a pool is on
 * at most one, marked by its flag. */
static inline void hp_side_push(hp_pool **head, hp_pool *p, uint8_t flag)
{
    p->flags |= flag;
    p->dirty_prev = NULL;
    p->dirty_next = *head;
    if (*head)
        (*head)->dirty_prev = p;
    *head = p;
}

static inline void hp_side_unlink(hp_pool **head, hp_pool *p, uint8_t flag)
{
    if (!(p->flags & flag))
        return;
    if (p->dirty_prev)
        p->dirty_prev->dirty_next = p->dirty_next;
    else
        *head = p->dirty_next;
    if (p->dirty_next)
        p->dirty_next->dirty_prev = p->dirty_prev;
    p->dirty_next = p->dirty_prev = NULL;
    p->flags &= (uint8_t)~flag;
}

/* The sparse queue of thread heaps (heap/sparse.c). */
OM_INTERNAL void hp_sparse_remove(hp_heap *h, hp_pool *p); /* not queued: nothing */
OM_INTERNAL void hp_sparse_clear(hp_heap *h);
/* p's live count reached its wake level (p is not empty). */
OM_INTERNAL void hp_sparse_level(hp_heap *h, hp_pool *p);
/* The owner freed block of tracked pool p: a page it emptied goes back. */
OM_INTERNAL void hp_sparse_freed(hp_pool *p, const void *block);

/* Live blocks of pool (see hp_pool.above). */
static inline uint32_t hp_pool_used(const hp_pool *pool)
{
    return pool->above + pool->wake;
}

/* The wake level of a thread heap's pool with `used` live blocks: a quarter
 * of its blocks, halved until below `used` (0: only "empty" calls out);
 * always 0 in exact pools, whose heaps have walks instead.  Reaching it
 * queues the pool for a purge of its free pages (heapcore.c, the sparse
 * queue): a quarter, because survivors that were allocated together fill
 * a few pages of a pool and leave the others free long before the pool is
 * nearly empty. */
static inline unsigned hp_pool_level(const hp_pool *pool, uint32_t used)
{
    unsigned level = pool->capacity / 4;
    while (level >= used && level)
        level >>= 1;
    return level;
}

static inline bool hp_pool_bits_kept(const hp_pool *pool);

/* Sets pool's live count to used and its wake to the level below it: by
 * the owner, whenever the count may have passed the wake without a call
 * (a collect, a pool leaving the current position).  No level while the
 * bits are kept (an exact pool; a tracked one is past its level already).
 * A pool on the full list: one below used, so that the next free by the
 * owner calls out (and moves it back to avail) from the inline push, which
 * costs a third of the slow lane's way. */
static inline void hp_pool_arm(hp_pool *pool, uint32_t used)
{
    if (pool->flags & HP_POOL_FULL)
        pool->wake = (uint16_t)(used ? used - 1 : 0);
    else
        pool->wake = (uint16_t)(hp_pool_bits_kept(pool) ? 0 : hp_pool_level(pool, used));
    pool->above = used - pool->wake;
}

/* Index of the block containing p, or -1 when p is outside the carved blocks. */
static inline long hp_block_index(const hp_pool *pool, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_UNLIKELY(a < pool->start))
        return -1;
    if (OM_UNLIKELY(pool->capacity == 1)) /* large, or a one-block pool */
        return a - pool->start < pool->block_size ? 0 : -1;
    uint64_t idx = hp_div(pool, a - pool->start);
    if (OM_UNLIKELY(idx >= pool->capacity))
        return -1;
    return (long)idx;
}

/* Is pool's bitmap kept (see EXACT AND INEXACT POOLS)?  Fixed while the
 * pool lives: private heaps never adopt abandoned (thread heaps') pools. */
static inline bool hp_pool_exact(const hp_pool *pool)
{
    if (pool->kind == HP_KIND_DEBUG || pool->cls == HP_CLASS_LARGE)
        return true;
    hp_heap *owner = HP_LOAD(&pool->heap);
    return owner && owner->is_private;
}

/* Live bits by block index (slow paths; the fast paths use offsets). */
static inline size_t hp_live_bit(const hp_pool *pool, size_t idx)
{
    return (idx * pool->block_size) >> pool->shift;
}
static inline bool hp_live_test(const hp_pool *pool, size_t idx)
{
    size_t b = hp_live_bit(pool, idx);
    return (HP_LOAD(&pool->live[b >> 6]) >> (b & 63)) & 1;
}
static inline void hp_live_set(hp_pool *pool, size_t idx)
{
    size_t b = hp_live_bit(pool, idx);
    uint64_t *w = &pool->live[b >> 6];
    HP_STORE(w, HP_LOAD(w) | (1ull << (b & 63)));
}
static inline void hp_live_clear(hp_pool *pool, size_t idx)
{
    size_t b = hp_live_bit(pool, idx);
    uint64_t *w = &pool->live[b >> 6];
    HP_STORE(w, HP_LOAD(w) & ~(1ull << (b & 63)));
}

/* ---- free-list links: plain, or encoded with the pool key and slot address ---- */
static inline uintptr_t hp_encode(const hp_pool *pool, const hp_block *slot, uintptr_t next)
{
    return hp_secure ? next ^ pool->key ^ (uintptr_t)slot : next;
}
OM_INTERNAL OM_COLD OM_NOINLINE void hp_bad_link(const hp_pool *pool, const void *slot,
                                                 uintptr_t link);
static inline hp_block *hp_decode(const hp_pool *pool, const hp_block *slot, uintptr_t raw)
{
    if (!hp_secure)
        return (hp_block *)raw;
    uintptr_t next = raw ^ pool->key ^ (uintptr_t)slot;
    if (next) {
        uintptr_t off = next - pool->start;
        if (OM_UNLIKELY(next < pool->start || off >= (uintptr_t)pool->capacity * pool->block_size ||
                        !hp_divides(pool, off)))
            hp_bad_link(pool, slot, raw);
    }
    return (hp_block *)next;
}

/* ---- pool.c: carving, free lists, remote frees ------------------------------------ */
/* exact: the pool will keep its bitmap (see EXACT AND INEXACT POOLS). */
OM_INTERNAL void hp_pool_init(hp_pool *pool, hp_segment *seg, uintptr_t start, size_t bytes,
                              unsigned cls, size_t block_size, unsigned kind, bool exact);
/* Makes free blocks available: collects thread_free, carves more.  True if
 * pool->free is non-empty afterwards. */
OM_INTERNAL bool hp_pool_refill(hp_pool *pool);
/* Moves remote frees to the local free list; returns how many. */
OM_INTERNAL uint32_t hp_pool_collect(hp_pool *pool);
/* Frees block idx locally (owner); checks it is live (by its bit in an
 * exact pool, by the cheap checks of pool.c in an inexact one). */
OM_INTERNAL void hp_pool_push_local(hp_pool *pool, hp_block *b, size_t idx);
/* After fork, for an (inexact) pool whose owner is gone: collects
 * thread_free, then makes carved, used and the free list agree with the free
 * list as found (a push or pop is one store to pool->free, so the list is
 * whole whatever a gone thread was doing; a block it had just popped stays
 * live: leaked in the child, never handed out twice). */
OM_INTERNAL void hp_pool_rebuild_after_fork(hp_pool *pool);
/* Makes an inexact pool's bitmap exact for the moment: set for every carved
 * block not on pool->free and not in a purged hole (thread_free ones stay
 * set).  The owner, or hp_lock for an ownerless pool. */
OM_INTERNAL void hp_pool_sync_bits(hp_pool *pool);
/* Is block idx live?  Exact pools: its bit.  Inexact ones: carved and not
 * free, found by walking the free list (a slow query, for tests and checks;
 * the owner's thread, or a quiet pool). */
OM_INTERNAL bool hp_pool_block_live(const hp_pool *pool, size_t idx);
/* Blocks waiting on thread_free, and those a remote reclaim holds (no other
 * thread may be collecting). */
OM_INTERNAL uint32_t hp_pool_pending(const hp_pool *pool);
/* Pushes onto thread_free (any thread); the push that leaves every carved
 * block of an inexact plain pool there reclaims them (pool.c). */
OM_INTERNAL void hp_pool_push_remote(hp_pool *pool, hp_block *b);
/* Gives back fully free pages inside the pool; returns bytes.  With
 * only_idle, a pool allocated from since the last tick is only marked idle. */
OM_INTERNAL size_t hp_pool_purge_pages(hp_pool *pool, bool only_idle);
/* Makes n (at most HP_TRACK_MAX) of a thread heap's pools, not tracked and
 * not current, tracked (HP_SPECIAL_TRACKED): collects each, brings its bits
 * up to date (one walk of its free list, the n walks in step) and drops its
 * list.  The owner. */
#define HP_TRACK_MAX 16
OM_INTERNAL void hp_pools_track(hp_pool **pools, size_t n);
/* Ends tracking when the pool is about to be allocated from: its free
 * blocks go back on the list (rebuild) and the inline paths take it again. */
OM_INTERNAL void hp_pool_untrack(hp_pool *pool);
/* Ends tracking after a purge (om_release): the list again, without the
 * blocks of the pages given back (HOLES, as after any purge), so that the
 * pool's bits are scratch again (hp_arena_trim_bits_locked). */
OM_INTERNAL void hp_pool_untrack_purged(hp_pool *pool);
/* After the owner's free of block b into a tracked pool: gives back the
 * pages b touches that hold no live block now; bytes. */
OM_INTERNAL size_t hp_pool_give_pages(hp_pool *pool, const void *b);
/* One line and abort: an invalid or double free of p. */
OM_INTERNAL OM_COLD OM_NOINLINE __attribute__((noreturn)) void hp_invalid_free(const void *p,
                                                                               const char *why);

/* ---- segment.c: arenas, slots, large segments, registry, purge ---------------- */
/* A pool of `span` slots for class cls, kind k, owned by h.  NULL on failure. */
OM_INTERNAL hp_pool *hp_arena_take_pool(hp_heap *h, unsigned cls, unsigned kind);
/* Returns an empty pool's slots to its arena (global lock held by caller). */
OM_INTERNAL void hp_arena_return_pool_locked(hp_pool *pool);
OM_INTERNAL hp_pool *hp_large_alloc(hp_heap *h, size_t size, size_t align, unsigned kind);
OM_INTERNAL void hp_large_free(hp_pool *pool);
/* Purges dirty free slots, empty arenas and the large cache; bytes. */
OM_INTERNAL size_t hp_segments_purge_locked(bool everything);
/* Runs a purge tick if one is due (cheap when not); from the slow paths. */
OM_INTERNAL void hp_purge_tick(void);
OM_INTERNAL hp_segment *hp_segments_first(void); /* under hp_lock */
OM_INTERNAL size_t hp_pool_span_for(unsigned cls);
OM_INTERNAL void hp_segment_stats_locked(om_heap_stats *st);
/* Decommits the arenas' bitmap pages that hold the bits of no exact pool
 * and of no pool of a heap other than h (thread heaps' pools are inexact:
 * their bits are rebuilt by each purge and unread in between); bytes. */
OM_INTERNAL size_t hp_arena_trim_bits_locked(const hp_heap *h);

/* ---- state.c: operations a fork waits for (the debug heap's, see state.c) ---- */
OM_INTERNAL void hp_op_enter(void);
OM_INTERNAL void hp_op_leave(void);

/* ---- heapcore.c: heaps ----------------------------------------------------------------- */
OM_INTERNAL void hp_init(void);
OM_INTERNAL hp_heap *hp_thread_heap(void); /* creates it on first use */
/* The generic allocation path (fast path missed, or a mode is on). */
OM_INTERNAL void *hp_alloc_generic(hp_heap *h, size_t size, size_t align, unsigned kind);
/* Frees a plain or debug block start (any heap, any thread). */
OM_INTERNAL void hp_free_generic(hp_pool *pool, void *block);
/* Owner-side handling after a pool's used count reached zero. */
OM_INTERNAL void hp_pool_emptied(hp_heap *h, hp_pool *pool);
OM_INTERNAL void hp_list_push(hp_pool_list *l, hp_pool *p);
OM_INTERNAL void hp_list_remove(hp_pool_list *l, hp_pool *p);
OM_INTERNAL void hp_heap_counters_sum_locked(hp_counters *out, size_t *heaps);
OM_INTERNAL void hp_abandoned_reclaim_locked(void);
OM_INTERNAL size_t hp_heap_purge(hp_heap *h, bool only_idle);
OM_INTERNAL hp_heap *hp_heaps_first_locked(void);
OM_INTERNAL void hp_heaps_after_fork_child_locked(void);
OM_INTERNAL hp_pool *hp_abandoned_first_locked(unsigned kind, unsigned cls);
OM_INTERNAL size_t hp_abandoned_count_locked(unsigned kind, unsigned cls, size_t *used);
/* Brings h's share of the global live totals (hp_live_bytes / blocks) up to
 * date and raises the global peaks; the owner, at every few refills and
 * slow frees, and every HP_REPORT_EVERY_REMOTE frees into other heaps (a
 * thread that only frees, such as a consumer, lowers the totals this way). */
OM_INTERNAL void hp_heap_report_live(hp_heap *h);
#define HP_REPORT_EVERY_REMOTE 256
/* The owner's inline free emptied p, which is not the current pool. */
OM_INTERNAL void hp_free_slow_local(hp_heap *h, hp_pool *p);
/* For tests: how many pools the sweeps of h (after each walk and each
 * clear_dirty) have examined since h was made.  Proportional to the pools
 * freed into during walks plus the dirty pools cleared, never to the heap. */
OM_INTERNAL uint64_t hp_heap_sweep_examined(const hp_heap *h);

/* Core-private bit of hp_mode: secure mode sends every call down the generic path. */
#define HP_MODE_SECURE (1ull << 57)
/* pool->special bits (any non-zero value sends frees to the slow lane). */
#define HP_SPECIAL_LARGE   0x2u /* bit 0 is the kind */
#define HP_SPECIAL_SAMPLED 0x4u /* a pool of kind HP_KIND_SAMPLED: report every free */
/* A thread heap's sparse pool whose owner keeps its bits exact and its free
 * list empty (its free blocks are the carved ones whose bit is clear), so
 * that a free that empties a page finds it at once (heapcore.c, the sparse
 * queue).  Set and cleared by the owner; it ends when the pool is filled
 * again (rebuild links its free blocks back). */
#define HP_SPECIAL_TRACKED 0x8u

/* Does the owner keep pool's bits exact right now: an exact pool, or a
 * tracked one.  The owner's question; other threads ask hp_pool_exact, whose
 * answer a pool keeps while it lives. */
static inline bool hp_pool_bits_kept(const hp_pool *pool)
{
    return (pool->special & HP_SPECIAL_TRACKED) || hp_pool_exact(pool);
}
/* Sampling (hp_hooks.sample_bytes): the mean gap in bytes, 0 when off; and,
 * when off, how many bytes the fast path hands out between two looks at
 * whether sampling was turned on (one slow-lane call per that many bytes). */
OM_INTERNAL extern size_t hp_sample_mean;
/* The natural logarithm of a positive normal x (alloc.c: the sampling gaps'
 * own, so that the heap needs no libm). */
OM_INTERNAL double hp_log(double x);
#define HP_SAMPLE_RECHECK ((int64_t)1 << 20)
/* The call-site macros go on this many bytes before a heap's next sample
 * (alloc.c, sites_near): at least HP_SMALL_MAX, so that no small block
 * crosses into the near leg and past the sample at once. */
#define HP_SAMPLE_NEAR ((int64_t)1024)
OM_INTERNAL void hp_sites_far_locked(hp_heap *h); /* a heap retired: hp_lock held */

/* ---- ids.c: block ids for the hooks (heap/special.h) ----------------------------- */
OM_INTERNAL extern uint32_t hp_ids_epoch; /* arrays armed in another epoch hold nothing */
/* Gives p (a private heap's plain pool, by its owner) a zeroed array for
 * this epoch; false when there is no memory for one. */
OM_INTERNAL OM_NOINLINE bool hp_ids_arm(hp_pool *p);
/* The id slot of block b of an armed pool p. */
static inline uint32_t *hp_ids_slot(const hp_pool *p, const void *b)
{
    return &p->ids[((uintptr_t)b - p->start) >> p->shift];
}
/* hp_arena_return_pool_locked: the array goes back (the hooks hear of the
 * pool's live blocks with ids: a heap deleted with blocks in it). */
OM_INTERNAL void hp_ids_pool_gone_locked(hp_pool *p);
/* alloc.c: id_free(size, n, owner) for n blocks of p dropped at once. */
OM_INTERNAL void hp_ids_report_drop(hp_pool *p, size_t n);

/* ---- retired counters (heaps that are gone), under hp_lock ------------------------- */
OM_INTERNAL extern hp_counters hp_retired;
OM_INTERNAL extern size_t hp_large_count, hp_large_bytes, hp_arena_count, hp_arena_peak;
OM_INTERNAL extern size_t hp_committed, hp_committed_peak, hp_reserved, hp_returned;
OM_INTERNAL extern size_t hp_bytes_peak, hp_blocks_peak;
/* Arena pools per class now (written under hp_lock, read relaxed by stats). */
OM_INTERNAL extern size_t hp_class_pools[HP_NCLASSES];
/* Live bytes and blocks of small and medium classes, as of each heap's last
 * refill (atomic adds): what the peaks are measured against between reads. */
OM_INTERNAL extern int64_t hp_live_bytes, hp_live_blocks;

#endif
