/* test_runtime.c: om_runtime_new / om_runtime_free: teardown of what is left
 * (finalizers once, cycles cleared, each dealloc once), the leak report,
 * several runtimes, allocation failures while creating one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"
#include "object/object.h"

typedef struct pair {
    om_object ob;
    om_object *a, *b;
} pair;

static int finalized, deallocated, cleared;

static void pair_dealloc(om_object *self)
{
    pair *p = (pair *)self;
    deallocated++;
    om_xdecref(p->a);
    om_xdecref(p->b);
}

static int pair_clear(om_object *self)
{
    pair *p = (pair *)self;
    cleared++;
    om_object *a = p->a, *b = p->b;
    p->a = p->b = NULL;
    om_xdecref(a);
    om_xdecref(b);
    return 0;
}

static void pair_finalize(om_object *self)
{
    (void)self;
    finalized++;
}

static int pair_traverse(om_object *self, om_visitproc visit, void *arg)
{
    pair *p = (pair *)self;
    int r = p->a ? visit(p->a, arg) : 0;
    return r ? r : (p->b ? visit(p->b, arg) : 0);
}

static const om_type pair_type = {
    .name = "pair",
    .basicsize = sizeof(pair),
    .flags = OM_TYPE_GC,
    .dealloc = pair_dealloc,
    .traverse = pair_traverse,
    .clear = pair_clear,
    .finalize = pair_finalize,
};

static const om_type leaf_type = {.name = "leaf", .basicsize = 32};

static void reset(void)
{
    finalized = deallocated = cleared = 0;
}

static om_object *new_pair(om_runtime *rt, om_object *a, om_object *b)
{
    pair *p = (pair *)om_new(rt, &pair_type);
    assert_non_null(p);
    p->a = a;
    p->b = b;
    om_xincref(a);
    om_xincref(b);
    return &p->ob;
}

static void test_new_and_free_empty(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    om_leak_report r;
    assert_int_equal(om_runtime_leak_report(rt, &r), 0);
    om_runtime_free(rt);
    om_runtime_free(NULL);
}

static void test_teardown_frees_cycles_and_leaks(void **state)
{
    (void)state;
    reset();
    om_runtime *rt = om_runtime_new(NULL);
    /* a cycle nobody holds, a leaked object, an object finalized already */
    om_object *x = new_pair(rt, NULL, NULL);
    om_object *y = new_pair(rt, x, NULL);
    ((pair *)x)->a = y;
    om_incref(y);
    om_decref(x);
    om_decref(y);
    om_object *leak = new_pair(rt, NULL, NULL);
    (void)leak;
    om_object *done = new_pair(rt, NULL, NULL);
    done->ob_gc |= OM_GC_FINALIZED;
    om_object *immortal = om_new(rt, &leaf_type);
    om_make_immortal(immortal);
    assert_int_equal(deallocated, 0);
    om_runtime_free(rt);
    assert_int_equal(finalized, 3); /* x, y, leak; not `done` again */
    assert_int_equal(deallocated, 4);
    assert_true(cleared >= 3);
}

/* A finalizer that creates an object during teardown, and one that stores a
 * reference to itself elsewhere. */
static om_object *stash;

static void stashing_finalize(om_object *self)
{
    om_runtime *rt = om_runtime_of(self);
    stash = om_new(rt, &leaf_type); /* new during teardown: swept later */
    om_incref(self);
}

static const om_type stashing_type = {
    .name = "stashing",
    .basicsize = sizeof(pair),
    .flags = OM_TYPE_GC,
    .dealloc = pair_dealloc,
    .finalize = stashing_finalize,
};

static void test_teardown_survives_odd_finalizers(void **state)
{
    (void)state;
    reset();
    om_runtime *rt = om_runtime_new(NULL);
    om_object *o = om_new(rt, &stashing_type);
    (void)o;
    om_runtime_free(rt);
    assert_int_equal(deallocated, 1);
}

