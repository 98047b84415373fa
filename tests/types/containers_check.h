/*
 * tests/types/containers_check.h: what the container tests share: a fresh
 * runtime per test, and the proof at its end that the test dropped every
 * reference it took (no mortal object left, total refcount zero, no buffer
 * left in the runtime's buffer heap beyond what it held at the start).
 */
#ifndef OM_TESTS_CONTAINERS_CHECK_H
#define OM_TESTS_CONTAINERS_CHECK_H

#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "types/containers.h"

static om_runtime *rt;
static size_t start_buffers;

static inline size_t mortal_objects(void)
{
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    return st.objects - st.immortals;
}

/* The debug heap (OBJMEM_DEBUG=1) keeps freed blocks in quarantine and
 * adds guards: block counts and byte deltas then say nothing exact. */
static inline bool debug_heap(void)
{
    long v = 0;
    om_option_get("debug", &v);
    return v != 0;
}

/* Live blocks of the runtime's buffer heap (0 under the debug heap). */
static inline size_t buffer_blocks(void)
{
    size_t blocks, bytes;
    hp_heap_usage(rt->mem, &blocks, &bytes);
    return debug_heap() ? 0 : blocks;
}

static int rt_setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    if (!rt)
        return -1;
    /* Warm up the tables that grow once and stay (interning, weak refs). */
    om_object *s = om_str_intern_cstr(rt, "warm-up");
    om_object *wr = om_weakref_new(rt, s, NULL, NULL);
    om_decref(wr);
    om_decref(s);
    start_buffers = buffer_blocks();
    return 0;
}

static int rt_teardown(void **state)
{
    (void)state;
    assert_int_equal(mortal_objects(), 0);
    assert_int_equal(om_runtime_total_refcount(rt), 0);
    assert_int_equal(buffer_blocks(), start_buffers);
    om_runtime_free(rt);
    rt = NULL;
    return 0;
}

#define RT_TEST(fn) cmocka_unit_test_setup_teardown(fn, rt_setup, rt_teardown)

/* The message of the last error contains `text`. */
#define assert_error(text)                                                                         \
    do {                                                                                           \
        if (!strstr(om_error_message(), text)) {                                                   \
            print_error("error message '%s' lacks '%s'\n", om_error_message(), text);              \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static inline om_object *int_(int64_t v)
{
    om_object *o = om_int_from_int64(rt, v);
    assert_non_null(o);
    return o;
}

static inline int64_t int_value(om_object *o)
{
    int64_t v = 0;
    assert_int_equal(om_int_as_int64(o, &v), 0);
    return v;
}

/* Takes a new reference and checks its int value, then drops it. */
static inline void assert_int_obj(om_object *o, int64_t v)
{
    assert_non_null(o);
    assert_int_equal(int_value(o), v);
    om_decref(o);
}

#endif
