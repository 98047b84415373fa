/*
 * heap/alloc.c: the public malloc family, the private-heap entry points,
 * and the slow lane (debug heap, fault injection, hooks, secure mode).
 *
 * Fast paths (heap/fast.h; no lock, no atomic read-modify-write):
 *
 *   alloc  class = size class; pool = heap->cur[plain][class];
 *          pop pool->free; above++ (live count); count      (about 27 instructions)
 *   free   registry byte -> segment -> slot -> pool;
 *          if pool->fast is this heap (and no mode): check the block start
 *          (one multiply), the carve watermark and the free-list head; push
 *          pool->free, above--; count                      (about 40 instructions)
 *          else hp_free_lane: a plain block of another thread's heap is
 *          pushed on pool->thread_free (one CAS, free_remote); everything
 *          else takes the general path (free_general)
 *
 * The thread heap's pools are inexact (heap/core.h): no live bit is set or
 * cleared here.  A private heap's entry points (hp_heap_alloc/free, calloc,
 * realloc) keep the bits, which its walks read.
 *
 * A mode (debug heap, fault injection, hooks, secure mode: hp_mode, whose
 * bits make every pop miss and every fast-owner compare fail) sends calls to
 * the slow lane; a missed pop without one goes to hp_alloc_generic
 * (heapcore.c).
 *
 * The id lanes (exact tracing: HP_MODE_HOOKS | HP_MODE_IDS and nothing
 * else) take a private heap's allocations and frees that the mode sent out
 * of the inline paths, and do the pop or push again with the block's id
 * beside it (heap/ids.c) and the tracer's per-thread counts, inline while
 * the thread owns them (hp_ids_local, heap/special.h):
 *
 *   alloc  key = call site or return address; the thread's lane == heap
 *          (it owns the counts, its cache is of this heap); cache[key]
 *          (its offset from the key's bits) -> id, one compare; pop as
 *          above; count bytes, hi, allocs; pool->ids[bit] = id
 *                                                   (about 58 instructions)
 *   free   pool->ids_epoch is this session's (so: a private heap's exact
 *          pool); block start and live-bit check; id = pool->ids[bit];
 *          push as above; count bytes, frees        (about 50 instructions)
 *
 * (their dispatch on the mode included; neither needs a frame, and the
 * owner's counters that one add can keep take one add to memory) and leave
 * by one tail call for the rest (a cache miss, another owner, a block
 * without an id, a pool without an array this session).
 *
 * The owner's kept blocks (the object layer's free lists) take the same id
 * work without the pop or push, inline in the owner (heap/fast.h:
 * hp_heap_ids_try_take, about 35 instructions; hp_heap_ids_try_drop, about
 * 20); their rare ways (hp_heap_ids_take_rare, hp_heap_ids_drop_rare) are
 * the hooks' as above.
 */
#include "heap/fast.h"
#include "objmem/trace.h" /* om_trace_site_tls: the call site the id lanes' cache is keyed by */

/* om_trace_site_tls: defined in this library (trace/capture.c) and
 * declared initial-exec in heap/fast.h, so that the id lanes read it with
 * one load even in the shared library (the header's declaration would make
 * each read a __tls_get_addr call there). */

static const hp_hooks *hooks;
static OM_THREAD_LOCAL int in_hook; /* a hook that allocates does not recurse */

/* *p -= v for a 64-bit counter that only this thread writes, as HP_COUNT
 * adds: one subtract from memory on x86-64 (not locked; readers load it
 * whole, as with HP_STORE). */
#if defined(__x86_64__)
#define IDS_SUB(p, v) __asm__("subq %1, %0" : "+m"(*(p)) : "r"((int64_t)(v)))
#else
#define IDS_SUB(p, v) HP_STORE((p), HP_LOAD(p) - (int64_t)(v))
#endif

static void sites_all_far(void);

/* Exact hooks set HP_MODE_HOOKS (everything takes the slow lane); sampling
 * hooks only set the mean, which each heap notices within HP_SAMPLE_RECHECK
 * bytes of allocation. */
void hp_hooks_install(const hp_hooks *h)
{
    __atomic_store_n(&hooks, h, __ATOMIC_RELEASE);
    HP_STORE(&hp_sample_mean, h ? h->sample_bytes : 0);
    sites_all_far();
    if (h && !h->sample_bytes && h->id_alloc)
        hp_mode_set(HP_MODE_HOOKS | HP_MODE_IDS);
    else if (h && !h->sample_bytes)
        hp_mode_set(HP_MODE_HOOKS);
    if (!h || h->sample_bytes || !h->id_alloc)
        hp_mode_clear(HP_MODE_IDS);
    if (!h || h->sample_bytes)
        hp_mode_clear(HP_MODE_HOOKS);
}

