/* test_float.c: the float type: Python's repr and numeric hash, conversions,
 * free-list reuse, type errors. */
#include <math.h>
#include <string.h>

#include "../object/rt_fixture.h"

static void check_repr(double v, const char *want)
{
    char buf[64];
    OM_AUTO om_object *o = om_float_from_double(rt, v);
    size_t n = om_repr(o, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_repr_like_python(void **state)
{
    (void)state;
    check_repr(1e16, "1e+16");
    check_repr(1e15, "1000000000000000.0");
    check_repr(0.1, "0.1");
    check_repr(1.0 / 3, "0.3333333333333333");
    check_repr(-0.0, "-0.0");
    check_repr(0.0, "0.0");
    check_repr(1.5e-7, "1.5e-07");
    check_repr(123.0, "123.0");
    check_repr(2.5e-5, "2.5e-05");
    check_repr(0.0001, "0.0001");
    check_repr(1e22, "1e+22");
    check_repr(5e-324, "5e-324");
    check_repr(1.7976931348623157e308, "1.7976931348623157e+308");
    check_repr(-2.5, "-2.5");
    check_repr(INFINITY, "inf");
    check_repr(-INFINITY, "-inf");
    check_repr(NAN, "nan");
}

static void check_hash(double v, int64_t want)
{
    OM_AUTO om_object *o = om_float_from_double(rt, v);
    assert_true((int64_t)om_hash(o) == want);
}

static void test_hash_like_python(void **state)
{
    (void)state;
    /* The values Python 3 gives for hash(x). */
    check_hash(0.5, 1152921504606846976);
    check_hash(1.5, 1152921504606846977);
    check_hash(-2.5, -1152921504606846978);
    check_hash(1e300, 1224995262755759164);
    check_hash(1e-300, 482449582752280463);
    check_hash(3.14159, 326484311674566659);
    check_hash(INFINITY, 314159);
    check_hash(-INFINITY, -314159);
    check_hash(-1.0, -2);
    check_hash(0.0, 0);
    check_hash(1e18, 1000000000000000000);
}

static void test_conversions(void **state)
{
    (void)state;
    OM_AUTO om_object *f = om_float_from_double(rt, 2.75);
    OM_AUTO om_object *i = om_int_from_int64(rt, 12);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "2.75");
    double d = 0;
    assert_true(om_float_check(f));
    assert_false(om_float_check(i));
    assert_int_equal(om_float_as_double(f, &d), 0);
    assert_true(d == 2.75);
    assert_int_equal(om_float_as_double(i, &d), 0); /* float(12) */
    assert_true(d == 12.0);
    assert_int_equal(om_float_as_double(s, &d), -1);
    assert_string_equal(om_error_message(), "expected float, got str");
    assert_null(om_float_from_double(NULL, 1.0));
    assert_non_null(strstr(om_error_message(), "runtime is NULL"));
}

static void test_equality(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_float_from_double(rt, 0.1);
    OM_AUTO om_object *b = om_float_from_double(rt, 0.1);
    OM_AUTO om_object *n1 = om_float_from_double(rt, NAN);
    OM_AUTO om_object *two = om_float_from_double(rt, 2.0);
    OM_AUTO om_object *i2 = om_int_from_int64(rt, 2);
    OM_AUTO om_object *huge = om_float_from_double(rt, 1e30);
    OM_AUTO om_object *imax = om_int_from_int64(rt, INT64_MAX);
    OM_AUTO om_object *f63 = om_float_from_double(rt, 9223372036854775808.0);
    assert_int_equal(om_equal(a, b), 1);
    assert_int_equal(om_equal(n1, n1), 1); /* identity first, as Python's containers do */
    OM_AUTO om_object *n2 = om_float_from_double(rt, NAN);
    assert_int_equal(om_equal(n1, n2), 0);
    assert_int_equal(om_equal(two, i2), 1);
    assert_int_equal(om_equal(huge, i2), 0);
    assert_int_equal(om_equal(imax, f63), 0); /* 2**63 - 1 != 2.0**63 */
}

static void test_free_list_reuse(void **state)
{
    (void)state;
    om_runtime_stats st0, st1;
    long debug_heap = 0;
    om_option_get("debug", &debug_heap);
    if (debug_heap)
        skip(); /* a debug block of 24 bytes fits no free-list class */
    om_object *f = om_float_from_double(rt, 1.0);
    void *addr = f;
    om_decref(f);
    om_runtime_get_stats(rt, &st0);
    f = om_float_from_double(rt, 2.0);
    assert_ptr_equal(f, addr);
    om_runtime_get_stats(rt, &st1);
    assert_int_equal(st1.freelist_blocks + 1, st0.freelist_blocks);
    om_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_repr_like_python), RT_TEST(test_hash_like_python), RT_TEST(test_conversions),
        RT_TEST(test_equality),         RT_TEST(test_free_list_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
