/* test_weakref.c: weak references: get while alive and after death, the
 * callback's timing and order, a weakref that dies first, errors. */
#include "containers_check.h"

typedef struct seen {
    int calls;
    om_object *order[4];
    bool target_visible; /* did om_weakref_get still see the target? */
} seen;

static void on_death(om_object *wr, void *arg)
{
    seen *s = arg;
    om_object *t = om_weakref_get(wr);
    s->target_visible |= t != NULL;
    om_xdecref(t);
    if (s->calls < 4)
        s->order[s->calls] = wr;
    s->calls++;
}

static void test_get_and_death(void **state)
{
    (void)state;
    seen s = {0};
    om_object *target = om_list_new(rt);
    OM_AUTO om_object *wr = om_weakref_new(rt, target, on_death, &s);
    assert_true(om_weakref_check(wr));
    assert_true(om_weakref_alive(wr));
    om_object *got = om_weakref_get(wr);
    assert_ptr_equal(got, target);
    assert_int_equal(om_refcnt(target), 2); /* get returns a new reference */
    om_decref(got);
    assert_int_equal(om_refcnt(target), 1); /* the weakref holds none */
    om_decref(target);
    assert_int_equal(s.calls, 1);
    assert_false(s.target_visible);
    assert_false(om_weakref_alive(wr));
    om_error_clear();
    assert_null(om_weakref_get(wr));
    assert_string_equal(om_error_message(), ""); /* dead is not an error */
}

static void test_callbacks_newest_first(void **state)
{
    (void)state;
    seen s = {0};
    om_object *target = om_instance_new(rt);
    om_object *w1 = om_weakref_new(rt, target, on_death, &s);
    om_object *w2 = om_weakref_new(rt, target, on_death, &s);
    om_object *quiet = om_weakref_new(rt, target, NULL, NULL);
    om_decref(target);
    assert_int_equal(s.calls, 2);
    assert_ptr_equal(s.order[0], w2);
    assert_ptr_equal(s.order[1], w1);
    assert_false(om_weakref_alive(quiet));
    om_decref(w1), om_decref(w2), om_decref(quiet);
}

static void test_weakref_dying_first(void **state)
{
    (void)state;
    seen s = {0};
    OM_AUTO om_object *target = om_dict_new(rt);
    om_object *wr = om_weakref_new(rt, target, on_death, &s);
    om_object *other = om_weakref_new(rt, target, on_death, &s);
    om_decref(wr); /* unregisters: its callback never runs */
    om_decref(other);
    assert_int_equal(s.calls, 0);
    assert_false(target->ob_gc & OM_GC_WEAKREFS);
}

static void test_errors(void **state)
{
    (void)state;
    assert_null(om_weakref_new(rt, NULL, NULL, NULL));
    assert_error("NULL");
    om_runtime *other = om_runtime_new(NULL);
    om_object *alien = om_list_new(other);
    assert_null(om_weakref_new(rt, alien, NULL, NULL));
    assert_error("another runtime");
    om_decref(alien);
    om_runtime_free(other);
    OM_AUTO om_object *l = om_list_new(rt);
    assert_null(om_weakref_get(l));
    assert_error("expected weakref, got list");
}

/* Objects never cross runtimes: debug builds stop a container that is
 * handed an object of another runtime. */
static void mix_runtimes(void *arg)
{
    (void)arg;
    om_runtime *other = om_runtime_new(NULL);
    om_object *alien = om_str_from_cstr(other, "alien");
    om_object *l = om_list_new(rt);
    om_list_append(l, alien);
}

static void test_crossing_runtimes_is_fatal(void **state)
{
    (void)state;
    if (OM_DEBUG < 2)
        skip();
    omtest_expect_abort(mix_runtimes, NULL, "was given a str at");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_get_and_death),
        RT_TEST(test_callbacks_newest_first),
        RT_TEST(test_weakref_dying_first),
        RT_TEST(test_errors),
        RT_TEST(test_crossing_runtimes_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
