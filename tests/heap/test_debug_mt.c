/*
 * test_debug_mt.c: the debug heap and fault injection under threads: blocks
 * freed by other threads than their allocator pass through the shared
 * quarantine intact, and the heap checks out while and after they do; a
 * fork while other threads free leaves the child a usable debug heap.
 * Runs under ThreadSanitizer.  cmocka's asserts belong to the main thread,
 * so workers count what goes wrong and the main thread asserts the count.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "objmem.h"
#include "heap/special.h"
#include "omtest.h"

#define THREADS 4
#define ROUNDS  3000
#define RING    64

/* Each thread allocates into its own ring and frees what the next thread
 * left in its ring: frees cross threads all the time. */
typedef struct ring {
    pthread_mutex_t lock;
    unsigned char *slot[RING];
    size_t size[RING];
} ring;

static ring rings[THREADS];
static int errors; /* atomic: what went wrong in the workers */

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(n + i);
}

static void verify(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(n + i)) {
            fprintf(stderr, "block %p of %zu bytes changed at +%zu\n", (const void *)p, n, i);
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
            return;
        }
}

static void swap_into(ring *r, int k, unsigned char *p, size_t n)
{
    pthread_mutex_lock(&r->lock);
    unsigned char *old = r->slot[k];
    size_t old_n = r->size[k];
    r->slot[k] = p;
    r->size[k] = n;
    pthread_mutex_unlock(&r->lock);
    if (old) {
        verify(old, old_n);
        om_free(old);
    }
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1);
    for (int i = 0; i < ROUNDS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = x % 700;
        unsigned char *p = (x >> 20) % 4 ? om_malloc(n) : om_aligned_alloc(64, n);
        if (!p) {
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
            continue;
        }
        fill(p, n);
        ring *r = &rings[(me + (int)((x >> 30) % 2)) % THREADS];
        swap_into(r, (int)((x >> 40) % RING), p, n);
    }
    return NULL;
}

static void run_workers(void *(*fn)(void *))
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static void empty_rings(void)
{
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < RING; k++)
            swap_into(&rings[i], k, NULL, 0);
}

static void test_cross_thread_frees(void **state)
{
    (void)state;
    om_option_set("debug_quarantine", 256 << 10);
    om_heap_set_debug(1);
    for (int i = 0; i < THREADS; i++)
        pthread_mutex_init(&rings[i].lock, NULL);
    run_workers(worker);
    assert_int_equal(errors, 0);
    om_heap_check();
    empty_rings();
    assert_int_equal(errors, 0);
    assert_true(hp_debug_check() > 0);
    hp_debug_flush(NULL);
    assert_int_equal(hp_debug_check(), 0);
    om_heap_set_debug(0);
    om_heap_check();
}

/* ---- fork while other threads free into the quarantine ---------------------------- */

static int stop; /* atomic */

static void *churn(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        om_free(om_malloc(64));
    return NULL;
}

static void test_fork_while_freeing(void **state)
{
    (void)state;
    om_option_set("debug_quarantine", 16 << 10);
    om_heap_set_debug(1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* the quarantine's lock must be free here */
            for (int i = 0; i < 1000; i++)
                om_free(om_malloc(100));
            hp_debug_flush(NULL);
            _exit(hp_debug_check() == 0 ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    hp_debug_flush(NULL);
    om_heap_set_debug(0);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_thread_frees),
        cmocka_unit_test(test_fork_while_freeing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
