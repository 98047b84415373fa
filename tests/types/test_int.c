/* test_int.c: the int type: small-int cache, checked arithmetic, Python's
 * numeric hash and equality across int and float, repr, type errors. */
#include <math.h>
#include <string.h>

#include "../object/rt_fixture.h"

static void test_small_ints_are_cached_and_immortal(void **state)
{
    (void)state;
    for (int64_t v = OM_SMALL_INT_MIN; v <= OM_SMALL_INT_MAX; v++) {
        om_object *a = om_int_from_int64(rt, v), *b = om_int_from_int64(rt, v);
        assert_ptr_equal(a, b);
        assert_true(om_is_immortal(a));
        om_decref(a);
        om_decref(b);
    }
    om_object *big = om_int_from_int64(rt, 257), *big2 = om_int_from_int64(rt, 257);
    assert_ptr_not_equal(big, big2);
    assert_false(om_is_immortal(big));
    om_object *neg = om_int_from_int64(rt, -6);
    assert_false(om_is_immortal(neg));
    om_decref(big);
    om_decref(big2);
    om_decref(neg);
}

static void test_value_roundtrip(void **state)
{
    (void)state;
    int64_t values[] = {0, 1, -1, 1000, -1000000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        om_object *o = om_int_from_int64(rt, values[i]);
        int64_t out = 0;
        assert_true(om_int_check(o));
        assert_int_equal(om_int_as_int64(o, &out), 0);
        assert_true(out == values[i]);
        om_decref(o);
    }
}

static int64_t value_of(om_object *o)
{
    int64_t v = 0;
    assert_non_null(o);
    assert_int_equal(om_int_as_int64(o, &v), 0);
    om_decref(o);
    return v;
}

static void test_arithmetic(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_int_from_int64(rt, 7);
    OM_AUTO om_object *b = om_int_from_int64(rt, -2);
    OM_AUTO om_object *big = om_int_from_int64(rt, 1000000);
    assert_int_equal(value_of(om_int_add(a, b)), 5);
    assert_int_equal(value_of(om_int_sub(a, b)), 9);
    assert_int_equal(value_of(om_int_mul(a, b)), -14);
    assert_int_equal(value_of(om_int_mul(big, big)), 1000000000000);
    assert_int_equal(value_of(om_int_floordiv(a, b)), -4); /* Python: 7 // -2 */
    assert_int_equal(value_of(om_int_mod(a, b)), -1);      /* Python: 7 % -2 */
    OM_AUTO om_object *m7 = om_int_neg(a);
    assert_int_equal(value_of(om_int_floordiv(m7, om_int_from_int64(rt, 2))), -4);
    assert_int_equal(value_of(om_int_mod(m7, om_int_from_int64(rt, 2))), 1);
    assert_int_equal(value_of(om_int_neg(b)), 2);
}

static void expect_error(om_object *r, const char *text)
{
    assert_null(r);
    assert_non_null(strstr(om_error_message(), text));
    om_error_clear();
}

static void test_overflow_is_an_error(void **state)
{
    (void)state;
    OM_AUTO om_object *max = om_int_from_int64(rt, INT64_MAX);
    OM_AUTO om_object *min = om_int_from_int64(rt, INT64_MIN);
    OM_AUTO om_object *one = om_int_from_int64(rt, 1);
    OM_AUTO om_object *m1 = om_int_from_int64(rt, -1);
    OM_AUTO om_object *two = om_int_from_int64(rt, 2);
    OM_AUTO om_object *zero = om_int_from_int64(rt, 0);
    expect_error(om_int_add(max, one), "integer overflow in add");
    expect_error(om_int_sub(min, one), "integer overflow in sub");
    expect_error(om_int_mul(max, two), "integer overflow in mul");
    expect_error(om_int_floordiv(min, m1), "integer overflow in floordiv");
    expect_error(om_int_neg(min), "integer overflow in neg");
    expect_error(om_int_floordiv(one, zero), "division or modulo by zero");
    expect_error(om_int_mod(one, zero), "division or modulo by zero");
    assert_int_equal(value_of(om_int_mod(min, m1)), 0);
    int64_t out;
    assert_int_equal(om_int64_add(INT64_MAX, 1, &out), -1);
    assert_int_equal(om_int64_mul(INT64_MIN, -1, &out), -1);
    assert_int_equal(om_int64_sub(5, 7, &out), 0);
    assert_int_equal(out, -2);
}

