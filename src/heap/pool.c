/*
 * heap/pool.c: one pool's blocks: carving, the local free list, frees from
 * other threads, and giving back the pages of a pool that is mostly free.
 *
 * A pool is carved lazily: a fresh pool has no free list, and each refill
 * links at most a page's worth of new blocks (at least one), so a pool
 * touches only the pages it has used:
 *
 *     start                               carved                    capacity
 *     [ live | free | live | live | free ][ never touched ............... ]
 *       local free list threads the free blocks; thread_free holds blocks
 *       freed by other threads until the owner collects them.
 *
 * In an exact pool (heap/core.h) every block has a bit in pool->live (set
 * while handed out), and a free checks it first, so a double free or a
 * pointer into the middle of a block is caught before anything is written.
 * An inexact pool (a thread heap's) checks by arithmetic instead: a block
 * start ((p - start) is a multiple of the block size), below the highest
 * block handed out (pool->top), and not the head of the free list (the double free of the
 * block freed last); secure mode's encoded links catch more.  Its bits are
 * rebuilt from the free list (hp_pool_sync_bits) when a purge needs them.
 *
 * Purging a mostly-free pool: a page none of whose blocks is live is given
 * back (madvise), and the free list is rebuilt without the blocks that
 * touch such a page; the pool is marked HOLES, and when its free list runs
 * dry again it rebuilds the list from the bitmap, this time with every free
 * block (the purged pages come back as zero pages on first touch).
 *
 * A purge takes the pages wholly inside the carved blocks, and once the pool
 * is fully carved its last page too (the tail past the last block completes
 * it).
 *
 * Tracked pools (HP_SPECIAL_TRACKED, a thread heap's sparse pool, see the
 * sparse queue in heapcore.c): the owner keeps the bits exact and no free
 * list at all (a free clears its bit and pushes nothing; a collect the
 * same), so a page whose last block goes is found by looking at its bits
 * (hp_pool_page_freed), and given back without a relink.  The pool is
 * HOLES meanwhile, so the refill that ends tracking rebuilds the list.
 *
 * Remote reclaim (below): the free from another thread that leaves every
 * block of a fully carved pool on thread_free, while the owner has not
 * allocated the class for a while, gives the pool's pages back itself; the
 * owner's next collect finds the pool uncarved.
 *
 * Secure mode: links are stored as next ^ key ^ slot address, with a random
 * key per pool, and checked on every pop (a link that does not decode to a
 * block of the same pool is corruption: one line, abort); freshly carved
 * blocks are linked in a random order.
 */
#include "heap/core.h"

/* Blocks linked per refill: a page's worth, but at least this many. */
#define CARVE_MIN   4
#define CARVE_BYTES 4096
/* Pages a purge tracks per pool (pool->gone): 16 slots of 64 KiB, the
 * largest pool span, in 4 KiB pages; at most 64 * 4 (gone's bits). */
#define PURGE_MAX_PAGES 256

