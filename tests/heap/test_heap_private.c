/* test_heap_private.c: private heaps (hp_heap): alloc, free, walks, the
 * dirty walk, hp_heap_of, delete. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"

typedef struct tally {
    size_t blocks, bytes;
    hp_heap *free_from; /* when set, the visitor frees each block */
} tally;

static int count_block(void *block, size_t size, void *arg)
{
    tally *t = arg;
    t->blocks++;
    t->bytes += size;
    assert_true(hp_owns(block));
    if (t->free_from)
        hp_heap_free(t->free_from, block);
    return 0;
}

static void alloc_walk_free(void **state)
{
    (void)state;
    int runtime_tag;
    hp_heap *h = hp_heap_new(&runtime_tag);
    assert_non_null(h);
    assert_ptr_equal(hp_heap_owner(h), &runtime_tag);
    enum { N = 3000 };
    static void *p[N];
    omtest_srand(11);
    for (int i = 0; i < N; i++) {
        size_t size = i % 100 == 0 ? 150000 + (size_t)i : omtest_rand() % 2000;
        p[i] = hp_heap_alloc(h, size);
        assert_non_null(p[i]);
        assert_ptr_equal(hp_heap_of(p[i]), h);
        assert_true(hp_owns(p[i]));
        assert_true(hp_usable_size(p[i]) >= size);
    }
    size_t blocks, bytes;
    hp_heap_usage(h, &blocks, &bytes);
    assert_int_equal(blocks, N);
    tally t = {0};
    assert_int_equal(hp_heap_walk(h, count_block, &t), 0);
    assert_int_equal(t.blocks, N);
    assert_int_equal(t.bytes, bytes);
    om_heap_check();
    for (int i = 0; i < N; i += 2)
        hp_heap_free(h, p[i]);
    memset(&t, 0, sizeof t);
    hp_heap_walk(h, count_block, &t);
    assert_int_equal(t.blocks, N / 2);
    om_heap_check();
    /* a global block is not in a private heap */
    void *g = om_malloc(10);
    assert_null(hp_heap_of(g));
    assert_null(hp_heap_of(&t));
    om_free(g);
    hp_heap_delete(h);
    om_heap_check();
}

static void dirty_walk_sees_only_new_pools(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    void *old[100];
    for (int i = 0; i < 100; i++)
        old[i] = hp_heap_alloc(h, 48);
    void *other = hp_heap_alloc(h, 1000);
    hp_heap_clear_dirty(h);
    tally t = {0};
    hp_heap_walk_dirty(h, count_block, &t);
    assert_int_equal(t.blocks, 0);
    /* a new 48-byte block lands in the pool of the old ones: that pool is
     * dirty again, the 1000-byte pool is not */
    void *fresh = hp_heap_alloc(h, 48);
    memset(&t, 0, sizeof t);
    hp_heap_walk_dirty(h, count_block, &t);
    assert_int_equal(t.blocks, 101);
    void *big = hp_heap_alloc(h, 300000);
    memset(&t, 0, sizeof t);
    hp_heap_walk_dirty(h, count_block, &t);
    assert_int_equal(t.blocks, 102);
    hp_heap_free(h, big);
    memset(&t, 0, sizeof t);
    hp_heap_walk_dirty(h, count_block, &t);
    assert_int_equal(t.blocks, 101);
    hp_heap_clear_dirty(h);
    memset(&t, 0, sizeof t);
    hp_heap_walk_dirty(h, count_block, &t);
    assert_int_equal(t.blocks, 0);
    memset(&t, 0, sizeof t);
    hp_heap_walk(h, count_block, &t);
    assert_int_equal(t.blocks, 102);
    (void)old;
    (void)other;
    (void)fresh;
    om_heap_check();
    hp_heap_delete(h);
    om_heap_check();
}

static void visitor_may_free_its_block(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    for (int i = 0; i < 20000; i++)
        assert_non_null(hp_heap_alloc(h, (size_t)(i % 700)));
    assert_non_null(hp_heap_alloc(h, 1 << 20));
    tally t = {.free_from = h};
    hp_heap_walk(h, count_block, &t);
    assert_int_equal(t.blocks, 20001);
    size_t blocks;
    hp_heap_usage(h, &blocks, NULL);
    assert_int_equal(blocks, 0);
    om_heap_check();
    hp_heap_delete(h);
    om_heap_check();
}

static int stop_at_third(void *block, size_t size, void *arg)
{
    (void)block;
    (void)size;
    return ++*(int *)arg == 3 ? 42 : 0;
}

static void walk_stops_on_nonzero(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    for (int i = 0; i < 10; i++)
        hp_heap_alloc(h, 32);
    int seen = 0;
    assert_int_equal(hp_heap_walk(h, stop_at_third, &seen), 42);
    assert_int_equal(seen, 3);
    void *p = hp_heap_calloc(h, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(((unsigned char *)p)[i], 0);
    p = hp_heap_realloc(h, p, 4000);
    assert_ptr_equal(hp_heap_of(p), h);
    hp_heap_delete(h);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_walk_free),
        cmocka_unit_test(dirty_walk_sees_only_new_pools),
        cmocka_unit_test(visitor_may_free_its_block),
        cmocka_unit_test(walk_stops_on_nonzero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
