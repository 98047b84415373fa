/*
 * trace/tracer.c: the tracer's state, its hooks in the heap, and the
 * om_trace_* controls (start, stop, clear, traced memory, peak).
 *
 * Strategy.  The heap calls on_alloc / on_free for every block of every
 * heap while the exact hooks are installed (one branch on the heap's fast
 * path otherwise).  A hook captures its frames with no lock held, then
 * takes the one tracer lock to intern the traceback and write its id where
 * the block's address says (blocks.c: per 64 KiB slot, an array indexed by
 * block, no hashing); the rare block that index refuses goes to the hash
 * table (store.c), as do sampled traces:
 *
 *     om_malloc ... -> heap slow lane -> on_alloc: frame 0 (the site), or
 *                                                  unwind (no lock)
 *                                                  lock: intern traceback
 *                                                        (site cache first),
 *                                                        id into the blocks
 *                                                        index (else table),
 *                                                        current, peak
 *     om_free ...   -> heap slow lane -> on_free:  lock: take the id out
 *                                                        (by the heap's size
 *                                                        of the block), current
 *
 * The blocks of private heaps (every object, and the buffers objects own)
 * take a shorter way: the heap keeps a traceback id beside each of them
 * itself (heap/ids.c), and its id lanes do the common case with no call
 * and no lock, from the thread's hp_ids_local, which this file fills:
 *
 *     om_new ...    -> heap id lane: key = the site (or return address);
 *                      the thread's cache[key] -> id (of one heap); its
 *                      counts (counts.c); the id into the pool's array
 *     release       -> heap id lane: the id read back; the thread's counts
 *
 * A miss of the cache, a thread that does not own the counts (counts.c),
 * an open region or nframe > 1 call the id hooks here, which take the lock
 * (id_alloc_locked: intern, fill the cache, maybe take the ownership).
 * Snapshots read the ids back by walking the live blocks (hp_ids_each).
 *
 * Sampling mode (om_trace_start_sampling) leaves the choice to the heap:
 * its hooks carry sample_bytes = M, and each heap counts down the bytes its
 * fast path hands out, calling on_alloc only for the allocation that
 * crosses zero (gaps drawn from an exponential distribution of mean M).
 * Unsampled allocations never leave the heap's inline pop, and the callers'
 * call-site macros stay off except within HP_SAMPLE_NEAR bytes of a heap's
 * next sample (the heap counts itself into om_trace_sites_on there; the
 * tracer's bit 1 is set only for exact tracing and its own countdown), so
 * an unsampled call pays one load and a branch not taken.  The sampled
 * points form a Poisson process of rate 1/M over allocated bytes, so a
 * block of s bytes holds at least one of them with probability
 *
 *     p(s) = 1 - exp(-s/M)
 *
 * (the process is memoryless, so this holds whatever came before, and the
 * heap's fresh draw after a block holding two points changes nothing).
 * Each sampled block is recorded with the weight w(s) = s / p(s)
 * (sample.c), the Horvitz-Thompson estimator: E[w(s) 1{sampled}] = s for
 * every block, so every total (current, peak, per line) is an unbiased
 * estimate.  w(s) lies between max(s, M) and s + M (about M + s/2 for
 * s << M, s for s >> M); max(s, M) alone would read 63% of blocks of M.
 *
 *     blocks         [ a ][  b  ][c][   d    ][e][ f  ][g ][  h  ]
 *     sampled bytes          x           x                    x     gaps ~ Exp(M)
 *     recorded               b           d                    h     each as w(its size)
 *
 * The heap counts requested bytes and reports usable ones, and p is taken
 * of the usable size: a size its class rounds up is estimated between its
 * requested and its usable bytes.  The heap does not count the blocks a
 * pool refill serves, which lowers the rate by their share (docs/design.md
 * has both measured).  The heap serves each sampled block from a pool of
 * sampled blocks, so on_free arrives for sampled blocks only (and for
 * blocks sampled before a restart: the table ignores those); with the
 * tracer's own countdown it arrives for every free, and a small counting
 * filter of sampled addresses turns most of them away before the lock.
 * The heap never samples the debug heap's blocks: when
 * the debug heap is on at the start, sampling installs the exact hooks and
 * counts down itself, per thread, in the hook (tr_sample_own: the same
 * process, slower).
 *
 * The lock (a spin lock, see trace.h) is held across fork (pthread_atfork)
 * so a child starts with a consistent table.  The tracer's memory comes
 * from tr_map; when it runs out a trace is dropped and counted in `lost`,
 * never the allocation.
 */
