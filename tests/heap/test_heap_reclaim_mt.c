/* test_heap_reclaim_mt.c: the remote reclaim (heap/pool.c).  When another
 * thread frees every block of a fully carved pool whose owner has allocated
 * nothing of that class for a while, the freer gives the pool's pages back
 * (the owner is idle: a thread blocked in a join holds nothing resident);
 * the owner's next collect finds the blocks free again, and its new blocks
 * there are whole.  An owner that keeps allocating the class keeps its
 * pages (it would only fault them in again).  om_heap_check passes in every
 * state. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "omtest.h"
#include "objmem.h"

/* 432 bytes: a class no other test here uses, 151 blocks a pool (15 pages). */
enum { SIZE = 432, PER_POOL = 65536 / SIZE, POOLS = 4, N = PER_POOL * POOLS };

typedef struct job {
    char **blocks;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stage; /* 1: the first block is freed; 2: the owner allocated (busy case) */
    bool wait_owner;
} job;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void set_stage(job *j, int stage)
{
    pthread_mutex_lock(&j->lock);
    j->stage = stage;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
}

static void wait_stage(job *j, int stage)
{
    pthread_mutex_lock(&j->lock);
    while (j->stage < stage)
        pthread_cond_wait(&j->cond, &j->lock);
    pthread_mutex_unlock(&j->lock);
}

/* Frees every block from another thread: every 16th (one in each pool at
 * least: the idle time counts from a pool's first remote free), then
 * (after the owner's move in the busy case) a pause longer than the
 * reclaim's idle time, then the rest. */
static void *free_all(void *arg)
{
    job *j = arg;
    for (int i = 0; i < N; i += 16)
        om_free(j->blocks[i]);
    set_stage(j, 1);
    if (j->wait_owner)
        wait_stage(j, 2);
    sleep_ms(30);
    for (int i = 0; i < N; i++)
        if (i % 16)
            om_free(j->blocks[i]);
    return NULL;
}

static size_t returned(void)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.returned;
}

static void fill(char **blocks)
{
    for (int i = 0; i < N; i++) {
        blocks[i] = om_malloc(SIZE);
        assert_non_null(blocks[i]);
        memset(blocks[i], i & 0xff, SIZE);
    }
}

static void check_and_free(char **blocks)
{
    for (int i = 0; i < N; i++)
        memset(blocks[i], (i * 7) & 0xff, SIZE);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < SIZE; k++)
            assert_int_equal((unsigned char)blocks[i][k], (i * 7) & 0xff);
    for (int i = 0; i < N; i++)
        om_free(blocks[i]);
}

static size_t run(bool busy)
{
    static char *blocks[N];
    job j = {blocks, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, busy};
    fill(blocks);
    om_release(); /* nothing else is given back while the blocks are freed */
    size_t before = returned();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_all, &j), 0);
    void *extra = NULL;
    if (busy) {
        wait_stage(&j, 1);
        extra = om_malloc(SIZE); /* the owner allocates the class: not idle */
        assert_non_null(extra);
        set_stage(&j, 2);
    }
    pthread_join(t, NULL); /* the owner waits: idle unless busy */
    size_t gone = returned() - before;
    om_heap_check(); /* reclaimed blocks held, not yet collected */
    fill(blocks);    /* the collect takes them back */
    om_heap_check();
    check_and_free(blocks);
    om_free(extra);
    om_heap_check();
    return gone;
}

static void idle_owner_pages_go_back(void **state)
{
    (void)state;
    /* at least the pools filled by this test alone: all but the first */
    size_t pool_pages = (size_t)PER_POOL * SIZE / 4096 * 4096;
    assert_true(run(false) >= (POOLS - 1) * pool_pages);
}

static void busy_owner_keeps_pages(void **state)
{
    (void)state;
    assert_int_equal(run(true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_owner_pages_go_back),
        cmocka_unit_test(busy_owner_keeps_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