void hp_pool_init(hp_pool *pool, hp_segment *seg, uintptr_t start, size_t bytes, unsigned cls,
                  size_t block_size, unsigned kind, bool exact)
{
    size_t cap = bytes / block_size;
    om_assert(cap >= 1 && cap <= HP_MAX_BLOCKS);
    pool->free = NULL;
    pool->above = 0;
    pool->wake = 0;
    pool->capacity = (uint32_t)cap;
    pool->start = start;
    pool->magic = hp_magic_of(block_size);
    pool->block_size = block_size;
    HP_STORE(&pool->heap, NULL);
    HP_STORE(&pool->fast, NULL);
    HP_STORE(&pool->thread_free, 0);
    HP_STORE(&pool->reclaim, (uint8_t)0);
    HP_STORE(&pool->reclaimed, 0u);
    HP_STORE(&pool->allocs_at, (uint64_t)0);
    HP_STORE(&pool->pushed_at, (uint64_t)0);
    HP_STORE(&pool->carved, 0u);
    pool->top = start;
    pool->cls = (uint8_t)cls;
    pool->kind = (uint8_t)kind;
    HP_STORE(&pool->alias, (uint8_t)0);
    pool->special = (uint8_t)((kind == HP_KIND_SAMPLED ? HP_SPECIAL_SAMPLED : kind) |
                              (cls == HP_CLASS_LARGE ? HP_SPECIAL_LARGE : 0));
    pool->flags = 0;
    pool->hole_pages = 0;
    memset(pool->gone, 0, sizeof pool->gone);
    pool->key = 0;
    if (hp_secure) {
        static uint64_t seed;
        uint64_t s = __atomic_add_fetch(&seed, om_random_seed() | 1, __ATOMIC_RELAXED);
        pool->key = om_splitmix64(&s) | 1;
    }
    pool->next = pool->prev = pool->dirty_next = pool->dirty_prev = NULL;
    /* an arena's slot, or a large segment's one descriptor (see hp_segment) */
    pool->live = cls == HP_CLASS_LARGE ? (uint64_t *)(pool + 1)
                                       : (uint64_t *)((char *)seg + HP_ARENA_LIVE +
                                                      (size_t)(pool - seg->pools) * HP_LIVE_BYTES);
    unsigned shift = (unsigned)__builtin_ctzll(block_size);
    if (cap == 1)
        shift = 0; /* one block: bit 0 */
    pool->shift = (uint8_t)shift;
    size_t bits = (((cap - 1) * block_size) >> shift) + 1;
    om_assert(bits <= HP_LIVE_WORDS * 64);
    pool->live_words = (uint16_t)((bits + 63) / 64);
    /* all of it: a pointer into the pool's slots past its last block must
     * find a clear bit, whatever the descriptor's previous pool left.  An
     * inexact pool's bits are read only after hp_pool_sync_bits has written
     * its live_words, so its bitmap page is not touched (and stays out of the
     * resident set) until a purge needs it. */
    if (exact)
        memset(pool->live, 0, HP_LIVE_BYTES);
}

static hp_block *block_at(const hp_pool *pool, size_t idx)
{
    return (hp_block *)(pool->start + idx * pool->block_size);
}

static void push_free(hp_pool *pool, hp_block *b)
{
    b->next = hp_encode(pool, b, (uintptr_t)pool->free);
    pool->free = b;
}

/* Links blocks [from, from + n) onto the free list; in secure mode in a
 * random order (Fisher-Yates over the batch). */
static void link_batch(hp_pool *pool, size_t from, size_t n)
{
    if (!hp_secure) {
        for (size_t i = from + n; i-- > from;)
            push_free(pool, block_at(pool, i));
        return;
    }
    uint16_t order[HP_MAX_BLOCKS > 4096 ? 4096 : HP_MAX_BLOCKS];
    for (size_t i = 0; i < n; i++)
        order[i] = (uint16_t)(from + i);
    uint64_t state = pool->key ^ (uint64_t)from ^ om_random_seed();
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(om_splitmix64(&state) % i);
        uint16_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        push_free(pool, block_at(pool, order[i]));
}

static bool carve(hp_pool *pool)
{
    size_t left = pool->capacity - pool->carved;
    if (left == 0)
        return false;
    size_t n = CARVE_BYTES / pool->block_size;
    if (n < CARVE_MIN)
        n = CARVE_MIN;
    if (n > left)
        n = left;
    link_batch(pool, pool->carved, n);
    HP_STORE(&pool->carved, pool->carved + (uint32_t)n); /* a remote reclaim reads it */
    return true;
}

/* After a purge: every carved, non-live block goes back on the free list. */
static void rebuild(hp_pool *pool)
{
    pool->free = NULL;
    for (size_t i = pool->carved; i-- > 0;)
        if (!hp_live_test(pool, i))
            push_free(pool, block_at(pool, i));
    pool->flags &= (uint8_t)~HP_POOL_HOLES;
    __atomic_fetch_add(&hp_committed, (size_t)pool->hole_pages * os_page_size(), __ATOMIC_RELAXED);
    pool->hole_pages = 0;
    memset(pool->gone, 0, sizeof pool->gone);
}

