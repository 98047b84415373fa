/*
 * heap/debug_quarantine.c: where freed debug blocks wait before the core
 * gets them back.
 *
 * Strategy.  A freed debug block is not given back at once: it is filled
 * with 0xDF, marked freed and appended to a FIFO.  While it waits, a second
 * free of it finds the "freed" mark (double free), and a write through a
 * dangling pointer changes its fill, which is seen when the block leaves
 * (or when om_heap_check looks).  The longer a block waits, the later a
 * use-after-free is still caught; the bound is bytes, not blocks.
 *
 * One FIFO ("lane") per heap, because a private heap is used by one thread
 * at a time and only that thread may give its blocks back to the core: the
 * blocks of h leave only from a call into h.  The global heap accepts frees
 * from any thread, so its lane is shared by all.
 *
 *   lanes[0]   global heap   oldest -> ... -> newest    <= budget bytes
 *   lanes[1]   hp_heap A     oldest -> ... -> newest    <= budget bytes at
 *                                                        each allocation of A
 *   ...        (a lane is taken on the first free into a private heap and
 *               released by hp_debug_heap_deleted)
 *
 * The numbers: budget = option debug_quarantine (4 MiB by default) per
 * lane, counted in the core's block sizes; a block larger than the budget
 * skips the quarantine (it is checked and given back at once), and so does
 * every free into a private heap beyond the QUAR_LANES - 1 that have lanes.
 *
 * When blocks leave: a free into the global heap evicts its lane's oldest
 * at once.  A free into a private heap does not, because it may come from a
 * heap walk's visitor, which may free the block it is given and nothing
 * else; the lane is trimmed at the heap's next allocation instead
 * (dbg_quarantine_trim), so it may pass its budget by what is freed between
 * two allocations.
 *
 * Locking: one mutex over all lanes.  Blocks are unlinked under it and
 * checked and given back to the core after it is released, so the mutex is
 * never held across a call into the core (no lock order to keep, and fork
 * handlers may take it at any time).
 */
#include <pthread.h>

#include "heap/debug.h"

#define QUAR_LANES DBG_QUARANTINE_LANES

typedef struct lane {
    bool used;
    hp_heap *heap;      /* NULL: the global heap (lanes[0] only) */
    dbg_header *oldest; /* FIFO through dbg_header.next */
    dbg_header *newest;
    size_t bytes; /* sum of block_size of the blocks held */
    size_t blocks;
} lane;

/* The quarantine's whole state; every field under `lock`. */
static struct quarantine {
    pthread_mutex_t lock;
    lane lanes[QUAR_LANES];
} quar = {.lock = PTHREAD_MUTEX_INITIALIZER, .lanes[0] = {.used = true}};

static lane *find_lane(hp_heap *heap, bool take)
{
    if (!heap)
        return &quar.lanes[0];
    lane *free_lane = NULL;
    for (int i = 1; i < QUAR_LANES; i++) {
        if (quar.lanes[i].used && quar.lanes[i].heap == heap)
            return &quar.lanes[i];
        if (!quar.lanes[i].used && !free_lane)
            free_lane = &quar.lanes[i];
    }
    if (!take || !free_lane)
        return NULL;
    *free_lane = (lane){.used = true, .heap = heap};
    return free_lane;
}

/* Unlinks and returns the whole FIFO of l (oldest first). */
static dbg_header *take_all(lane *l)
{
    dbg_header *list = l->oldest;
    l->oldest = l->newest = NULL;
    l->bytes = l->blocks = 0;
    return list;
}

/* Unlinks the oldest blocks of l until it fits in budget; returns them. */
static dbg_header *evict_to(lane *l, size_t budget)
{
    dbg_header *list = NULL, **tail = &list;
    while (l->bytes > budget && l->oldest) {
        dbg_header *h = l->oldest;
        l->oldest = h->next;
        l->bytes -= h->block_size;
        l->blocks--;
        h->next = NULL;
        *tail = h;
        tail = &h->next;
    }
    if (!l->oldest)
        l->newest = NULL;
    return list;
}

