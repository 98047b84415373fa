/*
 * test_edges.c: the raw heap at its edges, as the C standard and glibc
 * define them: size 0, NULL, overflowing and huge sizes, every alignment,
 * usable sizes, realloc across size classes.  Every test runs twice: on the
 * plain heap and on the debug heap.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "objmem.h"
#include "omtest.h"

static int plain_heap(void **state)
{
    (void)state;
    om_heap_set_debug(0);
    return 0;
}

static int debug_heap(void **state)
{
    (void)state;
    om_heap_set_debug(1);
    return 0;
}

static int check_heap(void **state)
{
    (void)state;
    om_heap_check();
    return 0;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Hides a size from the compiler, which would otherwise refuse (rightly) a
 * call it can see is too large. */
static size_t hide(size_t v)
{
    volatile size_t x = v;
    return x;
}

/* A failure that must leave NULL, ENOMEM (or `err`) and a message. */
#define ASSERT_FAILS(expr, err)                                                                    \
    do {                                                                                           \
        om_error_clear();                                                                          \
        errno = 0;                                                                                 \
        void *got_ = (expr);                                                                       \
        assert_null(got_);                                                                         \
        assert_int_equal(errno, (err));                                                            \
        assert_true(om_error_message()[0] != '\0');                                                \
    } while (0)

static void test_malloc_zero(void **state)
{
    (void)state;
    void *a = om_malloc(0), *b = om_malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_true(om_usable_size(a) < 1u << 20);
    om_free(a);
    om_free(b);
    void *c = om_calloc(0, 5), *d = om_calloc(5, 0);
    assert_non_null(c);
    assert_non_null(d);
    assert_ptr_not_equal(c, d);
    om_free(c);
    om_free(d);
}

static void test_free_null(void **state)
{
    (void)state;
    om_free(NULL);
    assert_int_equal(om_usable_size(NULL), 0);
}

static void test_realloc_null_and_zero(void **state)
{
    (void)state;
    char *p = om_realloc(NULL, 30); /* as om_malloc(30) */
    assert_non_null(p);
    memset(p, 'x', 30);
    assert_true(om_usable_size(p) >= 30);
    assert_null(om_realloc(p, 0)); /* frees p, as glibc does */
    void *q = om_realloc(NULL, 0); /* as om_malloc(0) */
    assert_non_null(q);
    om_free(q);
}

static void test_calloc_overflow(void **state)
{
    (void)state;
    ASSERT_FAILS(om_calloc(hide(SIZE_MAX / 2 + 1), 2), ENOMEM);
    ASSERT_FAILS(om_calloc(2, hide(SIZE_MAX / 2 + 1)), ENOMEM);
    ASSERT_FAILS(om_calloc(hide((size_t)1 << 32), hide((size_t)1 << 32)), ENOMEM);
    ASSERT_FAILS(om_calloc(hide(SIZE_MAX), hide(SIZE_MAX)), ENOMEM);
    ASSERT_FAILS(om_calloc(3, hide(SIZE_MAX / 3 + 1)), ENOMEM);
}

static void test_huge_sizes(void **state)
{
    (void)state;
    const size_t huge[] = {
        SIZE_MAX,
        SIZE_MAX - 1,
        SIZE_MAX - 15,
        SIZE_MAX - 4096,
        SIZE_MAX - 100000,
        (size_t)PTRDIFF_MAX + 1,
        (size_t)PTRDIFF_MAX,
        (size_t)PTRDIFF_MAX - 1,
        (size_t)1 << 62,
        (size_t)1 << 56,
    };
    char *p = om_malloc(100);
    memset(p, 'k', 100);
    for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
        size_t n = hide(huge[i]);
        ASSERT_FAILS(om_malloc(n), ENOMEM);
        ASSERT_FAILS(om_calloc(1, n), ENOMEM);
        ASSERT_FAILS(om_aligned_alloc(16, n), ENOMEM);
        ASSERT_FAILS(om_aligned_alloc(4096, n), ENOMEM);
        ASSERT_FAILS(om_realloc(p, n), ENOMEM);
        ASSERT_FAILS(om_realloc(NULL, n), ENOMEM);
        for (int j = 0; j < 100; j++) /* a failed realloc leaves p as it was */
            assert_int_equal(p[j], 'k');
    }
    om_free(p);
}