/* Blocks up to and including the last one with its live bit set. */
static size_t live_extent(const hp_pool *pool)
{
    for (size_t w = pool->live_words; w-- > 0;) {
        uint64_t bits = HP_LOAD(&pool->live[w]);
        if (bits) {
            size_t g = w * 64 + 63 - (size_t)__builtin_clzll(bits);
            return (size_t)hp_div(pool, (uint64_t)g << pool->shift) + 1;
        }
    }
    return 0;
}

/* Blocks of an inexact pool that a purge took off the free list: those
 * touching a page given back (no live block overlaps one). */
static bool in_hole(const hp_pool *pool, size_t idx)
{
    if (!(pool->flags & HP_POOL_HOLES))
        return false;
    size_t page = os_page_size(), off = idx * pool->block_size;
    for (size_t j = off / page; j <= (off + pool->block_size - 1) / page; j++)
        if (j < PURGE_MAX_PAGES && ((pool->gone[j >> 6] >> (j & 63)) & 1))
            return true;
    return false;
}

/* The first half of hp_pool_sync_bits: every carved block outside a hole set. */
static void mark_carved(hp_pool *pool)
{
    memset(pool->live, 0, pool->live_words * sizeof pool->live[0]);
    if (pool->flags & HP_POOL_HOLES) {
        for (size_t i = 0; i < pool->carved; i++)
            if (!in_hole(pool, i))
                hp_live_set(pool, i);
        return;
    }
    /* block starts are every block_size >> shift bits (an odd number) */
    size_t step = pool->block_size >> pool->shift, end = (size_t)pool->carved * step;
    for (size_t bit = 0; bit < end; bit += step)
        pool->live[bit >> 6] |= 1ull << (bit & 63);
}

void hp_pool_sync_bits(hp_pool *pool)
{
    mark_carved(pool);
    for (hp_block *b = pool->free; b; b = hp_decode(pool, b, b->next))
        hp_live_clear(pool, (size_t)hp_block_index(pool, b));
}

bool hp_pool_block_live(const hp_pool *pool, size_t idx)
{
    if (hp_pool_bits_kept(pool))
        return hp_live_test(pool, idx);
    uintptr_t at = pool->start + idx * pool->block_size;
    if (at >= HP_LOAD(&pool->top) || in_hole(pool, idx))
        return false;
    for (hp_block *b = pool->free; b; b = hp_decode(pool, b, b->next))
        if ((uintptr_t)b == at)
            return false;
    return true;
}

/* The carve watermark as the free list shows it: a carve links its batch
 * before it stores the new count. */
static void carved_from_list(hp_pool *pool)
{
    for (hp_block *b = pool->free; b; b = hp_decode(pool, b, b->next)) {
        long idx = hp_block_index(pool, b);
        if (idx >= 0 && (size_t)idx >= pool->carved)
            HP_STORE(&pool->carved, (uint32_t)idx + 1);
    }
}

void hp_pool_rebuild_after_fork(hp_pool *pool)
{
    hp_pool_collect(pool);
    if (hp_pool_bits_kept(pool)) {
        size_t extent = live_extent(pool);
        if (pool->carved < extent)
            HP_STORE(&pool->carved, (uint32_t)extent); /* a carve stopped before storing it */
    } else {
        carved_from_list(pool);
        hp_pool_sync_bits(pool);
        pool->top = pool->start + (size_t)pool->carved * pool->block_size; /* all, to be safe */
    }
    size_t live = 0;
    for (size_t w = 0; w < pool->live_words; w++)
        live += (size_t)__builtin_popcountll(HP_LOAD(&pool->live[w]));
    pool->wake = 0; /* the new owner arms it */
    pool->above = (uint32_t)live;
    rebuild(pool);
    HP_STORE(&pool->special, (uint8_t)(pool->special & ~HP_SPECIAL_TRACKED)); /* listed again */
}

