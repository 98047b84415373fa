/*
 * trace/counts.c: the tracer's running totals (traced bytes, traces, the
 * peak), counted by each thread in a record of its own.
 *
 * Strategy.  A count shared by every thread costs a locked instruction (or
 * the tracer's lock) per allocation and per free, which is most of what
 * exact tracing may cost at all.  So each thread counts in its own record
 * (tr_thread: bytes, allocations, frees; traces = allocations - frees),
 * with plain stores, and the totals are sums over the records, taken by
 * readers under the lock:
 *
 *     current = sum over records of bytes  (+ gone: threads that exited)
 *
 * The peak is the maximum of that sum over time, which per-thread counts
 * alone cannot give.  One thread at a time is the owner: it counts with no
 * lock and keeps hi, the highest of its own bytes since it became the
 * owner.  While it is, no other count changes without the lock, and every
 * locked count first folds the owner's contribution:
 *
 *     peak = max(peak, base + owner.hi);  owner.hi = owner.bytes
 *
 * where base is everyone else's bytes (exact: summed when the owner took
 * over, and moved by each locked count since).  A thread counting from the
 * heap's id lane becomes the owner at its first locked count (the sum of
 * the records once); one single-threaded program's counts are then all
 * lock-free and its peak exact.  Threads counting at once take the lock
 * and the ownership in turn.  What is not exact: a count racing with a
 * change of owner (the old owner's last lock-free count landing after its
 * hi was folded) may be missing from the peak, never from current.  While
 * a region is open nobody owns (regions follow the peak count by count).
 * The heap's lanes see the ownership in the record itself: its `lane` is
 * the heap of its thread's site cache while it owns, NULL otherwise
 * (set_owner, tr_counts_cache_of), one compare for both questions.
 *
 * Records live as long as the process (carved from tr_map pages), one a
 * thread; a thread's record is folded into `gone` at its exit and reused by
 * the next new thread.  A record whose epoch is not the tracer's holds
 * nothing; its thread resets it at its next count.  Everything here runs
 * under the tracer's lock but the owner's own counts (trace.h).
 */
#include <pthread.h>

#include "trace/trace.h"

#define RECORDS_PER_MAP 64

OM_THREAD_LOCAL tr_thread *tr_self;
static pthread_key_t exit_key; /* its destructor folds a thread's record at exit */
static tr_thread *spare;       /* records to reuse, linked through their `spare` */
static tr_thread *carve_from;
static size_t carve_left;

