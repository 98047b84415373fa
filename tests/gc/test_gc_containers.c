/* The collector with the builtin containers: self-cycles in each container,
 * cycles through instances, records and dicts, weak reference objects, and
 * the list-returning functions (get_objects, get_referrers, get_referents,
 * garbage). */
#include "nodes.h"

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    rt = new_runtime();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    om_runtime_free(rt);
    return 0;
}

/* Runs a full collection and returns how many unreachable objects it found. */
static long full(void)
{
    long n = om_gc_collect(rt, 2);
    assert_true(n >= 0);
    return n;
}

static void list_containing_itself(void **state)
{
    (void)state;
    om_object *l = om_list_new(rt);
    assert_int_equal(om_list_append(l, l), 0);
    om_decref(l);
    assert_int_equal(full(), 1);
}

static void dict_containing_itself(void **state)
{
    (void)state;
    om_object *d = om_dict_new(rt);
    om_object *k = om_str_from_cstr(rt, "me");
    assert_int_equal(om_dict_setitem(d, k, d), 0);
    om_decref(k);
    om_decref(d);
    assert_int_equal(full(), 1);
}

/* Lists in cycles are freed in bulk, straight back to the heap: the free
 * lists do not fill up with collected garbage, and every one is counted as
 * released.  A young collection (a full one empties the free lists anyway). */
static void collected_lists_skip_the_free_lists(void **state)
{
    (void)state;
    enum { PAIRS = 40 };
    om_object *keep[2 * PAIRS];
    for (int i = 0; i < 2 * PAIRS; i++) /* fresh lists: none from a free list */
        keep[i] = om_list_new(rt);
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(om_list_append(keep[2 * i], keep[2 * i + 1]), 0);
        assert_int_equal(om_list_append(keep[2 * i + 1], keep[2 * i]), 0);
    }
    om_runtime_stats before, after;
    om_runtime_get_stats(rt, &before);
    for (int i = 0; i < 2 * PAIRS; i++)
        om_decref(keep[i]);
    assert_int_equal(om_gc_collect(rt, 0), 2 * PAIRS);
    om_runtime_get_stats(rt, &after);
    assert_int_equal(after.freelist_blocks, before.freelist_blocks);
    assert_int_equal(after.released - before.released, 2 * PAIRS);
    assert_int_equal(before.objects - after.objects, 2 * PAIRS);
}

OM_RECORD_TYPE(pair_type, "Pair", "left", "right");

static void set_and_tuple_in_a_cycle(void **state)
{
    (void)state;
    om_object *l = om_list_new(rt);
    om_object *r = om_record_new(rt, &pair_type); /* hashable by identity */
    om_object *s = om_set_new(rt);
    assert_int_equal(om_set_add(s, r), 0);
    om_object *t = om_tuple_pack(rt, 1, s);
    assert_int_equal(om_list_append(l, t), 0);
    assert_int_equal(om_record_set(r, 0, l), 0); /* l -> t -> s -> r -> l */
    om_decref(l);
    om_decref(r);
    om_decref(s);
    om_decref(t);
    assert_int_equal(full(), 4);
}

static void instance_cycle_through_its_dict(void **state)
{
    (void)state;
    om_object *a = om_instance_new(rt), *b = om_instance_new(rt);
    assert_int_equal(om_instance_setattr(a, "peer", b), 0);
    assert_int_equal(om_instance_setattr(b, "peer", a), 0);
    om_decref(a);
    om_decref(b);
    assert_true(full() >= 2); /* the instances, and their dicts when separate objects */
}

static void record_cycle_and_user_nodes(void **state)
{
    (void)state;
    om_object *r = om_record_new(rt, &pair_type);
    om_object *n = mk(rt, &node_type, 1);
    assert_int_equal(om_record_set(r, 0, n), 0);
    set_slot(n, 0, r);
    uint32_t nid = id_of(n);
    om_decref(r);
    om_decref(n);
    assert_int_equal(full(), 2);
    assert_int_equal(frees[nid], 1);
}

static void tuple_of_scalars_is_untracked(void **state)
{
    (void)state;
    om_object *i = om_int_from_int64(rt, 123456);
    om_object *s = om_str_from_cstr(rt, "text");
    om_object *t = om_tuple_pack(rt, 2, i, s);
    full();
    assert_int_equal(om_gc_is_tracked(t), 0);
    om_object *l = om_list_new(rt);
    om_object *tl = om_tuple_pack(rt, 1, l);
    full();
    assert_int_equal(om_gc_is_tracked(tl), 1);
    om_decref(tl);
    om_decref(l);
    om_decref(t);
    om_decref(s);
    om_decref(i);
}

