/* test_heap_sweep.c: the sweep after a walk of a private heap costs the pools
 * the walk freed into, not the pools of the heap; and the sweep still moves
 * full pools that got frees back to avail and gives emptied ones back. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/fast.h" /* heap/core.h, and the inline alloc and free */

enum {
    BLOCK = 512,  /* the largest small class: 128 blocks a pool, so many pools are cheap */
    NPOOLS = 160, /* pools the heap holds, all full */
    NCHOSEN = 5,  /* pools the visitor frees into */
    NEMPTIED = 3, /* of those, the ones it empties (the others get one free each) */
};

typedef struct chooser {
    hp_heap *h;
    const hp_pool *chosen[NCHOSEN];
    bool one_freed[NCHOSEN];
    size_t visited, freed;
} chooser;

static int chosen_index(const chooser *c, const hp_pool *p)
{
    for (int i = 0; i < NCHOSEN; i++)
        if (c->chosen[i] == p)
            return i;
    return -1;
}

/* Frees every block of the first NEMPTIED chosen pools and one block of each
 * other chosen pool; leaves the rest of the heap alone. */
static int free_in_chosen(void *block, size_t size, void *arg)
{
    chooser *c = arg;
    (void)size;
    c->visited++;
    int i = chosen_index(c, hp_pool_of(block));
    if (i < 0 || (i >= NEMPTIED && c->one_freed[i]))
        return 0;
    c->one_freed[i] = true;
    hp_heap_free(c->h, block);
    c->freed++;
    return 0;
}

static int count_only(void *block, size_t size, void *arg)
{
    (void)block;
    (void)size;
    ++*(size_t *)arg;
    return 0;
}

static void **fill(hp_heap *h, size_t *n_out)
{
    void *one = hp_heap_alloc(h, BLOCK);
    assert_non_null(one);
    size_t cap = (size_t)NPOOLS * hp_pool_of(one)->capacity; /* exactly NPOOLS full pools */
    void **blocks = malloc(cap * sizeof *blocks);
    assert_non_null(blocks);
    blocks[0] = one;
    size_t n = 1;
    while (n < cap) {
        blocks[n] = hp_heap_alloc(h, BLOCK);
        assert_non_null(blocks[n]);
        n++;
    }
    *n_out = n;
    return blocks;
}

static void sweep_costs_the_pools_freed_into(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    size_t n;
    void **blocks = fill(h, &n);
    const hp_pool *first = hp_pool_of(blocks[0]), *last = hp_pool_of(blocks[n - 1]);
    assert_non_null(first);
    assert_non_null(last);
    hp_heap_clear_dirty(h);
    uint64_t base = hp_heap_sweep_examined(h);

    /* a walk that frees nothing: nothing to sweep */
    size_t seen = 0;
    assert_int_equal(hp_heap_walk(h, count_only, &seen), 0);
    assert_int_equal(seen, n);
    assert_int_equal(hp_heap_sweep_examined(h) - base, 0);
    assert_int_equal(hp_heap_walk_dirty(h, count_only, &seen), 0);
    assert_int_equal(hp_heap_sweep_examined(h) - base, 0);

    /* a walk that frees into NCHOSEN of the NPOOLS pools: the sweep looks
     * at those NCHOSEN, not at the heap */
    chooser c = {.h = h};
    for (int i = 0; i < NCHOSEN; i++)
        c.chosen[i] = hp_pool_of(blocks[(size_t)i * (n / NCHOSEN)]);
    for (int i = 0; i < NCHOSEN; i++)
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(c.chosen[i], c.chosen[j]);
    size_t per_pool = c.chosen[0]->capacity;
    assert_int_equal(hp_heap_walk(h, free_in_chosen, &c), 0);
    assert_int_equal(c.visited, n);
    assert_int_equal(c.freed, NEMPTIED * per_pool + (NCHOSEN - NEMPTIED));
    assert_int_equal(hp_heap_sweep_examined(h) - base, NCHOSEN);
    om_heap_check(); /* lists whole, no pool left marked for a sweep */

    /* the sweep did its work: emptied pools went back to their arenas, the
     * others moved to avail, where the next allocations find their holes */
    for (int i = 0; i < NEMPTIED; i++)
        assert_null(hp_pool_of(blocks[(size_t)i * (n / NCHOSEN)]));
    size_t live;
    hp_heap_usage(h, &live, NULL);
    assert_int_equal(live, n - c.freed);
    for (int i = NEMPTIED; i < NCHOSEN; i++) {
        void *again = hp_heap_alloc(h, BLOCK);
        assert_non_null(again);
        assert_true(chosen_index(&c, hp_pool_of(again)) >= NEMPTIED);
    }

    /* a young walk: only the pools allocated from since the clear */
    base = hp_heap_sweep_examined(h);
    memset(&c.one_freed, 0, sizeof c.one_freed);
    c.visited = c.freed = 0;
    assert_int_equal(hp_heap_walk_dirty(h, free_in_chosen, &c), 0);
    assert_true(c.visited <= 2 * per_pool);
    assert_int_equal(c.freed, NCHOSEN - NEMPTIED);
    assert_true(hp_heap_sweep_examined(h) - base <= NCHOSEN - NEMPTIED);
    om_heap_check();

    /* a clear looks at the dirty pools only */
    base = hp_heap_sweep_examined(h);
    hp_heap_clear_dirty(h);
    assert_true(hp_heap_sweep_examined(h) - base <= NCHOSEN - NEMPTIED);
    om_heap_check();
    free(blocks);
    hp_heap_delete(h);
    om_heap_check();
}

/* A pool emptied while dirty stays (the young walk may still visit it) and
 * goes back to its arena at the clear, which looks only at dirty pools. */
static void clear_gives_back_pools_emptied_while_dirty(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    size_t n;
    void **blocks = fill(h, &n);
    hp_heap_clear_dirty(h);
    void *fresh[300];
    for (int i = 0; i < 300; i++)
        fresh[i] = hp_heap_alloc(h, 48); /* 48 bytes: pools of their own class */
    const hp_pool *young = hp_pool_of(fresh[0]);
    for (int i = 0; i < 300; i++)
        hp_heap_free(h, fresh[i]);
    assert_ptr_equal(hp_pool_of(fresh[0]), young); /* kept: dirty and current */
    uint64_t base = hp_heap_sweep_examined(h);
    hp_heap_clear_dirty(h);
    assert_true(hp_heap_sweep_examined(h) - base <= 2);
    assert_null(hp_pool_of(fresh[0]));
    om_heap_check();
    free(blocks);
    hp_heap_delete(h);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_costs_the_pools_freed_into),
        cmocka_unit_test(clear_gives_back_pools_emptied_while_dirty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
