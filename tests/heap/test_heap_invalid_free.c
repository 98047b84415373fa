/* test_heap_invalid_free.c: frees objmem never handed out are detected, one
 * line and abort, before anything is written: a foreign heap pointer, a
 * stack pointer, an interior pointer, a double free, a wild address. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
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

/* Frees from another thread than the allocating one take the remote lane. */
static void *free_in_thread(void *p)
{
    om_free(om_malloc(16)); /* this thread has a heap of its own: the remote lane */
    om_free(p);
    return NULL;
}

static void *free_twice_in_thread(void *p)
{
    om_free(om_malloc(16));
    om_free(p);
    om_free(p);
    return NULL;
}

static void run_thread(void *(*fn)(void *), void *p)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, p), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void free_interior_from_thread(void *arg)
{
    (void)arg;
    char *p = om_malloc(100);
    run_thread(free_in_thread, p + 16);
}

static void free_past_last_block_from_thread(void *arg)
{
    (void)arg;
    char *p = om_malloc(48); /* 1365 blocks of 48 bytes: 16 bytes of the slot are left */
    uintptr_t slot = (uintptr_t)p & ~(uintptr_t)0xffff;
    run_thread(free_in_thread, (void *)(slot + 1365 * 48));
}

/* The second push is found when the owner collects the remote frees. */
static void free_twice_from_thread(void *arg)
{
    (void)arg;
    void *keep = om_malloc(48);
    void *p = om_malloc(48);
    run_thread(free_twice_in_thread, p);
    for (int i = 0; i < 100000; i++)
        om_malloc(48);
    om_free(keep);
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
    omtest_expect_abort(free_interior_from_thread, NULL, "not the start of a block");
    omtest_expect_abort(free_past_last_block_from_thread, NULL, "not the start of a block");
    omtest_expect_abort(free_twice_from_thread, NULL, "freed twice from another thread");
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
