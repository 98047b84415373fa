/* test_heap_sparse_mt.c: the sparse queue (heap/heapcore.c) with frees from
 * another thread.  The owner frees 99% of 60 MiB of blocks, so that its
 * pools are tracked (bits kept by the owner, no free list); another thread
 * frees half of the survivors, which lands on the tracked pools' remote
 * stacks while the owner frees and checks; then the owner fills its pools
 * again (tracking ends: every free block, remote ones included, must come
 * back) and the heap checker passes at each step.  A double free into a
 * tracked pool is caught by its bit, also when it is not the block freed
 * last (which an untracked pool's cheap checks would miss). */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

enum { SIZE = 192, N = 320 * 1024 }; /* 60 MiB of 192-byte blocks */
static unsigned char *blocks[N];
static unsigned char *remote[N];
static size_t nremote;

static void *free_remote(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < nremote; i++) {
        assert_int_equal(remote[i][0], (unsigned char)(i * 7));
        om_free(remote[i]);
    }
    return NULL;
}

static void remote_frees_into_tracked_pools(void **state)
{
    (void)state;
    long debug = 0;
    if (om_option_get("debug", &debug) == 0 && debug)
        skip(); /* debug pools keep their bits and quarantine frees: no sparse queue */
    om_release();
    om_heap_stats full, sparse, end;
    for (size_t i = 0; i < N; i++) {
        assert_non_null(blocks[i] = om_malloc(SIZE));
        memset(blocks[i], (int)(i & 0xff), SIZE);
    }
    om_heap_get_stats(&full);
    omtest_srand(21);
    for (size_t i = 0; i < N; i++) {
        if (omtest_rand() % 100 == 0)
            continue;
        om_free(blocks[i]);
        blocks[i] = NULL;
    }
    om_heap_check();
    om_heap_get_stats(&sparse);
    /* the sparse pools gave their free pages back without om_release */
    assert_true(sparse.committed < full.committed / 2);
    for (size_t i = 0; i < N; i++) /* every other survivor goes to the other thread */
        if (blocks[i] && (i & 1)) {
            remote[nremote] = blocks[i];
            remote[nremote][0] = (unsigned char)(nremote * 7);
            nremote++;
            blocks[i] = NULL;
        }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_remote, NULL), 0);
    for (size_t i = 0; i < N; i += 2) /* the owner frees its half meanwhile */
        if (blocks[i]) {
            assert_int_equal(blocks[i][SIZE - 1], (unsigned char)(i & 0xff));
            om_free(blocks[i]);
            blocks[i] = NULL;
        }
    assert_int_equal(pthread_join(t, NULL), 0);
    om_heap_check();
    for (size_t i = 0; i < N; i++) { /* fill again: every freed block comes back */
        assert_non_null(blocks[i] = om_malloc(SIZE));
        memset(blocks[i], 9, SIZE);
    }
    om_heap_check();
    om_heap_get_stats(&end);
    assert_true(end.committed <= full.committed + ((size_t)1 << 20));
    for (size_t i = 0; i < N; i++)
        om_free(blocks[i]);
    om_release();
    om_heap_check();
}

/* A block freed twice while its pool is tracked, another block of the pool
 * freed in between: the pool's bit says so. */
static void double_free_in_tracked_pool(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < N; i++)
        blocks[i] = om_malloc(SIZE);
    for (size_t i = 0; i < N; i++)
        if (i % 64 != 0)
            om_free(blocks[i]);
    om_free(blocks[64]);
    om_free(blocks[128]);
    om_free(blocks[64]);
}

static void tracked_double_free_detected(void **state)
{
    (void)state;
    long debug = 0;
    if (om_option_get("debug", &debug) == 0 && debug)
        skip(); /* the debug heap catches every double free its own way */
    omtest_expect_abort(double_free_in_tracked_pool, NULL, "double free");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(remote_frees_into_tracked_pools),
        cmocka_unit_test(tracked_double_free_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
