/* test_list.c: lists: the sequence operations, growth, sort, extend from
 * every iterable, equality, and every error path. */
#include "containers_check.h"

/* A list of the ints given, ended by INT64_MIN. */
static om_object *list_of(const int64_t *v, size_t n)
{
    om_object *l = om_list_new(rt);
    assert_non_null(l);
    for (size_t i = 0; i < n; i++) {
        om_object *x = int_(v[i]);
        assert_int_equal(om_list_append(l, x), 0);
        om_decref(x);
    }
    return l;
}

static void assert_list_is(om_object *l, const int64_t *v, size_t n)
{
    assert_int_equal(om_list_len(l), (int64_t)n);
    for (size_t i = 0; i < n; i++)
        assert_int_obj(om_list_getitem(l, (int64_t)i), v[i]);
}

static void test_append_insert_pop(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){1, 2, 3}, 3);
    OM_AUTO om_object *x = int_(9);
    assert_int_equal(om_list_insert(l, 0, x), 0);
    assert_int_equal(om_list_insert(l, -1, x), 0);   /* before the last */
    assert_int_equal(om_list_insert(l, 1000, x), 0); /* clamped to the end */
    assert_list_is(l, (int64_t[]){9, 1, 2, 9, 3, 9}, 6);
    assert_int_obj(om_list_pop(l, -1), 9);
    assert_int_obj(om_list_pop(l, 0), 9);
    assert_list_is(l, (int64_t[]){1, 2, 9, 3}, 4);
    assert_null(om_list_pop(l, 4));
    assert_error("pop index out of range");
    OM_AUTO om_object *e = om_list_new(rt);
    assert_null(om_list_pop(e, -1));
    assert_error("pop from empty list");
}

static void test_get_set_del(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){10, 20, 30}, 3);
    OM_AUTO om_object *x = int_(99);
    assert_int_equal(om_list_setitem(l, -2, x), 0);
    assert_list_is(l, (int64_t[]){10, 99, 30}, 3);
    assert_int_equal(om_list_setitem(l, 3, x), -1);
    assert_error("list assignment index out of range");
    assert_null(om_list_getitem(l, -4));
    assert_error("list index out of range");
    assert_int_equal(om_list_delitem(l, 0), 0);
    assert_list_is(l, (int64_t[]){99, 30}, 2);
    assert_int_equal(om_list_delitem(l, 2), -1);
    OM_AUTO om_object *s = om_list_getslice(l, -1, 10);
    assert_list_is(s, (int64_t[]){30}, 1);
}

static void test_growth_is_cpythons(void **state)
{
    (void)state;
    static const size_t caps[] = {4, 4, 4, 4, 8, 8, 8, 8, 16};
    OM_AUTO om_object *l = om_list_new(rt);
    OM_AUTO om_object *x = int_(1);
    assert_int_equal(TY_LIST(l)->allocated, 0);
    for (size_t i = 0; i < OM_ARRAY_LEN(caps); i++) {
        om_list_append(l, x);
        assert_int_equal(TY_LIST(l)->allocated, caps[i]);
    }
    size_t last = 0, grows = 0;
    for (int i = 0; i < 10000; i++) {
        om_list_append(l, x);
        if (TY_LIST(l)->allocated != last)
            grows++, last = TY_LIST(l)->allocated;
    }
    assert_true(grows < 80); /* geometric: amortised O(1) appends */
    while (om_list_len(l) > 10)
        om_decref(om_list_pop(l, -1));
    assert_true(TY_LIST(l)->allocated < 32); /* shrinks when mostly empty */
}