#include <stdatomic.h>
#include <execinfo.h>
#include <sched.h>
#include <string.h>

#include "heap/heap.h"
#include "heap/special.h"
#include "trace/trace.h"

#define DEFAULT_MEAN_BYTES (512 * 1024) /* sampling: mean bytes between samples */
/* A throw-away allocation at the start of sampling, larger than the interval
 * (1 MiB) at which a heap with sampling off looks whether it was turned on:
 * it makes the starting thread's heap draw its first gap at once. */
#define WARM_BYTES   (2u << 20)
#define FILTER_SLOTS 65536 /* counting filter of sampled addresses */
#define MAX_DOMAINS  256   /* private heaps named; more share the last */

tr_state tr_global;

void tr_lock_slow(tr_state *g)
{
    for (;;) {
        for (int i = 0; i < TR_SPINS; i++)
            if (!atomic_load_explicit(&g->lock, memory_order_relaxed) &&
                !atomic_exchange_explicit(&g->lock, 1, memory_order_acquire))
                return;
        sched_yield();
    }
}

/* Read by the hooks with no lock: 0 when off, else the traceback limit. */
static _Atomic int active_nframe;
static _Atomic size_t active_mean;
static _Atomic bool active_own; /* sampling with the tracer's countdown (debug heap) */
static _Atomic uint8_t sample_filter[FILTER_SLOTS];
static OM_THREAD_LOCAL bool warming; /* on_alloc ignores the start's warm-up block */

static const void *domain_heaps[MAX_DOMAINS];
static uint32_t ndomains;

uint32_t tr_domain_of_heap(const void *heap)
{
    if (!heap)
        return 0;
    for (uint32_t i = 0; i < ndomains; i++)
        if (domain_heaps[i] == heap)
            return i + 1;
    if (ndomains == MAX_DOMAINS)
        return MAX_DOMAINS;
    domain_heaps[ndomains++] = heap;
    return ndomains;
}

/* ---- sampling (weights: sample.c) --------------------------------------------- */
static inline size_t filter_slot(uintptr_t addr)
{
    return (size_t)(((uint64_t)addr * 0x9e3779b97f4a7c15ull) >> 48);
}