/* The segment holding p when p is past the first 4 MiB of a large block. */
static hp_segment *segment_behind(uintptr_t a)
{
    if (a >> HP_ADDRESS_BITS)
        return NULL;
    size_t i = a >> HP_SEGMENT_SHIFT;
    while (i > 0 && HP_LOAD(&hp_registry[i]) == HP_REG_CONT)
        i--;
    if (HP_LOAD(&hp_registry[i]) != HP_REG_LARGE || i == a >> HP_SEGMENT_SHIFT)
        return NULL;
    return (hp_segment *)(i << HP_SEGMENT_SHIFT);
}

/* The pool of p, also when p is a large block aligned past the first 4 MiB of
 * its segment (alignments of 4 MiB and more); one line and abort if none. */
static OM_NOINLINE hp_pool *pool_behind_or_die(const void *p)
{
    hp_segment *s = segment_behind((uintptr_t)p);
    if (!s || s->kind != HP_SEG_LARGE)
        hp_invalid_free(p, "not allocated by objmem");
    hp_pool *pool = &s->pools[0];
    /* a debug block's user pointer lies inside its block; the debug heap checks it */
    uintptr_t a = (uintptr_t)p;
    if (a != pool->start && (pool->kind != HP_KIND_DEBUG || a - pool->start >= pool->block_size))
        hp_invalid_free(p, "not the start of a block");
    return pool;
}

static inline __attribute__((always_inline)) hp_pool *pool_or_die(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (OM_UNLIKELY(!pool))
        return pool_behind_or_die(p);
    return pool;
}

/* ---- the slow lane --------------------------------------------------------------------- */

/* The usable size the hooks are told, from the block's pool with no checks:
 * p is a block the heap has just handed out, or one about to be freed (the
 * free checks it after the report). */
static inline size_t reported_size(const hp_pool *pool, const void *p)
{
    return pool->kind == HP_KIND_DEBUG ? hp_debug_usable_size(p) : pool->block_size;
}

/* ---- block ids (heap/ids.c) ------------------------------------------------------------
 * With id hooks (HP_MODE_IDS), a private heap's plain small or medium block
 * gets its id written beside it by every allocation path, so that no block
 * of an armed pool keeps the id of an earlier block; its free reads it. */
static inline bool ids_pool(const hp_pool *pool, const hp_heap *h)
{
    return h && pool->kind == HP_KIND_PLAIN && pool->cls != HP_CLASS_LARGE;
}

/* Block b of private heap h, just handed out from pool p: false when p
 * cannot get an array (report b as usual then). */
static bool ids_note_alloc(const hp_hooks *hk, hp_pool *p, void *b, hp_heap *h, void *caller)
{
    if (HP_LOAD(&p->ids_epoch) != HP_LOAD(&hp_ids_epoch) && !hp_ids_arm(p))
        return false;
    uint32_t *slot = hp_ids_slot(p, b);
    if (in_hook)
        HP_STORE(slot, 0u);
    else
        hk->id_alloc(b, slot, p->block_size, h, caller);
    return true;
}

/* The free of block b of pool p of private heap h: true when b had an id
 * (id_free was told), false when it must be reported as usual. */
static bool ids_note_free(const hp_hooks *hk, const hp_pool *p, void *b, hp_heap *h)
{
    if (HP_LOAD(&p->ids_epoch) != HP_LOAD(&hp_ids_epoch))
        return false;
    size_t g = ((uintptr_t)b - p->start) >> p->shift;
    uint32_t id = g < (size_t)p->live_words * 64 ? HP_LOAD(&p->ids[g]) : 0;
    if (!id)
        return false;
    if (!in_hook)
        hk->id_free(p->block_size, 1, h);
    return true;
}

void hp_ids_report_drop(hp_pool *p, size_t n)
{
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk || !hk->id_free || in_hook)
        return;
    in_hook = 1;
    hk->id_free(p->block_size, n, HP_LOAD(&p->heap));
    in_hook = 0;
}

/* size: the usable size, or 0 to look it up. */
static void report_alloc_sized(void *p, size_t size, hp_heap *h, void *caller)
{
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk)
        return;
    if (hk->id_alloc && h) {
        hp_pool *pool = pool_or_die(p);
        if (ids_pool(pool, h) && ids_note_alloc(hk, pool, p, h, caller))
            return;
    }
    if (!hk->on_alloc || in_hook)
        return;
    in_hook = 1;
    hk->on_alloc(p, size ? size : reported_size(pool_or_die(p), p), h, caller);
    in_hook = 0;
}

static void report_alloc(void *p, hp_heap *h, void *caller)
{
    report_alloc_sized(p, 0, h, caller);
}

static void report_free(const hp_pool *pool, void *p, hp_heap *h)
{
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk)
        return;
    if (hk->id_free && ids_pool(pool, h) && ids_note_free(hk, pool, p, h))
        return;
    if (!hk->on_free || in_hook)
        return;
    in_hook = 1;
    hk->on_free(p, reported_size(pool, p), h);
    in_hook = 0;
}

