/*
 * heap/check.c: om_heap_check, the walk that verifies every invariant of
 * heap/core.h.  One line and abort on the first broken one.
 *
 * It reads every heap's pools without their owners' cooperation, so other
 * threads must not be allocating or freeing while it runs (tests call it
 * after joining their threads).  Cost: one pass over every pool's bitmap and
 * free lists, and over the segment list.  An inexact pool's bits are stale
 * (heap/core.h), so there the free lists and counts are checked against
 * each other instead: free + used == carved, thread_free within used.
 */
#include "heap/core.h"

#define BAD(...) om_fatal("heap check: " __VA_ARGS__)

typedef struct check_totals {
    size_t live;    /* live bits, all pools */
    size_t pending; /* blocks waiting on thread_free lists */
    size_t large;   /* live large blocks held by private heaps (counted in live) */
} check_totals;

static size_t popcount_live(const hp_pool *p)
{
    size_t n = 0;
    for (size_t w = 0; w < p->live_words; w++)
        n += (size_t)__builtin_popcountll(p->live[w]);
    return n;
}

/* Follows one free list; every link inside the pool, block-aligned, carved,
 * not live (want_live false) or live (thread_free) in an exact pool, no
 * block twice. */
static size_t check_list(const hp_pool *p, uintptr_t head, bool want_live, uint64_t *seen)
{
    bool exact = hp_pool_bits_kept(p);
    size_t n = 0;
    hp_block *b = (hp_block *)head;
    while (b) {
        uintptr_t a = (uintptr_t)b, off = a - p->start;
        if (a < p->start || off >= (uintptr_t)p->carved * p->block_size || off % p->block_size != 0)
            BAD("free-list link %p outside pool %p (class %zu bytes)", (void *)b, (void *)p,
                p->block_size);
        size_t idx = off / p->block_size;
        if (exact && hp_live_test(p, idx) != want_live)
            BAD("block %p of pool %p (class %zu bytes) is both %s and on a %s list", (void *)b,
                (void *)p, p->block_size, want_live ? "free" : "live",
                want_live ? "thread-free" : "free");
        if ((seen[idx >> 6] >> (idx & 63)) & 1)
            BAD("block %p of pool %p is on a free list twice (a cycle?)", (void *)b, (void *)p);
        seen[idx >> 6] |= 1ull << (idx & 63);
        n++;
        b = hp_decode(p, b, b->next);
    }
    return n;
}

static bool in_list(const hp_pool *p, size_t idx, const uint64_t *seen)
{
    (void)p;
    return (seen[idx >> 6] >> (idx & 63)) & 1;
}

static void check_pool(const hp_pool *p, const hp_heap *owner, check_totals *t)
{
    if (HP_LOAD(&p->heap) != owner)
        BAD("pool %p (class %zu bytes) has owner %p, expected %p", (void *)p, p->block_size,
            (void *)HP_LOAD(&p->heap), (void *)owner);
    if (hp_pool_of((void *)p->start) != p)
        BAD("pool %p (class %zu bytes) is not where the registry and its arena say", (void *)p,
            p->block_size);
    if (p->carved > p->capacity)
        BAD("pool %p carved %u blocks of %u", (void *)p, p->carved, p->capacity);
    if (p->top < p->start || p->top > p->start + (size_t)p->carved * p->block_size)
        BAD("pool %p (class %zu bytes): top %p outside its %u carved blocks", (void *)p,
            p->block_size, (void *)p->top, p->carved);
    bool exact = hp_pool_bits_kept(p);
    size_t live = exact ? popcount_live(p) : hp_pool_used(p); /* inexact: stale bits */
    if (live != hp_pool_used(p))
        BAD("pool %p (class %zu bytes): used %u but %zu live bits", (void *)p, p->block_size,
            hp_pool_used(p), live);
    uint64_t seen[HP_LIVE_WORDS] = {0};
    size_t nfree = check_list(p, (uintptr_t)p->free, false, seen);
    size_t pending = check_list(p, (uintptr_t)hp_tf_head(HP_LOAD(&p->thread_free)), true, seen);
    if (HP_LOAD(&p->reclaim)) { /* blocks [0, reclaimed): free, on no list, counted in used */
        uint32_t held = HP_LOAD(&p->reclaimed);
        if (exact || held > p->carved)
            BAD("pool %p (class %zu bytes): a reclaim holds %u of %u carved blocks", (void *)p,
                p->block_size, held, p->carved);
        for (size_t i = 0; i < held; i++)
            if (in_list(p, i, seen))
                BAD("block %zu of pool %p is on a list and held by a reclaim", i, (void *)p);
        pending += held;
    }
    if (!(p->flags & HP_POOL_HOLES) && nfree + hp_pool_used(p) != p->carved)
        BAD("pool %p (class %zu bytes): %zu free + %u used != %u carved", (void *)p, p->block_size,
            nfree, hp_pool_used(p), p->carved);
    if (!exact && pending > hp_pool_used(p))
        BAD("pool %p (class %zu bytes): %zu blocks wait on thread_free, %u used", (void *)p,
            p->block_size, pending, hp_pool_used(p));
    for (size_t i = p->carved; i < p->capacity && exact; i++)
        if (hp_live_test(p, i))
            BAD("pool %p: block %zu is live but was never carved", (void *)p, i);
    if (p->kind == HP_KIND_DEBUG) /* the debug heap checks headers, guards, fills */
        for (size_t i = 0; i < p->carved; i++)
            if (hp_live_test(p, i) && !in_list(p, i, seen))
                hp_debug_check_block((void *)(p->start + i * p->block_size));
    t->live += live;
    t->pending += pending;
}

