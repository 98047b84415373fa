/* test_lru.c: the LRU memo cache: eviction order, statistics, maxsize 0 and
 * unbounded, the calling wrapper (recursive too), and errors. */
#include "containers_check.h"

static int calls;

static om_object *square(om_object *args, void *ctx)
{
    (void)ctx;
    calls++;
    int64_t v = int_value(args);
    return om_int_from_int64(om_runtime_of(args), v * v);
}

static om_object *failing(om_object *args, void *ctx)
{
    (void)args, (void)ctx;
    calls++;
    om_set_error("the function failed");
    return NULL;
}

static void put_int(om_object *c, int64_t k, int64_t v)
{
    om_object *key = int_(k), *value = int_(v);
    assert_int_equal(om_lru_put(c, key, value), 0);
    om_decref(key), om_decref(value);
}

static int get_int(om_object *c, int64_t k, int64_t *v)
{
    om_object *key = int_(k), *value;
    int r = om_lru_get(c, key, &value);
    om_decref(key);
    if (r > 0) {
        *v = int_value(value);
        om_decref(value);
    }
    return r;
}

static void test_eviction_order(void **state)
{
    (void)state;
    OM_AUTO om_object *c = om_lru_cache_new(rt, 3, NULL, NULL);
    assert_true(om_lru_check(c));
    put_int(c, 1, 10);
    put_int(c, 2, 20);
    put_int(c, 3, 30);
    int64_t v;
    assert_int_equal(get_int(c, 1, &v), 1); /* 1 is now the most recent */
    assert_int_equal(v, 10);
    put_int(c, 4, 40); /* evicts 2, the least recently used */
    assert_int_equal(get_int(c, 2, &v), 0);
    assert_int_equal(get_int(c, 1, &v), 1);
    assert_int_equal(get_int(c, 3, &v), 1);
    assert_int_equal(get_int(c, 4, &v), 1);
    put_int(c, 3, 33); /* an update refreshes too */
    put_int(c, 5, 50); /* evicts 1 */
    assert_int_equal(get_int(c, 1, &v), 0);
    assert_int_equal(get_int(c, 3, &v), 1);
    assert_int_equal(v, 33);
    om_lru_info info;
    assert_int_equal(om_lru_cache_info(c, &info), 0);
    assert_int_equal(info.hits, 5);
    assert_int_equal(info.misses, 2);
    assert_int_equal(info.maxsize, 3);
    assert_int_equal(info.currsize, 3);
    om_lru_cache_clear(c);
    om_lru_cache_info(c, &info);
    assert_int_equal(info.currsize, 0);
    assert_int_equal(info.hits + info.misses, 0);
}

static void test_churn_keeps_table_small(void **state)
{
    (void)state;
    OM_AUTO om_object *c = om_lru_cache_new(rt, 8, NULL, NULL);
    int64_t v;
    for (int i = 0; i < 20000; i++) {
        put_int(c, i % 13, i);
        get_int(c, (i * 7) % 13, &v);
    }
    om_lru_info info;
    om_lru_cache_info(c, &info);
    assert_int_equal(info.currsize, 8);
    assert_true(om_sys_getsizeof(c) < 1024); /* dead entries are compacted away */
}

static void test_maxsize_zero_and_unbounded(void **state)
{
    (void)state;
    OM_AUTO om_object *none = om_lru_cache_new(rt, 0, square, NULL);
    calls = 0;
    OM_AUTO om_object *x = int_(12);
    assert_int_obj(om_lru_call(none, x), 144);
    assert_int_obj(om_lru_call(none, x), 144);
    assert_int_equal(calls, 2); /* maxsize 0 caches nothing */
    OM_AUTO om_object *all = om_lru_cache_new(rt, OM_LRU_UNBOUNDED, square, NULL);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            om_object *k = int_(i);
            assert_int_obj(om_lru_call(all, k), (int64_t)i * i);
            om_decref(k);
        }
    om_lru_info info;
    om_lru_cache_info(all, &info);
    assert_int_equal(info.currsize, 1000);
    assert_int_equal(info.hits, 1000);
    assert_int_equal(info.misses, 1000);
    assert_int_equal(info.maxsize, OM_LRU_UNBOUNDED);
    assert_null(om_lru_cache_new(rt, -5, NULL, NULL));
    assert_error("maxsize");
}

/* fib through the cache: each value is computed once. */
static om_object *fib_cache;
static om_object *fib(om_object *args, void *ctx)
{
    (void)ctx;
    calls++;
    int64_t n = 0;
    om_object *a = om_tuple_getitem(args, 0);
    om_int_as_int64(a, &n);
    om_decref(a);
    om_runtime *r = om_runtime_of(args);
    if (n < 2)
        return om_int_from_int64(r, n);
    om_object *n1 = om_int_from_int64(r, n - 1), *n2 = om_int_from_int64(r, n - 2);
    om_object *f1 = om_lru_callv(fib_cache, 1, n1), *f2 = om_lru_callv(fib_cache, 1, n2);
    om_object *sum = f1 && f2 ? om_int_add(f1, f2) : NULL;
    om_xdecref(f1), om_xdecref(f2), om_decref(n1), om_decref(n2);
    return sum;
}

static void test_recursive_memo(void **state)
{
    (void)state;
    fib_cache = om_lru_cache_new(rt, 128, fib, NULL);
    calls = 0;
    OM_AUTO om_object *ninety = int_(90);
    assert_int_obj(om_lru_callv(fib_cache, 1, ninety), 2880067194370816120ll);
    assert_int_equal(calls, 91);
    om_decref(fib_cache);
}

static void test_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *c = om_lru_cache_new(rt, 4, failing, NULL);
    OM_AUTO om_object *x = int_(1);
    calls = 0;
    assert_null(om_lru_call(c, x));
    assert_error("the function failed");
    om_lru_info info;
    om_lru_cache_info(c, &info);
    assert_int_equal(info.currsize, 0); /* nothing cached on failure */
    OM_AUTO om_object *l = om_list_new(rt);
    assert_null(om_lru_call(c, l));
    assert_error("unhashable type: 'list'");
    assert_int_equal(calls, 1);
    assert_null(om_lru_callv(c, 1, l));
    assert_error("unhashable type: 'list'");
    OM_AUTO om_object *bare = om_lru_cache_new(rt, 4, NULL, NULL);
    assert_null(om_lru_call(bare, x));
    assert_error("no function");
    assert_int_equal(om_lru_put(l, x, x), -1);
    assert_error("expected lru_cache, got list");
    assert_int_equal(om_lru_cache_info(l, &info), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_eviction_order),
        RT_TEST(test_churn_keeps_table_small),
        RT_TEST(test_maxsize_zero_and_unbounded),
        RT_TEST(test_recursive_memo),
        RT_TEST(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
