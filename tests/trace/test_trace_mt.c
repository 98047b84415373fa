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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_tracing_balances_across_threads),
        cmocka_unit_test(sampling_balances_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
