/*
 * heap/segment.c: arenas and large blocks, the registry that recognises
 * them, and the policy that gives their memory back.
 *
 * Address space comes in segments of 4 MiB aligned to 4 MiB.  An arena is
 * a segment cut into 64 slots of 64 KiB:
 *
 *   arena (4 MiB, aligned)
 *   +--------+--------+--------+--------+-----+--------+
 *   | header | pool A | pool B (3 slots)         | ... | free   |
 *   | slot 0 | slot 1 | slot 2 | slot 3 | slot 4 | ... | slot 63|
 *   +--------+--------+--------+--------+-----+--------+
 *   header: segment fields (64 bytes), then pools[64], one descriptor of
 *           256 bytes per slot (a pool of several slots: its first, the
 *           others alias it), then 64 live bitmaps of 512 bytes, one per
 *           slot (used by the pool starting there): 48 KiB in all
 *
 * A large block (over 128 KiB) is a segment of its own: header page, then
 * the block.  So the header of any pointer is p & ~(4 MiB - 1), once the
 * registry (one byte per 4 MiB of the 47-bit address space, 32 MiB of
 * zero-mapped .bss, touched only where segments are) says the segment is
 * ours: a foreign pointer never leads to a read of foreign memory.
 *
 * Giving memory back, and the worst case kept:
 *   - an empty pool returns its slots to the arena at once ("dirty": free
 *     but resident);
 *   - a purge tick (run from the refill path, and from pool returns once
 *     purge_kib of slots were freed, when purge_delay ms, 50 by default,
 *     have passed since the previous tick) decommits the slots
 *     that were already free at the previous tick, so a slot freed and taken
 *     again soon costs no page faults, and unmaps arenas left empty since the
 *     previous tick (one spare is kept);
 *   - freed large blocks wait in a cache of at most 8 blocks and 8 MiB
 *     (taken back by a large request that fits), else are unmapped;
 *   - a pool return that leaves more than DIRTY_PROMPT (4 MiB) of dirty
 *     slots, and more than the live bytes, decommits them all at once and
 *     unmaps the empty arenas but a spare (a program that let go of most of
 *     its heap should not wait for the ticks);
 *   - during a bulk free (a full collection, heap/batch.c) pool returns
 *     do not run that prompt purge (about 500 madvise calls, a fifth of
 *     the collection, for 1M freed lists: the arenas interleave the freed
 *     pools with live ones, so the runs stay short); its end only notes
 *     that the purge is due, and the next slow path (hp_purge_tick, at a
 *     refill) runs it, as does the next pool return (ticks go on as usual
 *     meanwhile);
 *   - om_release() decommits every dirty slot, unmaps every empty arena and
 *     empties the cache at once, and decommits the header pages that hold
 *     only bitmaps of inexact pools (trim_bits).
 *   Free arena memory kept resident, at most: what was freed in the last two
 *   ticks (about 2 x purge_delay ms of frees; 4 MiB once that outweighs the
 *   live bytes) plus the 8 MiB large cache; after om_release, none.
 */
#include "heap/batch.h"

#define LARGE_CACHE_COUNT  8
#define LARGE_CACHE_BYTES  ((size_t)8 << 20)
#define ARENA_HEADER_SLOTS 1
#define ALL_SLOTS          (~(uint64_t)0 << ARENA_HEADER_SLOTS)

_Static_assert(HP_ARENA_LIVE + HP_SLOTS * HP_LIVE_BYTES <= HP_SLOT_SIZE - 4096,
               "arena header (with a guard page) must fit in slot 0");
_Static_assert(sizeof(hp_segment) + sizeof(hp_pool) + HP_LIVE_BYTES <= HP_LARGE_HEADER,
               "a large segment's header must fit before its block");
_Static_assert(HP_NCLASSES <= OM_HEAP_MAX_CLASSES, "stats record too small");