/* Exact hooks and no other mode: the inline pop serves the block.  Its
 * sampling countdown, which nothing tops up while the hooks are on, is
 * topped up here first (the recheck interval: sampling is off). */
static inline void *hooked_pop(hp_heap *arg, size_t size, size_t *usable)
{
    hp_heap *h = arg ? arg : hp_tls_heap;
    if (h == &hp_empty_heap)
        return NULL;
    if (h->sample_left < (int64_t)size)
        h->sample_left = HP_SAMPLE_RECHECK;
    void *b = hp_pop_below(h, size, arg != NULL, 0); /* the hooks' mode bit is on */
    if (b) /* the pool it came from is still the current one */
        *usable = h->cur[HP_KIND_PLAIN][hp_class_of(size)]->block_size;
    return b;
}

static OM_NOINLINE void *slow_alloc(hp_heap *h, size_t size, size_t align, void *caller)
{
    uint64_t mode = HP_LOAD(&hp_mode);
    void *p;
    size_t usable;
    if ((mode & ~HP_MODE_IDS) == HP_MODE_HOOKS && align <= 16 &&
        (p = hooked_pop(h, size, &usable))) {
        report_alloc_sized(p, usable, h, caller);
        return p;
    }
    if ((mode & HP_MODE_FAULT) && !in_hook && hp_fault_should_fail())
        return NULL; /* hp_fault_should_fail set errno and the message */
    if ((mode & HP_MODE_DEBUG) && !in_hook) {
        hp_op_enter();
        p = hp_debug_alloc(h, size, align);
        hp_op_leave();
    } else
        p = hp_alloc_generic(h, size, align, HP_KIND_PLAIN);
    if (p && (mode & HP_MODE_HOOKS))
        report_alloc(p, h, caller);
    return p;
}

/* ---- sampling (hp_hooks.sample_bytes) --------------------------------------------- */

/* The natural logarithm of a positive normal x, to about 1e-15 relative:
 * x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s) = 2 (s +
 * s^3/3 + s^5/5 + ...) with s = (m - 1) / (m + 1), |s| < 0.172, so twelve
 * terms reach double precision.  The heap's own rather than libm's log, so
 * that a program using only the heap does not load libm (a few hundred KiB
 * of resident memory, a tenth of the small-block benchmarks' footprint) for
 * the sampling gaps. */
double hp_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52); /* m in [1, 2) */
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k <= 23; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return 2 * sum + e * 0.6931471805599453;
}

