/*
 * heap/batch.c: freeing many blocks of a private heap at once (the
 * collector's bulk free of garbage, gc/trash.c).
 *
 * hp_heap_free_batch takes what the inline free (heap/fast.h) does per
 * block and does per run of blocks that lie in the same pool slot:
 *
 *     blocks   a0 a1 a2 a3 | b0 b1 | c0 ...       (a*: blocks of pool A)
 *     per run  slot lookup, owner check (pool->fast == heap | mode), then
 *              for each block: check and clear its live bit, link it;
 *              one store of the list head, one count update (frees of the
 *              class, the pool's live count), one emptiness test
 *
 * Garbage comes in the order it was allocated (the collector's table), so
 * a batch of 128 objects falls into a few runs: 27 instructions a block in
 * the run's loop (the live bit tested and cleared with one mask, the block
 * start checked with another), against about 45 for an inline free of an
 * object's block (lookup, owner check, counts).  A block the run cannot
 * take (another slot, a pool not plain, a mode on) goes through
 * hp_heap_free, which also names any invalid or double free (the run hands
 * those to the free lane, which aborts).
 *
 * hp_heap_bulk_begin / end bracket a bulk free (the collector holds them
 * around a full collection, gc/run.c): pools it empties go back to their
 * arenas as usual, but the prompt purge (heap/segment.c, DIRTY_PROMPT),
 * which would otherwise give back free slots run by run each time 4 MiB of
 * them pile up, is not run inside it.  The end brings the live totals up to
 * date and, if the purge is due, leaves it to the heap's next slow path (a
 * refill's hp_purge_tick, or a pool return): the pages go back right after
 * the collection, in one pass, outside its pause.  A program that
 * allocates again soon reuses them without page faults meanwhile; one that
 * goes quiet keeps them until its next slow path or om_release.
 */
#include "heap/batch.h"
#include "heap/fast.h"

/* Frees blocks[i ..) of pool p while they lie in p's first slot (p->fast
 * matched h's key); returns where it stopped: n, the first block of
 * another slot, or a block whose live bit was not set (an invalid or double
 * free, *bad set: left to the free lane). */
static OM_NOINLINE size_t free_run(hp_heap *h, hp_pool *p, void **blocks, size_t i, size_t n,
                                   bool *bad)
{
    uintptr_t start = p->start, slot = (uintptr_t)blocks[i] >> HP_SLOT_SHIFT;
    unsigned shift = p->shift;
    uintptr_t granule = ((uintptr_t)1 << shift) - 1; /* a block start has none of these */
    uint64_t *live = p->live;
    hp_block *head = p->free;
    size_t j = i;
    for (; j < n && ((uintptr_t)blocks[j] >> HP_SLOT_SHIFT) == slot; j++) {
        hp_block *b = blocks[j];
        uintptr_t off = (uintptr_t)b - start;
        size_t g = off >> shift;
        uint64_t *word = &live[g >> 6];
        uint64_t w = HP_LOAD(word), bit = 1ull << (g & 63);
        if (OM_UNLIKELY(!(w & bit) || (off & granule))) {
            *bad = true;
            break;
        }
        HP_STORE(word, w ^ bit); /* set: the xor clears it */
        b->next = (uintptr_t)head;
        head = b;
    }
    size_t k = j - i;
    p->free = head;
    HP_STORE(&h->count.frees[p->cls], h->count.frees[p->cls] + k);
    /* above is the live count less the wake level: 0 in exact pools, one
     * below the count in a full one (hp_pool_arm); the run may cross it */
    uint32_t above = p->above;
    p->above = above - (uint32_t)k;
    if (k && above <= k && h->cur[HP_KIND_PLAIN][p->cls] != p)
        hp_free_slow_local(h, p); /* emptied (back to its arena), or no longer full */
    return j;
}

void hp_heap_free_batch(hp_heap *h, void **blocks, size_t n)
{
    uintptr_t key = hp_fast_key(h);
    size_t i = 0;
    while (i < n) {
        hp_pool *p = hp_slot_of(blocks[i]);
        if (!p || (uintptr_t)HP_LOAD(&p->fast) != key) {
            hp_heap_free(h, blocks[i++]); /* the general way, checks included */
            continue;
        }
        bool bad = false;
        i = free_run(h, p, blocks, i, n, &bad);
        if (bad)
            hp_free_lane(p, blocks[i++]); /* names the fault and aborts */
    }
}

void hp_heap_bulk_begin(hp_heap *h)
{
    (void)h;
    pthread_mutex_lock(&hp_lock);
    hp_segments_hold_purge_locked(true);
    pthread_mutex_unlock(&hp_lock);
}

void hp_heap_bulk_end(hp_heap *h)
{
    hp_heap_report_live(h); /* the prompt purge compares with the live bytes */
    pthread_mutex_lock(&hp_lock);
    hp_segments_hold_purge_locked(false);
    pthread_mutex_unlock(&hp_lock);
}
