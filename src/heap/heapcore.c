/*
 * heap/heapcore.c: heaps, the pools they hold, and the paths that run when
 * a fast path misses.
 *
 * A heap keeps, per kind and size class, the pools it owns on two lists:
 *
 *   cur[k][c] --> avail: [pool]-[pool]-[pool]   may have free blocks
 *                 full:  [pool]-[pool]          had none when last looked at
 *
 * Allocation pops from cur's local free list (inline, in alloc.c and
 * heap.h); when that is empty, refill_class runs, in this order:
 *   1. collect   pools on the full list that other threads freed into (the
 *                remote_classes bit of the class says there are some); they
 *                go first on avail, so their blocks serve before the current
 *                pool carves fresh pages (prodcons: peak RSS 13.7 -> 11.9 MiB);
 *   2. advance   the avail list: collect + carve each pool, or file it as full
 *                (a full pool's wake level is one below its count: the
 *                owner's first free into it calls out, and it moves back);
 *   3. adopt     a pool some exited thread abandoned;
 *   4. take      a fresh pool from an arena.
 * After it, cur[k][c] has a free block, or memory ran out.
 *
 * Thread heaps are created on a thread's first allocation and abandoned by
 * a pthread key destructor when the thread exits: empty pools go back to
 * their arenas, the others wait, ownerless, on the abandoned lists until a
 * thread adopts them or om_release finds them empty.  Heap records are
 * never unmapped (they are recycled), so a thread holding a stale pointer to
 * a heap can at worst set a bit that causes a useless scan.
 */
#include "heap/core.h"

/* Frees between two purges of the heap's sparse pools (see look_purge). */
#define PURGE_EVERY 65536

static hp_pool_list abandoned[HP_NKINDS][HP_NCLASSES]; /* under hp_lock */
static size_t abandoned_n[HP_NKINDS][HP_NCLASSES];     /* written under hp_lock, read freely */

static void abandoned_push(unsigned k, unsigned c, hp_pool *p)
{
    hp_list_push(&abandoned[k][c], p);
    HP_STORE(&abandoned_n[k][c], abandoned_n[k][c] + 1);
}

static void abandoned_remove(unsigned k, unsigned c, hp_pool *p)
{
    hp_list_remove(&abandoned[k][c], p);
    HP_STORE(&abandoned_n[k][c], abandoned_n[k][c] - 1);
}
static hp_heap *heaps; /* every heap alive (thread and private), under hp_lock */
static hp_heap *spare; /* recycled heap records, under hp_lock */

/* ---- pool lists ------------------------------------------------------------------ */

void hp_list_push(hp_pool_list *l, hp_pool *p)
{
    p->prev = NULL;
    p->next = l->head;
    if (l->head)
        l->head->prev = p;
    else
        l->tail = p;
    l->head = p;
}

static void list_append(hp_pool_list *l, hp_pool *p)
{
    p->next = NULL;
    p->prev = l->tail;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

void hp_list_remove(hp_pool_list *l, hp_pool *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        l->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        l->tail = p->prev;
    p->next = p->prev = NULL;
}

static hp_pool_list *list_of(hp_heap *h, hp_pool *p)
{
    if (p->flags & HP_POOL_LARGE)
        return &h->large;
    return p->flags & HP_POOL_FULL ? &h->full[p->kind][p->cls] : &h->avail[p->kind][p->cls];
}

/* ---- dirty pools (private heaps) ------------------------------------------------ */

static void mark_dirty(hp_heap *h, hp_pool *p)
{
    if (!h->is_private || (p->flags & HP_POOL_DIRTY))
        return;
    hp_side_push(&h->dirty, p, HP_POOL_DIRTY);
}

void hp_heap_touch_slow(hp_heap *h, void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool || HP_LOAD(&pool->heap) != h)
        om_fatal("hp_heap_touch: %p is not a block of private heap %p", p, (void *)h);
    mark_dirty(h, pool);
}

static void unmark_dirty(hp_heap *h, hp_pool *p)
{
    hp_side_unlink(&h->dirty, p, HP_POOL_DIRTY);
}

/* ---- pools freed into during a walk ------------------------------------------------
 * A walk keeps its heap's lists still (the walk is iterating them), so a
 * free that would move a pool between lists, or give an emptied one back,
 * only records the pool here; sweep_empty does the moves after the walk.
 * One flag and one link per pool: the sweep costs the pools freed into,
 * not the heap (a young collection walks a few dirty pools of a heap that
 * may hold millions of blocks). */

static void note_swept(hp_heap *h, hp_pool *p)
{
    if (p->flags & HP_POOL_SWEEP)
        return;
    p->flags |= HP_POOL_SWEEP;
    p->sweep_next = h->sweep;
    h->sweep = p;
}

