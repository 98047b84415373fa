/*
 * rt_fixture.h: the fixture of the object and scalar-type tests: a fresh
 * runtime per test, and a check at teardown that the test dropped every
 * reference it took (the runtime's total reference count is back where it
 * started).
 */
#ifndef OM_TESTS_RT_FIXTURE_H
#define OM_TESTS_RT_FIXTURE_H

#include "omtest.h"
#include "objmem.h"

static om_runtime *rt;
static uint64_t total_at_start;

static int rt_setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    total_at_start = rt ? om_runtime_total_refcount(rt) : 0;
    return rt ? 0 : -1;
}

static int rt_teardown(void **state)
{
    (void)state;
    assert_int_equal(om_runtime_total_refcount(rt), total_at_start);
    om_runtime_check(rt);
    om_runtime_free(rt);
    rt = NULL;
    return 0;
}

#define RT_TEST(fn) cmocka_unit_test_setup_teardown(fn, rt_setup, rt_teardown)

#endif
