/*
 * heap/sparse.c: the sparse queue of thread heaps.
 *
 * Giving back the free pages of pools that a program has mostly freed, while
 * it frees.  A thread heap's pools are inexact, so which pages are free is
 * known only after a walk of a pool's free list; the queue decides when a
 * walk is worth it, and then makes the pool tracked, so that it needs none
 * again:
 *
 *   level    a pool that is not current falls to its wake level (a quarter
 *            of its blocks live, hp_pool_level); the inline free pays
 *            nothing (its emptiness test is the wake test, heap/core.h)
 *   queue    the pool joins its heap's sparse queue, counted at its carved
 *            bytes (the most it can give back)
 *   batch    once SPARSE_BATCH bytes were queued since the last batch, each
 *            pool queued before that batch is tracked (one walk: its bits
 *            exact, its free list dropped) and its free pages go back to the
 *            OS; the younger ones wait for the next batch
 *   track    from then on each free of the pool takes the slow lane (a
 *            quarter of its blocks at most), clears its bit, and gives back
 *            at once a page that this empties
 *   leave    a pool leaves the queue when it empties (its slots go back
 *            whole), when it becomes current (it is being filled: tracking
 *            ends, its free blocks are linked again), and when its heap goes
 *
 * So a program that frees most of its heap keeps at most 2 x SPARSE_BATCH of
 * free pages resident in pools down to a quarter live (beside the free slots
 * of emptied pools, segment.c's DIRTY_PROMPT), and a
 * pool that drains to empty in one go (a freed tree) leaves the queue
 * before a batch walks it.  The links are the dirty-list links, which only
 * private heaps use otherwise (heap/core.h, hp_side_push).
 */
#include "heap/core.h"

#define SPARSE_BATCH ((size_t)4 << 20)

void hp_sparse_remove(hp_heap *h, hp_pool *p)
{
    hp_side_unlink(&h->sparse, p, HP_POOL_SPARSE);
}

void hp_sparse_clear(hp_heap *h)
{
    while (h->sparse)
        hp_sparse_remove(h, h->sparse);
    h->sparse_bytes = 0;
}

/* batch: the queued pools purged, tracked first; but a pool queued since
 * the previous batch waits for the next one, so that one draining to empty
 * (a freed tree, whose pools keep a few blocks until the nodes above them
 * go) leaves the queue before it costs a walk and page faults. */
static void track_and_purge(hp_pool **pools, size_t n)
{
    hp_pools_track(pools, n);
    for (size_t i = 0; i < n; i++)
        hp_pool_purge_pages(pools[i], false);
}

static void sparse_purge(hp_heap *h)
{
    hp_pool *p, *next, *walk[HP_TRACK_MAX];
    size_t n = 0;
    for (p = h->sparse; p; p = next) {
        next = p->dirty_next;
        if (p->queued_at == h->sparse_batches)
            continue; /* too young */
        hp_sparse_remove(h, p);
        walk[n++] = p;
        if (n == HP_TRACK_MAX) {
            track_and_purge(walk, n);
            n = 0;
        }
    }
    track_and_purge(walk, n);
    h->sparse_batches++;
    h->sparse_bytes = 0;
}

/* queue: p (not current) with `bytes` more to give back. */
static void sparse_add(hp_heap *h, hp_pool *p, size_t bytes)
{
    if (!(p->flags & HP_POOL_SPARSE)) {
        p->queued_at = h->sparse_batches;
        hp_side_push(&h->sparse, p, HP_POOL_SPARSE);
    }
    h->sparse_bytes += bytes;
    if (h->sparse_bytes >= SPARSE_BATCH)
        sparse_purge(h);
}

/* level: p's live count reached its wake level (p is not empty).  The
 * current pool only re-arms (it is being filled); any other is queued, with
 * no further levels: tracking takes over. */
void hp_sparse_level(hp_heap *h, hp_pool *p)
{
    uint32_t used = hp_pool_used(p);
    if (h->is_private || h->cur[p->kind][p->cls] == p) {
        hp_pool_arm(p, used);
        return;
    }
    p->wake = 0;
    p->above = used;
    sparse_add(h, p, (size_t)p->carved * p->block_size); /* at most this comes back */
}

/* track: the owner freed block of tracked pool p, which still has live
 * blocks: a page that lost its last one goes back now (one call per page,
 * as a purge of scattered free pages would make anyway). */
void hp_sparse_freed(hp_pool *p, const void *block)
{
    hp_pool_give_pages(p, block);
}
