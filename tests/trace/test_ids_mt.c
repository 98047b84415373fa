/* The heap's id lanes under threads: each thread churns objects of its own
 * runtime (counting with no lock while it owns the counts, taking the lock
 * and the ownership in turn otherwise) while the main thread takes
 * snapshots and reads the totals; blocks a thread leaves behind are freed
 * by the main thread; every count balances at the end. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"

#define THREADS 3
#define ROUNDS  20000
#define KEEP    64

typedef struct node {
    om_object ob;
    om_object *left, *right;
} node;

static const om_type node_type = {.name = "node", .basicsize = sizeof(node)};

static hp_heap *heaps[THREADS];
static void *left_over[THREADS][KEEP];

static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    om_runtime *rt = om_runtime_new(NULL);
    om_object *mine[KEEP] = {0};
    void *raw[KEEP] = {0};
    uint64_t x = 88172645463325252ull + (uint64_t)id;
    for (int i = 0; i < ROUNDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % KEEP);
        if (mine[k])
            om_decref(mine[k]);
        mine[k] = om_new(rt, &node_type);
        if (raw[k])
            hp_heap_free(heaps[id], raw[k]);
        raw[k] = hp_heap_alloc(heaps[id], 16 + x % 400);
    }
    for (int k = 0; k < KEEP; k++)
        om_decref(mine[k]);
    om_runtime_free(rt);
    memcpy(left_over[id], raw, sizeof raw); /* the main thread frees these */
    return NULL;
}

static void run(bool clear)
{
    for (int i = 0; i < THREADS; i++)
        heaps[i] = hp_heap_new(NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 20; i++) {
        om_trace_snapshot *s = om_trace_take_snapshot();
        assert_non_null(s);
        om_trace_stats *st = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
        assert_non_null(st);
        om_trace_stats_free(st);
        om_trace_snapshot_free(s);
        size_t cur, peak;
        om_trace_get_traced_memory(&cur, &peak);
        assert_true(peak >= cur);
        if (clear && i % 5 == 0)
            om_trace_clear_traces();
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    if (!clear) {
        om_trace_tracer_stats st;
        om_trace_get_tracer_stats(&st);
        assert_int_equal(st.traces, THREADS * KEEP);
    }
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < KEEP; k++)
            hp_heap_free(heaps[i], left_over[i][k]);
        hp_heap_delete(heaps[i]);
    }
}

static void ids_balance_across_threads(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    run(false);
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    assert_true(peak > 0);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(st.lost, 0);
    assert_int_equal(om_trace_stop(), 0);
}

/* Clears under the threads: what a clear forgot is not counted again, so
 * next to nothing is left when everything is freed (a count racing with a
 * clear may land on the wrong side of it: at most one a thread a clear). */
static void clears_under_threads(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    run(true);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_true(st.traces <= 4 * THREADS);
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    assert_true(cur <= 4 * THREADS * 416);
    assert_int_equal(om_trace_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_balance_across_threads),
        cmocka_unit_test(clears_under_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
