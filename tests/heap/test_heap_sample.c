/* test_heap_sample.c: sampling hooks (hp_hooks.sample_bytes): only about one
 * allocation per mean bytes reaches on_alloc, the fast path serves the rest,
 * every sampled block's free reaches on_free, the hooks of a private heap
 * see their heap, and sample_bytes = 0 keeps the exact behaviour. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <math.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/fast.h" /* heap/core.h (hp_log) and the inline paths */

#define MAX_SAMPLED 4096

static void *sampled[MAX_SAMPLED]; /* blocks reported and not yet freed */
static size_t n_sampled, allocs, frees_of_sampled, frees_other, private_seen;

static void on_alloc(void *p, size_t size, hp_heap *heap, void *caller)
{
    (void)caller;
    assert_non_null(p);
    assert_true(size >= 1);
    assert_true(n_sampled < MAX_SAMPLED);
    sampled[n_sampled++] = p;
    allocs++;
    if (heap)
        private_seen++;
}

static void on_free(void *p, size_t size, hp_heap *heap)
{
    (void)size;
    (void)heap;
    for (size_t i = 0; i < n_sampled; i++)
        if (sampled[i] == p) {
            sampled[i] = sampled[--n_sampled];
            frees_of_sampled++;
            return;
        }
    frees_other++;
}

static void reset(void)
{
    n_sampled = allocs = frees_of_sampled = frees_other = private_seen = 0;
}

enum { N = 20000, SIZE = 64, MEAN = 4096 };
static void *blocks[N];

static void one_per_mean_bytes_is_sampled(void **state)
{
    (void)state;
    static const hp_hooks hooks = {on_alloc, on_free, MEAN};
    reset();
    hp_hooks_install(&hooks);
    /* the thread heap notices within HP_SAMPLE_RECHECK bytes */
    for (int i = 0; i < (2 << 20) / SIZE; i++)
        om_free(om_malloc(SIZE));
    assert_int_equal(n_sampled, 0);
    reset();
    for (int i = 0; i < N; i++)
        blocks[i] = om_malloc(SIZE);
    size_t during = allocs;
    /* 20000 x 64 bytes / 4096: 312 expected; Poisson, far outside 3 sigma */
    assert_true(during >= 200 && during <= 450);
    for (int i = 0; i < N; i++)
        om_free(blocks[i]);
    assert_int_equal(n_sampled, 0); /* every sampled block's free was reported */
    assert_int_equal(frees_of_sampled, allocs);
    assert_true(frees_other < (size_t)N); /* not every free takes the slow lane */
    hp_hooks_install(NULL);
    om_heap_check();
}

static void private_heaps_are_sampled_too(void **state)
{
    (void)state;
    static const hp_hooks hooks = {on_alloc, on_free, MEAN};
    hp_hooks_install(&hooks);
    hp_heap *h = hp_heap_new(NULL);
    reset();
    for (int i = 0; i < N; i++)
        blocks[i] = hp_heap_alloc(h, SIZE);
    assert_true(allocs >= 200 && allocs <= 450); /* a new heap samples from the start */
    assert_int_equal(private_seen, allocs);
    for (int i = 0; i < N; i++)
        hp_heap_free(h, blocks[i]);
    assert_int_equal(n_sampled, 0);
    hp_heap_delete(h);
    hp_hooks_install(NULL);
}

static void zero_mean_reports_everything(void **state)
{
    (void)state;
    static const hp_hooks hooks = {on_alloc, on_free, 0};
    hp_hooks_install(&hooks);
    reset();
    for (int i = 0; i < 1000; i++)
        blocks[i] = om_malloc(SIZE);
    assert_int_equal(allocs, 1000);
    for (int i = 0; i < 1000; i++)
        om_free(blocks[i]);
    assert_int_equal(frees_of_sampled, 1000);
    assert_int_equal(n_sampled, 0);
    hp_hooks_install(NULL);
    reset();
    om_free(om_malloc(SIZE));
    assert_int_equal(allocs, 0);
}

/* The heap's own logarithm (the sampling gaps) agrees with libm's over the
 * whole range the gaps draw from, (0, 1], and beyond. */
static void own_log_matches_libm(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    for (int i = 0; i < 200000; i++) {
        double u = (double)((om_splitmix64(&rng) >> 11) + 1) * 0x1.0p-53;
        double x = i % 4 == 0 ? u * 0x1.0p-40 : i % 4 == 1 ? u * 1e6 : u;
        double want = log(x), got = hp_log(x);
        assert_true(fabs(got - want) <= 4e-15 * (fabs(want) > 1 ? fabs(want) : 1));
    }
    assert_true(hp_log(1.0) == 0.0);
    assert_true(fabs(hp_log(0x1.0p-53) + 53 * log(2.0)) < 1e-13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_per_mean_bytes_is_sampled),
        cmocka_unit_test(private_heaps_are_sampled_too),
        cmocka_unit_test(zero_mean_reports_everything),
        cmocka_unit_test(own_log_matches_libm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