static void filter_add(uintptr_t addr)
{
    _Atomic uint8_t *c = &sample_filter[filter_slot(addr)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v < UINT8_MAX)
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void filter_remove(uintptr_t addr)
{
    _Atomic uint8_t *c = &sample_filter[filter_slot(addr)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v > 0 && v < UINT8_MAX) /* a saturated counter stays: it no longer counts */
        atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
}

/* ---- the hooks ------------------------------------------------------------------ */
/* Each thread's last one-frame tracebacks, direct-mapped by frame word
 * (the heap's hp_ids_local cache: its key is the word without the site
 * bit; all its entries are of one heap, c->heap): a site seen lately maps
 * to its traceback id with one compare, no hash of the frames, no scan of
 * the domains and no probe of the index.  Written under the tracer's
 * lock, only while nframe is 1; `epoch` is the tracer's epoch + 1 when the
 * entries were made, so that a new thread's zeroed cache, or one from
 * before a clear, never matches.  The heap's id lanes read it with no
 * lock, only while the thread owns the counts (its `lane`, counts.c, is
 * then the cache's heap): ownership is taken under the lock after the
 * cache was checked (site_cache_fresh) and lost at every clear. */
static inline void site_cache_fresh(tr_state *g)
{
    hp_ids_local *c = &hp_ids_me;
    if (c->epoch != g->epoch + 1) {
        memset(c->cache, 0, sizeof c->cache);
        tr_counts_cache_of(c, NULL);
        c->epoch = g->epoch + 1;
    }
}

/* The cache's entries are of one heap at a time (the lane compares the
 * heap once, not per entry): another heap's site empties it. */
static inline void site_cache_for(tr_state *g, const void *heap)
{
    hp_ids_local *c = &hp_ids_me;
    site_cache_fresh(g);
    if (c->heap != heap) {
        memset(c->cache, 0, sizeof c->cache);
        tr_counts_cache_of(c, heap);
    }
}

/* The hook path's own cache of one-frame tracebacks, keyed by frame word
 * and heap, for the blocks reported to on_alloc (the global heap's, and
 * private heaps' blocks without an id), so that they never disturb the
 * lanes' cache of one heap.  Tagged with the tracer's epoch + 1 like it. */
static OM_THREAD_LOCAL struct hook_site {
    uintptr_t key;
    const void *heap;
    uint32_t id;
} hook_sites[HP_IDS_CACHE];
static OM_THREAD_LOCAL uint64_t hook_sites_epoch;

static inline struct hook_site *hook_site_of(tr_state *g, uintptr_t key, const void *heap)
{
    if (hook_sites_epoch != g->epoch + 1) {
        memset(hook_sites, 0, sizeof hook_sites);
        hook_sites_epoch = g->epoch + 1;
    }
    struct hook_site *e = &hook_sites[hp_ids_cache_slot(key)];
    if (e->heap != heap) {
        e->heap = heap;
        e->key = 0;
    }
    return e;
}

/* The traceback id of frames for a block of heap; lane: the id hooks'
 * (their cache is the one the heap's lanes read). */
static inline uint32_t intern(tr_state *g, const void *heap, const uintptr_t *frames, unsigned n,
                              unsigned total, bool lane)
{
    if (n != 1 || total != 1 || g->nframe != 1) /* deeper stacks: a hash of all their frames */
        return tr_tbs_intern(&g->tbs, tr_domain_of_heap(heap), frames, n, total);
    uintptr_t key = frames[0] & ~TR_FRAME_SITE, *ekey;
    uint32_t *eid;
    if (lane) {
        site_cache_for(g, heap);
        struct hp_ids_entry *e = &hp_ids_me.cache[hp_ids_cache_slot(key)];
        ekey = &e->key;
        eid = &e->id;
    } else {
        struct hook_site *e = hook_site_of(g, key, heap);
        ekey = &e->key;
        eid = &e->id;
    }
    if (*ekey == key && key)
        return *eid - 1;
    uint32_t tb = tr_tbs_intern(&g->tbs, tr_domain_of_heap(heap), frames, n, total);
    if (tb != TR_NO_TB) {
        *ekey = key;
        *eid = tb + 1;
    }
    return tb;
}

/* Exact traces go to the blocks index when it takes them (their size is
 * the heap's, as the free will report it); sampled ones, which carry a
 * weight instead, and the blocks it refuses go to the table. */
static int insert(tr_state *g, uintptr_t addr, size_t size, uint32_t tb, bool exact,
                  size_t *replaced)
{
    *replaced = 0;
    int rc = exact ? tr_blocks_insert(&g->blocks, addr, size, tb, replaced) : 1;
    if (rc == 1)
        rc = tr_table_insert(&g->table, addr, size, tb);
    return rc;
}

static bool take(tr_state *g, uintptr_t addr, size_t size, bool exact, size_t *traced, uint32_t *tb)
{
    if (exact && tr_blocks_remove(&g->blocks, addr, size, tb)) {
        *traced = size;
        return true;
    }
    return tr_table_remove(&g->table, addr, traced, tb);
}

/* What only regions read (as differences: they are kept only while one is open). */
static inline void count_alloc(tr_state *g, uint32_t tb, size_t size)
{
    om_assert_internal(tb < g->tbs.count); /* the site cache hands out live ids only */
    if (OM_UNLIKELY(g->region_mask)) {
        tr_tb *r = tr_tbs_get(&g->tbs, tb);
        r->alloc_bytes += size;
        r->alloc_count++;
        g->alloc_bytes += size;
        g->alloc_count++;
    }
}

static inline void count_free(tr_state *g, size_t bytes, size_t n, bool own)
{
    if (OM_UNLIKELY(g->region_mask)) {
        g->free_bytes += bytes;
        g->free_count += n;
    }
    tr_count(g, tr_thread_get(g), -(int64_t)bytes, -(int64_t)n, 0, own);
}

static inline __attribute__((always_inline)) void record(tr_state *g, uintptr_t addr, size_t size,
                                                         const void *heap, const uintptr_t *frames,
                                                         unsigned n, unsigned total, bool exact)
{
    uint32_t tb = intern(g, heap, frames, n, total, false);
    size_t replaced;
    if (tb == TR_NO_TB || insert(g, addr, size, tb, exact, &replaced) != 0) {
        g->lost++;
        return;
    }
    count_alloc(g, tb, size);
    /* a replaced trace (a block whose free was missed) leaves the count as it was */
    tr_count(g, tr_thread_get(g), (int64_t)size - (int64_t)replaced, replaced ? 0 : 1, 1, false);
}

/* The hooks of exact tracing with one frame, the common case: frame 0 is
 * read inline, the site cache stands in front of the interning, and no
 * test of the mode is needed (these hooks are installed for it alone). */
static void on_alloc_site(void *p, size_t size, hp_heap *heap, void *caller)
{
    tr_state *g = &tr_global;
    uintptr_t word = tr_first_frame(caller);
    tr_lock(g);
    if (OM_LIKELY(g->tracing && p))
        record(g, (uintptr_t)p, size, heap, &word, 1, 1, true);
    tr_unlock(g);
}

static void on_free_exact(void *p, size_t size, hp_heap *heap)
{
    (void)heap;
    tr_state *g = &tr_global;
    size_t traced;
    uint32_t tb;
    tr_lock(g);
    if (OM_LIKELY(g->tracing && p) && take(g, (uintptr_t)p, size, true, &traced, &tb))
        count_free(g, traced, 1, false);
    tr_unlock(g);
}

static bool capturing_now(void);

static void on_alloc(void *p, size_t size, hp_heap *heap, void *caller)
{
    int nframe = atomic_load_explicit(&active_nframe, memory_order_relaxed);
    if (!nframe || !p || capturing_now())
        return;
    size_t mean = atomic_load_explicit(&active_mean, memory_order_relaxed);
    if (mean) { /* the heap chose this block, or the tracer's own countdown does */
        if (warming)
            return;
        size = atomic_load_explicit(&active_own, memory_order_relaxed)
                   ? tr_sample_own(size, mean)
                   : tr_sample_weight(size, mean);
        if (!size)
            return;
    }
    tr_state *g = &tr_global;
    if (mean)
        tr_table_prefetch(&g->table, (uintptr_t)p);
    uintptr_t frames[OM_TRACE_MAX_FRAMES];
    unsigned total;
    unsigned n = tr_capture(frames, (unsigned)nframe, caller, &total);
    tr_lock(g);
    if (g->tracing) {
        record(g, (uintptr_t)p, size, heap, frames, n, total, !mean);
        if (mean)
            filter_add((uintptr_t)p);
    }
    tr_unlock(g);
}

static void on_free(void *p, size_t size, hp_heap *heap)
{
    (void)heap;
    if (!atomic_load_explicit(&active_nframe, memory_order_relaxed) || !p)
        return;
    bool sampling = atomic_load_explicit(&active_mean, memory_order_relaxed) != 0;
    if (sampling &&
        !atomic_load_explicit(&sample_filter[filter_slot((uintptr_t)p)], memory_order_relaxed))
        return;
    tr_state *g = &tr_global;
    if (sampling)
        tr_table_prefetch(&g->table, (uintptr_t)p);
    tr_lock(g);
    size_t traced;
    uint32_t tb;
    if (g->tracing && take(g, (uintptr_t)p, size, !sampling, &traced, &tb)) {
        count_free(g, traced, 1, false);
        if (sampling)
            filter_remove((uintptr_t)p);
    }
    tr_unlock(g);
}

/* ---- the id hooks: blocks whose ids the heap keeps (heap/ids.c) ---------------- */

/* Set while the id hooks unwind with no lock held: the unwinder may
 * allocate, and those allocations are not traced (the heap's own guard is
 * not set around the id hooks). */
static OM_THREAD_LOCAL bool capturing;

/* Everything but the owner's hit in its site cache: under the lock. */
static OM_NOINLINE void *id_alloc_locked(void *block, uint32_t *slot, size_t size, const void *heap,
                                         const uintptr_t *frames, unsigned n, unsigned total)
{
    tr_state *g = &tr_global;
    uint32_t id = 0;
    tr_lock(g);
    if (OM_LIKELY(g->tracing)) {
        site_cache_fresh(g); /* before ownership: the heap reads it with no lock */
        uint32_t tb = intern(g, heap, frames, n, total, true);
        if (tb != TR_NO_TB) {
            count_alloc(g, tb, size);
            tr_count(g, tr_thread_get(g), (int64_t)size, 1, 1, true);
            id = tb + 1;
        } else {
            g->lost++;
        }
    }
    tr_unlock(g);
    atomic_store_explicit((_Atomic uint32_t *)slot, id, memory_order_relaxed);
    return block;
}

/* One frame: what the heap's id lane could not find in the thread's cache
 * (or a thread that does not own the counts). */
static void *id_alloc_site(void *block, uint32_t *slot, size_t size, hp_heap *heap, void *caller)
{
    uintptr_t word = tr_first_frame(caller);
    return id_alloc_locked(block, slot, size, heap, &word, 1, 1);
}

static void *id_alloc_deep(void *block, uint32_t *slot, size_t size, hp_heap *heap, void *caller)
{
    int nframe = atomic_load_explicit(&active_nframe, memory_order_relaxed);
    if (!nframe || capturing) {
        atomic_store_explicit((_Atomic uint32_t *)slot, 0, memory_order_relaxed);
        return block;
    }
    uintptr_t frames[OM_TRACE_MAX_FRAMES];
    unsigned total;
    capturing = true;
    unsigned n = tr_capture(frames, (unsigned)nframe, caller, &total);
    capturing = false;
    return id_alloc_locked(block, slot, size, heap, frames, n, total);
}

static bool capturing_now(void)
{
    return capturing;
}

static OM_NOINLINE void id_free_locked(size_t size, size_t n)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    if (g->tracing) {
        site_cache_fresh(g); /* before ownership: the heap reads it with no lock */
        count_free(g, size * n, n, true);
    }
    tr_unlock(g);
}

