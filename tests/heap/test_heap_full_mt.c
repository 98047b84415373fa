/* test_heap_full_mt.c: pools on a heap's full list (heap/core.h).  Their
 * owner's frees take the inline push, whose first free into such a pool
 * calls out and moves it back to avail (its wake level is one below its
 * count); the block freed there serves before any fresh pool, a remote free
 * into a full pool is collected at the owner's next refill, and
 * om_heap_check (which checks the full pools' wake levels) passes
 * throughout.  Each case runs in a thread of its own, for a fresh heap. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <stdbool.h>

#include "omtest.h"
#include "objmem.h"

/* 496 bytes: 132 blocks a pool; no other test here uses the class. */
enum { SIZE = 496, PER_POOL = 65536 / SIZE };

static void *blocks[3 * PER_POOL];

/* Two full pools and a current one holding one block. */
static void fill_two_pools(void)
{
    for (int i = 0; i < 2 * PER_POOL + 1; i++) {
        blocks[i] = om_malloc(SIZE);
        assert_non_null(blocks[i]);
    }
    om_heap_check();
}

/* Fills the current pool, and one more (a refill): true when `freed` was
 * handed out again by then, in *extra the last block. */
static bool reused_by_refill(void *freed, void **extra)
{
    bool seen = false;
    for (int i = 2 * PER_POOL + 1; i < 3 * PER_POOL; i++) {
        blocks[i] = om_malloc(SIZE);
        seen |= blocks[i] == freed;
    }
    *extra = om_malloc(SIZE);
    return seen || *extra == freed;
}

static void free_all(void *extra)
{
    om_free(extra);
    for (int i = 0; i < 3 * PER_POOL; i++)
        om_free(blocks[i]);
    om_heap_check();
}

static void *local_case(void *arg)
{
    (void)arg;
    fill_two_pools();
    void *freed = blocks[0]; /* in the first pool, full now */
    om_free(freed);
    blocks[0] = NULL;
    om_heap_check(); /* it left the full list */
    void *extra;
    bool reused = reused_by_refill(freed, &extra); /* not before the current pool is used up */
    assert_ptr_equal(extra, freed);
    assert_true(reused);
    free_all(extra);
    return NULL;
}

static void *remote_free(void *arg)
{
    om_free(arg);
    return NULL;
}

static void *remote_case(void *arg)
{
    (void)arg;
    fill_two_pools();
    void *freed = blocks[PER_POOL]; /* in the second pool, full now */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, remote_free, freed), 0);
    pthread_join(t, NULL);
    blocks[PER_POOL] = NULL;
    om_heap_check(); /* waiting on thread_free, the pool still full */
    void *extra;
    assert_true(reused_by_refill(freed, &extra)); /* collected at the first refill */
    free_all(extra);
    return NULL;
}

static void run_in_thread(void *(*fn)(void *))
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, NULL), 0);
    pthread_join(t, NULL);
}

static void owner_free_into_full_pool(void **state)
{
    (void)state;
    run_in_thread(local_case);
}

static void remote_free_into_full_pool(void **state)
{
    (void)state;
    run_in_thread(remote_case);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owner_free_into_full_pool),
        cmocka_unit_test(remote_free_into_full_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
