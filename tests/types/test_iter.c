/* test_iter.c: lazy iterators and range: the protocol's three outcomes,
 * every container, O(1) memory, and size changes during iteration. */
#include <limits.h>

#include "containers_check.h"

static void test_range_arithmetic(void **state)
{
    (void)state;
    OM_AUTO om_object *r = om_range(rt, 10, -3, -4); /* 10, 6, 2, -2 */
    assert_int_equal(om_range_len(r), 4);
    int64_t v;
    assert_int_equal(om_range_item(r, -1, &v), 0);
    assert_int_equal(v, -2);
    assert_int_equal(om_range_item(r, 4, &v), -1);
    assert_error("range object index out of range");
    assert_int_equal(om_range_contains(r, 6), 1);
    assert_int_equal(om_range_contains(r, 5), 0);
    assert_int_equal(om_range_contains(r, -3), 0);
    assert_int_equal(om_range_contains(r, 14), 0);
    OM_AUTO om_object *e = om_range(rt, 5, 5, 1);
    assert_int_equal(om_range_len(e), 0);
    assert_int_equal(om_range_contains(e, 5), 0);
    assert_null(om_range(rt, 0, 1, 0));
    assert_error("must not be zero");
    assert_null(om_range(rt, INT64_MIN, INT64_MAX, 1));
    assert_error("more than 2**63 - 1 items");
    OM_AUTO om_object *same = om_range(rt, 10, -4, -4);
    assert_int_equal(om_equal(r, same), 1);
    assert_int_equal(om_hash(r), om_hash(same));
}

static void test_huge_range_costs_nothing(void **state)
{
    (void)state;
    OM_AUTO om_object *r = om_range(rt, 0, INT64_MAX, 1);
    assert_int_equal(om_range_len(r), INT64_MAX);
    assert_int_equal(om_range_contains(r, INT64_MAX - 1), 1);
    assert_int_equal(om_sys_getsizeof(r), 48);
    OM_AUTO om_object *it = om_iter(r);
    assert_true(om_sys_getsizeof(it) <= 48);
    for (int i = 0; i < 1000; i++)
        assert_int_obj(om_iter_next(it), i);
    OM_AUTO om_object *neg = om_range(rt, INT64_MAX, INT64_MIN, -(INT64_MAX / 2));
    OM_AUTO om_object *list = om_list_new(rt);
    assert_int_equal(om_list_extend(list, neg), 0);
    assert_int_equal(om_list_len(list), om_range_len(neg));
    assert_int_obj(om_list_getitem(list, 0), INT64_MAX);
}

static void test_protocol_outcomes(void **state)
{
    (void)state;
    OM_AUTO om_object *r = om_range(rt, 0, 2, 1);
    OM_AUTO om_object *it = om_iter(r);
    om_object *x;
    assert_int_equal(om_iter_next_item(it, &x), 1);
    om_decref(x);
    assert_int_equal(om_iter_next_item(it, &x), 1);
    om_decref(x);
    assert_int_equal(om_iter_next_item(it, &x), 0);
    assert_null(x);
    assert_int_equal(om_iter_next_item(it, &x), 0); /* stays exhausted */
    assert_null(om_list_getitem(r, 0));
    assert_null(om_iter_next(it));
    assert_string_equal(om_error_message(), "");
    OM_AUTO om_object *same = om_iter(it); /* an iterator's iterator is itself */
    assert_ptr_equal(same, it);
    OM_AUTO om_object *n = int_(3);
    assert_null(om_iter(n));
    assert_error("'int' object is not iterable");
    assert_int_equal(om_iter_next_item(n, &x), -1);
    assert_error("expected iterator, got int");
    assert_null(om_dict_iter_items(n));
    assert_error("expected dict, got int");
    assert_true(om_iter_check(it) && !om_iter_check(r) && om_range_check(r));
}

static int64_t drain_sum(om_object *it, int64_t *count)
{
    om_object *x;
    int64_t sum = 0;
    *count = 0;
    while (om_iter_next_item(it, &x) > 0) {
        if (om_tuple_check(x)) {
            om_object *k = om_tuple_getitem(x, 0), *v = om_tuple_getitem(x, 1);
            sum += int_value(k) * 1000 + int_value(v);
            om_decref(k), om_decref(v);
        } else {
            sum += int_value(x);
        }
        om_decref(x);
        ++*count;
    }
    return sum;
}

static void test_every_container(void **state)
{
    (void)state;
    OM_AUTO om_object *r = om_range(rt, 1, 11, 1);
    OM_AUTO om_object *l = om_list_new(rt);
    om_list_extend(l, r);
    OM_AUTO om_object *it = NULL;
    int64_t n;
    it = om_iter(l);
    assert_int_equal(drain_sum(it, &n), 55);
    om_decref(it);
    assert_int_equal(n, 10);
    OM_AUTO om_object *one = int_(1), *two = int_(2);
    OM_AUTO om_object *t = om_tuple_pack(rt, 2, one, two);
    it = om_iter(t);
    assert_int_equal(drain_sum(it, &n), 3);
    om_decref(it);
    OM_AUTO om_object *d = om_dict_new(rt);
    om_dict_setitem(d, one, two);
    om_dict_setitem(d, two, one);
    it = om_dict_iter_keys(d);
    assert_int_equal(drain_sum(it, &n), 3);
    om_decref(it);
    it = om_dict_iter_values(d);
    assert_int_equal(drain_sum(it, &n), 3);
    om_decref(it);
    it = om_dict_iter_items(d);
    assert_int_equal(drain_sum(it, &n), 1002 + 2001);
    assert_int_equal(n, 2);
    assert_true(om_sys_getsizeof(it) <= 48);
    om_decref(it);
    it = om_iter(d);
    assert_int_equal(drain_sum(it, &n), 3);
    om_decref(it);
    it = NULL;
}

static void test_size_change_is_detected(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *s = om_set_new(rt);
    for (int i = 0; i < 5; i++) {
        om_object *k = int_(i);
        om_dict_setitem(d, k, k);
        om_set_add(s, k);
        om_decref(k);
    }
    OM_AUTO om_object *it = om_iter(d);
    om_object *x;
    assert_int_equal(om_iter_next_item(it, &x), 1);
    om_decref(x);
    OM_AUTO om_object *k = int_(100);
    om_dict_setitem(d, k, k);
    assert_int_equal(om_iter_next_item(it, &x), -1);
    assert_error("dict changed size during iteration");
    om_dict_delitem(d, k); /* back to the old size: still broken, as Python */
    assert_int_equal(om_iter_next_item(it, &x), -1);
    OM_AUTO om_object *sit = om_iter(s);
    om_set_discard(s, x = int_(3));
    om_decref(x);
    assert_int_equal(om_iter_next_item(sit, &x), -1);
    assert_error("set changed size during iteration");
    /* A list may change during iteration: the iterator reads it live. */
    OM_AUTO om_object *l = om_list_new(rt);
    om_list_append(l, k);
    OM_AUTO om_object *lit = om_iter(l);
    assert_int_obj(om_iter_next(lit), 100);
    om_list_append(l, k);
    assert_int_obj(om_iter_next(lit), 100);
    om_list_clear(l);
    assert_null(om_iter_next(lit));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_range_arithmetic),        RT_TEST(test_huge_range_costs_nothing),
        RT_TEST(test_protocol_outcomes),       RT_TEST(test_every_container),
        RT_TEST(test_size_change_is_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