/* The free of a block with an id by a thread that does not own the counts
 * (the owner's are counted inline by the heap). */
static void id_free(size_t size, size_t n, hp_heap *heap)
{
    (void)heap;
    id_free_locked(size, n);
}

/* Exact: every allocation and free takes the heap's slow lane, or its id
 * lane.  Sampling: sample_bytes is set by start() while no hooks are
 * installed; with the tracer's own countdown, no ids (weights are kept in
 * the table). */
static const hp_hooks exact_site_hooks = {on_alloc_site, on_free_exact, 0, id_alloc_site, id_free};
static const hp_hooks exact_hooks = {on_alloc, on_free, 0, id_alloc_deep, id_free};
static const hp_hooks own_sampling_hooks = {on_alloc, on_free, 0, NULL, NULL};
static hp_hooks sampling_hooks = {on_alloc, on_free, 0, NULL, NULL};

/* A heap with sampling off looks whether it was turned on only once per
 * WARM_BYTES / 2 allocated; until then it samples nothing.  One large block
 * makes the calling thread's heap start counting now (other threads' heaps
 * catch up within that interval). */
static void warm_sampling(void)
{
    warming = true;
    om_free(om_malloc(WARM_BYTES));
    warming = false;
}

/* ---- controls ------------------------------------------------------------------- */
static void lock_for_fork(void)
{
    tr_lock(&tr_global);
}
static void unlock_after_fork(void)
{
    tr_unlock(&tr_global);
}

