/* test_tuple.c: tuples: building, indexing, slicing, hashing, equality, the
 * empty tuple, the collector's hooks, and every error path. */
#include "containers_check.h"

static void test_pack_and_index(void **state)
{
    (void)state;
    OM_AUTO om_object *a = int_(1000);
    OM_AUTO om_object *b = om_str_from_cstr(rt, "two");
    uint32_t before = om_refcnt(a);
    OM_AUTO om_object *t = om_tuple_pack(rt, 2, a, b);
    assert_non_null(t);
    assert_true(om_tuple_check(t));
    assert_int_equal(om_refcnt(a), before + 1);
    assert_int_equal(om_tuple_size(t), 2);
    assert_int_obj(om_tuple_getitem(t, 0), 1000);
    om_object *x = om_tuple_getitem(t, -1);
    assert_ptr_equal(x, b);
    om_decref(x);
    assert_null(om_tuple_getitem(t, 2));
    assert_error("tuple index out of range");
    assert_null(om_tuple_getitem(t, -3));
    assert_error("tuple index out of range");
}

static void test_from_array_and_slice(void **state)
{
    (void)state;
    om_object *items[5];
    for (int i = 0; i < 5; i++)
        items[i] = int_(i * 1000);
    OM_AUTO om_object *t = om_tuple_from_array(rt, items, 5);
    for (int i = 0; i < 5; i++)
        om_decref(items[i]);
    OM_AUTO om_object *s = om_tuple_getslice(t, 1, -1);
    assert_int_equal(om_tuple_size(s), 3);
    assert_int_obj(om_tuple_getitem(s, 0), 1000);
    assert_int_obj(om_tuple_getitem(s, 2), 3000);
    OM_AUTO om_object *whole = om_tuple_getslice(t, -100, 100);
    assert_ptr_equal(whole, t); /* immutable: the whole slice is the tuple itself */
    OM_AUTO om_object *none = om_tuple_getslice(t, 4, 2);
    assert_int_equal(om_tuple_size(none), 0);
}

static void test_empty_tuple_is_one_immortal(void **state)
{
    (void)state;
    om_object *a = om_tuple_pack(rt, 0);
    om_object *b = om_tuple_from_array(rt, NULL, 0);
    assert_ptr_equal(a, b);
    assert_true(om_is_immortal(a));
    assert_int_equal(om_tuple_size(a), 0);
    om_decref(a);
    om_decref(b);
}

static void test_hash_and_equality(void **state)
{
    (void)state;
    OM_AUTO om_object *one = int_(1);
    OM_AUTO om_object *onef = om_float_from_double(rt, 1.0);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "x");
    OM_AUTO om_object *t1 = om_tuple_pack(rt, 2, one, s);
    OM_AUTO om_object *t2 = om_tuple_pack(rt, 2, onef, s);
    OM_AUTO om_object *t3 = om_tuple_pack(rt, 2, s, one);
    assert_int_equal(om_equal(t1, t2), 1);
    assert_int_equal(om_hash(t1), om_hash(t2));
    assert_int_equal(om_equal(t1, t3), 0);
    assert_true(om_hash(t1) != om_hash(t3)); /* order matters to the hash */
    OM_AUTO om_object *nested = om_tuple_pack(rt, 1, t1);
    assert_true(om_hash(nested) != (om_hash_t)-1);
    OM_AUTO om_object *l = om_list_new(rt);
    OM_AUTO om_object *bad = om_tuple_pack(rt, 2, one, l);
    assert_int_equal(om_hash(bad), (om_hash_t)-1);
    assert_error("unhashable type: 'list'");
    assert_int_equal(om_equal(t1, l), 0);
}

static void test_wrong_types(void **state)
{
    (void)state;
    OM_AUTO om_object *l = om_list_new(rt);
    assert_int_equal(om_tuple_size(l), -1);
    assert_error("expected tuple, got list");
    assert_null(om_tuple_getitem(l, 0));
    assert_error("expected tuple, got list");
    assert_null(om_tuple_getslice(l, 0, 1));
    assert_false(om_tuple_check(l));
    assert_false(om_tuple_check(NULL));
}

static int count_visit(om_object *child, void *arg)
{
    (void)child;
    ++*(int *)arg;
    return 0;
}

static void test_traverse_and_clear(void **state)
{
    (void)state;
    OM_AUTO om_object *a = int_(5000);
    om_object *t = om_tuple_pack(rt, 3, a, a, a);
    int n = 0;
    t->ob_type->traverse(t, count_visit, &n);
    assert_int_equal(n, 3);
    assert_int_equal(om_refcnt(a), 4);
    t->ob_type->clear(t); /* what the collector does to cyclic trash */
    assert_int_equal(om_refcnt(a), 1);
    assert_null(om_tuple_getitem(t, 0));
    assert_error("cleared by the collector");
    n = 0;
    t->ob_type->traverse(t, count_visit, &n);
    assert_int_equal(n, 0);
    om_decref(t);
}

static void test_many_sizes(void **state)
{
    (void)state;
    om_object *items[64];
    for (int i = 0; i < 64; i++)
        items[i] = int_(i);
    for (size_t n = 0; n <= 64; n++) {
        om_object *t = om_tuple_from_array(rt, items, n);
        assert_int_equal(om_tuple_size(t), (int64_t)n);
        for (size_t i = 0; i < n; i++)
            assert_int_obj(om_tuple_getitem(t, (int64_t)i), (int64_t)i);
        om_decref(t);
    }
    for (int i = 0; i < 64; i++)
        om_decref(items[i]);
}

/* Small tuples are recycled through the object layer's free lists: a
 * freed tuple's block serves the next tuple of its size. */
static void test_small_tuples_are_recycled(void **state)
{
    (void)state;
    OM_AUTO om_object *a = int_(1);
    om_runtime_stats st0, st1;
    om_runtime_clear_freelists(rt);
    om_runtime_get_stats(rt, &st0);
    om_object *t = om_tuple_pack(rt, 3, a, a, a);
    void *where = t;
    om_decref(t);
    om_runtime_get_stats(rt, &st1);
    assert_int_equal(st1.freelist_blocks, st0.freelist_blocks + 1);
    t = om_tuple_pack(rt, 2, a, a); /* 40 bytes: the same 48-byte block */
    assert_ptr_equal(t, where);
    om_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_pack_and_index),
        RT_TEST(test_from_array_and_slice),
        RT_TEST(test_empty_tuple_is_one_immortal),
        RT_TEST(test_hash_and_equality),
        RT_TEST(test_wrong_types),
        RT_TEST(test_traverse_and_clear),
        RT_TEST(test_many_sizes),
        RT_TEST(test_small_tuples_are_recycled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
