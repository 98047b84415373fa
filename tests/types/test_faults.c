/* test_faults.c: allocation failure swept over every allocation of a
 * representative container workload (a dict of lists of tuples, sets,
 * records, instances, an LRU cache, iteration, sorting, weak references).
 * At every failure point the workload must fail cleanly (-1 and a
 * message) or absorb the failure, leave nothing behind (no mortal object,
 * total refcount zero, no buffer), and the runtime must stay usable. */
#include <stdio.h>

#include "containers_check.h"

OM_RECORD_TYPE(pair_type, "Pair", "first", "second");

static om_object *negate(om_object *args, void *ctx)
{
    (void)ctx;
    int64_t v = 0;
    om_int_as_int64(args, &v);
    return om_int_from_int64(om_runtime_of(args), -v - 1000);
}

static void on_death(om_object *wr, void *arg)
{
    (void)wr;
    ++*(int *)arg;
}

static int reverse_order(om_object *a, om_object *b, void *arg)
{
    int r = om_compare(b, a, arg);
    return r;
}

/* A dict of 12 lists of 4 (int, str) tuples, keyed by strs. */
static om_object *build_graph(void)
{
    OM_AUTO om_object *d = om_dict_new(rt);
    if (!d)
        return NULL;
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "key%d", i);
        OM_AUTO om_object *l = om_list_new(rt);
        if (!l)
            return NULL;
        for (int j = 0; j < 4; j++) {
            OM_AUTO om_object *n = om_int_from_int64(rt, i * 1000 + j);
            OM_AUTO om_object *s = om_str_from_cstr(rt, name);
            OM_AUTO om_object *t = n && s ? om_tuple_pack(rt, 2, n, s) : NULL;
            if (!t || om_list_append(l, t) < 0)
                return NULL;
        }
        if (om_dict_setitem_str(d, name, l) < 0)
            return NULL;
    }
    om_incref(d);
    return d;
}

static int use_graph(om_object *d)
{
    OM_AUTO om_object *it = om_dict_iter_items(d);
    if (!it)
        return -1;
    om_object *item;
    int r;
    int64_t total = 0;
    while ((r = om_iter_next_item(it, &item)) > 0) {
        OM_AUTO om_object *v = om_tuple_getitem(item, 1);
        om_decref(item);
        if (!v)
            return -1;
        total += om_list_len(v);
    }
    if (r < 0)
        return -1;
    OM_AUTO om_object *copy = om_dict_copy(d);
    OM_AUTO om_object *keys = copy ? om_dict_keys(copy) : NULL;
    if (!keys || om_list_sort(keys, reverse_order, NULL) < 0)
        return -1;
    if (om_dict_pop(copy, keys, NULL)) /* a list is no key: this must fail */
        return -1;
    om_error_clear();
    return total == 48 ? 0 : -1;
}

static int use_others(void)
{
    OM_AUTO om_object *r = om_range(rt, 0, 40, 3);
    OM_AUTO om_object *s = r ? om_set_from_iterable(rt, r) : NULL;
    OM_AUTO om_object *s2 = s ? om_set_from_iterable(rt, r) : NULL;
    OM_AUTO om_object *u = s2 ? om_set_union(s, s2) : NULL;
    OM_AUTO om_object *p = u ? om_record_new(rt, &pair_type) : NULL;
    if (!p || om_record_set(p, 0, s) < 0 || om_record_setattr(p, "second", u) < 0)
        return -1;
    OM_AUTO om_object *inst = om_instance_new(rt);
    if (!inst || om_instance_setattr(inst, "pair", p) < 0 ||
        om_instance_setattr(inst, "range", r) < 0)
        return -1;
    OM_AUTO om_object *cache = om_lru_cache_new(rt, 4, negate, NULL);
    if (!cache)
        return -1;
    for (int i = 0; i < 10; i++) {
        OM_AUTO om_object *k = om_int_from_int64(rt, 300 + i % 6);
        OM_AUTO om_object *v = k ? om_lru_call(cache, k) : NULL;
        if (!v)
            return -1;
    }
    int deaths = 0;
    OM_AUTO om_object *victim = om_list_from_array(rt, &p, 1);
    OM_AUTO om_object *wr = victim ? om_weakref_new(rt, victim, on_death, &deaths) : NULL;
    if (!wr)
        return -1;
    om_decref(victim);
    victim = NULL;
    return deaths == 1 ? 0 : -1;
}