/* The next gap: exponential with the given mean (inverse transform). */
static int64_t next_gap(hp_heap *h, size_t mean)
{
    double u = (double)((om_splitmix64(&h->sample_rng) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double gap = -hp_log(u) * (double)mean;
    return gap >= 0x1.0p53 ? (int64_t)1 << 53 : (int64_t)gap; /* below hp_mode's bits */
}

/* The call-site macros (objmem/trace.h) test one word, om_trace_sites_on:
 * the tracer's bit 1 asks for a site at every call (exact tracing); under
 * sampling the heap adds HP_SITES_NEAR for each heap whose next sample is
 * at most HP_SAMPLE_NEAR bytes away, so that only the calls near a sample
 * pay for a site.  Each gap is run in two legs:
 *
 *     gap drawn                far leg ran out          sample
 *     |-------- far leg --------|---- HP_SAMPLE_NEAR ----|
 *         macros off (no site)       macros on (sites)
 *
 * HP_SAMPLE_NEAR is at least the largest small block, so a small block
 * never crosses both ends at once: its sample always has the site.  A
 * large block may (its frame 0 is then the return address).  The heaps'
 * flags and the word change under hp_lock (twice a sample); installing
 * hooks clears them all, so a stopped tracer leaves the word at zero. */
#define HP_SITES_NEAR 2

static void sites_near(hp_heap *h, bool near)
{
    if (HP_LOAD(&h->sample_near) == near)
        return;
    pthread_mutex_lock(&hp_lock);
    if (h->sample_near != near) {
        HP_STORE(&h->sample_near, near);
        __atomic_add_fetch(&om_trace_sites_on, near ? HP_SITES_NEAR : -HP_SITES_NEAR,
                           __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&hp_lock);
}

/* h is retired (hp_lock held): its share of the word goes with it. */
void hp_sites_far_locked(hp_heap *h)
{
    if (h->sample_near)
        __atomic_sub_fetch(&om_trace_sites_on, HP_SITES_NEAR, __ATOMIC_RELAXED);
    HP_STORE(&h->sample_near, false);
}

/* Every heap far from a sample: hooks change (hp_lock taken here). */
static void sites_all_far(void)
{
    pthread_mutex_lock(&hp_lock);
    for (hp_heap *h = hp_heaps_first_locked(); h; h = h->next)
        HP_STORE(&h->sample_near, false);
    __atomic_and_fetch(&om_trace_sites_on, HP_SITES_NEAR - 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&hp_lock);
}

/* The countdown for a gap of `gap` bytes: its far leg, the near one kept
 * in h->sample_far (none when the gap is shorter: near at once). */
static int64_t far_leg(hp_heap *h, int64_t gap)
{
    if (gap > HP_SAMPLE_NEAR) {
        h->sample_far = HP_SAMPLE_NEAR;
        sites_near(h, false);
        return gap - HP_SAMPLE_NEAR;
    }
    h->sample_far = 0;
    sites_near(h, true);
    return gap;
}

/* The fast path's countdown ran out on h (which is not the empty heap): the
 * allocation is served here and, when sampling is on, reported.  A countdown
 * that was not a gap drawn here (a fresh heap, the recheck of a heap that
 * had sampling off, hooks installed since) draws one afresh (memoryless: the
 * same process from here) without sampling. */
static OM_NOINLINE void *sample_due(hp_heap *arg, hp_heap *h, size_t size, size_t align,
                                    void *caller)
{
    size_t mean = HP_LOAD(&hp_sample_mean);
    if (!mean) {
        h->sample_left = HP_SAMPLE_RECHECK;
        h->sample_far = 0;
        sites_near(h, false);
        return hp_alloc_generic(arg, size, align, HP_KIND_PLAIN);
    }
    bool armed = h->sample_left >= 0 && (HP_LOAD(&h->sample_near) || h->sample_far);
    if (armed && h->sample_far) { /* the far leg ran out: the macros go on */
        h->sample_left += h->sample_far;
        h->sample_far = 0;
        sites_near(h, true);
        if (h->sample_left >= (int64_t)size) {
            h->sample_left -= (int64_t)size;
            return hp_alloc_generic(arg, size, align, HP_KIND_PLAIN);
        }
    }
    int64_t left = armed ? h->sample_left - (int64_t)size + next_gap(h, mean) : -1;
    if (left < 0) /* not armed, or a block larger than the gap drawn: restart */
        left = next_gap(h, mean);
    h->sample_left = far_leg(h, left);
    if (!armed || in_hook)
        return hp_alloc_generic(arg, size, align, HP_KIND_PLAIN);
    /* a pool of sampled blocks: only their frees take the slow lane */
    void *p = hp_alloc_generic(arg, size, align, HP_KIND_SAMPLED);
    if (p)
        report_alloc(p, arg, caller);
    return p;
}

/* The pop missed: no free block in the current pool, or a sample is due. */
static inline void *alloc_miss(hp_heap *arg, size_t size, size_t align, void *caller)
{
    hp_heap *h = arg ? arg : hp_tls_heap;
    if (OM_UNLIKELY(h->sample_left < (int64_t)size && h != &hp_empty_heap))
        return sample_due(arg, h, size, align, caller);
    /* The countdown covers refills and large blocks too.  It never goes below
     * zero here (negative means "fresh heap"), and a huge size cannot wrap it. */
    if (h != &hp_empty_heap && h->sample_left >= 0)
        h->sample_left = (uint64_t)h->sample_left > size ? h->sample_left - (int64_t)size : 0;
    return hp_alloc_generic(arg, size, align, HP_KIND_PLAIN);
}

/* The free of a plain block of another thread's heap, the common case of
 * the lane (producer and consumer threads), without the lookups of the
 * general path: true when done.  pool is the descriptor of p's slot; an
 * alias or free slot has no owner and is left to the general path. */
static inline bool free_remote(hp_pool *pool, void *p)
{
    if (HP_LOAD(&pool->special)) /* the caller saw no mode */
        return false;
    hp_heap *owner = __atomic_load_n(&pool->heap, __ATOMIC_ACQUIRE), *me = hp_tls_heap;
    if (!owner || owner == me || owner->is_private || me == &hp_empty_heap)
        return false; /* the general path: local, private, abandoned, or a new thread */
    uintptr_t off = (uintptr_t)p - pool->start; /* below the slot size */
    if (OM_UNLIKELY(!hp_divides(pool, off) || off >= (uintptr_t)pool->capacity * pool->block_size))
        hp_invalid_free(p, "not the start of a block");
    hp_pool_push_remote(pool, p);
    HP_BUMP(&me->count.frees[pool->cls]);
    if (OM_UNLIKELY(++me->remote_frees % HP_REPORT_EVERY_REMOTE == 0))
        hp_heap_report_live(me);
    return true;
}

/* Frees user pointer p of any kind, reporting to the hooks. */
static OM_NOINLINE void free_general(hp_pool *pool, void *p)
{
    if (!HP_LOAD(&pool->span)) /* the caller had an alias or free slot */
        pool = pool_or_die(p);
    if ((HP_LOAD(&hp_mode) & HP_MODE_HOOKS) || (HP_LOAD(&pool->special) & HP_SPECIAL_SAMPLED)) {
        hp_heap *owner = HP_LOAD(&pool->heap);
        report_free(pool, p, owner && owner->is_private ? owner : NULL);
    }
    if (pool->kind == HP_KIND_DEBUG) {
        hp_op_enter();
        hp_debug_free(p);
        hp_op_leave();
    } else {
        hp_free_generic(pool, p);
    }
}

/* The id lanes (HP_MODE_IDS and no other mode).  Their common case is
 * inline, with the thread's hp_ids_local (heap/special.h) standing in for
 * the hooks; everything else ends in a tail call, so neither lane needs a
 * frame.
 *
 * A free: the owner's free into a plain pool of a private heap reads the
 * block's id back, pushes inline and counts; a block
 * without an id is reported as usual (ids_free_unknown); anything else
 * takes the lane's other ways, which report too.
 *
 * ids_free_unknown: p is not a live block start (the general path names
 * the bad free and aborts), or a block without an id. */
static OM_NOINLINE void ids_free_unknown(hp_heap *h, hp_pool *pool, void *p)
{
    uintptr_t off = (uintptr_t)p - pool->start;
    size_t g = off >> pool->shift;
    if (!((HP_LOAD(&pool->live[g >> 6]) >> (g & 63)) & 1) || (off & ((1u << pool->shift) - 1))) {
        free_general(pool, p);
        return;
    }
    report_free(pool, p, h);
    hp_push_owned(h, pool, p, true);
}

/* The free of a block with an id, counted: inline by the record's owner
 * (two adds to memory: only this thread writes them), else by the hook. */
static inline __attribute__((always_inline)) void ids_count_free(hp_heap *h, size_t size)
{
    hp_ids_local *me = &hp_ids_me;
    if (OM_LIKELY(HP_LOAD(&me->lane))) { /* the owner (of a cache of some heap) */
        IDS_SUB(&me->bytes, size);
        HP_COUNT(&me->frees);
        return;
    }
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (hk && hk->id_free && !in_hook)
        hk->id_free(size, 1, h);
}

static OM_NOINLINE void ids_free_emptied(hp_heap *h, hp_pool *pool, size_t size)
{
    hp_free_slow_local(h, pool);
    ids_count_free(h, size);
}

/* Not the id lane's common case: a pool not on the inline push (full, or
 * not a private heap's: a remote free, a thread heap's block) goes the
 * general way; a private heap's pool without an array of this session
 * (blocks from before the start or a clear) is checked, reported and
 * pushed. */
static OM_NOINLINE void ids_free_other(hp_heap *h, hp_pool *pool, void *p)
{
    if (OM_UNLIKELY(!h || !h->is_private)) {
        free_general(pool, p); /* a remote free, a special pool, a thread heap's block */
        return;
    }
    ids_free_unknown(h, pool, p); /* checks, reports (no id this session) and pushes */
}

/* A pool whose ids are of this session was armed by its owner, a private
 * heap (only they get arrays; a pool leaving its heap drops its array), so
 * the epoch compare also says "exact pool of a private heap". */
static inline __attribute__((always_inline)) void ids_free(hp_pool *pool, void *p)
{
    hp_heap *h = HP_LOAD(&pool->fast); /* plain: its owner, else NULL */
    unsigned shift = pool->shift;
    uintptr_t off = (uintptr_t)p - pool->start;
    size_t g = off >> shift;
    if (OM_UNLIKELY(!h || HP_LOAD(&pool->ids_epoch) != HP_LOAD(&hp_ids_epoch))) {
        ids_free_other(h, pool, p);
        return;
    }
    /* a live block start (only theirs have a bit), with an id; the
     * granule's start first, so that off and shift are done with before
     * the bitmap word is loaded (no register to save) */
    uint64_t *word = &pool->live[g >> 6];
    uint64_t w;
    if (OM_UNLIKELY((g << shift) != off || !(((w = HP_LOAD(word)) >> (g & 63)) & 1) ||
                    !HP_LOAD(&pool->ids[g]))) {
        ids_free_unknown(h, pool, p); /* a bad free too: it finds and names it */
        return;
    }
    /* hp_push_owned's push, with its emptied-pool call last */
    HP_STORE(word, w & ~(1ull << (g & 63)));
    ((hp_block *)p)->next = (uintptr_t)pool->free;
    pool->free = p;
    HP_COUNT(&h->count.frees[pool->cls]);
    if (OM_UNLIKELY(--pool->above == 0) && h->cur[HP_KIND_PLAIN][pool->cls] != pool) {
        ids_free_emptied(h, pool, pool->block_size);
        return;
    }
    ids_count_free(h, pool->block_size);
}

static OM_NOINLINE void free_lane_other(hp_pool *pool, void *p, uint64_t mode)
{
    if (!mode && free_remote(pool, p))
        return;
    free_general(pool, p);
}

void hp_free_lane(hp_pool *pool, void *p)
{
    uint64_t mode = HP_LOAD(&hp_mode);
    if (mode == (HP_MODE_HOOKS | HP_MODE_IDS)) { /* first: every traced free comes here */
        ids_free(pool, p);
        return;
    }
    free_lane_other(pool, p, mode);
}

/* An allocation from private heap h: a pop, then the block's id beside
 * it, from the thread's cache, else from the hook.  ids_alloc_rare is the
 * whole of it; ids_alloc the common case of a small block inline (no
 * sampling countdown: sampling is off while ids are on). */
static OM_NOINLINE void *ids_alloc_rare(hp_heap *h, size_t size, void *caller)
{
    if (h->sample_left < (int64_t)size) /* nothing tops it up while a mode is on */
        h->sample_left = HP_SAMPLE_RECHECK;
    void *b = hp_pop_below(h, size, true, 0);
    if (!b)
        return slow_alloc(h, size, 16, caller);
    /* b's pool: still the current one of its class */
    hp_pool *p = h->cur[HP_KIND_PLAIN][hp_class_of(size)];
    const hp_hooks *hk = __atomic_load_n(&hooks, __ATOMIC_ACQUIRE);
    if (!hk || !hk->id_alloc || !ids_note_alloc(hk, p, b, h, caller))
        report_alloc_sized(b, p->block_size, h, caller);
    return b;
}

/* The owner's counts of a block with an id (heap/special.h): one add to
 * memory for allocs (only this thread writes it; readers load it whole, as
 * HP_COUNT's counters). */
static inline __attribute__((always_inline)) void ids_count_alloc(hp_ids_local *me, size_t size)
{
    int64_t bytes = HP_LOAD(&me->bytes) + (int64_t)size;
    HP_STORE(&me->bytes, bytes);
    if (bytes > HP_LOAD(&me->hi))
        HP_STORE(&me->hi, bytes);
    HP_COUNT(&me->allocs);
}

/* The tests come first and in the order that needs fewest registers: the
 * thread owns the counts and its cache is of h (one compare), the key is
 * cached (one more), the class is small, its pool has a block and an array
 * of this session.  No frame: the rare way is a tail call. */
static inline __attribute__((always_inline)) void *ids_alloc(hp_heap *h, size_t size, void *caller)
{
    hp_ids_local *me = &hp_ids_me;
    const om_trace_site *site = om_trace_site_tls;
    uintptr_t key = site ? (uintptr_t)site : (uintptr_t)caller;
    size_t cls = (size - 1) >> 4; /* size 0 wraps and takes the rare way */
    const struct hp_ids_entry *e = hp_ids_entry_of(me, key);
    if (OM_UNLIKELY(HP_LOAD(&me->lane) != h || e->key != key || cls >= HP_SMALL_MAX / 16))
        return ids_alloc_rare(h, size, caller);
    hp_pool *p = h->cur[HP_KIND_PLAIN][cls];
    hp_block *b = p->free;
    if (OM_UNLIKELY(!b || p->ids_epoch != HP_LOAD(&hp_ids_epoch))) /* the owner reads its own */
        return ids_alloc_rare(h, size, caller);
    /* hp_take's work by hand, keeping g for the id (calling hp_take and
     * deriving g again measured 1.5% more instructions traced); h and the
     * class are done with first, the entry last (fewer registers at once) */
    HP_COUNT(&h->count.allocs[cls]);
    p->free = (hp_block *)b->next;
    p->above++;
    size_t g = ((uintptr_t)b - p->start) >> p->shift;
    HP_STORE(&p->live[g >> 6], HP_LOAD(&p->live[g >> 6]) | (1ull << (g & 63)));
    ids_count_alloc(me, p->block_size);
    HP_STORE(&p->ids[g], e->id);
    return b;
}

/* ---- the object layer's kept blocks under the ids' mode ----------------------------------
 * A block its owner kept (live in the heap's eyes, heap/fast.h) gets or
 * loses its id as the lanes would at a pop or a push, so that exact
 * tracing reuses the owner's cache instead of the heap: inline in the
 * owner (hp_heap_ids_try_take / try_drop), the rest here. */
void hp_heap_ids_take_rare(hp_heap *h, void *b, void *caller)
{
    report_alloc_sized(b, hp_small_slot_of(b)->block_size, h, caller); /* arms, or reports */
}

void hp_heap_ids_drop_rare(hp_pool *slot, void *b)
{
    hp_heap *h = HP_LOAD(&slot->heap);
    if (HP_LOAD(&slot->ids_epoch) != HP_LOAD(&hp_ids_epoch) || !HP_LOAD(hp_ids_slot(slot, b))) {
        report_free(slot, b, h); /* no id of this session: reported as usual */
        return;
    }
    HP_STORE(hp_ids_slot(slot, b), 0u);
    ids_count_free(h, slot->block_size);
}

/* Every miss of the inline pop with no mode or another one than the ids'. */
static OM_NOINLINE void *alloc_slow_other(hp_heap *h, size_t size, uint64_t mode, void *caller)
{
    if (OM_LIKELY(!mode))
        return alloc_miss(h, size, 16, caller);
    return slow_alloc(h, size, 16, caller);
}

void *hp_alloc_slow(hp_heap *h, size_t size)
{
    uint64_t mode = HP_LOAD(&hp_mode);
    if (mode == (HP_MODE_HOOKS | HP_MODE_IDS)) /* first: every traced allocation comes here */
        return ids_alloc(h, size, __builtin_return_address(0));
    return alloc_slow_other(h, size, mode, __builtin_return_address(0));
}

/* h: a private heap (exact pools), or NULL for the thread heap (inexact). */
static inline void *alloc_entry(hp_heap *h, size_t size, size_t align, void *caller)
{
    if (OM_LIKELY(align <= 16)) {
        void *b = hp_pop(h ? h : hp_tls_heap, size, h != NULL); /* misses when a mode is on */
        if (OM_LIKELY(b))
            return b;
        if (OM_LIKELY(!HP_LOAD(&hp_mode)))
            return alloc_miss(h, size, align, caller);
    }
    return slow_alloc(h, size, align, caller);
}

/* NULL, a foreign pointer, or a block aligned past its segment's first 4 MiB. */
static OM_NOINLINE void free_odd(void *p)
{
    if (p)
        hp_free_lane(pool_behind_or_die(p), p);
}

static inline void free_entry(hp_heap *h, void *p)
{
    hp_pool *q = hp_slot_of(p);
    if (OM_LIKELY(q)) {
        hp_push(h ? h : hp_tls_heap, q, p, h != NULL);
        return;
    }
    hp_pool *pool = hp_pool_of(p);
    if (OM_UNLIKELY(!pool)) {
        free_odd(p);
        return;
    }
    hp_push(h ? h : hp_tls_heap, pool, p, h != NULL);
}

/* ---- sizes ------------------------------------------------------------------------------ */

/* In an inexact pool only "a block start" can be checked without a walk of
 * the free list, which a realloc must not pay. */
static size_t plain_size(hp_pool *pool, const void *p, const char *what)
{
    long idx = hp_block_index(pool, p);
    if (idx < 0 || pool->start + (size_t)idx * pool->block_size != (uintptr_t)p ||
        (hp_pool_exact(pool) && !hp_live_test(pool, (size_t)idx)))
        om_fatal("%s of %p (not a live block of objmem)", what, p);
    return pool->block_size;
}

static size_t user_size(void *p)
{
    hp_pool *pool = pool_or_die(p);
    if (pool->kind == HP_KIND_DEBUG)
        return hp_debug_usable_size(p);
    return plain_size(pool, p, "usable-size query");
}

/* ---- the public malloc family ------------------------------------------------------------- */

void *om_malloc(size_t size)
{
    return alloc_entry(NULL, size, 16, __builtin_return_address(0));
}

/* calloc's zeroing, skipped for a large block fresh from the OS (so a big
 * calloc does not touch, and make resident, every page). */
static void zero_block(void *p, size_t size)
{
    if (size > HP_MEDIUM_MAX) {
        hp_pool *pool = hp_pool_of(p);
        if (pool && pool->cls == HP_CLASS_LARGE && (pool->flags & HP_POOL_ZEROED) &&
            pool->start == (uintptr_t)p)
            return;
    }
    memset(p, 0, size);
}

void *om_calloc(size_t count, size_t size)
{
    size_t total;
    if (OM_UNLIKELY(__builtin_mul_overflow(count, size, &total))) {
        errno = ENOMEM;
        om_set_error("out of memory: calloc(%zu, %zu) overflows", count, size);
        return NULL;
    }
    void *p = alloc_entry(NULL, total, 16, __builtin_return_address(0));
    if (p)
        zero_block(p, total);
    return p;
}

void om_free(void *p)
{
    free_entry(NULL, p);
}

void *om_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1))) {
        errno = EINVAL;
        om_set_error("aligned_alloc: alignment %zu is not a power of two", alignment);
        return NULL;
    }
    return alloc_entry(NULL, size, alignment < 16 ? 16 : alignment, __builtin_return_address(0));
}

