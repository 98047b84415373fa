/* test_str.c: the str type: UTF-8 validation, lengths, hashing, equality,
 * repr, concatenation, type errors. */
#include <string.h>

#include "../object/rt_fixture.h"

static void test_ascii_and_lengths(void **state)
{
    (void)state;
    OM_AUTO om_object *s = om_str_from_cstr(rt, "hello, world");
    assert_true(om_str_check(s));
    assert_int_equal(om_str_len(s), 12);
    assert_int_equal(om_str_size(s), 12);
    assert_string_equal(om_str_as_utf8(s), "hello, world");
    /* é (2 bytes), € (3 bytes), 😀 (4 bytes) */
    OM_AUTO om_object *u = om_str_from_cstr(rt, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80!");
    assert_int_equal(om_str_len(u), 4);
    assert_int_equal(om_str_size(u), 10);
    /* embedded NUL is text too */
    OM_AUTO om_object *z = om_str_from_utf8(rt, "a\0b", 3);
    assert_int_equal(om_str_len(z), 3);
    assert_int_equal(om_str_as_utf8(z)[3], '\0');
    /* long ASCII runs take the 8-byte path */
    char longtext[1000];
    memset(longtext, 'x', sizeof longtext);
    longtext[500] = '\xc3';
    longtext[501] = '\xa9';
    OM_AUTO om_object *l = om_str_from_utf8(rt, longtext, sizeof longtext);
    assert_int_equal(om_str_len(l), 999);
}

static void expect_invalid(const char *bytes, size_t n, const char *where)
{
    om_error_clear();
    assert_null(om_str_from_utf8(rt, bytes, n));
    assert_non_null(strstr(om_error_message(), "invalid UTF-8"));
    assert_non_null(strstr(om_error_message(), where));
}

static void test_invalid_utf8_is_rejected(void **state)
{
    (void)state;
    expect_invalid("ab\x80", 3, "byte 2");           /* lone continuation */
    expect_invalid("\xc0\xaf", 2, "byte 0");         /* overlong '/' */
    expect_invalid("\xe0\x80\xaf", 3, "byte 0");     /* overlong, 3 bytes */
    expect_invalid("\xed\xa0\x80", 3, "byte 0");     /* surrogate U+D800 */
    expect_invalid("\xf4\x90\x80\x80", 4, "byte 0"); /* above U+10FFFF */
    expect_invalid("xyz\xe2\x82", 5, "byte 3");      /* truncated */
    expect_invalid("\xff", 1, "byte 0");
    expect_invalid("12345678\xc3(", 10, "byte 8");
    /* the edges that are valid */
    OM_AUTO om_object *a = om_str_from_utf8(rt, "\xf4\x8f\xbf\xbf", 4); /* U+10FFFF */
    OM_AUTO om_object *b = om_str_from_utf8(rt, "\xed\x9f\xbf", 3);     /* U+D7FF */
    assert_non_null(a);
    assert_non_null(b);
}

static void test_empty_is_a_singleton(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_str_from_cstr(rt, "");
    OM_AUTO om_object *b = om_str_from_utf8(rt, NULL, 0);
    assert_ptr_equal(a, b);
    assert_true(om_is_immortal(a));
    assert_int_equal(om_str_len(a), 0);
    assert_string_equal(om_str_as_utf8(a), "");
}

static void test_hash_and_equality(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_str_from_cstr(rt, "spam and eggs");
    OM_AUTO om_object *b = om_str_from_cstr(rt, "spam and eggs");
    OM_AUTO om_object *c = om_str_from_cstr(rt, "spam and eggz");
    OM_AUTO om_object *d = om_str_from_cstr(rt, "spam");
    OM_AUTO om_object *bytes = om_bytes_from_buffer(rt, "spam", 4);
    assert_ptr_not_equal(a, b);
    assert_int_equal(om_equal(a, b), 1);
    assert_int_equal(om_hash(a), om_hash(b));
    assert_int_equal(om_equal(a, c), 0);
    assert_true(om_hash(a) != om_hash(c));
    assert_int_equal(om_equal(a, d), 0);
    assert_int_equal(om_equal(d, bytes), 0); /* a str never equals bytes */
    assert_true(om_hash(a) != (om_hash_t)-1);
    /* the hash is cached: the same value again */
    assert_int_equal(om_hash(a), om_hash(a));
}

static void check_repr(const char *text, const char *want)
{
    char buf[128];
    OM_AUTO om_object *s = om_str_from_cstr(rt, text);
    assert_int_equal(om_repr(s, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
}

static void test_repr_like_python(void **state)
{
    (void)state;
    check_repr("abc", "'abc'");
    check_repr("it's", "\"it's\"");
    check_repr("a'b\"c", "'a\\'b\"c'");
    check_repr("tab\there\nnl\\", "'tab\\there\\nnl\\\\'");
    check_repr("\x01\x7f", "'\\x01\\x7f'");
    check_repr("caf\xc3\xa9", "'caf\xc3\xa9'");
    check_repr("", "''");
}

static void test_concat(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_str_from_cstr(rt, "na\xc3\xaf");
    OM_AUTO om_object *b = om_str_from_cstr(rt, "ve");
    OM_AUTO om_object *e = om_str_from_cstr(rt, "");
    OM_AUTO om_object *ab = om_str_concat(a, b);
    assert_string_equal(om_str_as_utf8(ab), "na\xc3\xafve");
    assert_int_equal(om_str_len(ab), 5);
    OM_AUTO om_object *ae = om_str_concat(a, e);
    assert_ptr_equal(ae, a); /* immutable: no copy needed */
    OM_AUTO om_object *ea = om_str_concat(e, a);
    assert_ptr_equal(ea, a);
    OM_AUTO om_object *i = om_int_from_int64(rt, 1);
    assert_null(om_str_concat(a, i));
    assert_string_equal(om_error_message(), "expected str, got int");
}

static void test_type_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *i = om_int_from_int64(rt, 5);
    assert_null(om_str_as_utf8(i));
    assert_string_equal(om_error_message(), "expected str, got int");
    assert_int_equal(om_str_len(i), -1);
    assert_int_equal(om_str_size(NULL), -1);
    assert_string_equal(om_error_message(), "expected str, got NULL");
    assert_null(om_str_from_utf8(rt, NULL, 3));
    assert_null(om_str_from_cstr(NULL, "x"));
    assert_false(om_str_check(i));
}

static void test_sizes(void **state)
{
    (void)state;
    OM_AUTO om_object *s = om_str_from_cstr(rt, "abc");
    long debug_heap = 0;
    om_option_get("debug", &debug_heap);
    /* 41 + 3 + NUL: a 48-byte block (the debug heap gives exactly 45) */
    assert_int_equal(om_usable_size(s), debug_heap ? 45 : 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_ascii_and_lengths),    RT_TEST(test_invalid_utf8_is_rejected),
        RT_TEST(test_empty_is_a_singleton), RT_TEST(test_hash_and_equality),
        RT_TEST(test_repr_like_python),     RT_TEST(test_concat),
        RT_TEST(test_type_errors),          RT_TEST(test_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