/* ---- heap records ---------------------------------------------------------------- */

static void reset_heap(hp_heap *h)
{
    memset(h, 0, sizeof *h);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++)
            h->cur[k][c] = &hp_empty_pool;
    h->purge_every = PURGE_EVERY;
    h->sample_left = -1; /* fresh: the first allocation draws the first gap */
    h->sample_rng = om_random_seed() ^ (uintptr_t)h;
    h->live = true;
}

/* A fresh heap record on the heap list; NULL when the OS refuses memory. */
static hp_heap *heap_record_new(void)
{
    pthread_mutex_lock(&hp_lock);
    hp_heap *h = spare;
    if (h)
        spare = h->next;
    pthread_mutex_unlock(&hp_lock);
    if (!h) {
        size_t page = os_page_size();
        h = os_map_aligned((sizeof(hp_heap) + page - 1) & ~(page - 1), page);
        if (!h)
            return NULL;
    }
    reset_heap(h);
    pthread_mutex_lock(&hp_lock);
    h->next = heaps;
    h->prev = NULL;
    if (heaps)
        heaps->prev = h;
    heaps = h;
    pthread_mutex_unlock(&hp_lock);
    return h;
}

static void fold_counters_locked(const hp_heap *h)
{
    for (unsigned c = 0; c < HP_NCLASSES; c++) {
        hp_retired.allocs[c] += h->count.allocs[c];
        hp_retired.frees[c] += h->count.frees[c];
        if (h->count.peak[c] > hp_retired.peak[c]) /* a retired heap's peak still counts */
            hp_retired.peak[c] = h->count.peak[c];
    }
    hp_retired.large_allocs += h->count.large_allocs;
    hp_retired.large_frees += h->count.large_frees;
}

/* Takes the record off the heap list and keeps it for reuse (lock held). */
static void heap_record_retire_locked(hp_heap *h)
{
    fold_counters_locked(h);
    hp_sites_far_locked(h);
    if (h->prev)
        h->prev->next = h->next;
    else
        heaps = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->live = false;
    h->next = spare;
    spare = h;
}

void hp_heap_counters_sum_locked(hp_counters *out, size_t *n_heaps)
{
    *out = hp_retired;
    size_t n = 0;
    for (hp_heap *h = heaps; h; h = h->next, n++) {
        out->large_allocs += HP_LOAD(&h->count.large_allocs);
        out->large_frees += HP_LOAD(&h->count.large_frees);
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            out->allocs[c] += HP_LOAD(&h->count.allocs[c]);
            out->frees[c] += HP_LOAD(&h->count.frees[c]);
            size_t pk = HP_LOAD(&h->count.peak[c]);
            if (pk > out->peak[c])
                out->peak[c] = pk;
        }
    }
    if (n_heaps)
        *n_heaps = n;
}

hp_heap *hp_heaps_first_locked(void)
{
    return heaps;
}

/* ---- thread heaps ------------------------------------------------------------------ */

static pthread_key_t thread_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* Every pool of h: empty ones back to their arenas, the rest abandoned. */
static void abandon_pools_locked(hp_heap *h)
{
    hp_sparse_clear(h);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            hp_pool_list *lists[2] = {&h->avail[k][c], &h->full[k][c]};
            for (int i = 0; i < 2; i++) {
                hp_pool *p;
                while ((p = lists[i]->head) != NULL) {
                    hp_list_remove(lists[i], p);
                    hp_pool_collect(p);
                    p->flags &= (uint8_t) ~(HP_POOL_FULL | HP_POOL_DIRTY);
                    if (hp_pool_used(p) == 0) {
                        hp_arena_return_pool_locked(p);
                        continue;
                    }
                    __atomic_store_n(&p->heap, NULL, __ATOMIC_RELEASE);
                    hp_pool_set_fast(p);
                    abandoned_push(k, c, p);
                }
            }
        }
}

static void thread_done(void *arg)
{
    hp_heap *h = arg;
    if (!h || h == &hp_empty_heap || !h->live)
        return;
    hp_tls_heap = &hp_empty_heap;
    pthread_mutex_lock(&hp_lock);
    abandon_pools_locked(h);
    heap_record_retire_locked(h);
    pthread_mutex_unlock(&hp_lock);
}

static void make_key(void)
{
    if (pthread_key_create(&thread_key, thread_done) != 0)
        om_fatal("heap: cannot create the thread key for thread heaps");
}

hp_heap *hp_thread_heap(void)
{
    hp_heap *h = hp_tls_heap;
    if (OM_LIKELY(h != &hp_empty_heap))
        return h;
    hp_init();
    h = heap_record_new();
    if (!h)
        return NULL;
    hp_tls_heap = h;
    pthread_once(&key_once, make_key);
    pthread_setspecific(thread_key, h);
    return h;
}