static int wr_calls;
static void wr_callback(om_object *wr, void *arg)
{
    (void)arg;
    assert_false(om_weakref_alive(wr));
    wr_calls++;
}

static void weakref_objects_to_a_cycle(void **state)
{
    (void)state;
    om_object *l = om_list_new(rt);
    assert_int_equal(om_list_append(l, l), 0);
    om_object *wr = om_weakref_new(rt, l, wr_callback, NULL);
    om_object *wr_dead = om_weakref_new(rt, l, wr_callback, NULL);
    assert_int_equal(om_list_append(l, wr_dead), 0); /* the trash holds this one */
    om_decref(wr_dead);
    om_decref(l);
    wr_calls = 0;
    assert_true(full() >= 1);
    assert_int_equal(wr_calls, 1);
    assert_false(om_weakref_alive(wr));
    om_object *got = om_weakref_get(wr);
    assert_null(got);
    om_decref(wr);
}

/* ---- the list-returning functions -------------------------------------------------- */
static bool list_has(om_object *list, om_object *x)
{
    for (int64_t i = 0; i < om_list_len(list); i++) {
        om_object *it = om_list_getitem(list, i);
        om_decref(it);
        if (it == x)
            return true;
    }
    return false;
}

static void get_objects_by_generation(void **state)
{
    (void)state;
    full();
    om_object *a = mk(rt, &node_type, 0);
    om_object *g0 = om_gc_get_objects(rt, 0);
    assert_true(list_has(g0, a));
    assert_false(list_has(g0, g0)); /* never the answer itself */
    om_decref(g0);
    om_gc_collect(rt, 0);
    om_object *g1 = om_gc_get_objects(rt, 1);
    assert_true(list_has(g1, a));
    om_object *g2 = om_gc_get_objects(rt, 2);
    assert_false(list_has(g2, a));
    om_object *all = om_gc_get_objects(rt, -1);
    assert_true(list_has(all, a));
    assert_true(list_has(all, g1));
    assert_null(om_gc_get_objects(rt, 5));
    om_decref(g1);
    om_decref(g2);
    om_decref(all);
    om_decref(a);
}

static void referrers_and_referents(void **state)
{
    (void)state;
    om_object *target = mk(rt, &node_type, 0);
    om_object *x = mk(rt, &node_type, 2), *y = mk(rt, &node_type, 1), *z = mk(rt, &node_type, 1);
    set_slot(x, 0, target);
    set_slot(x, 1, y);
    set_slot(y, 0, target);
    om_object *refs = om_gc_get_referrers(rt, &target, 1);
    assert_int_equal(om_list_len(refs), 2);
    assert_true(list_has(refs, x));
    assert_true(list_has(refs, y));
    assert_false(list_has(refs, z));
    om_decref(refs);
    om_object *many[12];
    for (int i = 0; i < 12; i++)
        many[i] = i == 7 ? y : z; /* more than the linear-scan limit: sorted lookup */
    refs = om_gc_get_referrers(rt, many, 12);
    assert_int_equal(om_list_len(refs), 1);
    assert_true(list_has(refs, x));
    om_decref(refs);
    om_object *kids = om_gc_get_referents(x);
    assert_int_equal(om_list_len(kids), 2);
    assert_true(list_has(kids, target));
    assert_true(list_has(kids, y));
    om_decref(kids);
    om_object *none = om_gc_get_referents(z);
    assert_int_equal(om_list_len(none), 0);
    om_decref(none);
    om_decref(x);
    om_decref(y);
    om_decref(z);
    om_decref(target);
}

static void garbage_list(void **state)
{
    (void)state;
    om_object *l = mk(rt, &legacy_type, 1);
    set_slot(l, 0, l);
    om_decref(l);
    assert_int_equal(full(), 1);
    om_object *g = om_gc_garbage(rt);
    assert_int_equal(om_list_len(g), 1);
    assert_true(list_has(g, l));
    om_decref(g);
    assert_int_equal(om_gc_clear_garbage(rt), 1);
    g = om_gc_garbage(rt);
    assert_int_equal(om_list_len(g), 0);
    om_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(list_containing_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(dict_containing_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(collected_lists_skip_the_free_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(set_and_tuple_in_a_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(instance_cycle_through_its_dict, setup, teardown),
        cmocka_unit_test_setup_teardown(record_cycle_and_user_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(tuple_of_scalars_is_untracked, setup, teardown),
        cmocka_unit_test_setup_teardown(weakref_objects_to_a_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(get_objects_by_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(referrers_and_referents, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_list, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