static void prepare_once(void)
{
    void *warm[4];
    backtrace(warm, 4); /* the first call may load the unwinder: not inside a hook */
    tr_capture_init();
    tr_counts_init();
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static void forget_all(tr_state *g)
{
    tr_table_clear(&g->table);
    tr_blocks_clear(&g->blocks);
    tr_tbs_clear(&g->tbs);
    memset(sample_filter, 0, sizeof sample_filter);
    tr_counts_forget(g);
    hp_ids_forget();
    g->lost = 0;
    g->alloc_bytes = g->free_bytes = g->alloc_count = g->free_count = 0;
    for (int i = 0; i < TR_MAX_REGIONS; i++)
        g->region_peak[i] = 0;
    g->epoch++;
}

static int start(int nframe, size_t mean)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (nframe < 1 || nframe > OM_TRACE_MAX_FRAMES) {
        om_set_error("om_trace_start: nframe must be in 1..%d, not %d", OM_TRACE_MAX_FRAMES,
                     nframe);
        return -1;
    }
    pthread_once(&once, prepare_once);
    tr_state *g = &tr_global;
    tr_lock(g);
    if (g->tracing) {
        tr_unlock(g);
        om_set_error("om_trace_start: the tracer is already running (om_trace_stop first)");
        return -1;
    }
    forget_all(g);
    g->tracing = true;
    g->nframe = nframe;
    g->mean_bytes = mean;
    /* the heap does not sample the debug heap's blocks: count them here */
    bool own = mean && (__atomic_load_n(&hp_mode, __ATOMIC_RELAXED) & HP_MODE_DEBUG);
    atomic_store(&active_own, own);
    atomic_store(&active_mean, mean);
    atomic_store(&active_nframe, nframe);
    /* the call-site macros: at every call, or (the heap sampling) near a sample */
    if (!mean || own)
        __atomic_fetch_or(&om_trace_sites_on, 1, __ATOMIC_RELAXED);
    tr_unlock(g);
    if (mean && !own) {
        sampling_hooks.sample_bytes = mean;
        hp_hooks_install(&sampling_hooks);
        warm_sampling();
    } else {
        hp_hooks_install(mean          ? &own_sampling_hooks
                         : nframe == 1 ? &exact_site_hooks
                                       : &exact_hooks);
    }
    return 0;
}