/* The sparse queue (heapcore.c): thread heaps only, pools of h that are
 * flagged, not current, not full, and no flagged pool off it. */
static void check_sparse(const hp_heap *h)
{
    size_t queued = 0, flagged = 0;
    for (const hp_pool *p = h->sparse, *prev = NULL; p; prev = p, p = p->dirty_next, queued++)
        if (h->is_private || !(p->flags & HP_POOL_SPARSE) || (p->flags & HP_POOL_FULL) ||
            p->dirty_prev != prev || HP_LOAD(&p->heap) != h || h->cur[p->kind][p->cls] == p)
            BAD("heap %p: sparse queue broken at pool %p", (void *)h, (void *)p);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++)
            for (const hp_pool *p = h->avail[k][c].head; p; p = p->next)
                flagged += (p->flags & HP_POOL_SPARSE) != 0;
    if (queued != flagged)
        BAD("heap %p: %zu pools on the sparse queue, %zu flagged", (void *)h, queued, flagged);
}

static void check_heap(const hp_heap *h, check_totals *t)
{
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            const hp_pool *cur = h->cur[k][c];
            if (cur != &hp_empty_pool && cur != h->avail[k][c].head)
                BAD("heap %p: current pool of class %u is not the head of its list", (void *)h, c);
            for (int full = 0; full < 2; full++) {
                const hp_pool_list *l = full ? &h->full[k][c] : &h->avail[k][c];
                const hp_pool *prev = NULL;
                for (const hp_pool *p = l->head; p; prev = p, p = p->next) {
                    if (p->prev != prev || p->cls != c || p->kind != k)
                        BAD("heap %p: pool list of class %u is broken at %p", (void *)h, c,
                            (void *)p);
                    if (!!(p->flags & HP_POOL_FULL) != full)
                        BAD("heap %p: pool %p is on the wrong list", (void *)h, (void *)p);
                    if (HP_LOAD(&p->fast) != (!p->special ? h : NULL))
                        BAD("heap %p: pool %p (class %u) has a wrong fast-owner word", (void *)h,
                            (void *)p, c);
                    if ((p->special & HP_SPECIAL_TRACKED) && (p->wake || p == cur))
                        BAD("heap %p: tracked pool %p (class %u) is current or armed", (void *)h,
                            (void *)p, c);
                    if (p != cur && p->above == 0 && p->wake)
                        BAD("heap %p: pool %p (class %u) sits at its wake level %u", (void *)h,
                            (void *)p, c, p->wake);
                    if (full && p->wake != (hp_pool_used(p) ? hp_pool_used(p) - 1 : 0))
                        BAD("heap %p: full pool %p (class %u) wakes at %u, not one below %u",
                            (void *)h, (void *)p, c, p->wake, hp_pool_used(p));
                    if (p->flags & HP_POOL_SWEEP)
                        BAD("heap %p: pool %p (class %u) still marked for a sweep", (void *)h,
                            (void *)p, c);
                    check_pool(p, h, t);
                }
                if (l->tail != prev)
                    BAD("heap %p: tail of the pool list of class %u is wrong", (void *)h, c);
            }
        }
    if (h->sweep)
        BAD("heap %p: sweep list not empty outside a walk (pool %p)", (void *)h, (void *)h->sweep);
    check_sparse(h);
    for (const hp_pool *p = h->large.head; p; p = p->next) {
        size_t before = t->live;
        check_pool(p, h, t);
        t->large += t->live - before;
    }
}

