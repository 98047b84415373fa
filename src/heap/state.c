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
 * the child then abandons the thread heaps of the threads that did not
 * survive the fork, so their pools can be adopted or released.
 */
#include "heap/core.h"

hp_pool hp_empty_pool; /* free == NULL: every pop on it misses */
hp_heap hp_empty_heap = {
    .cur = {[0 ... HP_NKINDS - 1] = {[0 ... HP_NCLASSES - 1] = &hp_empty_pool}}};
OM_THREAD_LOCAL hp_heap *hp_tls_heap = &hp_empty_heap;
uint8_t hp_registry[HP_REGISTRY_SIZE];
bool hp_secure;
pthread_mutex_t hp_lock = PTHREAD_MUTEX_INITIALIZER;
unsigned hp_mode;

hp_counters hp_retired;
size_t hp_large_count, hp_large_bytes, hp_arena_count, hp_arena_peak;
size_t hp_committed, hp_committed_peak, hp_reserved, hp_returned;
size_t hp_bytes_peak, hp_blocks_peak;
int64_t hp_live_bytes, hp_live_blocks;

void hp_mode_set(unsigned bits)
{
    __atomic_fetch_or(&hp_mode, bits, __ATOMIC_SEQ_CST);
}
void hp_mode_clear(unsigned bits)
{
    __atomic_fetch_and(&hp_mode, ~bits, __ATOMIC_SEQ_CST);
}

static void before_fork(void)
{
    pthread_mutex_lock(&hp_lock);
}
static void after_fork_parent(void)
{
    pthread_mutex_unlock(&hp_lock);
}
static void after_fork_child(void)
{
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