uint32_t hp_pool_pending(const hp_pool *pool)
{
    uint32_t n = HP_LOAD(&pool->reclaim) ? HP_LOAD(&pool->reclaimed) : 0;
    for (hp_block *b = hp_tf_head(HP_LOAD(&pool->thread_free)); b; b = hp_decode(pool, b, b->next))
        n++;
    return n;
}

void hp_invalid_free(const void *p, const char *why)
{
    om_fatal("invalid free of %p (%s)", p, why);
}

void hp_bad_link(const hp_pool *pool, const void *slot, uintptr_t link)
{
    om_fatal("corrupted free list in pool %p (class %zu bytes): link 0x%016llx at %p", (void *)pool,
             pool->block_size, (unsigned long long)link, slot);
}

/* The cheap checks of a free into an inexact pool (see the top). */
static inline bool plausibly_live(const hp_pool *pool, const hp_block *b)
{
    return (uintptr_t)b < pool->top && b != pool->free;
}

void hp_pool_push_local(hp_pool *pool, hp_block *b, size_t idx)
{
    if (hp_pool_bits_kept(pool)) {
        if (OM_UNLIKELY(!hp_live_test(pool, idx)))
            hp_invalid_free(b, "double free, or never allocated");
        hp_live_clear(pool, idx);
    } else if (OM_UNLIKELY(!plausibly_live(pool, b))) {
        hp_invalid_free(b, "double free, or never allocated");
    }
    if (!(pool->special & HP_SPECIAL_TRACKED)) /* a tracked pool's free blocks are its clear bits */
        push_free(pool, b);
    pool->above--; /* the caller looks whether it reached zero */
}

/* ---- remote reclaim ---------------------------------------------------------
 * An owner that stops allocating (a thread blocked in a join, a producer
 * waiting for its consumers) never collects the blocks other threads free
 * into its pools: they stay resident though nobody can use them (larson's
 * main thread allocates every window, then waits while the workers free
 * them all: 9 MiB of its pools held for nothing, a third of the peak).
 * So the freer whose push leaves every carved block of a pool on its
 * thread_free (the count in the word equals carved), while the owner has
 * allocated nothing of the class since the first of them was pushed
 * (owner_idle: a busy owner collects them soon), takes the whole stack
 * (one compare-and-swap to empty, which also proves nobody pushed or
 * collected meanwhile) and gives back the pages that hold only those
 * blocks:
 *
 *   freer:  push (count == carved) -> take the stack -> BUSY -> decommit
 *           the pages below block `carved` -> DONE -> wake the owner
 *   owner:  next collect sees DONE -> blocks [0, reclaimed) are free: no
 *           other block carved, so the pool is uncarved again (its pages
 *           come back zero when carved anew); else they are linked back
 *
 * Why count == carved means "all of [0, carved)": each pushed block was
 * handed out after the carve that made it, so an acquire load of the word
 * the push left (the pushes form one release sequence) shows the freer a carved
 * above every block on the stack, and count distinct blocks below carved
 * are all of them.  Only fully carved pools are looked at (count ==
 * capacity, a field of the line a remote free reads anyway; carved lies in
 * the owner's line), so no carve can run meanwhile; the pool's partly
 * carved current pools of an idle owner, one a class, are left to it.  (A double free could make
 * the count lie; as with any older double free in plain mode, the heap is then not protected from
 * it.)  The decommit runs between hp_op_enter and hp_op_leave, so a fork never sees it half done.
 * Pools whose pages are worth less than RECLAIM_MIN_BYTES are left to their owner. */
#define RECLAIM_MIN_BYTES ((size_t)16 << 10)

/* Has pool's owner allocated nothing of its class since the first push of
 * the blocks on its stack, RECLAIM_IDLE_NS ago or more?  An owner that goes
 * on allocating collects them soon, and one that waits only a moment (a
 * producer whose queue is full: prodcons measured 28x the page faults and
 * twice the time with no wait) would only carve the pages again.  A pool
 * with no owner is idle. */
#define RECLAIM_IDLE_NS 10000000u