/* ---- after fork, in the child --------------------------------------------------------
 * Only the thread that called fork exists in the child.  The others may have
 * stopped anywhere inside a heap operation: a pop or a push half done (the
 * free list moved, the live bit or used not yet), a pool between two of its
 * heap's lists, a remote free pushed but not yet counted.  hp_lock was held
 * across fork, so the segments and the abandoned lists are whole; nothing
 * else of a gone thread's heap is trusted.  Three phases, lock held:
 *   1. adopt_orphans    every arena pool whose owner is gone is found through
 *                       the segments (not its heap's lists), rebuilt from its
 *                       free list (hp_pool_rebuild_after_fork) and abandoned;
 *   2. retire           the gone heaps' records, their lists left unread;
 *   3. recount          the retired counters are set so that the totals
 *                       match what the pools hold (a gone thread may have
 *                       moved a block without counting it, or the reverse).
 * Blocks a gone thread had just popped (off the free list) stay live: leaked in
 * the child, never handed out twice.  Private heaps are left as they are:
 * a private heap used by a thread that is gone cannot be used in the child. */

static bool gone_in_child(const hp_heap *h)
{
    return h && !h->is_private && h != hp_tls_heap;
}

static void adopt_orphans_locked(void)
{
    for (hp_segment *s = hp_segments_first(); s; s = s->next) {
        if (s->kind != HP_SEG_ARENA)
            continue;
        for (unsigned i = 1; i < HP_SLOTS; i++) {
            hp_pool *p = &s->pools[i];
            if (!p->span || !gone_in_child(p->heap))
                continue;
            hp_pool_rebuild_after_fork(p);
            p->flags &= (uint8_t) ~(HP_POOL_FULL | HP_POOL_DIRTY | HP_POOL_SPARSE);
            p->dirty_next = p->dirty_prev = NULL;
            __atomic_store_n(&p->heap, NULL, __ATOMIC_RELEASE);
            hp_pool_set_fast(p);
            abandoned_push(p->kind, p->cls, p); /* empty ones go back at om_release */
        }
    }
}

/* Live blocks per class as the pools hold them (remote frees not collected
 * yet are not live), and live large blocks. */
static void count_held_locked(uint64_t held[HP_NCLASSES], uint64_t *large)
{
    memset(held, 0, HP_NCLASSES * sizeof *held);
    *large = 0;
    for (hp_segment *s = hp_segments_first(); s; s = s->next) {
        if (s->kind != HP_SEG_ARENA) {
            *large += hp_pool_used(&s->pools[0]);
            continue;
        }
        for (unsigned i = 1; i < HP_SLOTS; i++) {
            const hp_pool *p = &s->pools[i];
            if (!p->span)
                continue;
            /* used, not the bits: inexact pools' bits are stale (adopt_orphans recounted used) */
            held[p->cls] += (uint64_t)hp_pool_used(p) - hp_pool_pending(p);
        }
    }
}

static void recount_locked(void)
{
    uint64_t held[HP_NCLASSES], large;
    count_held_locked(held, &large);
    hp_counters alive = {0};
    for (hp_heap *h = heaps; h; h = h->next) {
        for (unsigned c = 0; c < HP_NCLASSES; c++)
            alive.allocs[c] += h->count.allocs[c] - h->count.frees[c];
        alive.large_allocs += h->count.large_allocs - h->count.large_frees;
    }
    /* retired allocs - frees + alive == held, in modular arithmetic */
    for (unsigned c = 0; c < HP_NCLASSES; c++)
        hp_retired.frees[c] = hp_retired.allocs[c] + alive.allocs[c] - held[c];
    hp_retired.large_frees = hp_retired.large_allocs + alive.large_allocs - large;
}

void hp_heaps_after_fork_child_locked(void)
{
    adopt_orphans_locked();
    hp_heap *next;
    for (hp_heap *h = heaps; h; h = next) {
        next = h->next;
        if (gone_in_child(h))
            heap_record_retire_locked(h);
        else
            h->remote_classes = ~0ull; /* a gone thread may have pushed without saying so */
    }
    recount_locked();
}

/* ---- adoption and reclaiming of abandoned pools ------------------------------------ */

static hp_pool *adopt(hp_heap *h, unsigned kind, unsigned cls)
{
    hp_pool_list *l = &abandoned[kind][cls];
    /* abandoned pools are thread heaps' (om_malloc blocks, inexact): a private
     * heap taking one would show those blocks to its walks as its own */
    if (h->is_private || !HP_LOAD(&abandoned_n[kind][cls]))
        return NULL;
    hp_pool *found = NULL;
    pthread_mutex_lock(&hp_lock);
    hp_pool *p;
    while (!found && (p = l->head) != NULL) {
        abandoned_remove(kind, cls, p);
        __atomic_store_n(&p->heap, h, __ATOMIC_RELEASE);
        hp_pool_set_fast(p);
        hp_pool_collect(p);
        if (hp_pool_used(p) == 0 && h->cur[kind][cls] != &hp_empty_pool) {
            hp_arena_return_pool_locked(p);
            continue;
        }
        found = p;
    }
    pthread_mutex_unlock(&hp_lock);
    return found;
}