static void test_extend_from_everything(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){1, 2}, 2);
    assert_int_equal(om_list_extend(l, l), 0); /* a snapshot of itself */
    assert_list_is(l, (int64_t[]){1, 2, 1, 2}, 4);
    OM_AUTO om_object *r = om_range(rt, 5, 8, 1);
    OM_AUTO om_object *a = int_(7);
    OM_AUTO om_object *t = om_tuple_pack(rt, 1, a);
    OM_AUTO om_object *d = om_dict_new(rt);
    om_dict_setitem(d, a, a);
    OM_AUTO om_object *s = om_set_new(rt);
    om_set_add(s, a);
    OM_AUTO om_object *out = om_list_new(rt);
    assert_int_equal(om_list_extend(out, r), 0);
    assert_int_equal(om_list_extend(out, t), 0);
    assert_int_equal(om_list_extend(out, d), 0);
    assert_int_equal(om_list_extend(out, s), 0);
    assert_list_is(out, (int64_t[]){5, 6, 7, 7, 7, 7}, 6);
    assert_int_equal(om_list_extend(out, a), -1);
    assert_error("'int' object is not iterable");
}

static void test_reverse_contains_index(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){1, 2, 3, 4, 5}, 5);
    assert_int_equal(om_list_reverse(l), 0);
    assert_list_is(l, (int64_t[]){5, 4, 3, 2, 1}, 5);
    OM_AUTO om_object *three = int_(3);
    OM_AUTO om_object *threef = om_float_from_double(rt, 3.0);
    OM_AUTO om_object *six = int_(6);
    assert_int_equal(om_list_contains(l, threef), 1);
    assert_int_equal(om_list_index(l, three), 2);
    assert_int_equal(om_list_contains(l, six), 0);
    assert_int_equal(om_list_index(l, six), -1);
    assert_error("6 not in list");
    assert_int_equal(om_list_clear(l), 0);
    assert_int_equal(om_list_len(l), 0);
}

static void test_sort_natural_and_stable(void **state)
{
    (void)state;
    int64_t v[200];
    omtest_srand(42);
    for (int i = 0; i < 200; i++)
        v[i] = (int64_t)(omtest_rand() % 50) - 25;
    OM_AUTO om_object *l = list_of(v, 200);
    assert_int_equal(om_list_sort(l, NULL, NULL), 0);
    for (int i = 1; i < 200; i++) {
        om_object *a = om_list_getitem(l, i - 1), *b = om_list_getitem(l, i);
        assert_true(int_value(a) <= int_value(b));
        om_decref(a);
        om_decref(b);
    }
    /* Stability: (key, original position) tuples sorted by key only. */
    OM_AUTO om_object *pairs = om_list_new(rt);
    for (int i = 0; i < 200; i++) {
        om_object *k = int_(v[i] % 5), *p = int_(i);
        om_object *t = om_tuple_pack(rt, 2, k, p);
        om_list_append(pairs, t);
        om_decref(t), om_decref(k), om_decref(p);
    }
    assert_int_equal(om_list_sort(pairs, NULL, NULL), 0); /* tuples: lexicographic */
    for (int i = 1; i < 200; i++) {
        om_object *a = om_list_getitem(pairs, i - 1), *b = om_list_getitem(pairs, i);
        assert_true(om_compare(a, b, NULL) < 0);
        om_decref(a);
        om_decref(b);
    }
}

static int by_first_only(om_object *a, om_object *b, void *arg)
{
    (void)arg;
    om_object *x = om_tuple_getitem(a, 0), *y = om_tuple_getitem(b, 0);
    int r = om_compare(x, y, NULL);
    om_decref(x);
    om_decref(y);
    return r;
}

static void test_sort_with_comparison_is_stable(void **state)
{
    (void)state;
    OM_AUTO om_object *l = om_list_new(rt);
    for (int i = 0; i < 100; i++) {
        om_object *k = int_(i % 3), *p = int_(i);
        om_object *t = om_tuple_pack(rt, 2, k, p);
        om_list_append(l, t);
        om_decref(t), om_decref(k), om_decref(p);
    }
    assert_int_equal(om_list_sort(l, by_first_only, NULL), 0);
    int64_t lastk = -1, lastp = -1;
    for (int i = 0; i < 100; i++) {
        om_object *t = om_list_getitem(l, i);
        om_object *k = om_tuple_getitem(t, 0), *p = om_tuple_getitem(t, 1);
        if (int_value(k) == lastk)
            assert_true(int_value(p) > lastp); /* equal keys keep their order */
        lastk = int_value(k), lastp = int_value(p);
        om_decref(k), om_decref(p), om_decref(t);
    }
}