/* Checks each block of list one last time and gives it back to the core. */
static size_t release(dbg_header *list)
{
    size_t n = 0;
    while (list) {
        dbg_header *next = list->next;
        dbg_check_freed(list);
        hp_free_block(list);
        list = next;
        n++;
    }
    return n;
}

static size_t budget(void)
{
    long b = om_opt(OM_OPT_DEBUG_QUARANTINE);
    return b > 0 ? (size_t)b : 0;
}

void dbg_quarantine_push(dbg_header *h)
{
    size_t limit = budget();
    h->next = NULL;
    pthread_mutex_lock(&quar.lock);
    lane *l = h->block_size <= limit ? find_lane(h->heap, true) : NULL;
    if (!l) {
        pthread_mutex_unlock(&quar.lock);
        release(h);
        return;
    }
    if (l->newest)
        l->newest->next = h;
    else
        l->oldest = h;
    l->newest = h;
    l->bytes += h->block_size;
    l->blocks++;
    /* a private heap may be in a walk whose visitor frees: evict at its next allocation */
    dbg_header *evicted = h->heap ? NULL : evict_to(l, limit);
    pthread_mutex_unlock(&quar.lock);
    release(evicted);
}

void dbg_quarantine_trim(hp_heap *heap)
{
    if (!heap)
        return;
    pthread_mutex_lock(&quar.lock);
    lane *l = find_lane(heap, false);
    dbg_header *evicted = l ? evict_to(l, budget()) : NULL;
    pthread_mutex_unlock(&quar.lock);
    release(evicted);
}

size_t hp_debug_flush(hp_heap *heap)
{
    pthread_mutex_lock(&quar.lock);
    lane *l = find_lane(heap, false);
    dbg_header *list = l ? take_all(l) : NULL;
    pthread_mutex_unlock(&quar.lock);
    return release(list);
}

void hp_debug_heap_deleted(hp_heap *heap)
{
    if (!heap)
        return;
    pthread_mutex_lock(&quar.lock);
    lane *l = find_lane(heap, false);
    dbg_header *list = NULL;
    if (l) {
        list = take_all(l);
        l->used = false;
        l->heap = NULL;
    }
    pthread_mutex_unlock(&quar.lock);
    for (; list; list = list->next)
        dbg_check_freed(list); /* the core frees them with the heap */
}

void hp_debug_held(hp_heap *heap, size_t *blocks, size_t *bytes)
{
    pthread_mutex_lock(&quar.lock);
    lane *l = find_lane(heap, false);
    if (blocks)
        *blocks = l ? l->blocks : 0;
    if (bytes)
        *bytes = l ? l->bytes : 0;
    pthread_mutex_unlock(&quar.lock);
}

size_t hp_debug_check(void)
{
    size_t n = 0;
    pthread_mutex_lock(&quar.lock);
    for (int i = 0; i < QUAR_LANES; i++) {
        lane *l = &quar.lanes[i];
        size_t blocks = 0, bytes = 0;
        for (dbg_header *h = l->oldest; h; h = h->next) {
            dbg_check_freed(h);
            blocks++;
            bytes += h->block_size;
            if (!h->next && h != l->newest)
                om_fatal("debug quarantine lane %d broken: its last block %p is not its newest", i,
                         (void *)h);
        }
        if (blocks != l->blocks || bytes != l->bytes)
            om_fatal("debug quarantine lane %d holds %zu blocks / %zu bytes, counted %zu / %zu", i,
                     blocks, bytes, l->blocks, l->bytes);
        n += blocks;
    }
    pthread_mutex_unlock(&quar.lock);
    return n;
}

/* ---- fork: the child gets the lanes as they were, and a free mutex --------------- */

static void before_fork(void)
{
    pthread_mutex_lock(&quar.lock);
}
static void after_fork(void)
{
    pthread_mutex_unlock(&quar.lock);
}

__attribute__((constructor)) static void install_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}
