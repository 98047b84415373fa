/* test_intern.c: interning: one canonical str per text, lookups that
 * allocate nothing, the table keeps nothing alive, out-of-memory. */
#include <stdio.h>
#include <string.h>

#include "types/types.h"
/* after the internal headers: their parameters would shadow `rt` */
#include "../object/rt_fixture.h"

static void test_one_canonical_object(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_str_from_cstr(rt, "name");
    OM_AUTO om_object *b = om_str_from_cstr(rt, "name");
    assert_false(om_str_is_interned(a));
    OM_AUTO om_object *ia = om_str_intern(a);
    assert_ptr_equal(ia, a); /* the first of its text */
    assert_true(om_str_is_interned(a));
    OM_AUTO om_object *ib = om_str_intern(b);
    assert_ptr_equal(ib, a);
    assert_false(om_str_is_interned(b));
    OM_AUTO om_object *ic = om_str_intern_cstr(rt, "name");
    assert_ptr_equal(ic, a);
    OM_AUTO om_object *again = om_str_intern(ia);
    assert_ptr_equal(again, a);
    assert_int_equal(om_equal(a, b), 1);
}

static void test_lookup_allocates_nothing(void **state)
{
    (void)state;
    OM_AUTO om_object *k = om_str_intern_cstr(rt, "key");
    om_runtime_stats st0, st1;
    om_runtime_get_stats(rt, &st0);
    for (int i = 0; i < 100; i++) {
        om_object *x = om_str_intern_cstr(rt, "key");
        assert_ptr_equal(x, k);
        om_decref(x);
    }
    om_runtime_get_stats(rt, &st1);
    assert_int_equal(st1.allocated, st0.allocated);
}

static void test_table_keeps_nothing_alive(void **state)
{
    (void)state;
    size_t before = ty_intern_count(rt);
    om_object *s = om_str_intern_cstr(rt, "transient");
    assert_int_equal(ty_intern_count(rt), before + 1);
    om_decref(s); /* dies, and leaves the table */
    assert_int_equal(ty_intern_count(rt), before);
    om_object *t = om_str_intern_cstr(rt, "transient");
    assert_true(om_str_is_interned(t));
    om_decref(t);
}

static void test_many_strings(void **state)
{
    (void)state;
    enum { N = 5000 };
    static om_object *objs[N];
    char buf[32];
    size_t before = ty_intern_count(rt);
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        objs[i] = om_str_intern_cstr(rt, buf);
        assert_non_null(objs[i]);
    }
    assert_int_equal(ty_intern_count(rt), before + N);
    for (int i = 0; i < N; i += 2) { /* free half: deletions shift probe runs */
        om_decref(objs[i]);
        objs[i] = NULL;
    }
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        om_object *x = om_str_intern_cstr(rt, buf);
        if (objs[i])
            assert_ptr_equal(x, objs[i]);
        om_decref(x);
    }
    for (int i = 1; i < N; i += 2)
        om_decref(objs[i]);
    assert_int_equal(ty_intern_count(rt), before);
}

/* Every length class of the text comparison (0..3 and above 16 bytes by
 * memcmp, 4..7 and 8..16 by two overlapping words): a lookup by text, and
 * om_str_intern of an equal copy, find the one canonical object, and texts
 * that differ only in their first or last byte stay apart. */
static void test_text_lengths(void **state)
{
    (void)state;
    static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
    om_object *canon[41];
    for (size_t n = 0; n <= 40; n++) {
        canon[n] = om_str_intern_utf8(rt, text, n);
        assert_non_null(canon[n]);
    }
    char other[64];
    for (size_t n = 0; n <= 40; n++) {
        OM_AUTO om_object *again = om_str_intern_utf8(rt, text, n);
        assert_ptr_equal(again, canon[n]);
        OM_AUTO om_object *copy = om_str_from_utf8(rt, text, n);
        OM_AUTO om_object *found = om_str_intern(copy);
        assert_ptr_equal(found, canon[n]);
        if (n == 0)
            continue;
        for (int end = 0; end < 2; end++) {
            memcpy(other, text, n);
            other[end ? n - 1 : 0] = '!';
            OM_AUTO om_object *diff = om_str_intern_utf8(rt, other, n);
            assert_non_null(diff);
            assert_ptr_not_equal(diff, canon[n]);
            assert_int_equal(om_str_size(diff), (int64_t)n);
            assert_memory_equal(om_str_as_utf8(diff), other, n);
        }
    }
    for (size_t n = 0; n <= 40; n++)
        om_decref(canon[n]);
}

static void test_errors(void **state)
{
    (void)state;
    OM_AUTO om_object *i = om_int_from_int64(rt, 1);
    assert_null(om_str_intern(i));
    assert_string_equal(om_error_message(), "expected str, got int");
    assert_null(om_str_intern_utf8(rt, "\xff", 1));
    assert_non_null(strstr(om_error_message(), "invalid UTF-8"));
    assert_null(om_str_intern_utf8(NULL, "x", 1));
    assert_false(om_str_is_interned(i));
}

static void test_out_of_memory(void **state)
{
    (void)state;
    /* Fill the table up to its next growth, then make the growth fail. */
    char buf[32];
    for (int n = 1; n < 64; n++) {
        snprintf(buf, sizeof buf, "oom%d", n);
        OM_AUTO om_object *s = om_str_from_cstr(rt, buf);
        om_heap_fail_after(1);
        om_object *c = om_str_intern(s);
        om_heap_fail_after(0);
        if (!c) {
            assert_non_null(strstr(om_error_message(), "cannot intern"));
            assert_false(om_str_is_interned(s));
            c = om_str_intern(s); /* usable afterwards */
            assert_ptr_equal(c, s);
            om_decref(c);
            return;
        }
        om_decref(c);
    }
    fail_msg("no allocation failure was seen");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_one_canonical_object),
        RT_TEST(test_lookup_allocates_nothing),
        RT_TEST(test_table_keeps_nothing_alive),
        RT_TEST(test_many_strings),
        RT_TEST(test_text_lengths),
        RT_TEST(test_errors),
        RT_TEST(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
