/* test_record.c: fixed-slot records (static and run-time types) beside
 * dict-backed instances: slots by index and name, unset slots, attribute
 * errors, the collector's hooks, and what each layout costs. */
#include <stdio.h>

#include "containers_check.h"

OM_RECORD_TYPE(point_type, "Point", "x", "y");

static void test_static_record(void **state)
{
    (void)state;
    OM_AUTO om_object *p = om_record_new(rt, &point_type);
    assert_non_null(p);
    assert_true(om_record_check(p));
    assert_string_equal(om_type_name(p), "Point");
    assert_int_equal(om_record_nslots(p), 2);
    OM_AUTO om_object *one = int_(1001);
    assert_null(om_record_get(p, 0));
    assert_error("'Point' object has no attribute 'x'");
    assert_int_equal(om_record_set(p, 0, one), 0);
    assert_int_equal(om_record_setattr(p, "y", one), 0);
    assert_int_obj(om_record_getattr(p, "x"), 1001);
    assert_int_obj(om_record_get(p, -1), 1001);
    assert_int_equal(om_refcnt(one), 3);
    assert_int_equal(om_record_set(p, 1, NULL), 0); /* unset again: del p.y */
    assert_int_equal(om_refcnt(one), 2);
    assert_null(om_record_getattr(p, "y"));
    assert_error("no attribute 'y'");
    assert_null(om_record_getattr(p, "z"));
    assert_error("'Point' object has no attribute 'z'");
    assert_int_equal(om_record_setattr(p, "z", one), -1);
    assert_int_equal(om_record_set(p, 2, one), -1);
    assert_error("record slot index out of range");
    assert_int_equal(om_record_slot_index(p, "y"), 1);
    /* Hashable by identity, equal only to itself. */
    OM_AUTO om_object *q = om_record_new(rt, &point_type);
    assert_true(om_hash(p) != (om_hash_t)-1);
    assert_int_equal(om_equal(p, q), 0);
    assert_int_equal(om_equal(p, p), 1);
}

static void test_runtime_record_type(void **state)
{
    (void)state;
    const char *names[] = {"name", "age", "email"};
    om_record_type *person = om_record_type_new("Person", 3, names);
    assert_non_null(person);
    om_object *p = om_record_new(rt, person);
    OM_AUTO om_object *s = om_str_from_cstr(rt, "Ada");
    assert_int_equal(om_record_setattr(p, "name", s), 0);
    om_object *got = om_record_getattr(p, "name");
    assert_string_equal(om_str_as_utf8(got), "Ada");
    om_decref(got);
    char buf[128];
    om_repr(p, buf, sizeof buf);
    assert_non_null(strstr(buf, "Person"));
    om_decref(p);
    om_record_type_free(person);

    assert_null(om_record_type_new("Bad", 2, (const char *[]){"a", "a"}));
    assert_error("duplicate slot name 'a'");
    assert_null(om_record_type_new("Bad", 0, names));
    assert_error("at least one slot");
    assert_null(om_record_type_new("Bad", 1, (const char *[]){""}));
    assert_error("has no name");
    assert_null(om_record_type_new("", 1, names));
    assert_null(om_record_new(rt, NULL));
    OM_AUTO om_object *l = om_list_new(rt);
    assert_null(om_record_get(l, 0));
    assert_error("expected record, got list");
}

static int count_visit(om_object *child, void *arg)
{
    (void)child;
    ++*(int *)arg;
    return 0;
}

static void test_record_gc_hooks(void **state)
{
    (void)state;
    om_object *p = om_record_new(rt, &point_type);
    om_record_set(p, 0, p); /* a cycle through itself */
    int n = 0;
    p->ob_type->traverse(p, count_visit, &n);
    assert_int_equal(n, 1);
    assert_int_equal(om_refcnt(p), 2);
    p->ob_type->clear(p); /* the collector breaks the cycle */
    assert_int_equal(om_refcnt(p), 1);
    om_decref(p);
}

static void test_instance_attributes(void **state)
{
    (void)state;
    OM_AUTO om_object *o = om_instance_new(rt);
    assert_true(om_instance_check(o));
    assert_null(om_instance_getattr(o, "x"));
    assert_error("'instance' object has no attribute 'x'");
    OM_AUTO om_object *v = int_(77);
    assert_int_equal(om_instance_setattr(o, "x", v), 0);
    assert_int_equal(om_instance_setattr(o, "anything", v), 0);
    assert_int_obj(om_instance_getattr(o, "x"), 77);
    OM_AUTO om_object *d = om_instance_dict(o);
    assert_int_equal(om_dict_len(d), 2);
    assert_int_equal(om_instance_delattr(o, "x"), 0);
    assert_int_equal(om_instance_delattr(o, "x"), -1);
    assert_error("no attribute 'x'");
    assert_int_equal(om_dict_len(d), 1);
    int n = 0;
    o->ob_type->traverse(o, count_visit, &n);
    assert_int_equal(n, 1);
    assert_int_equal(om_instance_setattr(v, "x", v), -1);
    assert_error("expected instance, got int");
    assert_null(om_instance_getattr(v, "x"));
    assert_error("expected instance, got int");
    assert_int_equal(om_instance_delattr(v, "x"), -1);
    assert_null(om_instance_dict(v));
}

/* The __slots__ saving: a record of n fields against an instance with the
 * same n attributes in its dict. */
static void test_slots_save_memory(void **state)
{
    (void)state;
    OM_AUTO om_object *p = om_record_new(rt, &point_type);
    OM_AUTO om_object *o = om_instance_new(rt);
    OM_AUTO om_object *v = int_(3);
    om_record_setattr(p, "x", v);
    om_record_setattr(p, "y", v);
    om_instance_setattr(o, "x", v);
    om_instance_setattr(o, "y", v);
    OM_AUTO om_object *d = om_instance_dict(o);
    size_t rec = om_sys_getsizeof(p);
    size_t inst = om_sys_getsizeof(o) + om_sys_getsizeof(d);
    printf("# Point(x, y): record %zu bytes, instance + dict %zu bytes\n", rec, inst);
    assert_int_equal(rec, 32);
    assert_true(inst >= 4 * rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_static_record),     RT_TEST(test_runtime_record_type),
        RT_TEST(test_record_gc_hooks),   RT_TEST(test_instance_attributes),
        RT_TEST(test_slots_save_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