static void test_sort_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){3, 1, 2}, 3);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "x");
    om_list_append(l, s);
    assert_int_equal(om_list_sort(l, NULL, NULL), -1);
    assert_error("'<' not supported between instances of");
    assert_int_equal(om_list_len(l), 4); /* every item still there, once */
}

static om_object *meddle_target;
static int meddling(om_object *a, om_object *b, void *arg)
{
    (void)arg;
    om_list_append(meddle_target, a);
    return om_compare(a, b, NULL);
}

static void test_sort_detects_modification(void **state)
{
    (void)state;
    OM_AUTO om_object *l = list_of((int64_t[]){3, 1, 2}, 3);
    meddle_target = l;
    assert_int_equal(om_list_sort(l, meddling, NULL), -1);
    assert_error("list modified during sort");
    assert_list_is(l, (int64_t[]){1, 2, 3}, 3);
}

static void test_equality_and_hash(void **state)
{
    (void)state;
    OM_AUTO om_object *a = list_of((int64_t[]){1, 2}, 2);
    OM_AUTO om_object *b = list_of((int64_t[]){1, 2}, 2);
    OM_AUTO om_object *c = list_of((int64_t[]){1, 2, 3}, 3);
    assert_int_equal(om_equal(a, b), 1);
    assert_int_equal(om_equal(a, c), 0);
    assert_int_equal(om_hash(a), (om_hash_t)-1);
    assert_error("unhashable type: 'list'");
}

/* Releasing a chain of nested containers of any depth keeps the C stack
 * flat: each dealloc's decref of its child is deferred by the object layer. */
static void test_deep_nesting_releases_flat(void **state)
{
    (void)state;
    enum { DEPTH = 300000 };
    om_object *top = om_list_new(rt);
    for (int i = 0; i < DEPTH; i++) {
        om_object *outer = i % 3 == 0   ? om_list_from_array(rt, &top, 1)
                           : i % 3 == 1 ? om_tuple_pack(rt, 1, top)
                                        : om_dict_new(rt);
        if (i % 3 == 2)
            assert_int_equal(om_dict_setitem_str(outer, "next", top), 0);
        om_decref(top);
        top = outer;
    }
    assert_int_equal(mortal_objects(), DEPTH + 2); /* and the interned key "next" */
    om_decref(top);
    assert_int_equal(mortal_objects(), 0);
}

static void test_wrong_types(void **state)
{
    (void)state;
    OM_AUTO om_object *t = om_tuple_pack(rt, 0);
    OM_AUTO om_object *x = int_(1);
    assert_int_equal(om_list_append(t, x), -1);
    assert_error("expected list, got tuple");
    assert_int_equal(om_list_len(x), -1);
    assert_error("expected list, got int");
    assert_null(om_list_getitem(t, 0));
    assert_int_equal(om_list_sort(x, NULL, NULL), -1);
    assert_int_equal(om_list_extend(x, t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_append_insert_pop),
        RT_TEST(test_get_set_del),
        RT_TEST(test_growth_is_cpythons),
        RT_TEST(test_extend_from_everything),
        RT_TEST(test_reverse_contains_index),
        RT_TEST(test_sort_natural_and_stable),
        RT_TEST(test_sort_with_comparison_is_stable),
        RT_TEST(test_sort_errors),
        RT_TEST(test_sort_detects_modification),
        RT_TEST(test_equality_and_hash),
        RT_TEST(test_deep_nesting_releases_flat),
        RT_TEST(test_wrong_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