static int64_t load(const int64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void store(int64_t *v, int64_t x)
{
    __atomic_store_n(v, x, __ATOMIC_RELAXED);
}

static uint64_t uload(const uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void ustore(uint64_t *v, uint64_t x)
{
    __atomic_store_n(v, x, __ATOMIC_RELAXED);
}

/* The traces c holds: what its thread counted in less what it counted out
 * (negative when it freed others' blocks). */
static int64_t traces_of(const hp_ids_local *c)
{
    return (int64_t)(uload(&c->allocs) - uload(&c->frees));
}

static hp_ids_local *owner(void)
{
    return __atomic_load_n(&hp_ids_owner, __ATOMIC_RELAXED);
}

/* The heap's lanes test a record's `lane` alone: the heap of its cache
 * while it owns the counts, NULL while it does not. */
static void set_lane(hp_ids_local *c, const hp_heap *heap)
{
    __atomic_store_n(&c->lane, heap, __ATOMIC_RELAXED);
}

static void set_owner(hp_ids_local *c)
{
    hp_ids_local *o = owner();
    if (o)
        set_lane(o, NULL);
    __atomic_store_n(&hp_ids_owner, c, __ATOMIC_RELAXED);
    if (c)
        set_lane(c, c->heap);
}

void tr_counts_cache_of(hp_ids_local *c, const void *heap)
{
    c->heap = heap;
    set_lane(c, owner() == c ? heap : NULL);
}

static bool in_session(const tr_state *g, const tr_thread *t)
{
    return t->epoch == g->epoch + 1;
}

static void raise_peak(tr_state *g, int64_t v)
{
    size_t cur = v > 0 ? (size_t)v : 0;
    if (cur > g->peak)
        g->peak = cur;
    for (uint32_t m = g->region_mask; OM_UNLIKELY(m); m &= m - 1) {
        int i = __builtin_ctz(m);
        if (cur > g->region_peak[i])
            g->region_peak[i] = cur;
    }
}

/* The sum of the session's bytes but those of c (NULL: all). */
static int64_t sum_but(tr_state *g, const hp_ids_local *c)
{
    int64_t sum = g->gone_bytes;
    for (tr_thread *r = g->threads; r; r = r->next)
        if (r->c != c && in_session(g, r))
            sum += load(&r->c->bytes);
    return sum;
}

/* The owner's highest since the last fold goes into the peak. */
static void fold_owner(tr_state *g, hp_ids_local *o)
{
    raise_peak(g, g->base + load(&o->hi));
    store(&o->hi, load(&o->bytes));
}

void tr_counts_revoke(tr_state *g)
{
    hp_ids_local *o = owner();
    if (!o)
        return;
    fold_owner(g, o);
    set_owner(NULL);
    g->base = sum_but(g, NULL);
}

static void take_ownership(tr_state *g, hp_ids_local *c)
{
    g->base = sum_but(g, c);
    store(&c->hi, load(&c->bytes));
    set_owner(c);
}

void tr_count(tr_state *g, tr_thread *t, int64_t bytes, int64_t count, int64_t allocs, bool own)
{
    hp_ids_local *o = owner(), *c = t ? t->c : NULL;
    if (o != c && o)
        fold_owner(g, o);
    if (o != c && c && own && !g->region_mask) {
        take_ownership(g, c);
        o = c;
    }
    if (c) {
        store(&c->bytes, load(&c->bytes) + bytes);
        ustore(&c->allocs, uload(&c->allocs) + (uint64_t)allocs);
        ustore(&c->frees, uload(&c->frees) + (uint64_t)(allocs - count));
    } else {
        g->gone_bytes += bytes;
        g->gone_count += count;
        g->gone_allocs += allocs;
    }
    if (o && o == c) {
        if (load(&c->bytes) > load(&c->hi))
            store(&c->hi, load(&c->bytes));
        return;
    }
    g->base += bytes;
    raise_peak(g, g->base + (o ? load(&o->bytes) : 0));
}

size_t tr_current(tr_state *g)
{
    int64_t sum = sum_but(g, NULL);
    return sum > 0 ? (size_t)sum : 0;
}

size_t tr_peak(tr_state *g)
{
    hp_ids_local *o = owner();
    if (o)
        fold_owner(g, o);
    raise_peak(g, sum_but(g, NULL));
    return g->peak;
}

void tr_reset_peak(tr_state *g)
{
    tr_counts_revoke(g);
    g->peak = tr_current(g);
}

size_t tr_live_traces(tr_state *g)
{
    int64_t sum = g->gone_count;
    for (tr_thread *r = g->threads; r; r = r->next)
        if (in_session(g, r))
            sum += traces_of(r->c);
    return sum > 0 ? (size_t)sum : 0;
}

uint64_t tr_allocs(tr_state *g)
{
    uint64_t sum = (uint64_t)g->gone_allocs;
    for (tr_thread *r = g->threads; r; r = r->next)
        if (in_session(g, r))
            sum += uload(&r->c->allocs);
    return sum;
}

void tr_counts_forget(tr_state *g)
{
    set_owner(NULL);
    g->base = 0;
    g->gone_bytes = g->gone_count = g->gone_allocs = 0;
    g->peak = 0;
}

/* ---- records ---------------------------------------------------------------------- */
static tr_thread *record_new(tr_state *g)
{
    tr_thread *t = spare;
    if (t) {
        spare = t->spare;
        return t;
    }
    if (!carve_left) {
        carve_from = tr_map(RECORDS_PER_MAP * sizeof *t);
        if (!carve_from)
            return NULL;
        carve_left = RECORDS_PER_MAP;
    }
    t = carve_from++;
    carve_left--;
    t->next = g->threads;
    g->threads = t;
    return t;
}

static void zero_counts(hp_ids_local *c)
{
    store(&c->bytes, 0);
    store(&c->hi, 0);
    ustore(&c->allocs, 0);
    ustore(&c->frees, 0);
}

/* At a thread's exit: its counts go to `gone`, its record to the spares
 * (its counts live in its TLS, which goes away after this). */
static void thread_gone(void *arg)
{
    tr_thread *t = arg;
    tr_state *g = &tr_global;
    tr_lock(g);
    if (in_session(g, t)) {
        if (owner() == t->c)
            tr_counts_revoke(g);
        g->gone_bytes += load(&t->c->bytes);
        g->gone_count += traces_of(t->c);
        g->gone_allocs += (int64_t)uload(&t->c->allocs);
        zero_counts(t->c);
    }
    t->epoch = 0;
    t->c = NULL;
    t->spare = spare;
    spare = t;
    tr_self = NULL;
    tr_unlock(g);
}

void tr_counts_init(void)
{
    pthread_key_create(&exit_key, thread_gone);
}

tr_thread *tr_thread_get(tr_state *g)
{
    tr_thread *t = tr_self;
    if (OM_UNLIKELY(!t)) {
        if (!(t = record_new(g)))
            return NULL;
        t->epoch = 0;
        t->c = &hp_ids_me;
        tr_self = t;
        pthread_setspecific(exit_key, t);
    }
    if (OM_UNLIKELY(!in_session(g, t))) {
        zero_counts(t->c);
        t->epoch = g->epoch + 1;
    }
    return t;
}
