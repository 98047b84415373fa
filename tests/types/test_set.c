/* test_set.c: sets: add, discard, membership, the algebra, iteration, and a
 * random run against a model with the table's invariants checked. */
#include "containers_check.h"

static om_object *set_of(const int64_t *v, size_t n)
{
    om_object *s = om_set_new(rt);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        om_object *x = int_(v[i]);
        assert_int_equal(om_set_add(s, x), 0);
        om_decref(x);
    }
    return s;
}

static bool has(om_object *s, int64_t v)
{
    om_object *x = int_(v);
    int r = om_set_contains(s, x);
    om_decref(x);
    assert_true(r >= 0);
    return r == 1;
}

static void test_add_discard_contains(void **state)
{
    (void)state;
    OM_AUTO om_object *s = set_of((int64_t[]){1, 2, 3, 2, 1}, 5);
    assert_int_equal(om_set_len(s), 3);
    assert_true(has(s, 2));
    assert_false(has(s, 4));
    OM_AUTO om_object *two = int_(2);
    assert_int_equal(om_set_discard(s, two), 1);
    assert_int_equal(om_set_discard(s, two), 0);
    assert_int_equal(om_set_len(s), 2);
    ty_set_check(s);
    om_object *x = om_set_pop(s);
    assert_non_null(x);
    om_decref(x);
    om_decref(om_set_pop(s));
    assert_null(om_set_pop(s));
    assert_error("pop from an empty set");
    OM_AUTO om_object *full = set_of((int64_t[]){5, 6}, 2);
    assert_int_equal(om_set_clear(full), 0);
    assert_int_equal(om_set_len(full), 0);
    assert_false(has(full, 5));
}

static void test_algebra(void **state)
{
    (void)state;
    OM_AUTO om_object *a = set_of((int64_t[]){1, 2, 3, 4}, 4);
    OM_AUTO om_object *b = set_of((int64_t[]){3, 4, 5}, 3);
    OM_AUTO om_object *u = om_set_union(a, b);
    OM_AUTO om_object *i = om_set_intersection(a, b);
    OM_AUTO om_object *d = om_set_difference(a, b);
    assert_int_equal(om_set_len(u), 5);
    assert_int_equal(om_set_len(i), 2);
    assert_true(has(i, 3) && has(i, 4));
    assert_int_equal(om_set_len(d), 2);
    assert_true(has(d, 1) && has(d, 2));
    assert_int_equal(om_set_issubset(i, a), 1);
    assert_int_equal(om_set_issubset(a, i), 0);
    OM_AUTO om_object *again = set_of((int64_t[]){4, 3}, 2);
    assert_int_equal(om_equal(i, again), 1);
    assert_int_equal(om_equal(a, b), 0);
    assert_int_equal(om_hash(a), (om_hash_t)-1);
    assert_error("unhashable type: 'set'");
}

static void test_from_iterable_and_iteration(void **state)
{
    (void)state;
    OM_AUTO om_object *r = om_range(rt, 0, 50, 1);
    OM_AUTO om_object *s = om_set_from_iterable(rt, r);
    assert_int_equal(om_set_len(s), 50);
    OM_AUTO om_object *it = om_iter(s);
    om_object *x;
    int64_t sum = 0, n = 0;
    while (om_iter_next_item(it, &x) > 0) {
        sum += int_value(x);
        n++;
        om_decref(x);
    }
    assert_int_equal(n, 50);
    assert_int_equal(sum, 49 * 50 / 2);
}

static void test_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *s = om_set_new(rt);
    OM_AUTO om_object *l = om_list_new(rt);
    assert_int_equal(om_set_add(s, l), -1);
    assert_error("unhashable type: 'list'");
    assert_int_equal(om_set_contains(s, l), -1);
    assert_int_equal(om_set_discard(s, l), -1);
    assert_int_equal(om_set_add(l, s), -1);
    assert_error("expected set, got list");
    assert_null(om_set_union(s, l));
    assert_error("expected set, got list");
    assert_int_equal(om_set_len(l), -1);
    OM_AUTO om_object *x = int_(1);
    assert_null(om_set_from_iterable(rt, x));
    assert_error("not iterable");
    /* A tuple holding a list is unhashable too. */
    OM_AUTO om_object *t = om_tuple_pack(rt, 1, l);
    assert_int_equal(om_set_add(s, t), -1);
    assert_error("unhashable type: 'list'");
}

#define NKEYS 500

static void test_random_against_model(void **state)
{
    (void)state;
    static bool present[NKEYS];
    memset(present, 0, sizeof present);
    int n = 0;
    OM_AUTO om_object *s = om_set_new(rt);
    omtest_srand(11);
    for (int step = 0; step < 30000; step++) {
        int k = (int)(omtest_rand() % NKEYS);
        om_object *key = om_float_from_double(rt, k + 0.5);
        switch (omtest_rand() % 3) {
        case 0:
            assert_int_equal(om_set_add(s, key), 0);
            n += !present[k];
            present[k] = true;
            break;
        case 1:
            assert_int_equal(om_set_discard(s, key), present[k]);
            n -= present[k];
            present[k] = false;
            break;
        default:
            assert_int_equal(om_set_contains(s, key), present[k]);
        }
        om_decref(key);
        assert_int_equal(om_set_len(s), n);
        if (step % 2000 == 0)
            ty_set_check(s);
    }
    ty_set_check(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_add_discard_contains),        RT_TEST(test_algebra),
        RT_TEST(test_from_iterable_and_iteration), RT_TEST(test_errors),
        RT_TEST(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