int om_trace_start(int nframe)
{
    return start(nframe, 0);
}

int om_trace_start_sampling(int nframe, size_t mean_bytes)
{
    return start(nframe, mean_bytes ? mean_bytes : DEFAULT_MEAN_BYTES);
}

int om_trace_stop(void)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    if (!g->tracing) {
        tr_unlock(g);
        om_set_error("om_trace_stop: the tracer is not running");
        return -1;
    }
    atomic_store(&active_nframe, 0);
    atomic_store(&active_mean, 0);
    __atomic_fetch_and(&om_trace_sites_on, ~1, __ATOMIC_RELAXED);
    g->tracing = false;
    g->nframe = 0;
    g->mean_bytes = 0;
    g->region_mask = 0;
    forget_all(g);
    tr_unlock(g);
    hp_hooks_install(NULL); /* a hook still running finds `tracing` false */
    return 0;
}

bool om_trace_is_tracing(void)
{
    return atomic_load(&active_nframe) != 0;
}

int om_trace_get_traceback_limit(void)
{
    return atomic_load(&active_nframe);
}

void om_trace_clear_traces(void)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    uint32_t regions = g->region_mask;
    forget_all(g);
    g->region_mask = regions;
    tr_unlock(g);
}

void om_trace_get_traced_memory(size_t *current, size_t *peak)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    if (current)
        *current = tr_current(g);
    if (peak)
        *peak = tr_peak(g);
    tr_unlock(g);
}

void om_trace_reset_peak(void)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    tr_reset_peak(g);
    tr_unlock(g);
}

void om_trace_get_tracer_stats(om_trace_tracer_stats *out)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    *out = (om_trace_tracer_stats){
        .traces = tr_live_traces(g),
        .tracebacks = g->tbs.count,
        .table_bytes = tr_table_bytes(&g->table) + tr_blocks_bytes(&g->blocks) + hp_ids_bytes(),
        .traceback_bytes = g->tbs.bytes,
        .lost = g->lost,
        .sampled = tr_allocs(g),
        .mean_bytes = g->mean_bytes,
    };
    tr_unlock(g);
    if (out->traces)
        out->bytes_per_trace =
            (double)(out->table_bytes + out->traceback_bytes) / (double)out->traces;
}

size_t om_trace_get_tracemalloc_memory(void)
{
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    return st.table_bytes + st.traceback_bytes;
}

unsigned om_trace_domain_of(const void *p)
{
    const void *heap = hp_heap_of(p);
    tr_lock(&tr_global);
    unsigned d = tr_domain_of_heap(heap);
    tr_unlock(&tr_global);
    return d;
}

/* ---- copies for snapshots and lookups ------------------------------------------- */
bool tr_find_traceback(uintptr_t addr, uintptr_t *frames, unsigned *nframe, unsigned *total,
                       unsigned *domain)
{
    tr_state *g = &tr_global;
    size_t size;
    uint32_t tb, id = hp_ids_of((const void *)addr); /* no lock: the heap's own */
    bool found = false;
    tr_lock(g);
    if (g->tracing && id && id - 1 < g->tbs.count)
        tb = id - 1;
    else
        id = 0;
    if (g->tracing && (id || tr_blocks_find(&g->blocks, addr, &size, &tb) ||
                       tr_table_find(&g->table, addr, &size, &tb))) {
        const tr_tb *r = tr_tbs_get(&g->tbs, tb);
        memcpy(frames, r->frames, r->nframe * sizeof *frames);
        *nframe = r->nframe;
        *total = r->total_nframe;
        *domain = r->domain;
        found = true;
    }
    tr_unlock(g);
    return found;
}

