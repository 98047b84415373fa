/* test_heap_stats_mt.c: statistics read while other threads allocate and
 * free (ThreadSanitizer sees every counter a read touches), agree with
 * om_heap_check's count of live blocks when the threads are idle, and count
 * frees from other threads in the peak.  What a read costs, on a small heap
 * and a large one, is measured by the benchmark stats_read (bench/run
 * stats_read), not here: a timed test fails on a busy machine. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"
#include "util/util.h"

#define WORKERS 3
#define SLOTS   128

static void *shared[SLOTS]; /* atomic exchange: whoever takes a block frees it */
static int stop;
static int pause_workers; /* workers wait while it is set */
static int parked;        /* workers waiting */

static void *worker(void *arg)
{
    uint64_t x = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&pause_workers, __ATOMIC_ACQUIRE)) {
            __atomic_fetch_add(&parked, 1, __ATOMIC_ACQ_REL);
            while (__atomic_load_n(&pause_workers, __ATOMIC_ACQUIRE))
                usleep(1000);
            __atomic_fetch_sub(&parked, 1, __ATOMIC_ACQ_REL);
            continue;
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t size = (x >> 24) % 128 == 0 ? 300000 : 1 + (x >> 32) % 2000;
        void *old =
            __atomic_exchange_n(&shared[(x >> 8) % SLOTS], om_malloc(size), __ATOMIC_ACQ_REL);
        om_free(old);
    }
    return NULL;
}

static void stop_workers(pthread_t *t)
{
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < SLOTS; i++) {
        om_free(shared[i]);
        shared[i] = NULL;
    }
}

static void stats_read_during_churn_and_match_check_when_idle(void **state)
{
    (void)state;
    pthread_t t[WORKERS];
    __atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    om_heap_stats prev, st;
    om_heap_get_stats(&prev);
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 300; i++) {
            om_heap_get_stats(&st);
            assert_true(st.allocs >= prev.allocs); /* counters only grow */
            assert_true(st.frees >= prev.frees);
            assert_true(st.bytes_peak >= prev.bytes_peak);
            assert_true(st.blocks_in_use < 100000); /* no wrap-around of a difference */
            assert_true(st.committed_peak >= st.committed);
            prev = st;
        }
        /* idle: the record and the checker count the same live blocks */
        __atomic_store_n(&pause_workers, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) != WORKERS)
            usleep(1000);
        size_t live = om_heap_check();
        om_heap_get_stats(&st);
        assert_int_equal(st.blocks_in_use, live);
        size_t pools = 0;
        for (unsigned c = 0; c < st.n_classes; c++)
            pools += st.classes[c].pools;
        assert_int_equal(pools, st.pools_in_use);
        __atomic_store_n(&pause_workers, 0, __ATOMIC_RELEASE);
    }
    stop_workers(t);
    om_heap_get_stats(&st);
    assert_int_equal(st.blocks_in_use, om_heap_check());
}

/* Blocks freed by another thread than the one that allocated them lower the
 * live totals too (the freeing thread reports its share as it goes): rounds
 * of 8 MiB allocated here and freed by a thread that only frees leave the
 * peak near 8 MiB, not near the sum of the rounds. */
enum { REMOTE_N = 32768, REMOTE_SIZE = 256, REMOTE_ROUNDS = 6 };
static void *remote_blocks[REMOTE_N];

static void *free_them_all(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < REMOTE_N; i++)
        om_free(remote_blocks[i]);
    return NULL;
}

static void peak_counts_frees_from_other_threads(void **state)
{
    (void)state;
    for (int round = 0; round < REMOTE_ROUNDS; round++) {
        for (size_t i = 0; i < REMOTE_N; i++)
            assert_non_null(remote_blocks[i] = om_malloc(REMOTE_SIZE));
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, free_them_all, NULL), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    om_heap_stats st;
    om_heap_get_stats(&st);
    size_t round_bytes = (size_t)REMOTE_N * REMOTE_SIZE;
    fprintf(stderr, "peak %zu KiB after %d rounds of %zu KiB\n", st.bytes_peak >> 10, REMOTE_ROUNDS,
            round_bytes >> 10);
    assert_true(st.bytes_peak < 2 * round_bytes + ((size_t)4 << 20));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peak_counts_frees_from_other_threads), /* first: the peak is global */
        cmocka_unit_test(stats_read_during_churn_and_match_check_when_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
