/* Sampling mode on the heap's countdown: each sampled block of s bytes
 * stands for s / (1 - exp(-s/M)) bytes, so totals are unbiased for small
 * blocks, blocks near the mean and blocks far above it; the blocks allocated
 * right after the start are sampled; frees of unsampled blocks are ignored;
 * with the debug heap on, the tracer samples by itself; the call-site
 * macros are on only near a sample, and every sampled block keeps its site.
 *
 * The bounds are at least 4.5 standard deviations of each estimate wide
 * (computed beside each test), so a correct tracer fails them about once
 * in 10^5 runs, while each defect they guard against misses them by far. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/core.h"

static int stop_tracing(void **state)
{
    (void)state;
    if (om_trace_is_tracing())
        om_trace_stop();
    return 0;
}

static size_t traced_now(void)
{
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    return cur;
}

/* Fills v[0..n) with blocks of `size` bytes; returns their usable bytes. */
static double allocate(void **v, size_t n, size_t size)
{
    double usable = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = om_malloc(size);
        assert_non_null(v[i]);
        usable += (double)om_usable_size(v[i]);
    }
    return usable;
}

/* Frees v[0..n) and checks that the traced total falls back to zero. */
static void free_all(void **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        om_free(v[i]);
    assert_int_equal(traced_now(), 0);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
}

/* s = M: p = 0.632, each sample weighs 1.58 s.  20000 blocks: relative
 * standard deviation sqrt((1-p)/p/20000) = 0.54%, bound 8%.  A tracer that
 * weighed samples max(s, M) would read 63% of the truth.  (Today the heap
 * does not count down the blocks that a pool refill hands out, which lowers
 * the rate by the share of those: 2% at 256 bytes, 9% at 1 and 4 KiB.) */
static void blocks_at_the_mean_weigh_s_over_p(void **state)
{
    (void)state;
    enum { N = 20000, SIZE = 256 };
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    assert_int_equal(om_trace_start_sampling(1, SIZE), 0);
    double want = allocate(v, N, SIZE);
    double got = (double)traced_now();
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_true(got > want * 0.92 && got < want * 1.08);
    assert_true(st.traces > N / 2 && st.traces < N * 3 / 4); /* p = 0.632 */
    free_all(v, N);
    free(v);
}

/* s = 16 M: every block is sampled (p = 1 - 1e-7) and stands for itself. */
static void large_blocks_are_all_sampled_at_their_size(void **state)
{
    (void)state;
    enum { N = 48, SIZE = 64 * 1024, MEAN = 4096 };
    void *v[N];
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    double want = allocate(v, N, SIZE);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, N);
    double got = (double)traced_now();
    assert_true(got >= want && got < want * 1.0001);
    free_all(v, N);
}

/* Sizes 1..2048 at random, M = 1024: relative standard deviation about
 * 1.2% for 4000 blocks.  The heap counts requested bytes and reports usable
 * ones, so the estimate lies between the two totals (measured: 1.04 x
 * requested, 0.96 x usable); the pool refills the heap does not count take
 * 7% more today (0.97 x requested), hence the lower bound of 0.88. */
static void mixed_sizes_stay_unbiased(void **state)
{
    (void)state;
    enum { N = 4000, MEAN = 1024 };
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    omtest_srand(42);
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    double requested = 0, usable = 0;
    for (int i = 0; i < N; i++) {
        size_t size = 1 + (size_t)(omtest_rand() % 2048);
        v[i] = om_malloc(size);
        requested += (double)size;
        usable += (double)om_usable_size(v[i]);
    }
    double got = (double)traced_now();
    assert_true(got > requested * 0.88 && got < usable * 1.08);
    free_all(v, N);
    free(v);
}

/* A heap with sampling off looks for it only every megabyte or so; the
 * tracer makes the starting thread's heap look at once, so blocks allocated
 * right after the start are sampled: 100 blocks of 64 bytes at M = 512
 * hold about 12.5 samples (none: probability 4e-6). */
static void blocks_right_after_the_start_are_sampled(void **state)
{
    (void)state;
    enum { N = 100, SIZE = 64, MEAN = 512 };
    void *v[N];
    for (int i = 0; i < 3000; i++) /* untraced: the countdown is part way */
        om_free(om_malloc(SIZE * 2));
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    for (int i = 0; i < N; i++)
        v[i] = om_malloc(SIZE);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_true(st.traces > 0);
    free_all(v, N);
}

/* Objects the runtime serves from the blocks it keeps (object/alloc.c)
 * count down the heap's sampling countdown as the heap's own blocks do:
 * 8000 objects of 32 bytes, each in a block kept before the start, at
 * M = 256: p = 0.1175, about 940 samples, relative standard deviation
 * 3.1%, bound 15%.  Served past the countdown, they read as nothing. */
static void objects_from_kept_blocks_are_sampled(void **state)
{
    (void)state;
    enum { N = 8000, MEAN = 256 };
    static const om_type node = {.name = "sampled_node", .basicsize = 32};
    static om_object *v[N];
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    for (int round = 0; round < 2; round++) { /* the second round is served kept blocks */
        for (int i = 0; i < N; i++)
            assert_non_null(v[i] = om_new(rt, &node));
        for (int i = 0; i < N; i++)
            om_decref(v[i]);
    }
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    for (int i = 0; i < 40000; i++) /* past the recheck (1 MiB) of a heap that was not sampling */
        om_decref(om_new(rt, &node));
    for (int i = 0; i < N; i++)
        assert_non_null(v[i] = om_new(rt, &node));
    double got = (double)traced_now(), want = (double)N * 32;
    print_message("traced %.0f of %.0f bytes\n", got, want);
    assert_true(got > want * 0.85 && got < want * 1.15);
    for (int i = 0; i < N; i++)
        om_decref(v[i]);
    om_trace_stop();
    om_runtime_free(rt);
}