static void test_type_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *f = om_float_from_double(rt, 1.5);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "x");
    OM_AUTO om_object *i = om_int_from_int64(rt, 3);
    int64_t v;
    assert_int_equal(om_int_as_int64(s, &v), -1);
    assert_string_equal(om_error_message(), "expected int, got str");
    assert_int_equal(om_int_as_int64(NULL, &v), -1);
    assert_string_equal(om_error_message(), "expected int, got NULL");
    expect_error(om_int_add(i, f), "expected int, got float");
    expect_error(om_int_neg(s), "expected int, got str");
    expect_error(om_int_from_int64(NULL, 1000), "runtime is NULL");
    assert_false(om_int_check(f));
    assert_false(om_int_check(NULL));
}

static void test_hash_matches_python(void **state)
{
    (void)state;
    struct {
        int64_t v;
        int64_t h;
    } cases[] = {
        {0, 0},           {1, 1},
        {-1, -2}, /* -1 is reserved */
        {-2, -2},         {(1ll << 61) - 1, 0},
        {(1ll << 61), 1}, {INT64_MAX, 3},
        {INT64_MIN, -4},  {123456789, 123456789},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        OM_AUTO om_object *o = om_int_from_int64(rt, cases[k].v);
        assert_true((int64_t)om_hash(o) == cases[k].h);
    }
}

static void test_equality_with_floats(void **state)
{
    (void)state;
    OM_AUTO om_object *one = om_int_from_int64(rt, 1);
    OM_AUTO om_object *onef = om_float_from_double(rt, 1.0);
    OM_AUTO om_object *half = om_float_from_double(rt, 1.5);
    OM_AUTO om_object *big = om_int_from_int64(rt, (1ll << 53) + 1);
    OM_AUTO om_object *bigf = om_float_from_double(rt, 9007199254740992.0); /* 2**53 */
    OM_AUTO om_object *s = om_str_from_cstr(rt, "1");
    assert_int_equal(om_equal(one, onef), 1);
    assert_int_equal(om_equal(onef, one), 1);
    assert_int_equal(om_hash(one), om_hash(onef));
    assert_int_equal(om_equal(one, half), 0);
    assert_int_equal(om_equal(big, bigf), 0); /* exact, not through a rounded double */
    assert_int_equal(om_equal(one, s), 0);
    OM_AUTO om_object *a = om_int_from_int64(rt, 1000), *b = om_int_from_int64(rt, 1000);
    assert_int_equal(om_equal(a, b), 1);
}

static void test_repr(void **state)
{
    (void)state;
    char buf[32];
    OM_AUTO om_object *o = om_int_from_int64(rt, INT64_MIN);
    assert_int_equal(om_repr(o, buf, sizeof buf), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(om_repr(o, buf, 5), 20);
    assert_string_equal(buf, "-922");
}

static void test_many_ints_balance(void **state)
{
    (void)state;
    om_object *acc = om_int_from_int64(rt, 0);
    for (int64_t i = 0; i < 10000; i++) {
        om_object *x = om_int_from_int64(rt, i);
        om_object *sum = om_int_add(acc, x);
        om_decref(x);
        om_decref(acc);
        acc = sum;
    }
    assert_int_equal(value_of(acc), 49995000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_small_ints_are_cached_and_immortal),
        RT_TEST(test_value_roundtrip),
        RT_TEST(test_arithmetic),
        RT_TEST(test_overflow_is_an_error),
        RT_TEST(test_type_errors),
        RT_TEST(test_hash_matches_python),
        RT_TEST(test_equality_with_floats),
        RT_TEST(test_repr),
        RT_TEST(test_many_ints_balance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