void hp_abandoned_reclaim_locked(void)
{
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            hp_pool *next;
            for (hp_pool *p = abandoned[k][c].head; p; p = next) {
                next = p->next;
                hp_pool_collect(p);
                if (hp_pool_used(p) == 0) {
                    abandoned_remove(k, c, p);
                    hp_arena_return_pool_locked(p);
                }
            }
        }
}

size_t hp_abandoned_count_locked(unsigned kind, unsigned cls, size_t *used)
{
    size_t n = 0;
    for (hp_pool *p = abandoned[kind][cls].head; p; p = p->next, n++)
        *used += hp_pool_used(p);
    return n;
}

hp_pool *hp_abandoned_first_locked(unsigned kind, unsigned cls)
{
    return abandoned[kind][cls].head;
}

/* ---- the refill path ------------------------------------------------------------------ */

static void collect_remote(hp_heap *h, unsigned cls)
{
    uint64_t bit = 1ull << cls;
    if (!(HP_LOAD(&h->remote_classes) & bit))
        return;
    __atomic_fetch_and(&h->remote_classes, ~bit, __ATOMIC_ACQUIRE);
    for (unsigned k = 0; k < HP_NKINDS; k++) {
        hp_pool *next;
        for (hp_pool *p = h->full[k][cls].head; p; p = next) {
            next = p->next;
            if ((HP_LOAD(&p->thread_free) || HP_LOAD(&p->reclaim)) && hp_pool_collect(p)) {
                hp_list_remove(&h->full[k][cls], p);
                p->flags &= (uint8_t)~HP_POOL_FULL;
                hp_pool_arm(p, hp_pool_used(p));    /* its level again */
                hp_list_push(&h->avail[k][cls], p); /* first: its blocks before a carve */
            }
        }
    }
}

/* Refills between two updates of a heap's share of the global live totals
 * (note_peak), and slow-path events (refills, slow frees) between two looks
 * at the purge pace (look_purge): each costs a pass over the 64 classes
 * (and the segments' purge tick, at the pace of note_peak, a read of the
 * clock), and a refill can come every few allocations (frees scattered over
 * many pools leave one or two free blocks in each). */
#define NOTE_EVERY 8
#define LOOK_EVERY 64

/* At each refill: this heap's peak of the class; at every NOTE_EVERY-th,
 * its share of the global live totals, for the peaks (which are so sampled
 * at most NOTE_EVERY refills apart), and then true. */
static bool note_peak(hp_heap *h, unsigned cls)
{
    uint64_t live = h->count.allocs[cls] - h->count.frees[cls];
    if ((int64_t)live > 0 && live > h->count.peak[cls])
        HP_STORE(&h->count.peak[cls], (size_t)live);
    if (++h->refills % NOTE_EVERY)
        return false;
    hp_heap_report_live(h);
    return true;
}

/* hp_class_size by table, for the sum below (a pass over 64 classes at
 * every few refills: the computed sizes cost twice the instructions). */
#define SMALL8(b)                                                                                  \
    (b + 1) * 16, (b + 2) * 16, (b + 3) * 16, (b + 4) * 16, (b + 5) * 16, (b + 6) * 16,            \
        (b + 7) * 16, (b + 8) * 16
#define MEDIUM4(e) 5 << (e - 2), 6 << (e - 2), 7 << (e - 2), 8 << (e - 2)
static const int64_t class_bytes[HP_NCLASSES] = {
    SMALL8(0),   SMALL8(8),   SMALL8(16),  SMALL8(24),  MEDIUM4(9),  MEDIUM4(10),
    MEDIUM4(11), MEDIUM4(12), MEDIUM4(13), MEDIUM4(14), MEDIUM4(15), MEDIUM4(16)};