static int workload(void)
{
    OM_AUTO om_object *d = build_graph();
    if (!d || use_graph(d) < 0)
        return -1;
    return use_others();
}

static void test_sweep_every_allocation(void **state)
{
    (void)state;
    assert_int_equal(workload(), 0); /* warm up the runtime's tables */
    om_runtime_clear_freelists(rt);
    size_t buffers = buffer_blocks();
    uint64_t points = 0, failed_cleanly = 0;
    for (uint64_t n = 1;; n++) {
        om_error_clear();
        uint64_t before = om_heap_failures();
        om_heap_fail_after(n);
        int r = workload();
        om_heap_fail_after(0);
        bool injected = om_heap_failures() > before;
        if (r < 0) {
            assert_true(injected);
            assert_true(om_error_message()[0] != '\0');
            failed_cleanly++;
        }
        assert_int_equal(mortal_objects(), 0);
        assert_int_equal(om_runtime_total_refcount(rt), 0);
        om_runtime_clear_freelists(rt);
        assert_int_equal(buffer_blocks(), buffers);
        if (!injected)
            break;
        points++;
    }
    printf("# %llu allocation points, %llu failed cleanly, the rest absorbed\n",
           (unsigned long long)points, (unsigned long long)failed_cleanly);
    assert_true(points > 200);
    assert_true(failed_cleanly > points / 2);
    assert_int_equal(workload(), 0); /* the runtime is still usable */
}

/* Every function given an object of the wrong type fails with a message
 * naming what it expected, and touches nothing. */
#define EXPECT_NULL(call, want)                                                                    \
    do {                                                                                           \
        om_error_clear();                                                                          \
        assert_null(call);                                                                         \
        assert_error(want);                                                                        \
    } while (0)
#define EXPECT_FAIL(call, want)                                                                    \
    do {                                                                                           \
        om_error_clear();                                                                          \
        assert_true((call) == -1);                                                                 \
        assert_error(want);                                                                        \
    } while (0)

