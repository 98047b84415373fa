/* The tracer's tables, on their own: the trace table against a reference
 * model under random inserts and removes (Robin Hood, backward-shift
 * deletion), runs too long for a displacement, big
 * sizes, tracebacks interned once, and the table's memory per trace. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "trace/trace.h"

#define MODEL_SLOTS 4096

static void random_ops_agree_with_a_model(void **state)
{
    (void)state;
    static size_t model[MODEL_SLOTS]; /* size + 1 of address (i + 1) * 16, 0 absent */
    memset(model, 0, sizeof model);
    tr_table t = {0};
    omtest_srand(42);
    size_t live = 0;
    for (int op = 0; op < 200000; op++) {
        size_t i = omtest_rand() % MODEL_SLOTS;
        uintptr_t addr = (uintptr_t)(i + 1) * 16;
        size_t size;
        uint32_t tb;
        if (omtest_rand() % 3) {
            if (!model[i])
                live++;
            model[i] = omtest_rand() % 5000 + 1;
            assert_int_equal(tr_table_insert(&t, addr, model[i] - 1, (uint32_t)i), 0);
        } else {
            bool had = tr_table_remove(&t, addr, &size, &tb);
            assert_int_equal(had, model[i] != 0);
            if (had) {
                assert_int_equal(size, model[i] - 1);
                assert_int_equal(tb, i);
                model[i] = 0;
                live--;
            }
        }
        assert_int_equal(t.count, live);
    }
    for (size_t i = 0; i < MODEL_SLOTS; i++) {
        size_t size;
        uint32_t tb;
        assert_int_equal(tr_table_find(&t, (i + 1) * 16, &size, &tb), model[i] != 0);
    }
    tr_table_clear(&t);
    assert_int_equal(t.count, 0);
}

static void big_sizes_keep_their_size(void **state)
{
    (void)state;
    tr_table t = {0};
    size_t big = (size_t)5 << 30;
    assert_int_equal(tr_table_insert(&t, 0x1000, big, 7), 0);
    assert_int_equal(tr_table_insert(&t, 0x2000, 100, 8), 0);
    size_t size;
    uint32_t tb;
    assert_true(tr_table_find(&t, 0x1000, &size, &tb));
    assert_int_equal(size, big);
    assert_true(tr_table_remove(&t, 0x1000, &size, &tb));
    assert_int_equal(size, big);
    assert_int_equal(tb, 7);
    assert_int_equal(t.nbig, 0);
    tr_table_clear(&t);
}

static void table_costs_at_most_30_bytes_a_trace(void **state)
{
    (void)state;
    tr_table t = {0};
    for (uintptr_t n = 1; n <= 300000; n++) {
        assert_int_equal(tr_table_insert(&t, n * 16, 32, 0), 0);
        if (n >= 1000 && n % 97 == 0)
            assert_true((double)tr_table_bytes(&t) / (double)t.count <= 30.0);
    }
    /* after frees it shrinks: still never more than 30 bytes a trace */
    size_t size;
    uint32_t tb;
    for (uintptr_t n = 1; n <= 290000; n++) {
        assert_true(tr_table_remove(&t, n * 16, &size, &tb));
        if (n % 97 == 0)
            assert_true((double)tr_table_bytes(&t) / (double)t.count <= 30.0);
    }
    for (uintptr_t n = 290001; n <= 300000; n++)
        assert_true(tr_table_find(&t, n * 16, &size, &tb));
    tr_table_clear(&t);
}

/* 300 addresses with one home: a run longer than a displacement can say
 * (255) makes the table grow before anything moves, and every trace stays
 * findable and removable. */
