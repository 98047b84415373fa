/*
 * heap/ids.c: an id beside every block of the private heaps' plain pools,
 * kept for the tracer's hooks (hp_hooks.id_alloc / id_free, heap/special.h).
 *
 * Strategy.  Exact tracing needs, for each live block, the id of the
 * traceback that allocated it, and on its free whether it had one.  A
 * table keyed by address (the tracer's own) costs a lock and a lookup per
 * allocation and per free; here the heap keeps the id in an array of the
 * block's pool, indexed like the pool's live bits (offset >> shift), so the
 * allocation's inline pop writes one word and the free reads it back:
 *
 *     pool descriptor  ... live ---> bitmap, 1 bit a granule of 2^shift bytes
 *                      ... ids  ---> uint32_t ids[live_words * 64]
 *                          ids_epoch == hp_ids_epoch: the ids are this session's
 *
 * Only private heaps' pools are exact (their live bits are kept), so only
 * they carry ids: a walk reads a live block's id from its bit, with no
 * table of traces at all (hp_ids_each, for snapshots).  A pool gets its
 * array at its first allocation while ids are on (hp_ids_arm, by the
 * owner); hp_ids_forget bumps the epoch, and each pool zeroes its array
 * again at its next allocation (the owner is the only writer, so arrays
 * are never taken from under a thread that is writing them).  The array
 * goes back when the pool goes back to its arena.
 *
 * Memory: arrays of 256 bytes (one live word: up to 64 granules) to 16 KiB
 * (64 words), powers of two, carved from 64 KiB mappings under hp_lock
 * (whose first 256 bytes link the mappings) and kept on free lists by
 * size; all mappings go back when no array is in use.  A pool of 32-byte
 * blocks (2048 of them) costs 8 KiB: 4 bytes a block.
 *
 * The lanes that write and read the ids, and count for the tracer while
 * they do, are in heap/alloc.c; the per-thread state they use with no call
 * (hp_ids_local: the tracer's counts and cache of ids) is defined here.
 */
#include "heap/fast.h"

#define IDS_CHUNK   ((size_t)64 << 10) /* a mapping arrays are carved from: 3 of the largest */
#define IDS_MIN     256                /* bytes of the smallest array: one live word */
#define IDS_BUCKETS 7                  /* 256 B .. 16 KiB: HP_LIVE_WORDS words */
_Static_assert((IDS_MIN << (IDS_BUCKETS - 1)) == HP_LIVE_WORDS * 64 * sizeof(uint32_t),
               "the largest array holds an id per live bit of a pool");

uint32_t hp_ids_epoch = 1; /* pools start at 0: never armed */
OM_THREAD_LOCAL hp_ids_local hp_ids_me;
hp_ids_local *hp_ids_owner;

/* Under hp_lock. */
static void *free_arrays[IDS_BUCKETS];
static char *chunk;         /* carving from here */
static size_t chunk_used;   /* bytes of chunk handed out */
static void **chunks;       /* every mapping, in a list threaded through their first words */
static size_t arrays_used;  /* arrays handed out and not given back */
static size_t mapped_bytes; /* read relaxed by hp_ids_bytes */

static unsigned bucket_of(const hp_pool *p)
{
    unsigned k = 0;
    while (((size_t)1 << k) < p->live_words)
        k++;
    return k;
}

static size_t array_bytes(unsigned k)
{
    return (size_t)IDS_MIN << k;
}

static uint32_t *array_take_locked(unsigned k)
{
    void **head = &free_arrays[k];
    if (*head) {
        void **a = *head;
        *head = *a;
        *a = NULL;
        arrays_used++;
        return (uint32_t *)a;
    }
    size_t bytes = array_bytes(k);
    if (!chunk || chunk_used + bytes > IDS_CHUNK) {
        char *c = os_map_aligned(IDS_CHUNK, os_page_size());
        if (!c)
            return NULL;
        *(void ***)c = chunks; /* the first IDS_MIN bytes link the mappings */
        chunks = (void **)c;
        chunk = c;
        chunk_used = IDS_MIN;
        HP_STORE(&mapped_bytes, mapped_bytes + IDS_CHUNK);
    }
    void *a = chunk + chunk_used;
    chunk_used += bytes;
    arrays_used++;
    return a;
}

