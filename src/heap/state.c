/*
 * heap/state.c: the heap's global state, start-up, and fork safety.
 *
 * Start-up is lazy: the first allocation of a thread creates its heap, and
 * the first heap ever reads the options (secure) and registers the fork
 * handlers.  Nothing here needs a constructor, so om_malloc works even when
 * called before main (the preload library relies on that).
 *
 * Fork: the parent takes hp_lock before fork (so no arena, heap list or
 * large cache is half-changed in the child), both sides release it after;
 * the child then rebuilds the pools of the threads that did not survive the
 * fork from their live bitmaps and abandons them (heapcore.c says how), so
 * a fast-path pop or push cut off half-way costs at most a leaked block.
 * Operations of the debug heap write more than the core can rebuild (a
 * header, a fill, a quarantine entry), so they run inside hp_op_enter /
 * hp_op_leave, and the prepare handler first closes that door and waits,
 * at most FORK_WAIT_NS, for the ones inside to come out:
 *
 *     thread:  enter -> [ header, fill, quarantine, core pop/push ] -> leave
 *     fork:    pending = 1; wait until nobody is inside; lock; fork; pending = 0
 */
#include <sched.h>

#include "heap/core.h"
#include "objmem/trace.h" /* om_trace_sites_on */

hp_pool hp_empty_pool; /* free == NULL: every pop on it misses */
hp_heap hp_empty_heap = {
    .cur = {[0 ... HP_NKINDS - 1] = {[0 ... HP_NCLASSES - 1] = &hp_empty_pool}}};
OM_THREAD_LOCAL hp_heap *hp_tls_heap = &hp_empty_heap;
uint8_t hp_registry[HP_REGISTRY_SIZE];
bool hp_secure;
pthread_mutex_t hp_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t hp_mode;

hp_counters hp_retired;
size_t hp_large_count, hp_large_bytes, hp_arena_count, hp_arena_peak;
size_t hp_committed, hp_committed_peak, hp_reserved, hp_returned;
size_t hp_bytes_peak, hp_blocks_peak;
size_t hp_class_pools[HP_NCLASSES];
size_t hp_sample_mean;
/* The word the call-site macros test (objmem/trace.h): the tracer's bit 1,
 * and HP_SITES_NEAR per heap near a sample (alloc.c, sites_near). */
int om_trace_sites_on;
_Static_assert(HP_SAMPLE_NEAR >= HP_SMALL_MAX, "a small block crosses one leg at most");
int64_t hp_live_bytes, hp_live_blocks;

void hp_mode_set(uint64_t bits)
{
    __atomic_fetch_or(&hp_mode, bits, __ATOMIC_SEQ_CST);
}
void hp_mode_clear(uint64_t bits)
{
    __atomic_fetch_and(&hp_mode, ~bits, __ATOMIC_SEQ_CST);
}

/* ---- operations a fork must not cut in two -------------------------------------
 * The bounded wait is the safety net for a prepare handler that runs after
 * another handler took a lock an operation inside is waiting for. */
#define FORK_WAIT_NS 200000000u /* 200 ms */

static unsigned ops_inside;               /* threads inside an operation (atomic) */
static unsigned fork_pending;             /* the door is closed (atomic) */
static OM_THREAD_LOCAL unsigned op_depth; /* this thread's nesting */

void hp_op_enter(void)
{
    if (op_depth++)
        return;
    for (;;) {
        __atomic_fetch_add(&ops_inside, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST))
            return;
        __atomic_fetch_sub(&ops_inside, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&fork_pending, __ATOMIC_ACQUIRE))
            sched_yield();
    }
}

void hp_op_leave(void)
{
    if (--op_depth == 0)
        __atomic_fetch_sub(&ops_inside, 1, __ATOMIC_RELEASE);
}

static void wait_for_ops(void)
{
    __atomic_store_n(&fork_pending, 1, __ATOMIC_SEQ_CST);
    unsigned mine = op_depth ? 1 : 0; /* fork called from inside an operation */
    uint64_t deadline = om_now_ns() + FORK_WAIT_NS;
    while (__atomic_load_n(&ops_inside, __ATOMIC_ACQUIRE) > mine && om_now_ns() < deadline)
        sched_yield();
}

static void before_fork(void)
{
    wait_for_ops();
    pthread_mutex_lock(&hp_lock);
}
static void after_fork_parent(void)
{
    pthread_mutex_unlock(&hp_lock);
    __atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}
static void after_fork_child(void)
{
    __atomic_store_n(&ops_inside, op_depth ? 1u : 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
    pthread_mutex_init(&hp_lock, NULL);
    pthread_mutex_lock(&hp_lock);
    hp_heaps_after_fork_child_locked();
    pthread_mutex_unlock(&hp_lock);
}

static void init_once(void)
{
    if (om_opt(OM_OPT_SECURE)) {
        hp_secure = true;
        hp_mode_set(HP_MODE_SECURE);
    }
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void hp_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}