static bool owner_idle(const hp_pool *pool)
{
    hp_heap *h = __atomic_load_n(&pool->heap, __ATOMIC_ACQUIRE);
    return !h || (HP_LOAD(&h->count.allocs[pool->cls]) == HP_LOAD(&pool->allocs_at) &&
                  om_now_ns() - HP_LOAD(&pool->pushed_at) >= RECLAIM_IDLE_NS);
}

static void reclaim(hp_pool *pool, uintptr_t word, uint32_t n)
{
    size_t page = os_page_size();
    size_t bytes = (size_t)n * pool->block_size / page * page;
    if (bytes < RECLAIM_MIN_BYTES || HP_LOAD(&pool->reclaim))
        return;
    hp_op_enter();
    if (__atomic_compare_exchange_n(&pool->thread_free, &word, 0, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        HP_STORE(&pool->reclaimed, n);
        HP_STORE(&pool->reclaim, (uint8_t)HP_RECLAIM_BUSY);
        os_decommit((void *)pool->start, bytes);
        __atomic_fetch_sub(&hp_committed, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&hp_returned, bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&pool->reclaim, (uint8_t)HP_RECLAIM_DONE, __ATOMIC_RELEASE);
        hp_heap *h = __atomic_load_n(&pool->heap, __ATOMIC_ACQUIRE);
        if (h) /* its collect_remote looks at full pools with this bit */
            __atomic_fetch_or(&h->remote_classes, 1ull << pool->cls, __ATOMIC_RELEASE);
    }
    hp_op_leave();
}

/* The owner's side: the blocks of a finished reclaim are free again; how many. */
static uint32_t take_reclaimed(hp_pool *pool)
{
    uint32_t n = HP_LOAD(&pool->reclaimed);
    size_t page = os_page_size();
    __atomic_fetch_add(&hp_committed, (size_t)n * pool->block_size / page * page,
                       __ATOMIC_RELAXED); /* the slots count as committed (see rebuild) */
    if (pool->carved == n && !pool->free && !(pool->flags & HP_POOL_HOLES)) {
        HP_STORE(&pool->carved, 0u); /* nothing else carved: start afresh */
        pool->top = pool->start;
    } else {
        for (size_t i = n; i-- > 0;)
            push_free(pool, block_at(pool, i));
    }
    __atomic_store_n(&pool->reclaim, (uint8_t)0, __ATOMIC_RELEASE);
    return n;
}

uint32_t hp_pool_collect(hp_pool *pool)
{
    uint32_t taken = 0;
    if (OM_UNLIKELY(__atomic_load_n(&pool->reclaim, __ATOMIC_ACQUIRE) == HP_RECLAIM_DONE) &&
        !(pool->special & HP_SPECIAL_TRACKED)) /* a tracked pool: once it is listed again */
        taken = take_reclaimed(pool);
    if (HP_LOAD(&pool->thread_free) == 0) {
        if (taken)
            hp_pool_arm(pool, hp_pool_used(pool) - taken);
        return taken;
    }
    uintptr_t raw = __atomic_exchange_n(&pool->thread_free, 0, __ATOMIC_ACQUIRE);
    uint32_t n = taken;
    hp_block *b = hp_tf_head(raw);
    bool exact = hp_pool_bits_kept(pool), listed = !(pool->special & HP_SPECIAL_TRACKED);
    uint64_t limit = (uint64_t)pool->capacity * pool->block_size;
    if (!exact && !hp_secure) { /* the common case, the same checks with plain links */
        hp_block *head = pool->free;
        for (hp_block *next; b; b = next, n++) {
            next = (hp_block *)b->next;
            uint64_t off = (uintptr_t)b - pool->start;
            if (OM_UNLIKELY(off >= limit || !hp_divides(pool, off) || (uintptr_t)b >= pool->top ||
                            b == head))
                om_fatal("double free of %p (found freed twice from another thread)", (void *)b);
            b->next = (uintptr_t)head;
            head = b;
        }
        pool->free = head;
        hp_pool_arm(pool, hp_pool_used(pool) - n);
        return n;
    }
    while (b) {
        hp_block *next = hp_decode(pool, b, b->next);
        uint64_t off = (uintptr_t)b - pool->start; /* a block start of this pool? */
        if (OM_UNLIKELY(
                off >= limit || !hp_divides(pool, off) ||
                (exact ? !hp_live_test(pool, hp_div(pool, off)) : !plausibly_live(pool, b))))
            om_fatal("double free of %p (found freed twice from another thread)", (void *)b);
        if (exact)
            hp_live_clear(pool, hp_div(pool, off));
        if (listed)
            push_free(pool, b);
        n++;
        b = next;
    }
    hp_pool_arm(pool, hp_pool_used(pool) - n);
    return n;
}

/* The rare sides of a push: the first block since the owner's last collect
 * (wake the owner, note its allocations and the time), and the one that
 * leaves every block of the pool on the stack (reclaim, if the owner is
 * idle).  Out of line, so that the common push needs no frame. */
static OM_NOINLINE void pushed_rare(hp_pool *pool, uintptr_t old, uintptr_t word)
{
    hp_heap *h = NULL;
    if (old == 0 && (h = __atomic_load_n(&pool->heap, __ATOMIC_ACQUIRE)) != NULL) {
        /* heap records are never unmapped: a stale one only wakes a scan */
        __atomic_fetch_or(&h->remote_classes, 1ull << pool->cls, __ATOMIC_RELEASE);
        HP_STORE(&pool->allocs_at, HP_LOAD(&h->count.allocs[pool->cls]));
        HP_STORE(&pool->pushed_at, om_now_ns());
    }
    /* capacity, not carved, which lies in the owner's line: only fully carved
     * pools are reclaimed, so that a remote free reads nothing the owner writes */
    uint32_t n = hp_tf_count(word);
    if (n == pool->capacity && owner_idle(pool) &&
        /* acquire: every pusher's carved (see reclaim); and still untouched */
        __atomic_load_n(&pool->thread_free, __ATOMIC_ACQUIRE) == word &&
        n == HP_LOAD(&pool->carved) && !HP_LOAD(&pool->special))
        reclaim(pool, word, n);
}

void hp_pool_push_remote(hp_pool *pool, hp_block *b)
{
    uintptr_t old = __atomic_load_n(&pool->thread_free, __ATOMIC_RELAXED), word;
    do {
        uintptr_t head = (uintptr_t)hp_tf_head(old);
        b->next = hp_encode(pool, b, head);
        word = old - head + ((uintptr_t)1 << HP_TF_SHIFT) + (uintptr_t)b; /* count + 1 */
    } while (!__atomic_compare_exchange_n(&pool->thread_free, &old, word, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    if (OM_UNLIKELY(old == 0 || hp_tf_count(word) == pool->capacity))
        pushed_rare(pool, old, word);
}

bool hp_pool_refill(hp_pool *pool)
{
    if (pool->free)
        return true;
    if ((HP_LOAD(&pool->thread_free) || HP_LOAD(&pool->reclaim)) && hp_pool_collect(pool) &&
        pool->free)
        return true;
    if (carve(pool))
        return true;
    if (pool->flags & HP_POOL_HOLES) {
        if (!hp_pool_bits_kept(pool))
            hp_pool_sync_bits(pool);
        rebuild(pool);
    }
    return pool->free != NULL;
}

/* ---- purge ------------------------------------------------------------------- */

/* Any live bit in [lo, hi]? */
static bool any_live(const hp_pool *pool, size_t lo, size_t hi)
{
    for (size_t w = lo >> 6; w <= hi >> 6; w++) {
        uint64_t bits = HP_LOAD(&pool->live[w]);
        if (w == lo >> 6)
            bits &= ~0ull << (lo & 63);
        if (w == hi >> 6 && (hi & 63) != 63)
            bits &= (2ull << (hi & 63)) - 1;
        if (bits)
            return true;
    }
    return false;
}

static bool page_bit(const uint64_t *set, size_t j)
{
    return (set[j >> 6] >> (j & 63)) & 1;
}

/* Pages [0, npages) of the carved area that no live block overlaps. */
static void find_free_pages(const hp_pool *pool, size_t npages, size_t page, uint64_t *out)
{
    size_t bs = pool->block_size;
    memset(out, 0, 4 * sizeof(uint64_t));
    for (size_t j = 0; j < npages; j++) {
        if (page_bit(pool->gone, j)) { /* given back: no block there is live */
            out[j >> 6] |= 1ull << (j & 63);
            continue;
        }
        /* a block overlapping page j starts in [j*page - bs + 1, (j+1)*page) */
        size_t from = j * page >= bs ? j * page - bs + 1 : 0;
        size_t lo = (from + ((size_t)1 << pool->shift) - 1) >> pool->shift;
        size_t hi = ((j + 1) * page - 1) >> pool->shift;
        if (hi >= (size_t)pool->live_words * 64) /* the last page, past the last block */
            hi = (size_t)pool->live_words * 64 - 1;
        if (!any_live(pool, lo, hi))
            out[j >> 6] |= 1ull << (j & 63);
    }
}

/* The free list again, without the blocks that touch a page in `gone`. */
static void relink_avoiding(hp_pool *pool, const uint64_t *gone, size_t page)
{
    size_t bs = pool->block_size;
    pool->free = NULL;
    uintptr_t off = (size_t)pool->carved * bs;
    for (size_t i = pool->carved; i-- > 0;) {
        off -= bs;
        if (hp_live_test(pool, i))
            continue;
        bool touches = false;
        for (size_t j = off / page; j <= (off + bs - 1) / page && !touches; j++)
            touches = j < PURGE_MAX_PAGES && page_bit(gone, j);
        if (!touches)
            push_free(pool, block_at(pool, i));
    }
}

/* Pages of the pool a purge may give back: those wholly inside the carved
 * blocks, and once every block is carved, also the last page, which the
 * tail of the pool past its last block completes (the pool's memory ends
 * on a page boundary).  Before that the page holding the carve watermark
 * stays: blocks carved later would lie in it, and in_hole would take them
 * for blocks of a purged page. */
static size_t purge_pages(const hp_pool *pool, size_t page)
{
    size_t bytes = (size_t)pool->carved * pool->block_size;
    if (pool->carved == pool->capacity)
        return (bytes + page - 1) / page;
    return bytes / page;
}

size_t hp_pool_purge_pages(hp_pool *pool, bool only_idle)
{
    if (only_idle && !(pool->flags & HP_POOL_IDLE)) {
        pool->flags |= HP_POOL_IDLE; /* purged at the next tick unless used before */
        return 0;
    }
    size_t page = os_page_size();
    size_t bs = pool->block_size;
    hp_pool_collect(pool);
    size_t carved_bytes = (size_t)pool->carved * bs;
    size_t npages = purge_pages(pool, page);
    /* the periodic purge leaves pools more than half full alone (their free
     * pages are likely to be used again soon); om_release takes every page */
    if (npages == 0 || npages > PURGE_MAX_PAGES ||
        (only_idle && hp_pool_used(pool) * bs * 2 > carved_bytes))
        return 0;
    bool tracked = pool->special & HP_SPECIAL_TRACKED;
    if (!hp_pool_bits_kept(pool))
        hp_pool_sync_bits(pool);
    uint64_t free_pages[4], fresh[4], any = 0;
    find_free_pages(pool, npages, page, free_pages);
    for (int w = 0; w < 4; w++)
        any |= fresh[w] = free_pages[w] & ~pool->gone[w];
    if (!any)
        return 0;
    for (int w = 0; w < 4; w++)
        pool->gone[w] |= fresh[w];
    if (!tracked) /* a tracked pool has no list */
        relink_avoiding(pool, pool->gone, page);
    size_t bytes = 0;
    for (size_t j = 0; j < npages;) {
        size_t k = j;
        while (k < npages && page_bit(fresh, k))
            k++;
        if (k > j) {
            os_decommit((void *)(pool->start + j * page), (k - j) * page);
            bytes += (k - j) * page;
            j = k;
        } else {
            j++;
        }
    }
    pool->flags |= HP_POOL_HOLES;
    pool->hole_pages += (uint32_t)(bytes / page);
    __atomic_fetch_sub(&hp_committed, bytes, __ATOMIC_RELAXED);
    __atomic_fetch_add(&hp_returned, bytes, __ATOMIC_RELAXED);
    return bytes;
}

/* ---- tracked pools (HP_SPECIAL_TRACKED) --------------------------------------- */

/* The walks of the pools' free lists go in step, one link of each pool a
 * round: a walk is a chain of cache misses (the blocks were freed in any
 * order, long ago), and chains of different pools overlap where one chain
 * cannot. */
void hp_pools_track(hp_pool **pools, size_t n)
{
    hp_block *at[HP_TRACK_MAX];
    om_assert(n <= HP_TRACK_MAX);
    for (size_t i = 0; i < n; i++) {
        hp_pool *pool = pools[i];
        om_assert(!(pool->special & HP_SPECIAL_TRACKED) && !hp_pool_exact(pool));
        hp_pool_collect(pool);
        mark_carved(pool);
        at[i] = pool->free;
    }
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < n; i++) {
            hp_block *b = at[i];
            if (!b)
                continue;
            hp_pool *pool = pools[i];
            hp_live_clear(pool, (size_t)hp_block_index(pool, b));
            at[i] = hp_decode(pool, b, b->next);
            more = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        hp_pool *pool = pools[i];
        pool->free = NULL;
        pool->flags |= HP_POOL_HOLES; /* the next refill rebuilds the list from the bits */
        HP_STORE(&pool->special, (uint8_t)(pool->special | HP_SPECIAL_TRACKED));
        hp_pool_set_fast(pool); /* its frees take the slow lane, which keeps the bits */
        hp_pool_arm(pool, hp_pool_used(pool)); /* no level (a collect may have set one) */
    }
}

void hp_pool_untrack(hp_pool *pool)
{
    if (!(pool->special & HP_SPECIAL_TRACKED))
        return;
    if (pool->flags & HP_POOL_HOLES) /* also after a carve: free blocks are clear bits */
        rebuild(pool);
    HP_STORE(&pool->special, (uint8_t)(pool->special & ~HP_SPECIAL_TRACKED));
    hp_pool_set_fast(pool);
}

size_t hp_pool_give_pages(hp_pool *pool, const void *b)
{
    size_t page = os_page_size(), bs = pool->block_size, grain = (size_t)1 << pool->shift;
    size_t off = (uintptr_t)b - pool->start, npages = purge_pages(pool, page), bytes = 0;
    for (size_t j = off / page; j <= (off + bs - 1) / page && j < npages; j++) {
        if (page_bit(pool->gone, j))
            continue;
        size_t from = j * page >= bs ? j * page - bs + 1 : 0;
        size_t hi = ((j + 1) * page - 1) >> pool->shift;
        if (hi >= (size_t)pool->live_words * 64)
            hi = (size_t)pool->live_words * 64 - 1;
        if (any_live(pool, (from + grain - 1) >> pool->shift, hi))
            continue;
        pool->gone[j >> 6] |= 1ull << (j & 63);
        os_decommit((void *)(pool->start + j * page), page);
        bytes += page;
    }
    if (bytes) {
        pool->hole_pages += (uint32_t)(bytes / page);
        __atomic_fetch_sub(&hp_committed, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&hp_returned, bytes, __ATOMIC_RELAXED);
    }
    return bytes;
}

void hp_pool_untrack_purged(hp_pool *pool)
{
    if (!(pool->special & HP_SPECIAL_TRACKED))
        return;
    relink_avoiding(pool, pool->gone, os_page_size());
    if (pool->hole_pages == 0) /* no page given back: the list holds every free block */
        pool->flags &= (uint8_t)~HP_POOL_HOLES;
    HP_STORE(&pool->special, (uint8_t)(pool->special & ~HP_SPECIAL_TRACKED));
    hp_pool_set_fast(pool);
    hp_pool_arm(pool, hp_pool_used(pool)); /* its level again */
}
