/* The collector's bulk free (heap/batch.c): hp_heap_free_batch frees runs
 * of blocks of the same pool with one owner check and one count update, and
 * still refuses a double free; a full collection holds the heap's prompt
 * purge while it frees, so the pages of the pools it empties go back at the
 * heap's next slow path after it, not run by run inside it. */
#include <stdio.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"

#define N 3000
static void *blocks[N];

/* Sizes that interleave three pools, one of them of several slots (blocks
 * past its first slot take the general free). */
static size_t size_of(size_t i)
{
    static const size_t sizes[] = {32, 48, 32, 20000, 32, 48};
    return sizes[i % (sizeof sizes / sizeof *sizes)];
}

static void live_blocks(hp_heap *h, size_t want)
{
    size_t n, bytes;
    hp_heap_usage(h, &n, &bytes);
    assert_int_equal(n, want);
}

static void batch_frees_runs_and_single_blocks(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            blocks[i] = hp_heap_alloc(h, size_of(i));
            assert_non_null(blocks[i]);
            memset(blocks[i], 0x5a, 16);
        }
        live_blocks(h, N);
        hp_heap_free_batch(h, blocks, N / 2); /* allocation order: long runs */
        live_blocks(h, N - N / 2);
        omtest_srand(11 + (uint64_t)round);
        for (size_t i = N - 1; i > N / 2; i--) { /* the rest shuffled: runs of one */
            size_t j = N / 2 + (size_t)(omtest_rand() % (i - N / 2 + 1));
            void *t = blocks[i];
            blocks[i] = blocks[j];
            blocks[j] = t;
        }
        hp_heap_free_batch(h, blocks + N / 2, 1);
        hp_heap_free_batch(h, blocks + N / 2 + 1, N - N / 2 - 1);
        hp_heap_free_batch(h, blocks, 0);
        live_blocks(h, 0);
        om_heap_check();
    }
    hp_heap_delete(h);
}

static void free_twice(void *arg)
{
    (void)arg;
    hp_heap *h = hp_heap_new(NULL);
    void *b[4];
    for (int i = 0; i < 3; i++)
        b[i] = hp_heap_alloc(h, 64);
    b[3] = b[1]; /* the same block again, in the same run */
    hp_heap_free_batch(h, b, 4);
}

static void batch_refuses_a_double_free(void **state)
{
    (void)state;
    omtest_expect_abort(free_twice, NULL, "free");
}

/* ---- a full collection and the prompt purge ---------------------------------- */

#define PAIRS 150000 /* 300000 lists and their arrays: over 18 MiB */

static size_t committed(void)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.committed;
}

static void make_pairs(om_runtime *rt, om_object *holder)
{
    for (long i = 0; i < PAIRS; i++) {
        om_object *a = om_list_new(rt), *b = om_list_new(rt);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(om_list_append(a, b), 0);
        assert_int_equal(om_list_append(b, a), 0);
        assert_int_equal(om_list_append(holder, a), 0);
        om_decref(a);
        om_decref(b);
    }
}

/* Slow paths of the heap without a free: refills of a thread heap's
 * 512-byte class (a free that empties a pool would look at the purge too). */
static void *churned[2048];
static void churn(void)
{
    for (size_t i = 0; i < 2048; i++) {
        churned[i] = om_malloc(512);
        assert_non_null(churned[i]);
    }
}

static void collection_gives_pages_back_after_it(void **state)
{
    (void)state;
    long delay = 0;
    assert_int_equal(om_option_get("purge_delay", &delay), 0);
    assert_int_equal(om_option_set("purge_delay", 1000000), 0); /* no tick acts */
    om_release();
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    om_gc_disable(rt);
    size_t empty = committed();
    om_object *holder = om_list_new(rt);
    assert_non_null(holder);
    make_pairs(rt, holder);
    om_gc_collect(rt, 2);
    om_decref(holder);
    size_t before = committed();
    assert_true(om_gc_collect(rt, 2) >= 2 * PAIRS);
    size_t held = committed();
    churn();
    size_t after = committed();
    om_heap_stats st;
    om_heap_get_stats(&st);
    print_message("committed: %zu KiB empty, %zu KiB before, %zu KiB after the collection, "
                  "%zu KiB after the next slow paths (in use %zu KiB)\n",
                  empty >> 10, before >> 10, held >> 10, after >> 10, st.bytes_in_use >> 10);
    /* nothing went back inside the collection ... */
    assert_true(held + ((size_t)4 << 20) >= before); /* (the collector's own arrays may) */
    /* ... and the pages of its emptied pools went back right after */
    assert_true(after + ((size_t)6 << 20) <= held);
    for (size_t i = 0; i < 2048; i++)
        om_free(churned[i]);
    om_runtime_free(rt);
    assert_int_equal(om_option_set("purge_delay", delay), 0);
    om_release();
}

/* The control: outside a collection, a pool return past the prompt volume
 * still gives the pages back at once. */
static void plain_frees_give_pages_back_at_once(void **state)
{
    (void)state;
    long delay = 0;
    assert_int_equal(om_option_get("purge_delay", &delay), 0);
    assert_int_equal(om_option_set("purge_delay", 1000000), 0);
    om_release();
    enum { M = 40000 };
    static void *p[M];
    for (size_t i = 0; i < M; i++)
        p[i] = om_malloc(512);
    size_t full = committed();
    for (size_t i = 0; i < M; i++)
        om_free(p[i]);
    size_t after = committed();
    print_message("committed: %zu KiB full, %zu KiB after the frees\n", full >> 10, after >> 10);
    assert_true(after + ((size_t)8 << 20) <= full);
    assert_int_equal(om_option_set("purge_delay", delay), 0);
    om_release();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_frees_runs_and_single_blocks),
        cmocka_unit_test(batch_refuses_a_double_free),
        cmocka_unit_test(collection_gives_pages_back_after_it),
        cmocka_unit_test(plain_frees_give_pages_back_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