void hp_heap_report_live(hp_heap *h)
{
    int64_t bytes = 0, blocks = 0;
    for (unsigned c = 0; c < HP_NCLASSES; c++) {
        int64_t n = (int64_t)(h->count.allocs[c] - h->count.frees[c]);
        blocks += n;
        bytes += n * class_bytes[c];
        om_assert_expensive(class_bytes[c] == (int64_t)hp_class_size(c));
    }
    int64_t all_bytes =
        __atomic_add_fetch(&hp_live_bytes, bytes - h->reported_bytes, __ATOMIC_RELAXED);
    int64_t all_blocks =
        __atomic_add_fetch(&hp_live_blocks, blocks - h->reported_blocks, __ATOMIC_RELAXED);
    h->reported_bytes = bytes;
    h->reported_blocks = blocks;
    size_t large = HP_LOAD(&hp_large_bytes);
    if (all_bytes > 0 && (size_t)all_bytes + large > HP_LOAD(&hp_bytes_peak))
        HP_STORE(&hp_bytes_peak, (size_t)all_bytes + large);
    if (all_blocks > 0 && (size_t)all_blocks > HP_LOAD(&hp_blocks_peak))
        HP_STORE(&hp_blocks_peak, (size_t)all_blocks);
}

static void look_purge(hp_heap *h, bool freeing);

static bool refill_class(hp_heap *h, unsigned kind, unsigned cls)
{
    if (note_peak(h, cls))
        hp_purge_tick(); /* reads the clock: at the same pace */
    look_purge(h, false);
    collect_remote(h, cls);
    hp_pool_list *avail = &h->avail[kind][cls];
    hp_pool *p;
    while ((p = avail->head) != NULL) {
        if (hp_pool_refill(p))
            goto found;
        hp_list_remove(avail, p);
        if (OM_UNLIKELY(p->special & HP_SPECIAL_TRACKED))
            hp_pool_untrack(p);
        p->flags |= HP_POOL_FULL;
        hp_pool_arm(p, hp_pool_used(p)); /* the owner's next free calls out */
        hp_list_push(&h->full[kind][cls], p);
    }
    h->cur[kind][cls] = &hp_empty_pool;
    p = adopt(h, kind, cls);
    if (!p)
        p = hp_arena_take_pool(h, cls, kind);
    if (!p)
        return false;
    hp_list_push(avail, p);
    if (!hp_pool_refill(p)) {
        p->flags |= HP_POOL_FULL;
        hp_pool_arm(p, hp_pool_used(p));
        hp_list_remove(avail, p);
        hp_list_push(&h->full[kind][cls], p);
        return refill_class(h, kind, cls);
    }
found:
    if (OM_UNLIKELY(p->flags & HP_POOL_SPARSE))
        hp_sparse_remove(h, p); /* being filled again */
    if (OM_UNLIKELY(p->special & HP_SPECIAL_TRACKED))
        hp_pool_untrack(p);
    p->flags &= (uint8_t)~HP_POOL_IDLE;
    h->cur[kind][cls] = p;
    mark_dirty(h, p);
    return true;
}

static size_t class_for_alignment(size_t size, size_t align)
{
    size_t want = size > align ? size : align;
    want = (want + align - 1) & ~(align - 1);
    for (unsigned c = hp_class_of(want); c < HP_NCLASSES; c++)
        if (hp_class_size(c) % align == 0)
            return c;
    return HP_NCLASSES;
}

static void *alloc_large(hp_heap *h, size_t size, size_t align, unsigned kind)
{
    hp_pool *p = hp_large_alloc(h->is_private ? h : NULL, size, align, kind);
    if (!p)
        return NULL;
    if (h->is_private) {
        hp_list_push(&h->large, p);
        mark_dirty(h, p);
    }
    return (void *)p->start;
}

void *hp_alloc_generic(hp_heap *h, size_t size, size_t align, unsigned kind)
{
    if (!h && !(h = hp_thread_heap()))
        goto fail;
    unsigned cls;
    if (align <= 16) {
        if (size > HP_MEDIUM_MAX)
            goto large;
        cls = hp_class_of(size);
    } else {
        if (size > HP_MEDIUM_MAX || align > HP_SLOT_SIZE)
            goto large;
        size_t c = class_for_alignment(size, align);
        if (c >= HP_NCLASSES)
            goto large;
        cls = (unsigned)c;
    }
    hp_pool *p = h->cur[kind][cls];
    if (!p->free) {
        if (!refill_class(h, kind, cls))
            goto fail;
        p = h->cur[kind][cls];
    }
    hp_block *b = p->free;
    p->free = hp_decode(p, b, b->next);
    p->above++;
    if ((uintptr_t)b >= p->top)
        p->top = (uintptr_t)b + 1;
    if (h->is_private || kind == HP_KIND_DEBUG) { /* exact: the bit (inexact: scratch) */
        size_t g = ((uintptr_t)b - p->start) >> p->shift;
        HP_STORE(&p->live[g >> 6], HP_LOAD(&p->live[g >> 6]) | (1ull << (g & 63)));
    }
    HP_BUMP(&h->count.allocs[cls]);
    return b;
large:;
    void *r = alloc_large(h, size, align, kind);
    if (r) {
        HP_BUMP(&h->count.large_allocs);
        return r;
    }
fail:
    errno = ENOMEM;
    om_set_error("out of memory: cannot allocate %zu bytes (alignment %zu)", size, align);
    return NULL;
}