static void check_segments(size_t *large_live)
{
    size_t pools[HP_NCLASSES] = {0};
    for (hp_segment *s = hp_segments_first(); s; s = s->next) {
        if (s->magic != (HP_SEGMENT_MAGIC ^ (uintptr_t)s))
            BAD("segment %p has a bad magic word", (void *)s);
        if (hp_segment_of(s) != s)
            BAD("segment %p is not in the registry", (void *)s);
        if (s->kind == HP_SEG_LARGE) {
            const hp_pool *p = &s->pools[0];
            if (hp_pool_used(p) > 1 || popcount_live(p) != hp_pool_used(p))
                BAD("large block %p: used %u", (void *)p->start, hp_pool_used(p));
            *large_live += hp_pool_used(p);
            continue;
        }
        if (s->kind != HP_SEG_ARENA)
            BAD("segment %p has kind %u", (void *)s, s->kind);
        if (s->dirty_slots & ~s->free_slots)
            BAD("arena %p: a slot is both dirty-free and in use", (void *)s);
        for (unsigned i = 1; i < HP_SLOTS;) {
            const hp_pool *p = &s->pools[i];
            bool free_bit = (s->free_slots >> i) & 1;
            if (p->span == 0) {
                if (p->alias)
                    BAD("arena %p: slot %u is an alias outside any pool", (void *)s, i);
                if (!free_bit)
                    BAD("arena %p: slot %u is neither free nor in a pool", (void *)s, i);
                i++;
                continue;
            }
            if (free_bit || p->alias || i + p->span > HP_SLOTS || p->cls >= HP_NCLASSES)
                BAD("arena %p: pool at slot %u is inconsistent", (void *)s, i);
            pools[p->cls]++;
            for (unsigned j = i + 1; j < i + p->span; j++)
                if (s->pools[j].alias != j - i || s->pools[j].span || s->pools[j].heap ||
                    ((s->free_slots >> j) & 1))
                    BAD("arena %p: slot %u of the pool at slot %u is inconsistent", (void *)s, j,
                        i);
            i += p->span;
        }
    }
    for (unsigned c = 0; c < HP_NCLASSES; c++)
        if (pools[c] != hp_class_pools[c])
            BAD("statistics count %zu pools of class %u, the arenas hold %zu", hp_class_pools[c], c,
                pools[c]);
}

size_t om_heap_check(void)
{
    hp_debug_check(); /* the quarantine: its own lock, never held into the core */
    check_totals t = {0, 0, 0};
    size_t large_live = 0;
    hp_counters sum;
    pthread_mutex_lock(&hp_lock);
    for (const hp_heap *h = hp_heaps_first_locked(); h; h = h->next)
        check_heap(h, &t);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++)
            for (const hp_pool *p = hp_abandoned_first_locked(k, c); p; p = p->next)
                check_pool(p, NULL, &t);
    check_segments(&large_live);
    hp_heap_counters_sum_locked(&sum, NULL);
    pthread_mutex_unlock(&hp_lock);
    uint64_t counted = sum.large_allocs - sum.large_frees;
    for (unsigned c = 0; c < HP_NCLASSES; c++)
        counted += sum.allocs[c] - sum.frees[c];
    /* large blocks of private heaps were seen twice: in their heap and as segments */
    size_t live = t.live - t.pending - t.large + large_live;
    if (counted != live)
        BAD("statistics count %llu live blocks, the pools hold %zu", (unsigned long long)counted,
            live);
    return t.live - t.pending - t.large + large_live;
}