static size_t tb_bytes(const tr_tb *r)
{
    return sizeof *r + r->nframe * sizeof(uintptr_t);
}

struct raw_fill {
    struct tr_raw_trace *traces;
    size_t k, cap;
    size_t ntbs; /* ids at or past it were interned after the copy: left out */
};

static void add_raw(size_t size, uint32_t tb, void *arg)
{
    struct raw_fill *f = arg;
    f->traces[f->k++] = (struct tr_raw_trace){size, tb};
}

/* A trace whose id the heap keeps (hp_ids_each). */
static void add_raw_id(uint32_t id, size_t size, void *arg)
{
    struct raw_fill *f = arg;
    if (f->k < f->cap && id - 1 < f->ntbs)
        f->traces[f->k++] = (struct tr_raw_trace){size, id - 1};
}

/* The tracer's own traces and the tracebacks; room: traces to leave for
 * the heap's ids after them. */
static void copy_raw(tr_state *g, tr_raw *raw, char *mem, struct raw_fill *fill, size_t room)
{
    raw->traces = (struct tr_raw_trace *)mem;
    *fill = (struct raw_fill){raw->traces, 0, raw->ntraces + room, raw->ntbs};
    for (size_t i = 0; i < g->table.cap; i++) {
        const tr_slot *s = &g->table.slots[i];
        if (s->key)
            add_raw(tr_slot_size(&g->table, s), s->tb, fill);
    }
    tr_blocks_each(&g->blocks, add_raw, fill);
    mem += (raw->ntraces + room) * sizeof *raw->traces;
    raw->tbs = (tr_tb **)mem;
    mem += raw->ntbs * sizeof *raw->tbs;
    for (size_t i = 0; i < raw->ntbs; i++) {
        const tr_tb *r = tr_tbs_get(&g->tbs, (uint32_t)i);
        memcpy(mem, r, tb_bytes(r));
        raw->tbs[i] = (tr_tb *)mem;
        mem += (tb_bytes(r) + 15) & ~(size_t)15;
    }
}

/* One try: -1 (message) when tracing is off or memory ran out, 1 when the
 * traces were forgotten while the heap's ids were read (try again). */
static int raw_take_once(tr_raw *raw)
{
    tr_state *g = &tr_global;
    size_t ids = hp_ids_each(NULL, NULL); /* heap lock: never under the tracer's */
    size_t room = ids + ids / 8 + 64;     /* and what other threads add meanwhile */
    memset(raw, 0, sizeof *raw);
    tr_lock(g);
    if (!g->tracing) {
        tr_unlock(g);
        om_set_error("om_trace_take_snapshot: the tracer is not running (om_trace_start first)");
        return -1;
    }
    uint64_t epoch = g->epoch;
    raw->nframe = g->nframe;
    raw->ntraces = g->table.count + g->blocks.count;
    raw->ntbs = g->tbs.count;
    size_t bytes = (raw->ntraces + room) * sizeof *raw->traces + raw->ntbs * sizeof *raw->tbs + 16;
    for (size_t i = 0; i < raw->ntbs; i++)
        bytes += (tb_bytes(tr_tbs_get(&g->tbs, (uint32_t)i)) + 15) & ~(size_t)15;
    char *mem = tr_map(bytes);
    struct raw_fill fill;
    if (mem) {
        copy_raw(g, raw, mem, &fill, room);
        raw->map = mem;
        raw->map_bytes = bytes;
    }
    tr_unlock(g);
    if (!mem) {
        om_set_error("om_trace_take_snapshot: out of memory for %zu traces", raw->ntraces + ids);
        return -1;
    }
    hp_ids_each(add_raw_id, &fill);
    raw->ntraces = fill.k;
    tr_lock(g);
    bool same = g->tracing && g->epoch == epoch;
    tr_unlock(g);
    if (!same) {
        tr_raw_free(raw);
        return 1;
    }
    return 0;
}

int tr_raw_take(tr_raw *raw)
{
    int rc;
    for (int tries = 0; (rc = raw_take_once(raw)) == 1; tries++)
        if (tries == 8) {
            om_set_error("om_trace_take_snapshot: the traces were cleared under it");
            return -1;
        }
    return rc;
}

void tr_raw_free(tr_raw *raw)
{
    tr_unmap(raw->map, raw->map_bytes);
    memset(raw, 0, sizeof *raw);
}
