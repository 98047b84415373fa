/* test_heap_basic.c: sizes, alignment of every class, usable size, realloc
 * (in place and moving), calloc zeroing, the edges of the malloc family. */
#include <errno.h>
#include <string.h>

#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include "omtest.h"
#include "objmem.h"

/* Sizes the compiler cannot see, so it does not warn about them. */
static volatile size_t huge = SIZE_MAX - 100, half = SIZE_MAX / 2, past_47_bits = (size_t)1 << 50;

static void every_size_is_aligned_and_usable(void **state)
{
    (void)state;
    void *ptrs[1200];
    size_t n = 0;
    for (size_t size = 0; size <= 140000; size += size < 1024 ? 1 : size / 7) {
        unsigned char *p = om_malloc(size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        size_t us = om_usable_size(p);
        assert_true(us >= size);
        assert_true(us <= (size < 16 ? 16 : size + size / 4 + 16) || size > 131072);
        memset(p, 0xab, us);
        if (n < sizeof ptrs / sizeof ptrs[0])
            ptrs[n++] = p;
        else
            om_free(p);
    }
    om_heap_check();
    for (size_t i = 0; i < n; i++)
        om_free(ptrs[i]);
    om_heap_check();
}

static void distinct_blocks_do_not_overlap(void **state)
{
    (void)state;
    enum { N = 5000 };
    static unsigned char *p[N];
    static size_t sz[N];
    omtest_srand(7);
    for (int i = 0; i < N; i++) {
        sz[i] = omtest_rand() % 3000;
        p[i] = om_malloc(sz[i]);
        assert_non_null(p[i]);
        memset(p[i], (int)(i & 0xff), sz[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < sz[i]; j++)
            assert_int_equal(p[i][j], i & 0xff);
    assert_true(om_heap_check() >= N);
    for (int i = 0; i < N; i += 2)
        om_free(p[i]);
    om_heap_check();
    for (int i = 1; i < N; i += 2)
        om_free(p[i]);
    om_heap_check();
}

static void alignment_of_every_power_of_two(void **state)
{
    (void)state;
    for (size_t align = 1; align <= ((size_t)8 << 20); align <<= 1) {
        size_t sizes[] = {1, 16, 100, 4096, 200000};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = om_aligned_alloc(align, sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % align, 0);
            assert_true(om_usable_size(p) >= sizes[i]);
            memset(p, 1, sizes[i]);
            om_free(p);
        }
    }
    errno = 0;
    assert_null(om_aligned_alloc(24, 10));
    assert_int_equal(errno, EINVAL);
    om_heap_check();
}

static void calloc_zeroes_and_checks_overflow(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        unsigned char *p = om_malloc(1000);
        memset(p, 0xff, 1000);
        om_free(p);
        unsigned char *q = om_calloc(10, 100);
        assert_non_null(q);
        for (int i = 0; i < 1000; i++)
            assert_int_equal(q[i], 0);
        om_free(q);
    }
    /* a big calloc, fresh from the OS or from the large cache, reads zero */
    for (int round = 0; round < 3; round++) {
        size_t big = (size_t)3 << 20;
        unsigned char *z = om_calloc(1, big);
        assert_non_null(z);
        for (size_t i = 0; i < big; i += 4093)
            assert_int_equal(z[i], 0);
        assert_int_equal(z[big - 1], 0);
        memset(z, 0x77, big);
        om_free(z);
    }
    errno = 0;
    assert_null(om_calloc(half, 3));
    assert_int_equal(errno, ENOMEM);
    assert_true(strlen(om_error_message()) > 0);
    om_heap_check();
}

static void realloc_moves_and_stays(void **state)
{
    (void)state;
    unsigned char *p = om_realloc(NULL, 100);
    assert_non_null(p);
    for (int i = 0; i < 100; i++)
        p[i] = (unsigned char)i;
    unsigned char *q = om_realloc(p, 110); /* 112-byte class: in place */
    assert_ptr_equal(p, q);
    q = om_realloc(q, 5000);
    assert_non_null(q);
    for (int i = 0; i < 100; i++)
        assert_int_equal(q[i], i);
    q = om_realloc(q, 1 << 20);
    for (int i = 0; i < 100; i++)
        assert_int_equal(q[i], i);
    q = om_realloc(q, 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(q[i], i);
    assert_null(om_realloc(q, 0));
    om_heap_check();
}

static void edges(void **state)
{
    (void)state;
    void *a = om_malloc(0), *b = om_malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    om_free(a);
    om_free(b);
    om_free(NULL);
    assert_int_equal(om_usable_size(NULL), 0);
    errno = 0;
    assert_null(om_malloc(huge));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(om_malloc(past_47_bits));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    void *p = om_malloc(10);
    assert_null(om_realloc(p, half));
    assert_int_equal(errno, ENOMEM);
    om_free(p); /* the failed realloc left p alone */
    om_heap_check();
}

static void large_blocks_and_release(void **state)
{
    (void)state;
    for (int i = 0; i < 40; i++) {
        size_t size = ((size_t)200 << 10) * (size_t)(1 + i % 7);
        unsigned char *p = om_malloc(size);
        assert_non_null(p);
        p[0] = 1;
        p[size - 1] = 2;
        assert_true(om_usable_size(p) >= size);
        om_free(p);
    }
    unsigned char *big = om_malloc((size_t)20 << 20);
    assert_non_null(big);
    memset(big, 3, (size_t)20 << 20);
    om_free(big);
    om_release();
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_size_is_aligned_and_usable),
        cmocka_unit_test(distinct_blocks_do_not_overlap),
        cmocka_unit_test(alignment_of_every_power_of_two),
        cmocka_unit_test(calloc_zeroes_and_checks_overflow),
        cmocka_unit_test(realloc_moves_and_stays),
        cmocka_unit_test(edges),
        cmocka_unit_test(large_blocks_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