static void test_every_function_checks_types(void **state)
{
    (void)state;
    OM_AUTO om_object *x = om_float_from_double(rt, 2.5);
    om_object *out = NULL;
    om_lru_info info;
    int64_t v;
    EXPECT_FAIL(om_tuple_size(x), "expected tuple, got float");
    EXPECT_NULL(om_tuple_getitem(x, 0), "expected tuple");
    EXPECT_NULL(om_tuple_getslice(x, 0, 1), "expected tuple");
    EXPECT_FAIL(om_list_len(x), "expected list, got float");
    EXPECT_FAIL(om_list_append(x, x), "expected list");
    EXPECT_FAIL(om_list_insert(x, 0, x), "expected list");
    EXPECT_NULL(om_list_pop(x, 0), "expected list");
    EXPECT_NULL(om_list_getitem(x, 0), "expected list");
    EXPECT_FAIL(om_list_setitem(x, 0, x), "expected list");
    EXPECT_FAIL(om_list_delitem(x, 0), "expected list");
    EXPECT_NULL(om_list_getslice(x, 0, 1), "expected list");
    EXPECT_FAIL(om_list_extend(x, x), "expected list");
    EXPECT_FAIL(om_list_reverse(x), "expected list");
    EXPECT_FAIL(om_list_clear(x), "expected list");
    EXPECT_FAIL(om_list_contains(x, x), "expected list");
    EXPECT_FAIL(om_list_index(x, x), "expected list");
    EXPECT_FAIL(om_list_sort(x, NULL, NULL), "expected list");
    EXPECT_FAIL(om_dict_len(x), "expected dict, got float");
    EXPECT_FAIL(om_dict_setitem(x, x, x), "expected dict");
    EXPECT_NULL(om_dict_getitem(x, x), "expected dict");
    EXPECT_FAIL(om_dict_lookup(x, x, &out), "expected dict");
    assert_null(out);
    EXPECT_FAIL(om_dict_delitem(x, x), "expected dict");
    EXPECT_FAIL(om_dict_contains(x, x), "expected dict");
    EXPECT_NULL(om_dict_pop(x, x, x), "expected dict");
    EXPECT_NULL(om_dict_keys(x), "expected dict");
    EXPECT_NULL(om_dict_values(x), "expected dict");
    EXPECT_NULL(om_dict_items(x), "expected dict");
    EXPECT_NULL(om_dict_copy(x), "expected dict");
    EXPECT_FAIL(om_dict_update(x, x), "expected dict");
    EXPECT_FAIL(om_dict_clear(x), "expected dict");
    EXPECT_FAIL(om_dict_setitem_str(x, "k", x), "expected dict");
    EXPECT_NULL(om_dict_getitem_str(x, "k"), "expected dict");
    EXPECT_NULL(om_dict_iter_keys(x), "expected dict");
    EXPECT_NULL(om_dict_iter_values(x), "expected dict");
    EXPECT_FAIL(om_set_len(x), "expected set, got float");
    EXPECT_FAIL(om_set_add(x, x), "expected set");
    EXPECT_FAIL(om_set_discard(x, x), "expected set");
    EXPECT_FAIL(om_set_contains(x, x), "expected set");
    EXPECT_NULL(om_set_pop(x), "expected set");
    EXPECT_FAIL(om_set_clear(x), "expected set");
    EXPECT_NULL(om_set_intersection(x, x), "expected set");
    EXPECT_NULL(om_set_difference(x, x), "expected set");
    EXPECT_FAIL(om_set_issubset(x, x), "expected set");
    EXPECT_NULL(om_set_from_iterable(rt, x), "not iterable");
    EXPECT_FAIL(om_record_nslots(x), "expected record, got float");
    EXPECT_FAIL(om_record_slot_index(x, "a"), "expected record");
    EXPECT_NULL(om_record_getattr(x, "a"), "expected record");
    EXPECT_FAIL(om_record_set(x, 0, x), "expected record");
    EXPECT_FAIL(om_record_setattr(x, "a", x), "expected record");
    EXPECT_NULL(om_iter(x), "'float' object is not iterable");
    EXPECT_NULL(om_iter_next(x), "expected iterator");
    EXPECT_FAIL(om_range_len(x), "expected range, got float");
    EXPECT_FAIL(om_range_item(x, 0, &v), "expected range");
    EXPECT_FAIL(om_range_contains(x, 0), "expected range");
    EXPECT_FAIL(om_lru_get(x, x, &out), "expected lru_cache, got float");
    assert_null(out);
    EXPECT_NULL(om_lru_call(x, x), "expected lru_cache");
    EXPECT_NULL(om_lru_callv(x, 1, x), "expected lru_cache");
    EXPECT_FAIL(om_lru_cache_info(x, &info), "expected lru_cache");
    om_lru_cache_clear(x); /* returns nothing: must just not crash */
    EXPECT_NULL(om_weakref_get(x), "expected weakref, got float");
    assert_false(om_weakref_alive(x));
    assert_false(om_tuple_check(x) || om_list_check(x) || om_dict_check(x) || om_set_check(x) ||
                 om_range_check(x) || om_record_check(x) || om_instance_check(x) ||
                 om_weakref_check(x) || om_lru_check(x) || om_iter_check(x));
    assert_true(om_sys_getsizeof(x) >= 24 && om_sys_getsizeof(x) <= 32); /* 32 in the heap */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_sweep_every_allocation),
        RT_TEST(test_every_function_checks_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
