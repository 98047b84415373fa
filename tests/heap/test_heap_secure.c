/* test_heap_secure.c: secure mode (option `secure`, OBJMEM_SECURE=1):
 * free-list links are encoded, carving order is random, and a corrupted
 * link is detected (one line, abort) instead of being followed. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <string.h>

#include "omtest.h"
#include "objmem.h"

static void corrupt_a_link(void *arg)
{
    (void)arg;
    uintptr_t *a = om_malloc(200);
    uintptr_t *b = om_malloc(200);
    om_free(b);
    om_free(a);
    /* a is now the head; its link (to b) is overwritten, use-after-free style */
    a[0] = (uintptr_t)0x4141414141414141ull;
    void *x = om_malloc(200); /* pops a: decodes the bad link */
    void *y = om_malloc(200);
    (void)x;
    (void)y;
}

static void corrupted_link_is_detected(void **state)
{
    (void)state;
    omtest_expect_abort(corrupt_a_link, NULL, "corrupted free list");
}

static void links_are_not_plain_pointers(void **state)
{
    (void)state;
    uintptr_t *keep = om_malloc(176);
    uintptr_t *a = om_malloc(176);
    uintptr_t *b = om_malloc(176);
    om_free(b);
    om_free(a); /* a links to b */
    assert_true(a[0] != (uintptr_t)b);
    assert_true(a[0] != 0);
    om_free(keep);
    om_heap_check();
}

static void carving_order_is_random(void **state)
{
    (void)state;
    enum { N = 64 };
    char *p[N];
    int ascending = 0;
    for (int i = 0; i < N; i++)
        p[i] = om_malloc(304);
    for (int i = 1; i < N; i++)
        ascending += p[i] > p[i - 1];
    assert_true(ascending < N - 8);
    for (int i = 0; i < N; i++)
        om_free(p[i]);
    om_heap_check();
}

static void still_a_working_heap(void **state)
{
    (void)state;
    void *p[3000];
    for (int i = 0; i < 3000; i++) {
        p[i] = om_malloc((size_t)(i % 3000));
        memset(p[i], 7, (size_t)(i % 3000));
    }
    om_heap_check();
    for (int i = 0; i < 3000; i++)
        om_free(p[i]);
    om_heap_check();
}

int main(void)
{
    om_option_set("secure", 1); /* before the first allocation: read at start-up */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corrupted_link_is_detected),
        cmocka_unit_test(links_are_not_plain_pointers),
        cmocka_unit_test(carving_order_is_random),
        cmocka_unit_test(still_a_working_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
