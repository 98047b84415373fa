/* test_heap_inexact_mt.c: the thread heap's pools keep no live bitmap on
 * their fast paths (heap/core.h, "exact and inexact pools").  What must
 * still hold: frees of blocks never handed out and the repeated free of the
 * block freed last are caught; liveness queries are exact; a purge of an
 * inexact pool gives back only free pages and keeps every survivor; remote
 * frees into inexact pools are collected; a pool abandoned by a thread and
 * taken by a private heap is walked exactly; om_heap_check passes throughout. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"

enum { SIZE = 48, N = 4096 };

static void free_next_fresh(void *arg)
{
    (void)arg;
    char *a = om_malloc(SIZE), *b = om_malloc(SIZE);
    /* the block after the highest one handed out: carved, never allocated */
    char *c = a > b ? a : b;
    om_free(c + SIZE);
}

static void free_last_twice(void *arg)
{
    (void)arg;
    void *keep = om_malloc(SIZE), *p = om_malloc(SIZE);
    om_free(p);
    om_free(p);
    om_free(keep);
}

static void free_misaligned(void *arg)
{
    (void)arg;
    char *p = om_malloc(SIZE); /* 48: a multiple of 16, not a block start */
    om_free(p + 16);
}

static void detected(void **state)
{
    (void)state;
    omtest_expect_abort(free_next_fresh, NULL, "never allocated");
    omtest_expect_abort(free_last_twice, NULL, "double free");
    omtest_expect_abort(free_misaligned, NULL, "not the start of a block");
}

static void liveness_queries_are_exact(void **state)
{
    (void)state;
    void *a = om_malloc(SIZE), *b = om_malloc(SIZE), *c = om_malloc(SIZE);
    assert_true(hp_owns(a) && hp_owns(b) && hp_owns(c));
    om_free(b); /* not the head of the free list once c is freed too */
    om_free(c);
    assert_false(hp_owns(b));
    assert_false(hp_owns(c));
    assert_true(hp_owns(a));
    assert_null(hp_block_of(b));
    assert_ptr_equal(hp_block_of((char *)a + 7), a);
    om_heap_check();
    om_free(a);
}

static void purge_keeps_survivors(void **state)
{
    (void)state;
    static unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = om_malloc(SIZE);
        assert_non_null(p[i]);
        memset(p[i], (int)(i & 0xff), SIZE);
    }
    for (int i = 0; i < N; i++)
        if (i % 97) {
            om_free(p[i]);
            p[i] = NULL;
        }
    om_release(); /* purges pages of the thread heap's (inexact) pools */
    om_heap_check();
    for (int i = 0; i < N; i++)
        if (p[i]) {
            for (int j = 0; j < SIZE; j++)
                assert_int_equal(p[i][j], i & 0xff);
            assert_true(hp_owns(p[i]));
        }
    /* allocate through the holes again: every block handed out once */
    static unsigned char *q[N];
    for (int i = 0; i < N; i++) {
        q[i] = om_malloc(SIZE);
        memset(q[i], 0xee, SIZE);
    }
    for (int i = 0; i < N; i++)
        if (p[i])
            for (int j = 0; j < SIZE; j++)
                assert_int_equal(p[i][j], i & 0xff);
    om_heap_check();
    for (int i = 0; i < N; i++) {
        om_free(q[i]);
        om_free(p[i]);
    }
    om_heap_check();
}

static void *blocks[N];

static void *alloc_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        blocks[i] = om_malloc(SIZE);
    return NULL;
}

static void remote_frees_collected(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, alloc_all, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0); /* its pools are abandoned */
    for (int i = 0; i < N; i += 2)
        om_free(blocks[i]); /* remote: onto thread_free */
    om_heap_check();
    for (int i = 1; i < N; i += 2)
        assert_true(hp_owns(blocks[i]));
    for (int i = 1; i < N; i += 2)
        om_free(blocks[i]);
    om_release();
    om_heap_check();
}

typedef struct tally {
    size_t blocks;
    const void *foreign; /* a block the walk must not see */
    bool saw_foreign;
} tally;

static int count_block(void *block, size_t size, void *arg)
{
    (void)size;
    tally *t = arg;
    t->blocks++;
    t->saw_foreign |= block == t->foreign;
    return 0;
}

/* A thread's pool abandoned with a live block, then a private heap allocates
 * the same class: its walk must see its own blocks only. */
static void private_walk_after_abandon(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, alloc_all, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    for (int i = 1; i < N; i++)
        om_free(blocks[i]); /* blocks[0] keeps its pool abandoned, not empty */
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    enum { MINE = 100 };
    void *mine[MINE];
    for (int i = 0; i < MINE; i++)
        mine[i] = hp_heap_alloc(h, SIZE);
    tally tl = {0, blocks[0], false};
    assert_int_equal(hp_heap_walk(h, count_block, &tl), 0);
    assert_false(tl.saw_foreign);
    assert_int_equal(tl.blocks, MINE);
    om_heap_check();
    for (int i = 0; i < MINE; i++)
        hp_heap_free(h, mine[i]);
    hp_heap_delete(h);
    om_free(blocks[0]);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detected),
        cmocka_unit_test(liveness_queries_are_exact),
        cmocka_unit_test(purge_keeps_survivors),
        cmocka_unit_test(remote_frees_collected),
        cmocka_unit_test(private_walk_after_abandon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
