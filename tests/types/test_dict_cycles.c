/* test_dict_cycles.c: every container type's traverse and clear hooks let
 * the cycle collector free cycles through it: a cycle through each kind of
 * container, dropped by the program, is gone after om_gc_collect, and weak
 * references to its members are cleared with their callbacks run. */
#include "containers_check.h"
#include "objmem/gc.h"

OM_RECORD_TYPE(node_type, "Node", "next", "value");

static size_t collect_all(void)
{
    long n = om_gc_collect(rt, 2);
    assert_true(n >= 0);
    return (size_t)n;
}

/* Each builder returns one object of a cycle through its container kind,
 * holding the only external reference. */
static om_object *list_cycle(void)
{
    om_object *l = om_list_new(rt);
    om_list_append(l, l);
    return l;
}

static om_object *tuple_cycle(void)
{
    om_object *l = om_list_new(rt);
    om_object *t = om_tuple_pack(rt, 1, l);
    om_list_append(l, t);
    om_decref(l);
    return t;
}

static om_object *dict_cycle(void)
{
    om_object *d = om_dict_new(rt);
    om_dict_setitem_str(d, "self", d);
    return d;
}

static om_object *set_cycle(void)
{
    om_object *s = om_set_new(rt);
    om_object *r = om_record_new(rt, &node_type);
    om_record_set(r, 0, s);
    om_set_add(s, r); /* records hash by identity */
    om_decref(r);
    return s;
}

static om_object *record_cycle(void)
{
    om_object *a = om_record_new(rt, &node_type), *b = om_record_new(rt, &node_type);
    om_record_set(a, 0, b);
    om_record_set(b, 0, a);
    om_decref(b);
    return a;
}

static om_object *instance_cycle(void)
{
    om_object *o = om_instance_new(rt);
    om_instance_setattr(o, "me", o);
    return o;
}

static om_object *iterator_cycle(void)
{
    om_object *l = om_list_new(rt);
    om_object *it = om_iter(l);
    om_list_append(l, it);
    om_decref(l);
    return it;
}

static om_object *lru_cycle(void)
{
    om_object *c = om_lru_cache_new(rt, 4, NULL, NULL);
    om_object *k = om_int_from_int64(rt, 1);
    om_lru_put(c, k, c);
    om_decref(k);
    return c;
}

static void on_death(om_object *wr, void *arg)
{
    (void)wr;
    ++*(int *)arg;
}

static void test_every_kind_of_cycle_is_collected(void **state)
{
    (void)state;
    om_object *(*builders[])(void) = {list_cycle,   tuple_cycle,    dict_cycle,     set_cycle,
                                      record_cycle, instance_cycle, iterator_cycle, lru_cycle};
    collect_all();
    for (size_t i = 0; i < OM_ARRAY_LEN(builders); i++) {
        int deaths = 0;
        om_object *o = builders[i]();
        assert_non_null(o);
        const char *name = om_type_name(o);
        om_object *wr = om_weakref_new(rt, o, on_death, &deaths);
        om_decref(o);
        if (mortal_objects() <= 1) {
            print_error("%s: no cycle was built\n", name);
            fail();
        }
        size_t n = collect_all();
        if (mortal_objects() != 1 || n == 0) { /* only the weakref is left */
            print_error("%s cycle: %zu collected, %zu objects left\n", name, n, mortal_objects());
            fail();
        }
        assert_false(om_weakref_alive(wr));
        assert_int_equal(deaths, 1);
        om_decref(wr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_every_kind_of_cycle_is_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