/* ---- frees -------------------------------------------------------------------------- */

static size_t count_pools(const hp_heap *h)
{
    size_t n = 0;
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            for (const hp_pool *p = h->avail[k][c].head; p; p = p->next)
                n++;
            for (const hp_pool *p = h->full[k][c].head; p; p = p->next)
                n++;
        }
    return n;
}

/* The periodic purge (hp_heap_purge, only_idle) spends about
 * PURGE_BUDGET_NS a tick (the clock is read after each pool
 * that gave pages back: a pool's decommits are the costly part, 20 to 40 us
 * each), going on from the class where the previous tick stopped.  The tick
 * runs inside whatever free or refill meets it, a collector's slice
 * included: with 1 ms a tick it was the longest pause of the collector's
 * benchmark (one class of a 100 MiB heap held 30 pools to decommit).  A tick
 * cut by the budget lets the next come after PURGE_CUT_DIV times less wait,
 * so a round over the classes still takes about purge_delay.  om_release
 * (everything) has no budget. */
#define PURGE_BUDGET_NS 250000u
#define PURGE_CUT_DIV   4

/* Every PURGE_EVERY frees (but never more often than once per 8 frees per
 * pool, since a purge reads part of every pool's bitmap), and at most once per
 * purge_delay ms: pages of mostly-free pools that were idle since the last
 * purge go back to the OS.  Looked at on the slow paths only (refills, and
 * frees that move a pool between lists or empty it), so the inline free
 * pays nothing for it; a heap that frees also meets those paths. */
static void purge_sparse(hp_heap *h)
{
    uint64_t now = om_now_ns(), delay = (uint64_t)om_opt(OM_OPT_PURGE_DELAY) * 1000000u;
    if (now - h->last_purge >= delay) {
        h->last_purge = now;
        hp_heap_purge(h, true);
        if (om_now_ns() - now >= PURGE_BUDGET_NS) /* cut: the rest of the round sooner */
            h->last_purge = now - (delay - delay / PURGE_CUT_DIV);
    }
    size_t next = PURGE_EVERY;
    size_t floor = count_pools(h) * 8;
    if (next < floor)
        next = floor;
    h->purge_every = next;
}

static uint64_t frees_total(const hp_heap *h)
{
    uint64_t n = 0;
    for (unsigned c = 0; c < HP_NCLASSES; c++)
        n += h->count.frees[c];
    return n;
}

/* A slow-path event: every LOOK_EVERY-th looks whether purge_every frees
 * were counted since the last purge; one of the slow frees (freeing) also
 * brings the live totals up to date (refills do, in note_peak). */
static void look_purge(hp_heap *h, bool freeing)
{
    if (++h->purge_looks % LOOK_EVERY)
        return;
    if (freeing)
        hp_heap_report_live(h); /* frees that empty pools lower the live totals */
    uint64_t frees = frees_total(h);
    if (frees - h->purge_mark < h->purge_every)
        return;
    h->purge_mark = frees;
    purge_sparse(h);
}

/* Gives back the free pages of h's pools: the periodic purge (only_idle)
 * within its budget, om_release (everything) all of them. */
size_t hp_heap_purge(hp_heap *h, bool only_idle)
{
    size_t bytes = 0;
    if (!only_idle)
        hp_sparse_clear(h); /* every pool is purged below */
    uint64_t deadline = only_idle ? om_now_ns() + PURGE_BUDGET_NS : UINT64_MAX;
    unsigned n = HP_NKINDS * HP_NCLASSES;
    for (unsigned step = 0; step < n; step++) {
        unsigned at = only_idle ? (h->purge_cursor + step) % n : step;
        unsigned k = at / HP_NCLASSES, c = at % HP_NCLASSES;
        hp_pool_list *lists[2] = {&h->avail[k][c], &h->full[k][c]};
        for (int i = 0; i < 2; i++)
            for (hp_pool *p = lists[i]->head; p; p = p->next)
                if (p != h->cur[k][c] || !only_idle) {
                    size_t got = hp_pool_purge_pages(p, only_idle);
                    bytes += got;
                    if (!only_idle)
                        hp_pool_untrack_purged(p);
                    else if (got && om_now_ns() > deadline) { /* this class again next time */
                        h->purge_cursor = (uint16_t)at;
                        return bytes;
                    }
                }
        if (only_idle && om_now_ns() > deadline) {
            h->purge_cursor = (uint16_t)((at + 1) % n);
            break;
        }
    }
    return bytes;
}