/* a is all zero but its first word, which links it. */
static void array_give_locked(uint32_t *a, unsigned k)
{
    void **link = (void **)a;
    *link = free_arrays[k];
    free_arrays[k] = link;
    if (--arrays_used > 0)
        return;
    while (chunks) { /* nothing in use: every mapping goes back */
        void **next = *chunks;
        os_unmap(chunks, IDS_CHUNK);
        chunks = next;
    }
    memset(free_arrays, 0, sizeof free_arrays);
    chunk = NULL;
    chunk_used = 0;
    HP_STORE(&mapped_bytes, (size_t)0);
}

void hp_ids_forget(void)
{
    __atomic_add_fetch(&hp_ids_epoch, 1, __ATOMIC_RELEASE);
}

/* Zeroes with word stores that walks may race with (they skip the pool
 * until the epoch below says the zeroing is done, but TSan cannot know). */
static void zero_ids(uint32_t *ids, size_t bytes)
{
    uint64_t *w = (uint64_t *)ids;
    for (size_t i = 0; i < bytes / sizeof *w; i++)
        HP_STORE(&w[i], (uint64_t)0);
}

bool hp_ids_arm(hp_pool *p)
{
    uint32_t epoch = __atomic_load_n(&hp_ids_epoch, __ATOMIC_ACQUIRE);
    unsigned k = bucket_of(p);
    uint32_t *ids = HP_LOAD(&p->ids);
    if (ids) {
        zero_ids(ids, array_bytes(k));
    } else {
        pthread_mutex_lock(&hp_lock);
        ids = array_take_locked(k);
        pthread_mutex_unlock(&hp_lock);
        if (!ids)
            return false;
        __atomic_store_n(&p->ids, ids, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&p->ids_epoch, epoch, __ATOMIC_RELEASE);
    return true;
}

/* The live blocks of p with an id, each given to fn (NULL: only counted). */
static size_t each_in_pool(const hp_pool *p, const uint32_t *ids, hp_ids_fn fn, void *arg)
{
    size_t n = 0;
    for (size_t w = 0; w < p->live_words; w++) {
        for (uint64_t bits = HP_LOAD(&p->live[w]); bits; bits &= bits - 1) {
            uint32_t id = HP_LOAD(&ids[w * 64 + (size_t)__builtin_ctzll(bits)]);
            if (!id)
                continue;
            n++;
            if (fn)
                fn(id, p->block_size, arg);
        }
    }
    return n;
}

/* p's ids when they belong to this epoch, else NULL. */
static const uint32_t *current_ids(const hp_pool *p)
{
    uint32_t epoch = __atomic_load_n(&p->ids_epoch, __ATOMIC_ACQUIRE);
    if (epoch != __atomic_load_n(&hp_ids_epoch, __ATOMIC_ACQUIRE))
        return NULL;
    return __atomic_load_n(&p->ids, __ATOMIC_ACQUIRE);
}

void hp_ids_pool_gone_locked(hp_pool *p)
{
    uint32_t *ids = HP_LOAD(&p->ids);
    if (!ids)
        return;
    size_t n = hp_pool_used(p) && current_ids(p) ? each_in_pool(p, ids, NULL, NULL) : 0;
    if (n)
        hp_ids_report_drop(p, n);
    unsigned k = bucket_of(p);
    zero_ids(ids, array_bytes(k));
    HP_STORE(&p->ids, (uint32_t *)NULL);
    HP_STORE(&p->ids_epoch, 0u);
    array_give_locked(ids, k);
}

size_t hp_ids_each(hp_ids_fn fn, void *arg)
{
    size_t n = 0;
    pthread_mutex_lock(&hp_lock);
    for (hp_segment *s = hp_segments_first(); s; s = s->next) {
        if (s->kind != HP_SEG_ARENA)
            continue;
        for (unsigned i = 0; i < HP_SLOTS; i++) {
            const hp_pool *p = &s->pools[i];
            const uint32_t *ids = HP_LOAD(&p->span) ? current_ids(p) : NULL;
            if (ids)
                n += each_in_pool(p, ids, fn, arg);
        }
    }
    pthread_mutex_unlock(&hp_lock);
    return n;
}

uint32_t hp_ids_of(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool || pool->kind != HP_KIND_PLAIN || pool->cls == HP_CLASS_LARGE)
        return 0;
    const uint32_t *ids = current_ids(pool);
    long idx = hp_block_index(pool, p);
    if (!ids || idx < 0 || pool->start + (size_t)idx * pool->block_size != (uintptr_t)p ||
        !hp_live_test(pool, (size_t)idx))
        return 0;
    return HP_LOAD(hp_ids_slot(pool, p));
}

size_t hp_ids_bytes(void)
{
    return HP_LOAD(&mapped_bytes);
}
