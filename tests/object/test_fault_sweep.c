/* test_fault_sweep.c: every allocation of a representative scalar workload
 * fails in turn; each failure is reported cleanly (NULL or -1, a message),
 * nothing leaks and the runtime stays consistent and usable. */
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "object/object.h"
#include "types/types.h"

typedef struct holder {
    om_object ob;
    om_object *item;
    ob_weakref ref; /* a weak reference to item */
} holder;

static void holder_dealloc(om_object *self)
{
    holder *h = (holder *)self;
    ob_weakref_unregister(om_runtime_of(self), &h->ref);
    om_xdecref(h->item);
}

static const om_type holder_type = {
    .name = "holder",
    .basicsize = sizeof(holder),
    .flags = OM_TYPE_GC,
    .dealloc = holder_dealloc,
};

/* Builds and drops a little of everything.  0, or -1 at the first failure,
 * with every reference it took dropped again. */
static int workload(om_runtime *rt)
{
    int rc = -1;
    OM_AUTO om_object *i = om_int_from_int64(rt, 1000);
    OM_AUTO om_object *j = om_int_from_int64(rt, 7);
    OM_AUTO om_object *f = om_float_from_double(rt, 2.5);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "caf\xc3\xa9");
    OM_AUTO om_object *t = om_str_from_cstr(rt, " au lait");
    OM_AUTO om_object *b = om_bytes_from_buffer(rt, "raw", 3);
    if (!i || !j || !f || !s || !t || !b)
        return -1;
    OM_AUTO om_object *sum = om_int_mul(i, j);
    OM_AUTO om_object *st = om_str_concat(s, t);
    OM_AUTO om_object *bb = om_bytes_concat(b, b);
    if (!sum || !st || !bb)
        return -1;
    OM_AUTO om_object *canon = om_str_intern(st);
    OM_AUTO om_object *key = om_str_intern_cstr(rt, "a key of some length");
    if (!canon || !key)
        return -1;
    OM_AUTO om_object *h = om_new(rt, &holder_type);
    if (!h)
        return -1;
    holder *hp = (holder *)h;
    hp->item = NULL;
    hp->ref.target = f;
    if (ob_weakref_register(rt, &hp->ref) != 0) {
        hp->ref.target = NULL;
        return -1;
    }
    om_incref(canon);
    hp->item = canon;
    for (int k = 0; k < 40; k++) { /* enough to grow the interning table */
        char buf[24];
        memcpy(buf, "name-", 5);
        buf[5] = (char)('a' + k % 26);
        buf[6] = (char)('a' + k / 26);
        buf[7] = 0;
        om_object *n = om_str_intern_cstr(rt, buf);
        if (!n)
            return -1;
        om_decref(n);
    }
    rc = 0;
    return rc;
}

static void test_sweep_every_allocation(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    assert_int_equal(workload(rt), 0); /* warm: caches exist, free lists fill */
    uint64_t total = om_runtime_total_refcount(rt);
    om_runtime_stats st0;
    om_runtime_get_stats(rt, &st0);
    size_t interned = ty_intern_count(rt);
    om_runtime_clear_freelists(rt);
    int failures = 0;
    for (uint64_t n = 1;; n++) {
        om_heap_fail_after(n);
        uint64_t seen = om_heap_failures();
        om_error_clear();
        int rc = workload(rt);
        bool failed = om_heap_failures() != seen;
        om_heap_fail_after(0);
        if (!failed) {
            assert_int_equal(rc, 0);
            break;
        }
        failures++;
        assert_int_equal(rc, -1);
        assert_true(strlen(om_error_message()) > 0);
        /* consistent: the same counts as before the workload */
        assert_int_equal(om_runtime_total_refcount(rt), total);
        om_runtime_stats st;
        om_runtime_get_stats(rt, &st);
        assert_int_equal(st.objects, st0.objects);
        assert_int_equal(ty_intern_count(rt), interned);
        assert_int_equal(rt->weakrefs.used, 0);
        om_runtime_check(rt);
        om_runtime_clear_freelists(rt);
        assert_true(n < 1000);
    }
    assert_true(failures >= 10);
    om_leak_report r;
    assert_int_equal(om_runtime_leak_report(rt, &r), 0);
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
