/* test_heap_hooks.c: allocation hooks see every allocation and free of
 * every heap, with the caller's address, and a hook that allocates does
 * not recurse. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/special.h"

static size_t allocs, frees, bytes_alloc, private_allocs;
static void *last_caller;
static int allocate_inside;

static void on_alloc(void *p, size_t size, hp_heap *heap, void *caller)
{
    assert_non_null(p);
    allocs++;
    bytes_alloc += size;
    last_caller = caller;
    if (heap)
        private_allocs++;
    if (allocate_inside)
        om_free(om_malloc(10)); /* must not call the hooks again */
}

static void on_free(void *p, size_t size, hp_heap *heap)
{
    (void)p;
    (void)size;
    (void)heap;
    frees++;
}

static const hp_hooks counting = {on_alloc, on_free};

static OM_NOINLINE void *call_site(void)
{
    void *p = om_malloc(64);
    __asm__ volatile("" : "+r"(p)); /* a real call, not a tail jump (release builds) */
    return p;
}

static void hooks_count(void **state)
{
    (void)state;
    hp_hooks_install(&counting);
    void *p = call_site();
    assert_int_equal(allocs, 1);
    assert_int_equal(bytes_alloc, 64);
    assert_true((char *)last_caller >= (char *)call_site &&
                (char *)last_caller < (char *)call_site + 64);
    p = om_realloc(p, 4000); /* a free and an alloc */
    assert_int_equal(allocs, 2);
    assert_int_equal(frees, 1);
    om_free(p);
    assert_int_equal(frees, 2);
    void *c = om_calloc(3, 5);
    void *a = om_aligned_alloc(256, 10);
    om_free(c);
    om_free(a);
    assert_int_equal(allocs, 4);
    assert_int_equal(frees, 4);
    hp_heap *h = hp_heap_new(NULL);
    void *q = hp_heap_alloc(h, 24);
    assert_int_equal(private_allocs, 1);
    hp_heap_free(h, q);
    assert_int_equal(frees, 5);
    hp_heap_delete(h);
    allocate_inside = 1;
    om_free(om_malloc(8));
    assert_int_equal(allocs, 6);
    assert_int_equal(frees, 6);
    hp_hooks_install(NULL);
    om_free(om_malloc(8));
    assert_int_equal(allocs, 6);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hooks_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
