/* The tracer under threads: blocks allocated and freed on several threads
 * (and freed on another thread than the one that allocated them) while the
 * main thread takes snapshots; every count balances at the end. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

#define THREADS 4
#define ROUNDS  20000
#define KEEP    64

static void *handoff[THREADS][KEEP];

static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    void *mine[KEEP] = {0};
    uint64_t x = 88172645463325252ull + (uint64_t)id;
    for (int i = 0; i < ROUNDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % KEEP);
        om_free(mine[k]);
        mine[k] = om_malloc(16 + x % 600);
    }
    memcpy(handoff[id], mine, sizeof mine); /* the main thread frees these */
    return NULL;
}

static void run_threads(void)
{
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
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    assert_true(peak >= cur);
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < KEEP; k++)
            om_free(handoff[i][k]);
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
}

static void exact_tracing_balances_across_threads(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(4), 0);
    run_threads();
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(st.lost, 0);
    assert_int_equal(om_trace_stop(), 0);
}

static void sampling_balances_across_threads(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start_sampling(1, 4096), 0);
    run_threads();
    assert_int_equal(om_trace_stop(), 0);
}

/* Many live blocks a thread, so the table grows and shrinks while other
 * threads prefetch from it with no lock (the mirrored slots and size), and
 * clears that empty it under them; every trace left balances at the end. */
#define GROW_LIVE   3000
#define GROW_ROUNDS 4

static void *fill_and_drain(void *arg)
{
    (void)arg;
    void *live[GROW_LIVE];
    for (int r = 0; r < GROW_ROUNDS; r++) {
        for (int i = 0; i < GROW_LIVE; i++)
            live[i] = om_malloc(32);
        for (int i = 0; i < GROW_LIVE; i++)
            om_free(live[i]);
    }
    return NULL;
}

static void the_table_resizes_under_threads(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fill_and_drain, NULL), 0);
    for (int i = 0; i < 3; i++)
        om_trace_clear_traces();
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0); /* cleared or freed: nothing is left */
    assert_int_equal(st.lost, 0);
    assert_int_equal(om_trace_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_tracing_balances_across_threads),
        cmocka_unit_test(sampling_balances_across_threads),
        cmocka_unit_test(the_table_resizes_under_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