static hp_segment *segments;
static hp_segment *large_cache[LARGE_CACHE_COUNT];
static size_t large_cache_n, large_cache_bytes;
static size_t dirty_bytes; /* free but resident arena slots */
static size_t dirty_new;   /* bytes of slots freed since the last purge tick */
static uint64_t last_tick; /* om_now_ns of the last purge tick */
static void tick_if_due_locked(uint64_t now);
static void purge_dirty_locked(void);
static bool prompt_purge_due(void);
/* Free slots kept resident at most, beyond the live bytes (hp_live_bytes):
 * past both, a pool return decommits every free slot at once instead of
 * waiting for the ticks, so a program that frees most of its heap gets the
 * memory back promptly, while one that frees and allocates a few pools'
 * worth (a burst smaller than what it keeps) still reuses them resident. */
#define DIRTY_PROMPT ((size_t)4 << 20)
static size_t empty_arenas;
static size_t dirty_slot_count;
static unsigned purge_held; /* bulk frees under way (hp_segments_hold_purge_locked) */
static bool prompt_after;   /* a bulk free left the prompt purge due: hp_purge_tick runs it */

hp_segment *hp_segments_first(void)
{
    return segments;
}

static void registry_set(hp_segment *s, size_t bytes, uint8_t start)
{
    size_t first = (uintptr_t)s >> HP_SEGMENT_SHIFT;
    size_t n = (bytes + HP_SEGMENT_SIZE - 1) >> HP_SEGMENT_SHIFT;
    for (size_t i = 0; i < n; i++)
        HP_STORE(&hp_registry[first + i], (uint8_t)(start == HP_REG_NONE ? HP_REG_NONE
                                                    : i == 0             ? start
                                                                         : HP_REG_CONT));
}

static void link_segment(hp_segment *s)
{
    s->prev = NULL;
    s->next = segments;
    if (segments)
        segments->prev = s;
    segments = s;
}

