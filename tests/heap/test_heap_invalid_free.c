/* test_heap_invalid_free.c: frees objmem never handed out are detected, one
 * line and abort, before anything is written: a foreign heap pointer, a
 * stack pointer, an interior pointer, a double free, a wild address. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/special.h"

static void free_foreign(void *arg)
{
    (void)arg;
    void *p = malloc(64); /* the C library's heap, not ours */
    om_free(p);
}

static void free_stack(void *arg)
{
    (void)arg;
    char local[32];
    om_free(local);
}

static void free_interior(void *arg)
{
    (void)arg;
    char *p = om_malloc(100);
    om_free(p + 16);
}

static void free_twice(void *arg)
{
    (void)arg;
    void *keep = om_malloc(48); /* keeps the pool alive */
    void *p = om_malloc(48);
    om_free(p);
    om_free(p);
    om_free(keep);
}

static void free_wild(void *arg)
{
    (void)arg;
    om_free((void *)(uintptr_t)0xdeadbeef000ull);
}

static void free_large_interior(void *arg)
{
    (void)arg;
    char *p = om_malloc(1 << 20);
    om_free(p + 4096);
}

static void free_never_carved(void *arg)
{
    (void)arg;
    char *p = om_malloc(32);
    om_free(p + 32 * 100); /* a block slot of the same pool not handed out */
}

static void private_free_of_global(void *arg)
{
    (void)arg;
    hp_heap *h = hp_heap_new(NULL);
    void *p = om_malloc(16);
    hp_heap_free(h, p);
}

static void detected(void **state)
{
    (void)state;
    const char *out = omtest_expect_abort(free_foreign, NULL, "invalid free of 0x");
    assert_non_null(strstr(out, "not allocated by objmem"));
    omtest_expect_abort(free_stack, NULL, "not allocated by objmem");
    omtest_expect_abort(free_interior, NULL, "not the start of a block");
    omtest_expect_abort(free_twice, NULL, "double free");
    omtest_expect_abort(free_wild, NULL, "invalid free of 0xdeadbeef000");
    omtest_expect_abort(free_large_interior, NULL, "not the start of a block");
    omtest_expect_abort(free_never_carved, NULL, "invalid free");
    omtest_expect_abort(private_free_of_global, NULL, "not a block of private heap");
}

static void heap_still_sound(void **state)
{
    (void)state;
    void *p = om_malloc(100);
    assert_true(hp_owns(p));
    assert_false(hp_owns((char *)p + 16));
    int local;
    assert_false(hp_owns(&local));
    assert_ptr_equal(hp_block_of((char *)p + 50), p);
    assert_null(hp_block_of(&local));
    om_free(p);
    assert_false(hp_owns(p));
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detected),
        cmocka_unit_test(heap_still_sound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