/* A sampled block comes from a pool of sampled blocks (HP_KIND_SAMPLED,
 * whose frees all report); the pools of unsampled blocks are never marked,
 * so their frees stay on the inline path.  Every block is checked: traced
 * exactly when its pool is a sampled one. */
static void sampled_blocks_live_in_pools_of_their_own(void **state)
{
    (void)state;
    enum { N = 20000, SIZE = 48, MEAN = 4096 };
    if (HP_LOAD(&hp_mode) & HP_MODE_DEBUG)
        skip(); /* the tracer samples the debug heap's blocks by itself */
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    allocate(v, N, SIZE);
    size_t sampled = 0;
    for (size_t i = 0; i < N; i++) {
        hp_pool *pool = hp_pool_of(v[i]);
        assert_non_null(pool);
        om_trace_traceback *tb = om_trace_get_object_traceback(v[i]);
        if (tb) {
            sampled++;
            assert_int_equal(pool->kind, HP_KIND_SAMPLED);
            assert_int_not_equal(pool->special & HP_SPECIAL_SAMPLED, 0);
            om_trace_traceback_free(tb);
        } else {
            assert_int_equal(pool->kind, HP_KIND_PLAIN);
            assert_int_equal(pool->special, 0);
        }
    }
    assert_true(sampled > 50); /* about N * SIZE / MEAN = 234 expected */
    free_all(v, N);            /* every sampled free was reported */
    free(v);
}

/* The heap does not sample the debug heap's blocks; with the debug heap on
 * at the start the tracer samples them itself, with the same weights:
 * 20000 blocks of 200 bytes at M = 2048 (p = 0.093): relative standard
 * deviation 2.2%, bound 15%; 1860 samples expected, none without it. */
static void the_debug_heaps_blocks_are_sampled_by_the_tracer(void **state)
{
    (void)state;
    enum { N = 20000, SIZE = 200, MEAN = 2048 };
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    om_heap_set_debug(1);
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    double want = allocate(v, N, SIZE);
    double got = (double)traced_now();
    assert_true(got > want * 0.85 && got < want * 1.15);
    free_all(v, N);
    om_heap_set_debug(0);
    free(v);
}

#ifndef om_malloc
#error "the call-site macros must wrap om_malloc here"
#endif

/* Far from a sample the call-site macros are off: M = 1 GiB, so the gap
 * the start draws lies within HP_SAMPLE_NEAR of the sample with
 * probability 1e-6.  (Exact tracing sets the tracer's bit instead.) */
static void sites_are_off_far_from_a_sample(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start_sampling(1, (size_t)1 << 30), 0);
    void *p = om_malloc(64);
    assert_non_null(p);
    assert_int_equal(om_trace_sites_on, 0);
    om_free(p);
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_start(1), 0);
    assert_int_equal(om_trace_sites_on, 1);
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_sites_on, 0);
}

/* The macros go on HP_SAMPLE_NEAR bytes before each sample, so every
 * sampled block still has its call site as frame 0, while most wrapped
 * calls run with them off: 8000 blocks of 64 bytes at M = 16 KiB hold about
 * 31 samples (none: probability 3e-14), the macros are on for about 1 KiB
 * of each 16 KiB gap (bound: a quarter of the calls). */
static void sampled_blocks_keep_their_call_site(void **state)
{
    (void)state;
    enum { N = 8000, SIZE = 64, MEAN = 16384 };
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    assert_int_equal(om_trace_start_sampling(1, MEAN), 0);
    unsigned line = 0;
    int on = 0;
    for (int i = 0; i < N; i++) {
        on += om_trace_sites_on != 0;
        line = __LINE__ + 1;
        v[i] = om_malloc(SIZE);
        assert_non_null(v[i]);
    }
    int sampled = 0;
    for (int i = 0; i < N; i++) {
        om_trace_traceback *tb = om_trace_get_object_traceback(v[i]);
        if (!tb)
            continue;
        sampled++;
        const char *file = tb->frames[0].filename;
        assert_non_null(strstr(file, "test_sampling.c"));
        assert_int_equal(tb->frames[0].lineno, line);
        om_trace_traceback_free(tb);
    }
    assert_true(sampled > 0);
    assert_true(on < N / 4);
    free_all(v, N);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(blocks_right_after_the_start_are_sampled, stop_tracing),
        cmocka_unit_test_teardown(blocks_at_the_mean_weigh_s_over_p, stop_tracing),
        cmocka_unit_test_teardown(large_blocks_are_all_sampled_at_their_size, stop_tracing),
        cmocka_unit_test_teardown(mixed_sizes_stay_unbiased, stop_tracing),
        cmocka_unit_test_teardown(the_debug_heaps_blocks_are_sampled_by_the_tracer, stop_tracing),
        cmocka_unit_test_teardown(sampled_blocks_live_in_pools_of_their_own, stop_tracing),
        cmocka_unit_test_teardown(sampled_blocks_keep_their_call_site, stop_tracing),
        cmocka_unit_test_teardown(objects_from_kept_blocks_are_sampled, stop_tracing),
        /* last: the 1 GiB gap it draws stays on the thread's heap */
        cmocka_unit_test_teardown(sites_are_off_far_from_a_sample, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
