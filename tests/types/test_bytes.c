/* test_bytes.c: the bytes type: copies, hashing, equality, repr, concat,
 * type errors; and None. */
#include <string.h>

#include "../object/rt_fixture.h"

static void test_copy_and_size(void **state)
{
    (void)state;
    unsigned char raw[5] = {0, 1, 0xff, 'a', 0};
    OM_AUTO om_object *b = om_bytes_from_buffer(rt, raw, sizeof raw);
    raw[0] = 9; /* a copy was taken */
    assert_true(om_bytes_check(b));
    assert_int_equal(om_bytes_size(b), 5);
    const unsigned char *p = om_bytes_as_buffer(b);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[2], 0xff);
    assert_int_equal(p[5], 0); /* NUL after the data */
    OM_AUTO om_object *e1 = om_bytes_from_buffer(rt, NULL, 0);
    OM_AUTO om_object *e2 = om_bytes_from_buffer(rt, "", 0);
    assert_ptr_equal(e1, e2);
    assert_true(om_is_immortal(e1));
}

static void test_hash_equality_repr(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_bytes_from_buffer(rt, "it's\x00\x80", 6);
    OM_AUTO om_object *b = om_bytes_from_buffer(rt, "it's\x00\x80", 6);
    OM_AUTO om_object *c = om_bytes_from_buffer(rt, "it's\x00\x81", 6);
    assert_int_equal(om_equal(a, b), 1);
    assert_int_equal(om_hash(a), om_hash(b));
    assert_int_equal(om_equal(a, c), 0);
    char buf[64];
    assert_int_equal(om_repr(a, buf, sizeof buf), strlen("b\"it's\\x00\\x80\""));
    assert_string_equal(buf, "b\"it's\\x00\\x80\"");
    OM_AUTO om_object *t = om_bytes_from_buffer(rt, "a\tb\\", 4);
    om_repr(t, buf, sizeof buf);
    assert_string_equal(buf, "b'a\\tb\\\\'");
}

static void test_concat_and_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_bytes_from_buffer(rt, "ab", 2);
    OM_AUTO om_object *b = om_bytes_from_buffer(rt, "cd", 2);
    OM_AUTO om_object *e = om_bytes_from_buffer(rt, NULL, 0);
    OM_AUTO om_object *ab = om_bytes_concat(a, b);
    assert_memory_equal(om_bytes_as_buffer(ab), "abcd", 5);
    OM_AUTO om_object *ae = om_bytes_concat(a, e);
    assert_ptr_equal(ae, a);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "ab");
    assert_null(om_bytes_concat(a, s));
    assert_string_equal(om_error_message(), "expected bytes, got str");
    assert_null(om_bytes_as_buffer(s));
    assert_int_equal(om_bytes_size(s), -1);
    assert_null(om_bytes_from_buffer(rt, NULL, 2));
    assert_null(om_bytes_from_buffer(NULL, "x", 1));
    assert_int_equal(om_equal(a, s), 0);
}

static void test_none(void **state)
{
    (void)state;
    OM_AUTO om_object *n = om_none(rt);
    OM_AUTO om_object *m = om_none(rt);
    assert_ptr_equal(n, m);
    assert_true(om_none_check(n));
    assert_true(om_is_immortal(n));
    char buf[8];
    om_repr(n, buf, sizeof buf);
    assert_string_equal(buf, "None");
    assert_int_equal(om_hash(n), om_hash(m));
    assert_string_equal(om_type_name(n), "NoneType");
    assert_null(om_none(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_copy_and_size),
        RT_TEST(test_hash_equality_repr),
        RT_TEST(test_concat_and_errors),
        RT_TEST(test_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
