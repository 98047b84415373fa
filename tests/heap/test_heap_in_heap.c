/* test_heap_in_heap.c: hp_in_heap, "does p lie in memory objmem reserved",
 * for live and freed blocks, large blocks (past their first 4 MiB too),
 * private heaps, and pointers objmem never had: stack, static data, the C
 * library's heap, addresses outside user space. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <stdint.h>
#include <stdlib.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"
#include "heap/special.h"

static char static_bytes[64];

static void foreign_pointers_are_not_in_heap(void **state)
{
    (void)state;
    char on_stack[16];
    assert_false(hp_in_heap(NULL));
    assert_false(hp_in_heap(on_stack));
    assert_false(hp_in_heap(static_bytes));
    assert_false(hp_in_heap((const void *)&foreign_pointers_are_not_in_heap));
    void *libc = malloc(100);
    assert_non_null(libc);
    assert_false(hp_in_heap(libc));
    free(libc);
    assert_false(hp_in_heap((const void *)(uintptr_t)-16));             /* kernel half */
    assert_false(hp_in_heap((const void *)((uintptr_t)1 << 47)));       /* just past user space */
    assert_false(hp_in_heap((const void *)(((uintptr_t)1 << 47) - 1))); /* last user byte */
}

static void small_blocks_live_and_freed(void **state)
{
    (void)state;
    void *keep = om_malloc(32); /* keeps the arena mapped */
    char *p = om_malloc(100);
    assert_non_null(keep);
    assert_non_null(p);
    assert_true(hp_in_heap(p));
    assert_true(hp_in_heap(p + 50)); /* inside a block, not its start */
    assert_true(hp_in_heap(keep));
    om_free(p);
    assert_true(hp_in_heap(p)); /* freed, but the arena is still reserved */
    char *medium = om_malloc(20000);
    assert_true(hp_in_heap(medium + 19999));
    om_free(medium);
    om_free(keep);
}

static void large_blocks_whole_span(void **state)
{
    (void)state;
    size_t size = (size_t)9 << 20; /* three 4 MiB registry entries */
    char *big = om_malloc(size);
    assert_non_null(big);
    assert_true(hp_in_heap(big));
    assert_true(hp_in_heap(big + (5u << 20))); /* past the first 4 MiB */
    assert_true(hp_in_heap(big + size - 1));
    assert_true(om_usable_size(big) >= size);
    om_free(big);
    om_release(); /* gives cached large segments back to the OS */
    assert_false(hp_in_heap(big + (5u << 20)));
    assert_false(hp_in_heap(big));
}

static void private_heap_blocks(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    void *a = hp_heap_alloc(h, 24), *b = hp_heap_alloc(h, 300000);
    assert_true(hp_in_heap(a));
    assert_true(hp_in_heap(b));
    assert_true(hp_owns(a) && hp_owns(b));
    hp_heap_free(h, a);
    assert_true(hp_in_heap(a)); /* the pool is the current one: still reserved */
    hp_heap_delete(h);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(foreign_pointers_are_not_in_heap),
        cmocka_unit_test(small_blocks_live_and_freed),
        cmocka_unit_test(large_blocks_whole_span),
        cmocka_unit_test(private_heap_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