static void test_leak_report(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    om_object *objs[5];
    for (int i = 0; i < 3; i++)
        objs[i] = om_new(rt, &leaf_type);
    for (int i = 3; i < 5; i++)
        objs[i] = new_pair(rt, NULL, NULL);
    om_leak_report r;
    assert_int_equal(om_runtime_leak_report(rt, &r), 5);
    assert_int_equal(r.n_types, 2);
    assert_string_equal(r.types[0].name, "leaf");
    assert_int_equal(r.types[0].count, 3);
    assert_int_equal(r.types[0].bytes, 3 * 32);
    assert_string_equal(r.types[1].name, "pair");
    assert_int_equal(r.types[1].count, 2);
    assert_int_equal(r.bytes, 3 * 32 + 2 * 32);

    char path[] = "/tmp/objmem-leaks-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(om_runtime_print_leaks(rt, fd), 5);
    char buf[512] = {0};
    assert_true(pread(fd, buf, sizeof buf - 1, 0) > 0);
    close(fd);
    assert_non_null(strstr(buf, "5 objects"));
    assert_non_null(strstr(buf, "leaf"));
    for (int i = 0; i < 5; i++)
        om_decref(objs[i]);
    assert_int_equal(om_runtime_leak_report(rt, &r), 0);
    om_runtime_check(rt);
    om_runtime_free(rt);
}

static void free_with_report(void *arg)
{
    (void)arg;
    om_config cfg = {.report_leaks = 1};
    om_runtime *rt = om_runtime_new(&cfg);
    om_new(rt, &leaf_type);
    om_new(rt, &leaf_type);
    om_runtime_free(rt);
    abort(); /* the death test captures what teardown printed */
}

static void test_report_leaks_at_teardown(void **state)
{
    (void)state;
    const char *out = omtest_expect_abort(free_with_report, NULL, "2 objects");
    assert_non_null(strstr(out, "leaf"));
}

static void test_several_runtimes(void **state)
{
    (void)state;
    om_runtime *a = om_runtime_new(NULL), *b = om_runtime_new(NULL);
    om_object *x = om_new(a, &leaf_type), *y = om_new(b, &leaf_type);
    assert_ptr_equal(om_runtime_of(x), a);
    assert_ptr_equal(om_runtime_of(y), b);
    assert_null(om_runtime_of(NULL));
    om_decref(x);
    om_runtime_free(a);
    assert_int_equal(om_runtime_total_refcount(b), 1);
    om_decref(y);
    om_runtime_free(b);
}

/* Every allocation made while creating a runtime fails once in turn. */
static void test_new_under_fault_injection(void **state)
{
    (void)state;
    int failures = 0;
    for (uint64_t n = 1; n < 10000; n++) {
        om_heap_fail_after(n);
        om_runtime *rt = om_runtime_new(NULL);
        uint64_t failed = om_heap_failures();
        om_heap_fail_after(0);
        if (rt) {
            om_object *o = om_new(rt, &leaf_type);
            assert_non_null(o);
            om_decref(o);
            om_runtime_free(rt);
            if (om_heap_failures() == failed)
                break; /* the nth allocation came after the runtime was built */
            continue;
        }
        failures++;
        assert_true(strlen(om_error_message()) > 0);
    }
    assert_true(failures >= 3);
}

/* Teardown must not fail: each of its allocations (the final collection's,
 * the pin array's) fails once in turn, and every object still goes, each
 * finalizer running once. */
static void test_free_under_fault_injection(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 30; n++) {
        reset();
        om_runtime *rt = om_runtime_new(NULL);
        assert_non_null(rt);
        om_object *x = new_pair(rt, NULL, NULL);
        om_object *y = new_pair(rt, x, NULL);
        ((pair *)x)->a = y; /* a cycle, held from outside: a leak */
        om_incref(y);
        om_decref(y);
        om_heap_fail_after(n);
        om_runtime_free(rt);
        om_heap_fail_after(0);
        assert_int_equal(finalized, 2);
        assert_int_equal(deallocated, 2);
    }
}

static void test_stats(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    om_runtime_stats st0, st1;
    om_runtime_get_stats(rt, &st0);
    om_object *o = om_new(rt, &leaf_type);
    om_runtime_get_stats(rt, &st1);
    assert_int_equal(st1.objects, st0.objects + 1);
    assert_int_equal(st1.allocated, st0.allocated + 1);
    om_decref(o);
    om_runtime_get_stats(rt, &st1);
    assert_int_equal(st1.objects, st0.objects);
    assert_int_equal(st1.released, st0.released + 1);
    assert_true(st1.immortals >= 262); /* small ints, None */
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free_empty),
        cmocka_unit_test(test_teardown_frees_cycles_and_leaks),
        cmocka_unit_test(test_teardown_survives_odd_finalizers),
        cmocka_unit_test(test_leak_report),
        cmocka_unit_test(test_report_leaks_at_teardown),
        cmocka_unit_test(test_several_runtimes),
        cmocka_unit_test(test_new_under_fault_injection),
        cmocka_unit_test(test_free_under_fault_injection),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