static void unlink_segment(hp_segment *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        segments = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static void add_committed(ptrdiff_t delta)
{
    size_t now = __atomic_add_fetch(&hp_committed, (size_t)delta, __ATOMIC_RELAXED);
    if (now > HP_LOAD(&hp_committed_peak))
        HP_STORE(&hp_committed_peak, now);
}

static void release_segment(hp_segment *s)
{
    registry_set(s, s->size, HP_REG_NONE);
    unlink_segment(s);
    hp_reserved -= s->size;
    os_unmap(s, s->size);
}

/* ---- arenas ----------------------------------------------------------------------- */

static hp_segment *arena_new(void)
{
    hp_segment *s = os_map_aligned(HP_SEGMENT_SIZE, HP_SEGMENT_SIZE);
    if (!s)
        return NULL;
    s->magic = HP_SEGMENT_MAGIC ^ (uintptr_t)s;
    s->kind = HP_SEG_ARENA;
    s->size = HP_SEGMENT_SIZE;
    s->free_slots = ALL_SLOTS;
    s->dirty_slots = s->stale_slots = 0;
    if (hp_secure) {
        size_t page = os_page_size();
        os_protect((uint8_t *)s + HP_SLOT_SIZE - page, page, false);
        os_protect((uint8_t *)s + HP_SEGMENT_SIZE - page, page, false);
        s->guard = (uint32_t)page;
    }
    link_segment(s);
    registry_set(s, HP_SEGMENT_SIZE, HP_REG_ARENA);
    hp_reserved += HP_SEGMENT_SIZE;
    hp_arena_count++;
    if (hp_arena_count > hp_arena_peak)
        hp_arena_peak = hp_arena_count;
    add_committed((ptrdiff_t)HP_SLOT_SIZE);
    return s;
}

size_t hp_pool_span_for(unsigned cls)
{
    size_t need = hp_class_size(cls) * (cls < 32 ? 1 : HP_MEDIUM_MIN_BLOCKS);
    return (need + HP_SLOT_SIZE - 1) / HP_SLOT_SIZE;
}

/* First run of n free slots, preferring resident (dirty) ones; 0 if none.
 * (An empty mask, and a single slot, are answered without the scan: every
 * small pool asks, and a process's first pools meet no dirty slot.) */
static unsigned find_run(uint64_t mask, size_t n)
{
    mask &= ALL_SLOTS;
    if (!mask)
        return 0;
    if (n == 1)
        return (unsigned)__builtin_ctzll(mask);
    uint64_t run = n >= 64 ? ~0ull : (1ull << n) - 1;
    for (unsigned i = ARENA_HEADER_SLOTS; i + n <= HP_SLOTS; i++)
        if (((mask >> i) & run) == run)
            return i;
    return 0;
}

static void take_slots(hp_segment *s, unsigned first, size_t n)
{
    uint64_t run = ((n >= 64 ? ~0ull : (1ull << n) - 1)) << first;
    uint64_t dirty = s->dirty_slots & run;
    size_t ndirty = (size_t)__builtin_popcountll(dirty);
    if (s->free_slots == ALL_SLOTS)
        empty_arenas--;
    s->free_slots &= ~run;
    s->dirty_slots &= ~run;
    s->stale_slots &= ~run;
    HP_STORE(&dirty_bytes, dirty_bytes - (ndirty * HP_SLOT_SIZE));
    dirty_slot_count -= ndirty;
    add_committed((ptrdiff_t)((n - ndirty) * HP_SLOT_SIZE));
    for (size_t i = first + 1; i < first + n; i++) {
        hp_pool *alias = &s->pools[i];
        HP_STORE(&alias->heap, (hp_heap *)NULL);
        HP_STORE(&alias->fast, (hp_heap *)NULL);
        HP_STORE(&alias->span, (uint16_t)0);
        HP_STORE(&alias->alias, (uint8_t)(i - first));
    }
}

hp_pool *hp_arena_take_pool(hp_heap *h, unsigned cls, unsigned kind)
{
    size_t n = hp_pool_span_for(cls);
    pthread_mutex_lock(&hp_lock);
    hp_segment *s;
    unsigned first = 0;
    for (s = segments; s; s = s->next) {
        if (s->kind != HP_SEG_ARENA || !s->free_slots)
            continue;
        if ((first = find_run(s->dirty_slots, n)) || (first = find_run(s->free_slots, n)))
            break;
    }
    if (!s) {
        s = arena_new();
        if (!s) {
            pthread_mutex_unlock(&hp_lock);
            return NULL;
        }
        empty_arenas++;
        first = ARENA_HEADER_SLOTS;
    }
    take_slots(s, first, n);
    hp_pool *pool = &s->pools[first];
    uintptr_t start = (uintptr_t)s + (size_t)first * HP_SLOT_SIZE;
    size_t bytes = n * HP_SLOT_SIZE;
    if (first + n == HP_SLOTS)
        bytes -= s->guard;
    hp_pool_init(pool, s, start, bytes, cls, hp_class_size(cls), kind,
                 kind == HP_KIND_DEBUG || h->is_private);
    HP_STORE(&hp_class_pools[cls], hp_class_pools[cls] + 1);
    pool->slot = (uint8_t)first;
    __atomic_store_n(&pool->span, (uint16_t)n, __ATOMIC_RELEASE);
    __atomic_store_n(&pool->heap, h, __ATOMIC_RELEASE);
    hp_pool_set_fast(pool);
    pthread_mutex_unlock(&hp_lock);
    return pool;
}

void hp_arena_return_pool_locked(hp_pool *pool)
{
    hp_ids_pool_gone_locked(pool); /* its block ids, if it has any */
    hp_segment *s = hp_pool_segment(pool);
    size_t n = pool->span;
    unsigned first = pool->slot;
    uint64_t run = ((n >= 64 ? ~0ull : (1ull << n) - 1)) << first;
    add_committed((ptrdiff_t)((size_t)pool->hole_pages * os_page_size()));
    pool->hole_pages = 0;
    HP_STORE(&hp_class_pools[pool->cls], hp_class_pools[pool->cls] - 1);
    HP_STORE(&pool->heap, NULL);
    HP_STORE(&pool->fast, NULL);
    for (size_t i = first; i < first + n; i++) {
        HP_STORE(&s->pools[i].span, (uint16_t)0);
        HP_STORE(&s->pools[i].alias, (uint8_t)0);
    }
    s->free_slots |= run;
    s->dirty_slots |= run;
    HP_STORE(&dirty_bytes, dirty_bytes + (n * HP_SLOT_SIZE));
    dirty_new += n * HP_SLOT_SIZE;
    dirty_slot_count += n;
    if (s->free_slots == ALL_SLOTS)
        empty_arenas++;
    if (!purge_held && prompt_purge_due()) /* held: a bulk free, whose end looks once */
        purge_dirty_locked();              /* the program let go of most of its heap */
    else if (dirty_new > (size_t)om_opt(OM_OPT_PURGE_KIB) << 10)
        tick_if_due_locked(om_now_ns());
}

void hp_segments_hold_purge_locked(bool hold)
{
    if (hold)
        purge_held++;
    else if (--purge_held == 0 && prompt_purge_due())
        HP_STORE(&prompt_after, true); /* the next slow path (hp_purge_tick) runs it */
}

/* ---- purge ticks ----------------------------------------------------------------------
 * A tick purges the slots that were already free at the previous tick, so a
 * free slot goes back to the OS between purge_delay and about twice that
 * after it was freed, as long as the program allocates or frees (ticks run
 * from the slow paths; om_release purges at once). */
static void tick_if_due_locked(uint64_t now)
{
    if (dirty_bytes == 0 || now - last_tick < (uint64_t)om_opt(OM_OPT_PURGE_DELAY) * 1000000u)
        return;
    HP_STORE(&last_tick, now);
    hp_segments_purge_locked(false);
}

void hp_purge_tick(void)
{
    if (!HP_LOAD(&dirty_bytes))
        return;
    if (HP_LOAD(&prompt_after)) { /* a bulk free ended with the prompt purge due */
        pthread_mutex_lock(&hp_lock);
        if (!purge_held && prompt_purge_due())
            purge_dirty_locked();
        HP_STORE(&prompt_after, false);
        pthread_mutex_unlock(&hp_lock);
        return;
    }
    uint64_t now = om_now_ns();
    if (now - HP_LOAD(&last_tick) < (uint64_t)om_opt(OM_OPT_PURGE_DELAY) * 1000000u)
        return;
    pthread_mutex_lock(&hp_lock);
    tick_if_due_locked(now);
    pthread_mutex_unlock(&hp_lock);
}

/* ---- large blocks ---------------------------------------------------------------------- */

static hp_segment *cache_take(size_t total)
{
    for (size_t i = 0; i < large_cache_n; i++) {
        hp_segment *s = large_cache[i];
        if (s->size >= total && s->size <= 2 * total) {
            large_cache[i] = large_cache[--large_cache_n];
            large_cache_bytes -= s->size;
            return s;
        }
    }
    return NULL;
}

hp_pool *hp_large_alloc(hp_heap *h, size_t size, size_t align, unsigned kind)
{
    size_t page = os_page_size();
    size_t offset = align > HP_LARGE_HEADER ? align : HP_LARGE_HEADER;
    size_t seg_align = align > HP_SEGMENT_SIZE ? align : HP_SEGMENT_SIZE;
    if (size > ((size_t)1 << HP_ADDRESS_BITS) - offset - seg_align) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = (offset + size + page - 1) & ~(page - 1);
    pthread_mutex_lock(&hp_lock);
    hp_segment *s = seg_align == HP_SEGMENT_SIZE ? cache_take(total) : NULL;
    bool fresh = !s;
    if (!s) {
        pthread_mutex_unlock(&hp_lock);
        s = os_map_aligned(total, seg_align);
        if (!s) {
            errno = ENOMEM;
            return NULL;
        }
        pthread_mutex_lock(&hp_lock);
        s->magic = HP_SEGMENT_MAGIC ^ (uintptr_t)s;
        s->kind = HP_SEG_LARGE;
        s->size = total;
        s->free_slots = s->dirty_slots = 0;
        link_segment(s);
        registry_set(s, total, HP_REG_LARGE);
        hp_reserved += total;
        add_committed((ptrdiff_t)total);
    }
    hp_pool *pool = &s->pools[0];
    /* one block: everything from offset to the end of the mapping */
    size_t usable = s->size - offset;
    hp_pool_init(pool, s, (uintptr_t)s + offset, usable, HP_CLASS_LARGE, usable, kind, true);
    pool->flags = (uint8_t)(HP_POOL_LARGE | (fresh ? HP_POOL_ZEROED : 0));
    pool->carved = 1;
    pool->above = 1; /* exact: wake 0 */
    hp_live_set(pool, 0);
    HP_STORE(&pool->heap, h);
    hp_large_count++;
    HP_STORE(&hp_large_bytes, hp_large_bytes + usable);
    pthread_mutex_unlock(&hp_lock);
    return pool;
}

void hp_large_free(hp_pool *pool)
{
    hp_segment *s = hp_pool_segment(pool);
    pthread_mutex_lock(&hp_lock);
    if (!hp_live_test(pool, 0) || hp_pool_used(pool) != 1)
        om_fatal("double free of %p (large block of %zu bytes)", (void *)pool->start,
                 pool->block_size);
    hp_live_clear(pool, 0);
    pool->above = 0;
    HP_STORE(&pool->heap, NULL);
    hp_large_count--;
    HP_STORE(&hp_large_bytes, hp_large_bytes - pool->block_size);
    if (s->size <= LARGE_CACHE_BYTES / 2 && large_cache_n < LARGE_CACHE_COUNT &&
        large_cache_bytes + s->size <= LARGE_CACHE_BYTES &&
        ((uintptr_t)s & (HP_SEGMENT_SIZE - 1)) == 0) {
        large_cache[large_cache_n++] = s;
        large_cache_bytes += s->size;
    } else {
        add_committed(-(ptrdiff_t)s->size);
        release_segment(s);
    }
    pthread_mutex_unlock(&hp_lock);
}

/* ---- purge ------------------------------------------------------------------------------- */

/* Decommits the dirty slots in mask, in runs; returns bytes. */
static size_t purge_arena(hp_segment *s, uint64_t mask)
{
    size_t bytes = 0;
    uint64_t d = mask;
    while (d) {
        unsigned i = (unsigned)__builtin_ctzll(d);
        unsigned j = i;
        while (j < HP_SLOTS && ((d >> j) & 1))
            j++;
        os_decommit((uint8_t *)s + (size_t)i * HP_SLOT_SIZE, (size_t)(j - i) * HP_SLOT_SIZE);
        bytes += (size_t)(j - i) * HP_SLOT_SIZE;
        d &= j >= 64 ? 0 : ~0ull << j;
    }
    dirty_slot_count -= (size_t)__builtin_popcountll(mask);
    s->dirty_slots &= ~mask;
    s->stale_slots &= ~mask;
    return bytes;
}

/* Decommits free slots and unmaps empty arenas (keeping `spare` of them):
 * with `now`, all of them; else only those already free at the previous
 * tick (so a pool freed and taken again soon costs no page faults). */
static size_t purge_slots_locked(bool now, size_t spare)
{
    size_t bytes = 0;
    hp_segment *next;
    dirty_new = 0;
    for (hp_segment *s = segments; s; s = next) {
        next = s->next;
        if (s->kind != HP_SEG_ARENA)
            continue;
        bool settled = now || !(s->dirty_slots & ~s->stale_slots);
        if (s->free_slots == ALL_SLOTS && settled && empty_arenas > spare) {
            size_t d = (size_t)__builtin_popcountll(s->dirty_slots);
            dirty_slot_count -= d;
            HP_STORE(&dirty_bytes, dirty_bytes - (d * HP_SLOT_SIZE));
            empty_arenas--;
            hp_arena_count--;
            bytes += HP_SLOT_SIZE + d * HP_SLOT_SIZE;
            add_committed(-(ptrdiff_t)(HP_SLOT_SIZE + d * HP_SLOT_SIZE));
            release_segment(s);
            continue;
        }
        size_t b = purge_arena(s, now ? s->dirty_slots : s->dirty_slots & s->stale_slots);
        s->stale_slots = s->dirty_slots;
        HP_STORE(&dirty_bytes, dirty_bytes - (b));
        add_committed(-(ptrdiff_t)b);
        bytes += b;
    }
    __atomic_fetch_add(&hp_returned, bytes, __ATOMIC_RELAXED);
    return bytes;
}

/* Every free slot back to the OS now, and every empty arena but a spare
 * (the volume trigger, DIRTY_PROMPT). */
static void purge_dirty_locked(void)
{
    purge_slots_locked(true, 1);
    HP_STORE(&prompt_after, false);
}

/* Is the volume trigger due: the free slots exceed DIRTY_PROMPT and the
 * live bytes (the program let go of most of its heap)? */
static bool prompt_purge_due(void)
{
    return dirty_bytes >= DIRTY_PROMPT && (int64_t)dirty_bytes >= HP_LOAD(&hp_live_bytes);
}

/* A purge tick, or with `everything` (om_release) all free slots, every
 * empty arena and the large cache at once. */
size_t hp_segments_purge_locked(bool everything)
{
    size_t bytes = purge_slots_locked(everything, everything ? 0 : 1);
    if (everything) {
        while (large_cache_n) {
            hp_segment *s = large_cache[--large_cache_n];
            large_cache_bytes -= s->size;
            add_committed(-(ptrdiff_t)s->size);
            __atomic_fetch_add(&hp_returned, s->size, __ATOMIC_RELAXED);
            bytes += s->size;
            release_segment(s);
        }
    }
    return bytes;
}

void hp_segment_stats_locked(om_heap_stats *st)
{
    st->arenas = hp_arena_count;
    st->arenas_peak = hp_arena_peak;
    st->reserved = hp_reserved;
    st->committed = HP_LOAD(&hp_committed);
    st->committed_peak = HP_LOAD(&hp_committed_peak);
    st->returned = HP_LOAD(&hp_returned);
    st->pools_empty = dirty_slot_count;
    st->large_in_use = hp_large_count;
    st->large_bytes = hp_large_bytes;
}

/* ---- bitmap pages ------------------------------------------------------------------------
 * The bitmaps fill slot 0 from HP_ARENA_LIVE on, HP_LIVE_BYTES per slot, so
 * a page of them serves 8 slots (4 KiB pages).  Those of thread heaps'
 * pools are scratch space for purges: once the purges are done the pages
 * can go (a later purge or an exact pool's start touches them again).  A
 * page is kept when one of its slots holds an exact pool or a pool of
 * another heap, whose owner may be reading its bits right now. */

/* Slots whose bitmap must stay resident. */
static uint64_t bits_in_use(const hp_segment *s, const hp_heap *h)
{
    uint64_t keep = 0;
    for (unsigned i = ARENA_HEADER_SLOTS; i < HP_SLOTS; i++) {
        const hp_pool *p = &s->pools[i];
        if (!p->span) /* free, or an alias (its bits are the first slot's) */
            continue;
        hp_heap *owner = HP_LOAD(&p->heap);
        if (hp_pool_bits_kept(p) || (owner && owner != h))
            keep |= 1ull << i;
    }
    return keep;
}

static size_t trim_bits(hp_segment *s, const hp_heap *h)
{
    size_t page = os_page_size(), end = HP_ARENA_LIVE + HP_SLOTS * HP_LIVE_BYTES;
    uint64_t keep = bits_in_use(s, h);
    size_t bytes = 0, run = 0;
    for (size_t at = (HP_ARENA_LIVE + page - 1) / page * page; at < end; at += page) {
        size_t first = (at - HP_ARENA_LIVE) / HP_LIVE_BYTES;
        size_t last = (at + page - 1 - HP_ARENA_LIVE) / HP_LIVE_BYTES;
        if (last >= HP_SLOTS)
            last = HP_SLOTS - 1;
        uint64_t mask = (last - first == 63 ? ~0ull : (2ull << (last - first)) - 1) << first;
        if (!(keep & mask)) {
            run += page;
            continue;
        }
        os_decommit((uint8_t *)s + at - run, run);
        bytes += run;
        run = 0;
    }
    os_decommit((uint8_t *)s + ((end + page - 1) / page * page) - run, run);
    return bytes + run;
}

size_t hp_arena_trim_bits_locked(const hp_heap *h)
{
    size_t bytes = 0;
    for (hp_segment *s = segments; s; s = s->next)
        if (s->kind == HP_SEG_ARENA)
            bytes += trim_bits(s, h);
    return bytes;
}