static void test_aligned_every_power(void **state)
{
    (void)state;
    for (size_t a = 1; a <= (size_t)1 << 22; a <<= 1) {
        size_t sizes[] = {1, a, a + a / 2 + 1, 3};
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            unsigned char *p = om_aligned_alloc(a, sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p & (a - 1), 0);
            assert_int_equal((uintptr_t)p & 15, 0);
            assert_true(om_usable_size(p) >= sizes[i]);
            p[0] = 1;
            p[sizes[i] - 1] = 2;
            om_free(p);
        }
    }
    /* many at once at a middling alignment: distinct, aligned, writable */
    void *ps[64];
    for (int i = 0; i < 64; i++) {
        ps[i] = om_aligned_alloc(512, 100);
        assert_int_equal((uintptr_t)ps[i] % 512, 0);
        memset(ps[i], i, 100);
    }
    for (int i = 0; i < 64; i++) {
        assert_int_equal(((unsigned char *)ps[i])[99], i);
        om_free(ps[i]);
    }
}

static void test_aligned_not_power(void **state)
{
    (void)state;
    static const size_t bad[] = {
        0, 3, 5, 6, 12, 24, 48, 100, 1000, 4097, 3u << 20, SIZE_MAX, (size_t)1 << 63 | 1};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        ASSERT_FAILS(om_aligned_alloc(hide(bad[i]), 16), EINVAL);
}

static void test_usable_size(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 5000; n += (n < 600 ? 1 : 37)) {
        unsigned char *p = om_malloc(n);
        assert_non_null(p);
        size_t u = om_usable_size(p);
        assert_true(u >= n);
        memset(p, 0xAA, u); /* everything up to the usable size is the caller's */
        om_free(p);
    }
    static const size_t large[] = {65536, 100000, 262145, 1 << 20, (1 << 20) + 1, 5000000};
    for (size_t i = 0; i < ARRAY_LEN(large); i++) {
        unsigned char *p = om_malloc(large[i]);
        assert_non_null(p);
        size_t u = om_usable_size(p);
        assert_true(u >= large[i]);
        p[u - 1] = 1;
        om_free(p);
    }
}

static void fill(unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        p[i] = (unsigned char)(i * 131 + 7);
}

static void check(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 131 + 7))
            fail_msg("byte %zu of %zu changed across realloc", i, n);
}

static void test_realloc_preserves(void **state)
{
    (void)state;
    static const size_t steps[] = {1,       15,      16,   17,    48,      500,    512,
                                   513,     1024,    4000, 20000, 65536,   300000, 1 << 20,
                                   3000000, 8 << 20, 100,  7,     1 << 20, 33,     0};
    unsigned char *p = NULL;
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
        size_t m = steps[i];
        unsigned char *q = om_realloc(p, m);
        if (m == 0) {
            assert_null(q);
            break;
        }
        assert_non_null(q);
        check(q, n < m ? n : m);
        fill(q, n < m ? n : m, m);
        p = q;
        n = m;
    }
    /* shrink and grow in place many times: content stays */
    p = om_malloc(200);
    fill(p, 0, 200);
    for (size_t m = 199; m > 100; m--) {
        p = om_realloc(p, m);
        check(p, m);
    }
    om_free(p);
}

#define BOTH(fn) cmocka_unit_test_teardown(fn, check_heap)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_malloc_zero),       BOTH(test_free_null),   BOTH(test_realloc_null_and_zero),
        BOTH(test_calloc_overflow),   BOTH(test_huge_sizes),  BOTH(test_aligned_every_power),
        BOTH(test_aligned_not_power), BOTH(test_usable_size), BOTH(test_realloc_preserves),
    };
    int failed = cmocka_run_group_tests_name("plain heap", tests, plain_heap, NULL);
    failed += cmocka_run_group_tests_name("debug heap", tests, debug_heap, plain_heap);
    return failed;
}
