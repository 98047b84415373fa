/* The call-site macros of objmem/trace.h: the global flag that gates them,
 * one evaluation of the wrapped call on either side of the flag, and the
 * outermost wrapped call's site winning over nested ones. */
#include <string.h>

#include "omtest.h"
#include "objmem.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static int stop_tracing(void **state)
{
    (void)state;
    if (om_trace_is_tracing())
        om_trace_stop();
    return 0;
}

/* Off: the flag is clear and a wrapped call touches neither thread-local
 * (a depth planted by the test stays as it was, no site appears). */
static void flag_off_records_nothing(void **state)
{
    (void)state;
    assert_false(om_trace_is_tracing());
    assert_int_equal(om_trace_sites_on, 0);
    om_trace_site_depth = 7;
    void *p = om_malloc(32);
    assert_non_null(p);
    assert_int_equal(om_trace_site_depth, 7);
    assert_null(om_trace_site_tls);
    om_trace_site_depth = 0;
    om_free(p);
    /* stopping clears the flag again */
    assert_int_equal(om_trace_start(1), 0);
    assert_int_not_equal(om_trace_sites_on, 0);
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_sites_on, 0);
}

/* The call is written on both sides of the flag's test: it must still run
 * once, on and off, and leave the nesting count at zero. */
static void wrapped_call_runs_once(void **state)
{
    (void)state;
    size_t n = 48;
    void *p = om_malloc(n++);
    assert_int_equal(n, 49);
    om_free(p);
    assert_int_equal(om_trace_start(1), 0);
    p = om_malloc(n++);
    assert_int_equal(n, 50);
    assert_int_equal(om_trace_site_depth, 0);
    assert_null(om_trace_site_tls);
    om_free(p);
    assert_int_equal(om_trace_stop(), 0);
}

static unsigned inner_line;

/* A wrapped call of its own, run while the caller's wrapped call is open. */
static om_object *make_int(om_runtime *rt, int64_t v)
{
    inner_line = __LINE__ + 1;
    return om_int_from_int64(rt, v);
}

/* The outermost wrapped call wins: the int made inside make_int (its own
 * wrapped call nested in the append's arguments) carries the append's line
 * and function, not make_int's. */
static void outermost_site_wins(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    assert_int_equal(om_trace_start(1), 0);
    om_object *list = om_list_new(rt);
    assert_non_null(list);
    om_object *direct = make_int(rt, (int64_t)1 << 41); /* not nested: make_int's own line */
    om_object *x = NULL;                                /* made inside the append's wrapped call */
    unsigned line = __LINE__ + 1;
    int rc = om_list_append(list, (x = make_int(rt, (int64_t)1 << 40)));
    assert_int_equal(rc, 0);
    assert_non_null(x);

    om_trace_traceback *tb = om_trace_get_object_traceback(x);
    assert_non_null(tb);
    assert_true(ends_with(tb->frames[0].filename, "test_sites.c"));
    assert_int_equal(tb->frames[0].lineno, line);
    assert_string_equal(tb->frames[0].function, "outermost_site_wins");
    om_trace_traceback_free(tb);

    tb = om_trace_get_object_traceback(direct);
    assert_non_null(tb);
    assert_int_equal(tb->frames[0].lineno, inner_line);
    assert_string_equal(tb->frames[0].function, "make_int");
    om_trace_traceback_free(tb);
    assert_int_equal(om_trace_site_depth, 0);

    om_decref(x);
    om_decref(direct);
    om_decref(list);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(flag_off_records_nothing, stop_tracing),
        cmocka_unit_test_teardown(wrapped_call_runs_once, stop_tracing),
        cmocka_unit_test_teardown(outermost_site_wins, stop_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