void hp_pool_emptied(hp_heap *h, hp_pool *p)
{
    if (h->walking || (p->flags & HP_POOL_DIRTY) || h->cur[p->kind][p->cls] == p)
        return;
    hp_sparse_remove(h, p);
    hp_list_remove(list_of(h, p), p);
    p->flags &= (uint8_t)~HP_POOL_FULL;
    pthread_mutex_lock(&hp_lock);
    hp_arena_return_pool_locked(p);
    pthread_mutex_unlock(&hp_lock);
}

/* The owner freed into p and p needs attention: it was on the full list, it
 * is now empty or down to its wake level, or a purge is due. */
static void after_local_free(hp_heap *h, hp_pool *p)
{
    if (h->walking) {
        note_swept(h, p); /* lists stay still during a walk; sweep_empty tidies up */
        return;
    }
    if (p->flags & HP_POOL_FULL) {
        hp_list_remove(&h->full[p->kind][p->cls], p);
        p->flags &= (uint8_t)~HP_POOL_FULL;
        hp_pool_arm(p, hp_pool_used(p)); /* its level again (it was one below used) */
        list_append(&h->avail[p->kind][p->cls], p);
    }
    if (hp_pool_used(p) == 0)
        hp_pool_emptied(h, p);
    else if (p->above == 0 && p->wake)
        hp_sparse_level(h, p);
}

void hp_free_generic(hp_pool *pool, void *block)
{
    if (pool->cls == HP_CLASS_LARGE) { /* cls never changes while a block is live */
        hp_heap *owner = HP_LOAD(&pool->heap);
        if (owner) {
            hp_list_remove(&owner->large, pool);
            unmark_dirty(owner, pool);
        }
        if ((uintptr_t)block != pool->start)
            hp_invalid_free(block, "not the start of a block");
        hp_large_free(pool);
        hp_heap *me = owner ? owner : hp_thread_heap();
        if (me)
            HP_BUMP(&me->count.large_frees);
        return;
    }
    long idx = hp_block_index(pool, block);
    if (idx < 0 || pool->start + (size_t)idx * pool->block_size != (uintptr_t)block)
        hp_invalid_free(block, "not the start of a block");
    hp_heap *owner = __atomic_load_n(&pool->heap, __ATOMIC_ACQUIRE);
    hp_heap *me = hp_tls_heap;
    if (owner && (owner == me || owner->is_private)) {
        hp_pool_push_local(pool, block, (size_t)idx);
        HP_BUMP(&owner->count.frees[pool->cls]);
        if ((pool->special & HP_SPECIAL_TRACKED) && hp_pool_used(pool))
            hp_sparse_freed(pool, block);
        if (pool->above == 0 || (pool->flags & HP_POOL_FULL)) { /* empty or sparse, or full */
            after_local_free(owner, pool);
            look_purge(owner, true);
        }
        return;
    }
    if (hp_pool_exact(pool) && !hp_live_test(pool, (size_t)idx))
        hp_invalid_free(block, "double free, or never allocated");
    hp_pool_push_remote(pool, block);
    me = hp_thread_heap();
    if (me)
        HP_BUMP(&me->count.frees[pool->cls]);
}

/* Called from the inline free fast path when a purge countdown ran out or the
 * pool needs list work. */
void hp_free_slow_local(hp_heap *h, hp_pool *p)
{
    after_local_free(h, p);
    look_purge(h, true);
}

/* ---- private heaps --------------------------------------------------------------------- */

hp_heap *hp_heap_new(void *owner)
{
    hp_init();
    hp_heap *h = heap_record_new();
    if (!h) {
        errno = ENOMEM;
        om_set_error("out of memory: cannot create a private heap");
        return NULL;
    }
    h->is_private = true;
    h->owner = owner;
    return h;
}

void hp_heap_delete(hp_heap *h)
{
    if (!h)
        return;
    hp_debug_heap_deleted(h); /* its quarantined blocks stay live blocks of h */
    hp_pool *p;
    while ((p = h->large.head) != NULL) {
        hp_list_remove(&h->large, p);
        HP_BUMP(&h->count.large_frees);
        hp_large_free(p);
    }
    pthread_mutex_lock(&hp_lock);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            hp_pool_list *lists[2] = {&h->avail[k][c], &h->full[k][c]};
            for (int i = 0; i < 2; i++)
                while ((p = lists[i]->head) != NULL) {
                    hp_list_remove(lists[i], p);
                    hp_pool_collect(p);
                    h->count.frees[c] += hp_pool_used(p);
                    p->flags = 0;
                    hp_arena_return_pool_locked(p);
                }
        }
    heap_record_retire_locked(h);
    pthread_mutex_unlock(&hp_lock);
}

/* ---- walks ------------------------------------------------------------------------------ */

/* Reports one live block; the visitor may free it (and with a large block,
 * its whole segment), so nothing of the pool is read after the call. */