size_t om_usable_size(const void *p)
{
    if (!p)
        return 0;
    return user_size((void *)p);
}

static void *realloc_in(hp_heap *h, void *p, size_t size, void *caller)
{
    if (!p)
        return alloc_entry(h, size, 16, caller);
    if (size == 0) {
        free_entry(h, p);
        return NULL;
    }
    hp_pool *pool = pool_or_die(p);
    size_t old =
        pool->kind == HP_KIND_DEBUG ? hp_debug_usable_size(p) : plain_size(pool, p, "realloc");
    if (pool->kind == HP_KIND_PLAIN && size <= old && (size >= old / 2 || old <= HP_SMALL_MAX)) {
        if (HP_LOAD(&hp_mode) & HP_MODE_HOOKS) {
            hp_heap *owner = HP_LOAD(&pool->heap);
            owner = owner && owner->is_private ? owner : NULL;
            report_free(pool, p, owner);
            report_alloc(p, owner, caller);
        }
        return p;
    }
    void *q = alloc_entry(h, size, 16, caller);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    free_entry(h, p);
    return q;
}

void *om_realloc(void *p, size_t size)
{
    return realloc_in(NULL, p, size, __builtin_return_address(0));
}

size_t om_release(void)
{
    size_t bytes = 0;
    hp_op_enter();
    hp_debug_flush(NULL); /* quarantined debug blocks of the global heap */
    hp_op_leave();
    hp_heap *h = hp_tls_heap;
    if (h != &hp_empty_heap) {
        bytes += hp_heap_purge(h, false);
        for (unsigned k = 0; k < HP_NKINDS; k++)
            for (unsigned c = 0; c < HP_NCLASSES; c++) {
                hp_pool *p = h->cur[k][c];
                if (p != &hp_empty_pool && hp_pool_used(p) == 0) {
                    h->cur[k][c] = &hp_empty_pool;
                    hp_pool_emptied(h, p);
                }
            }
    }
    pthread_mutex_lock(&hp_lock);
    hp_abandoned_reclaim_locked();
    bytes += hp_segments_purge_locked(true);
    bytes += hp_arena_trim_bits_locked(h);
    pthread_mutex_unlock(&hp_lock);
    return bytes;
}

