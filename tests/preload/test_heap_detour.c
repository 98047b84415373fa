/* test_heap_detour.c: what the preload's malloc and free rely on in the
 * heap (preload/alloc.c): hp_pop_unsampled serves blocks from the thread
 * heap's current pool, misses while any mode is on unless told to ignore
 * it, and leaves the sampling countdown alone; HP_MODE_DETOUR, the mode the
 * recorder turns on, makes the inline paths miss while om_malloc / om_free
 * still serve and free every block (their slow lanes treat it as no mode).
 * Runs in every build: it needs the heap, not the preload library. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <stdint.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"
#include "heap/special.h"

/* A block of the calling thread's heap from the inline pop, after om_malloc
 * has set the heap and a current pool of that class up. */
static void *warm_pop(size_t size, uint64_t ignore)
{
    void *first = om_malloc(size);
    assert_non_null(first);
    void *b = hp_pop_unsampled(hp_tls_heap, size, ignore);
    om_free(first);
    return b;
}

static void pops_blocks_and_leaves_the_countdown(void **state)
{
    (void)state;
    if (__atomic_load_n(&hp_mode, __ATOMIC_RELAXED))
        skip(); /* a debug or secure heap from the environment: every pop misses */
    void *first = om_malloc(48);
    assert_non_null(first);
    int64_t left = hp_tls_heap->sample_left;
    void *b = hp_pop_unsampled(hp_tls_heap, 48, 0);
    assert_non_null(b);
    assert_int_equal(hp_tls_heap->sample_left, left);
    assert_true(hp_owns(b));
    assert_true(om_usable_size(b) >= 48);
    memset(b, 0xab, 48);
    om_free(b);
    om_free(first);
    assert_null(hp_pop_unsampled(hp_tls_heap, (size_t)1 << 20, 0)); /* large: the caller's call */
    om_heap_check();
}

static void detour_misses_inline_and_serves_slowly(void **state)
{
    (void)state;
    if (__atomic_load_n(&hp_mode, __ATOMIC_RELAXED))
        skip();
    hp_mode_set(HP_MODE_DETOUR);
    assert_null(warm_pop(64, 0));           /* the recorder's bit: the inline pop misses */
    void *b = warm_pop(64, HP_MODE_DETOUR); /* the recorder's own pop ignores it */
    assert_non_null(b);
    om_free(b);
    void *blocks[1000];
    for (int i = 0; i < 1000; i++) {
        blocks[i] = om_malloc((size_t)(i % 600) + 1);
        assert_non_null(blocks[i]);
        memset(blocks[i], i & 0xff, (size_t)(i % 600) + 1);
    }
    for (int i = 0; i < 1000; i += 2)
        om_free(blocks[i]);
    hp_mode_clear(HP_MODE_DETOUR);
    for (int i = 1; i < 1000; i += 2) /* allocated under the detour, freed inline */
        om_free(blocks[i]);
    b = warm_pop(64, 0);
    assert_non_null(b);
    om_free(b);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pops_blocks_and_leaves_the_countdown),
        cmocka_unit_test(detour_misses_inline_and_serves_slowly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