static void a_run_too_long_grows_the_table(void **state)
{
    (void)state;
    enum { N = 300, CAP = 1024 };
    static uintptr_t addrs[N];
    size_t n = 0;
    for (uintptr_t a = 16; n < N; a += 16)
        if (tr_table_home(a, CAP) == 5)
            addrs[n++] = a;
    tr_table t = {0};
    for (size_t i = 0; i < N; i++)
        assert_int_equal(tr_table_insert(&t, addrs[i], i + 1, (uint32_t)i), 0);
    assert_int_equal(t.count, N);
    assert_true(t.cap > CAP);
    size_t size;
    uint32_t tb;
    for (size_t i = 0; i < N; i++) {
        assert_true(tr_table_find(&t, addrs[i], &size, &tb));
        assert_int_equal(size, i + 1);
        assert_int_equal(tb, i);
    }
    for (size_t i = 0; i < N; i += 2)
        assert_true(tr_table_remove(&t, addrs[i], &size, &tb));
    for (size_t i = 0; i < N; i++)
        assert_int_equal(tr_table_find(&t, addrs[i], &size, &tb), i % 2 == 1);
    tr_table_clear(&t);
}

/* A key word keeps 56 bits of address: one above that is refused, not
 * stored under another address. */
static void addresses_past_56_bits_are_refused(void **state)
{
    (void)state;
    tr_table t = {0};
    uintptr_t high = (uintptr_t)1 << 60;
    assert_int_equal(tr_table_insert(&t, high | 0x10, 1, 0), -1);
    assert_int_equal(tr_table_insert(&t, 0x10, 2, 1), 0);
    size_t size;
    uint32_t tb;
    assert_false(tr_table_find(&t, high | 0x10, &size, &tb));
    assert_true(tr_table_find(&t, 0x10, &size, &tb));
    assert_int_equal(size, 2);
    tr_table_clear(&t);
}

static void tracebacks_are_interned_once(void **state)
{
    (void)state;
    tr_tbs t = {0};
    uintptr_t a[3] = {0x10, 0x20, 0x30}, b[3] = {0x10, 0x20, 0x31};
    uint32_t ia = tr_tbs_intern(&t, 0, a, 3, 3);
    assert_int_equal(tr_tbs_intern(&t, 0, a, 3, 3), ia);
    assert_int_not_equal(tr_tbs_intern(&t, 0, b, 3, 3), ia);
    assert_int_not_equal(tr_tbs_intern(&t, 1, a, 3, 3), ia); /* another domain */
    assert_int_not_equal(tr_tbs_intern(&t, 0, a, 2, 3), ia);
    for (uintptr_t i = 0; i < 50000; i++) {
        uintptr_t f[2] = {i * 8, 0x99};
        uint32_t id = tr_tbs_intern(&t, 0, f, 2, 2);
        assert_int_not_equal(id, TR_NO_TB);
        assert_int_equal(tr_tbs_get(&t, id)->frames[0], i * 8);
    }
    assert_int_equal(tr_tbs_intern(&t, 0, a, 3, 3), ia);
    assert_int_equal(tr_tbs_get(&t, ia)->frames[2], 0x30);
    tr_tbs_clear(&t);
}

static void out_of_memory_fails_softly(void **state)
{
    (void)state;
    tr_table t = {0};
    tr_map_fail_after(1);
    assert_int_equal(tr_table_insert(&t, 0x100, 1, 0), -1);
    assert_int_equal(t.count, 0);
    assert_int_equal(tr_table_insert(&t, 0x100, 1, 0), 0);
    tr_tbs tbs = {0};
    uintptr_t f = 1;
    tr_map_fail_after(1);
    assert_int_equal(tr_tbs_intern(&tbs, 0, &f, 1, 1), TR_NO_TB);
    assert_int_not_equal(tr_tbs_intern(&tbs, 0, &f, 1, 1), TR_NO_TB);
    tr_tbs_clear(&tbs);
    tr_table_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ops_agree_with_a_model),
        cmocka_unit_test(big_sizes_keep_their_size),
        cmocka_unit_test(table_costs_at_most_30_bytes_a_trace),
        cmocka_unit_test(a_run_too_long_grows_the_table),
        cmocka_unit_test(addresses_past_56_bits_are_refused),
        cmocka_unit_test(tracebacks_are_interned_once),
        cmocka_unit_test(out_of_memory_fails_softly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