static int visit_block(unsigned kind, void *block, size_t size, hp_visit_fn visit, void *arg)
{
    if (kind == HP_KIND_DEBUG) {
        size_t usize = 0;
        void *user = hp_debug_user_of(block, &usize);
        return user ? visit(user, usize, arg) : 0;
    }
    return visit(block, size, arg);
}

static int walk_pool(hp_pool *p, hp_visit_fn visit, void *arg)
{
    if (p->cls == HP_CLASS_LARGE)
        return hp_pool_used(p) ? visit_block(p->kind, (void *)p->start, p->block_size, visit, arg)
                               : 0;
    if (hp_pool_collect(p))
        note_swept(p->heap, p);
    for (size_t w = 0; w < p->live_words; w++) {
        uint64_t bits = HP_LOAD(&p->live[w]);
        while (bits) {
            size_t bit = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            int rc = visit_block(p->kind, (void *)(p->start + (bit << p->shift)), p->block_size,
                                 visit, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* A pool one of h's walks freed into, or one of h's dirty pools being
 * cleared: a full pool with free blocks goes back to avail, an empty one
 * (not current, not dirty) back to its arena.  Large pools have nothing to
 * tidy (their frees unlink them at once). */
static void tidy_pool(hp_heap *h, hp_pool *p)
{
    h->sweep_examined++;
    if (p->cls == HP_CLASS_LARGE)
        return;
    if ((p->flags & HP_POOL_FULL) && p->free)
        after_local_free(h, p);
    else if (hp_pool_used(p) == 0)
        hp_pool_emptied(h, p);
}

/* After a walk: tidies the pools on the sweep list, and only those.  After
 * it the list is empty, no pool is flagged, and h->walking is false. */
static void sweep_empty(hp_heap *h)
{
    h->walking = false;
    hp_pool *p;
    while ((p = h->sweep) != NULL) {
        h->sweep = p->sweep_next;
        p->sweep_next = NULL;
        p->flags &= (uint8_t)~HP_POOL_SWEEP;
        tidy_pool(h, p);
    }
}

uint64_t hp_heap_sweep_examined(const hp_heap *h)
{
    return h->sweep_examined;
}

int hp_heap_walk(hp_heap *h, hp_visit_fn visit, void *arg)
{
    int rc = 0;
    h->walking = true;
    for (unsigned k = 0; k < HP_NKINDS && !rc; k++)
        for (unsigned c = 0; c < HP_NCLASSES && !rc; c++) {
            hp_pool_list *lists[2] = {&h->avail[k][c], &h->full[k][c]};
            for (int i = 0; i < 2 && !rc; i++)
                for (hp_pool *p = lists[i]->head; p && !rc; p = p->next)
                    rc = walk_pool(p, visit, arg);
        }
    hp_pool *next;
    for (hp_pool *p = h->large.head; p && !rc; p = next) {
        next = p->next; /* the visitor may free p */
        rc = walk_pool(p, visit, arg);
    }
    sweep_empty(h);
    return rc;
}

int hp_heap_walk_dirty(hp_heap *h, hp_visit_fn visit, void *arg)
{
    int rc = 0;
    h->walking = true;
    hp_pool *next;
    for (hp_pool *p = h->dirty; p && !rc; p = next) {
        next = p->dirty_next;
        rc = walk_pool(p, visit, arg);
    }
    sweep_empty(h);
    return rc;
}

/* Dirty pools that emptied were kept (hp_pool_emptied leaves a dirty or
 * current pool alone); with the marks and the current pools gone, each
 * unmarked pool is tidied, so the cost is the dirty list, not the heap. */
void hp_heap_clear_dirty(hp_heap *h)
{
    sweep_empty(h);
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++)
            h->cur[k][c] = &hp_empty_pool; /* the next allocation marks its pool */
    hp_pool *p;
    while ((p = h->dirty) != NULL) {
        unmark_dirty(h, p);
        tidy_pool(h, p);
    }
}

void hp_heap_usage(const hp_heap *h, size_t *blocks, size_t *bytes)
{
    size_t nb = 0, by = 0;
    for (unsigned k = 0; k < HP_NKINDS; k++)
        for (unsigned c = 0; c < HP_NCLASSES; c++) {
            const hp_pool_list *lists[2] = {&h->avail[k][c], &h->full[k][c]};
            for (int i = 0; i < 2; i++)
                for (const hp_pool *p = lists[i]->head; p; p = p->next) {
                    nb += hp_pool_used(p);
                    by += (size_t)hp_pool_used(p) * p->block_size;
                }
        }
    for (const hp_pool *p = h->large.head; p; p = p->next) {
        nb += hp_pool_used(p);
        by += p->block_size;
    }
    if (blocks)
        *blocks = nb;
    if (bytes)
        *bytes = by;
}