/* ---- private heaps ------------------------------------------------------------------------ */

void *hp_heap_calloc(hp_heap *h, size_t size)
{
    void *p = alloc_entry(h, size, 16, __builtin_return_address(0));
    if (p)
        zero_block(p, size);
    return p;
}

void *hp_heap_realloc(hp_heap *h, void *p, size_t size)
{
    return realloc_in(h, p, size, __builtin_return_address(0));
}

void hp_heap_free_slow(hp_heap *h, void *p)
{
    if (!p)
        return;
    hp_pool *pool = pool_or_die(p);
    if (OM_UNLIKELY(HP_LOAD(&pool->heap) != h))
        om_fatal("invalid free of %p (not a block of private heap %p)", p, (void *)h);
    hp_push(h, pool, p, true);
}

/* What the inline hp_heap_of (heap/fast.h) leaves: pools past their first
 * slot, large blocks, foreign pointers. */
hp_heap *hp_heap_of_slow(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool)
        return NULL;
    hp_heap *h = HP_LOAD(&pool->heap);
    return h && h->is_private ? h : NULL;
}

size_t hp_usable_size(const void *p)
{
    return user_size((void *)p);
}

/* ---- the core half of the slow-lane interface ------------------------------------------------ */

void *hp_alloc_block(hp_heap *h, size_t size, size_t align, enum hp_kind kind)
{
    return hp_alloc_generic(h, size, align < 16 ? 16 : align, (unsigned)kind);
}

void hp_free_block(void *block)
{
    hp_free_generic(pool_or_die(block), block);
}

void *hp_block_of(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool) {
        hp_segment *s = segment_behind((uintptr_t)p);
        if (!s || s->kind != HP_SEG_LARGE)
            return NULL;
        pool = &s->pools[0];
    }
    long idx = hp_block_index(pool, p);
    if (idx < 0 || !hp_pool_block_live(pool, (size_t)idx))
        return NULL;
    return (void *)(pool->start + (size_t)idx * pool->block_size);
}

enum hp_kind hp_block_kind(const void *block)
{
    return (enum hp_kind)pool_or_die(block)->kind;
}

size_t hp_block_size(const void *block)
{
    return pool_or_die(block)->block_size;
}

bool hp_owns(const void *p)
{
    hp_pool *pool = hp_pool_of(p);
    if (!pool)
        return false;
    long idx = hp_block_index(pool, p);
    if (idx < 0 || !hp_pool_block_live(pool, (size_t)idx))
        return false;
    uintptr_t block = pool->start + (size_t)idx * pool->block_size;
    if (pool->kind == HP_KIND_DEBUG)
        return hp_debug_user_of((void *)block, NULL) == p;
    return block == (uintptr_t)p;
}
