/* The option table and the error message of the calling thread. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "util/util.h"

static void set_and_get_by_name(void **state)
{
    (void)state;
    long v = -1;
    assert_int_equal(om_option_get("verbose", &v), 0);
    assert_int_equal(om_option_set("verbose", 1), 0);
    assert_int_equal(om_option_get("VERBOSE", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(om_option_get("OBJMEM_VERBOSE", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(om_opt(OM_OPT_VERBOSE), 1);
    assert_int_equal(om_option_set("verbose", 0), 0);
}

static void unknown_names_fail_with_a_message(void **state)
{
    (void)state;
    om_error_clear();
    assert_string_equal(om_error_message(), "");
    long v;
    assert_int_equal(om_option_set("no_such_option", 1), -1);
    assert_non_null(strstr(om_error_message(), "no_such_option"));
    assert_int_equal(om_option_get(NULL, &v), -1);
    om_error_clear();
    assert_string_equal(om_error_message(), "");
}

static void fatal(void *arg)
{
    om_fatal("broken %s", (const char *)arg);
}

static void fatal_prints_one_line_and_aborts(void **state)
{
    (void)state;
    const char *out = omtest_expect_abort(fatal, "invariant", "objmem: fatal: broken invariant\n");
    assert_null(strchr(strchr(out, '\n') + 1, '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_and_get_by_name),
        cmocka_unit_test(unknown_names_fail_with_a_message),
        cmocka_unit_test(fatal_prints_one_line_and_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
