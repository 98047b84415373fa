/* The collector: cycles, generations, counts, statistics, thresholds, the
 * automatic trigger, untracking, freeze. */
#include "nodes.h"
#include "gc/state.h"

static void self_cycle_is_freed(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1);
    set_slot(a, 0, a);
    uint32_t id = id_of(a);
    om_decref(a);
    assert_int_equal(frees[id], 0); /* refcounting alone cannot free it */
    assert_int_equal(om_gc_collect(rt, 0), 1);
    assert_int_equal(frees[id], 1);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    om_runtime_free(rt);
}

static void two_cycles_and_a_survivor(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 2), *b = mk(rt, &node_type, 2);
    om_object *c = mk(rt, &node_type, 1), *keep = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    set_slot(a, 1, c); /* c hangs off the cycle, no cycle of its own */
    set_slot(keep, 0, keep);
    set_slot(b, 1, keep); /* the garbage refers to a live object */
    om_decref(a);
    om_decref(b);
    om_decref(c);
    assert_int_equal(om_gc_collect(rt, 2), 3);
    assert_int_equal(frees[0], 1);
    assert_int_equal(frees[1], 1);
    assert_int_equal(frees[2], 1);
    assert_int_equal(frees[3], 0);
    assert_int_equal(om_refcnt(keep), 2); /* itself and the caller */
    om_decref(keep);
    assert_int_equal(om_gc_collect(rt, 2), 1);
    assert_int_equal(frees[3], 1);
    om_runtime_free(rt);
}

static void external_references_keep_a_cycle(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 0); /* the caller still holds a */
    assert_int_equal(frees[0] + frees[1], 0);
    assert_ptr_equal(NODE(NODE(a)->slot[0])->slot[0], a);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    om_runtime_free(rt);
}

static void generations_and_counts_after_each_collect(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    long count[3], t[3];
    om_gc_get_threshold(rt, t);
    assert_int_equal(t[0], 700);
    assert_int_equal(t[1], 10);
    assert_int_equal(t[2], 10);
    om_gc_collect(rt, 2);
    om_gc_get_count(rt, count);
    assert_int_equal(count[0], 0);
    om_object *a = mk(rt, &node_type, 0);
    om_object *b = mk(rt, &node_type, 0);
    om_gc_get_count(rt, count);
    assert_int_equal(count[0], 2);
    assert_int_equal(gen_of(a), 0);
    assert_int_equal(om_gc_collect(rt, 0), 0);
    om_gc_get_count(rt, count);
    assert_int_equal(count[0], 0);
    assert_int_equal(count[1], 1);
    assert_int_equal(count[2], 0);
    assert_int_equal(gen_of(a), 1);
    om_object *c = mk(rt, &node_type, 0);
    om_gc_collect(rt, 0);
    assert_int_equal(gen_of(a), 1); /* not collected again: generation 1 is not walked */
    assert_int_equal(gen_of(c), 1);
    om_gc_collect(rt, 1);
    om_gc_get_count(rt, count);
    assert_int_equal(count[0], 0);
    assert_int_equal(count[1], 0);
    assert_int_equal(count[2], 1);
    assert_int_equal(gen_of(a), 2);
    assert_int_equal(gen_of(c), 2);
    om_object *d = mk(rt, &node_type, 0);
    om_gc_collect(rt, 1); /* survivors of 0..1 all go to 2 */
    assert_int_equal(gen_of(d), 2);
    om_gc_collect(rt, 2);
    om_gc_get_count(rt, count);
    assert_int_equal(count[0] + count[1] + count[2], 0);
    assert_int_equal(gen_of(a), 2);
    om_decref(d); /* deallocations lower count[0], never below 0 */
    om_gc_get_count(rt, count);
    assert_int_equal(count[0], 0);
    om_decref(a);
    om_decref(b);
    om_decref(c);
    om_runtime_free(rt);
}

static void young_collections_leave_old_trash_alone(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1);
    set_slot(a, 0, a);
    om_gc_collect(rt, 1); /* a is old now */
    assert_int_equal(gen_of(a), 2);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 0), 0);
    assert_int_equal(om_gc_collect(rt, 1), 0);
    assert_int_equal(frees[0], 0);
    assert_int_equal(om_gc_collect(rt, 2), 1);
    assert_int_equal(frees[0], 1);
    om_runtime_free(rt);
}

static void middle_generation_trash_is_found_by_collect_1(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    om_gc_collect(rt, 0);
    assert_int_equal(gen_of(a), 1);
    for (int i = 0; i < 50; i++) /* other pools get dirty, theirs stay clean */
        om_decref(mk(rt, &node_type, 0));
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 0), 0); /* generation 1 is not collected */
    assert_int_equal(om_gc_collect(rt, 1), 2);
    assert_int_equal(frees[0] + frees[1], 2);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void tables_stay_small_under_young_churn(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    for (int round = 0; round < 200; round++) {
        om_object *batch[50];
        for (int i = 0; i < 50; i++)
            batch[i] = mk(rt, &node_type, 0);
        om_gc_collect(rt, 0); /* survivors enter generation 1 and its table */
        for (int i = 0; i < 50; i++)
            om_decref(batch[i]); /* ... and leave tombstones there */
    }
    assert_true(rt->gc->mid.len < 2 * GC_TABLE_COMPACT_MIN + 100);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void stats_after_each_collect(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_gc_stats s;
    om_gc_get_stats(rt, &s);
    for (int g = 0; g < 3; g++)
        assert_int_equal(s.gen[g].collections, 0);
    for (int i = 0; i < 3; i++) {
        om_object *a = mk(rt, &node_type, 1);
        set_slot(a, 0, a);
        om_decref(a);
    }
    om_object *l = mk(rt, &legacy_type, 1);
    set_slot(l, 0, l);
    om_decref(l);
    assert_int_equal(om_gc_collect(rt, 0), 4);
    om_gc_get_stats(rt, &s);
    assert_int_equal(s.gen[0].collections, 1);
    assert_int_equal(s.gen[0].collected, 3);
    assert_int_equal(s.gen[0].uncollectable, 1);
    assert_int_equal(s.gen[2].collections, 0);
    om_gc_collect(rt, 2);
    om_gc_get_stats(rt, &s);
    assert_int_equal(s.gen[2].collections, 1);
    assert_int_equal(s.gen[2].collected, 0);
    assert_int_equal(s.gen[0].collections, 1);
    assert_int_equal(om_gc_garbage_count(rt), 1);
    assert_int_equal(om_gc_clear_garbage(rt), 1);
    om_runtime_free(rt);
}

static void bad_generation_and_thresholds_fail(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_error_clear();
    assert_int_equal(om_gc_collect(rt, 3), -1);
    assert_non_null(strstr(om_error_message(), "generation 3"));
    assert_int_equal(om_gc_collect(rt, -2), -1);
    assert_int_equal(om_gc_collect(rt, -1), 0); /* -1 means all */
    assert_int_equal(om_gc_set_threshold(rt, -1, 1, 1), -1);
    assert_non_null(strstr(om_error_message(), "threshold"));
    assert_int_equal(om_gc_set_threshold(rt, 5, 6, 7), 0);
    long t[3];
    om_gc_get_threshold(rt, t);
    assert_int_equal(t[0], 5);
    assert_int_equal(t[1], 6);
    assert_int_equal(t[2], 7);
    om_runtime_free(rt);
}

static void allocation_triggers_collection(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    assert_int_equal(om_gc_isenabled(rt), 0);
    om_gc_enable(rt);
    assert_int_equal(om_gc_isenabled(rt), 1);
    om_gc_set_threshold(rt, 10, 2, 2);
    for (int i = 0; i < 200; i++) {
        om_object *a = mk(rt, &node_type, 1);
        set_slot(a, 0, a);
        om_decref(a);
    }
    om_gc_stats s;
    om_gc_get_stats(rt, &s);
    assert_true(s.gen[0].collections >= 10);
    assert_true(s.gen[1].collections >= 2);
    uint64_t freed = s.gen[0].collected + s.gen[1].collected + s.gen[2].collected;
    assert_true(freed >= 150);
    long count[3];
    om_gc_get_count(rt, count);
    assert_true(count[0] <= 11);
    om_gc_disable(rt);
    om_gc_get_stats(rt, &s);
    uint64_t before = s.gen[0].collections;
    for (int i = 0; i < 100; i++)
        om_decref(mk(rt, &node_type, 0));
    for (int i = 0; i < 100; i++)
        (void)mk(rt, &node_type, 0); /* kept alive by the runtime until it is freed */
    om_gc_get_stats(rt, &s);
    assert_int_equal(s.gen[0].collections, before);
    om_gc_enable(rt);
    om_gc_set_threshold(rt, 0, 10, 10); /* 0 disables too */
    for (int i = 0; i < 100; i++)
        om_decref(mk(rt, &node_type, 0));
    om_gc_get_stats(rt, &s);
    assert_int_equal(s.gen[0].collections, before);
    om_runtime_free(rt);
}

static void full_collections_wait_for_25_percent(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_gc_enable(rt);
    om_gc_set_threshold(rt, 10, 0, 0); /* every gen-0 trigger wants an older one */
    om_object *keep = mk(rt, &node_type, 0);
    om_gc_collect(rt, 2); /* long_lived_total = 1 */
    om_object *hold[2000];
    for (int i = 0; i < 2000; i++)
        hold[i] = mk(rt, &node_type, 0);
    om_gc_stats s;
    om_gc_get_stats(rt, &s);
    /* generation 2 grows from 1 object: full collections run, but each one
     * raises the bar, so far fewer of them than of generation 1 */
    assert_true(s.gen[2].collections >= 1);
    assert_true(s.gen[1].collections > 2 * s.gen[2].collections);
    for (int i = 0; i < 2000; i++)
        om_decref(hold[i]);
    om_decref(keep);
    om_runtime_free(rt);
}

static void immutable_containers_of_atoms_are_untracked(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *atom = mk(rt, &atom_type, 0);
    om_object *t = mk(rt, &frozen_type, 2);
    om_object *tt = mk(rt, &frozen_type, 1);
    om_object *tn = mk(rt, &frozen_type, 1);
    om_object *n = mk(rt, &node_type, 0);
    set_slot(t, 0, atom);
    set_slot(tt, 0, t);
    set_slot(tn, 0, n);
    assert_int_equal(om_gc_is_tracked(atom), 0);
    assert_int_equal(om_gc_is_tracked(t), 1);
    om_gc_collect(rt, 0);
    assert_int_equal(om_gc_is_tracked(t), 0);  /* only atoms inside */
    assert_int_equal(om_gc_is_tracked(tn), 1); /* holds a mutable container */
    om_gc_collect(rt, 2);
    assert_int_equal(om_gc_is_tracked(tt), 0); /* holds only an untracked immutable */
    assert_int_equal(om_gc_is_tracked(tn), 1);
    om_decref(tt);
    om_decref(t);
    om_decref(tn);
    om_decref(n);
    om_decref(atom);
    assert_int_equal(frees[0] + frees[1] + frees[2] + frees[3] + frees[4], 5);
    om_runtime_free(rt);
}

static void freeze_hides_objects_from_collections(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1);
    set_slot(a, 0, a);
    om_object *b = mk(rt, &node_type, 0);
    size_t base = om_gc_get_freeze_count(rt);
    om_gc_freeze(rt);
    assert_int_equal(om_gc_get_freeze_count(rt), base + 2);
    assert_int_equal(gen_of(a), 3);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 0); /* frozen trash stays */
    assert_int_equal(frees[0], 0);
    om_gc_unfreeze(rt);
    assert_int_equal(om_gc_get_freeze_count(rt), 0);
    assert_int_equal(gen_of(b), 2);
    assert_int_equal(om_gc_collect(rt, 2), 1);
    assert_int_equal(frees[0], 1);
    om_decref(b);
    om_runtime_free(rt);
}

static void is_tracked_and_is_finalized(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *n = mk(rt, &node_type, 0), *a = mk(rt, &atom_type, 0);
    om_object *f = mk(rt, &fin_type, 1);
    assert_int_equal(om_gc_is_tracked(n), 1);
    assert_int_equal(om_gc_is_tracked(a), 0);
    assert_int_equal(om_gc_is_finalized(f), 0);
    set_slot(f, 0, n); /* a reference out, no cycle */
    om_decref(n);
    om_decref(a);
    om_decref(f); /* finalized at zero by the object layer */
    assert_int_equal(finals[2], 1);
    om_runtime_free(rt);
}

static void deep_cycle_without_stack_overflow(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    const uint32_t n = 1000000;
    om_object *first = mk(rt, &node_type, 1), *prev = first;
    for (uint32_t i = 1; i < n; i++) {
        om_object *o = mk(rt, &node_type, 1);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    set_slot(prev, 0, first);
    om_decref(first);
    assert_int_equal(om_gc_collect(rt, 2), n);
    for (uint32_t i = 0; i < n; i++)
        if (frees[i] != 1)
            fail_msg("node %u freed %u times", i, frees[i]);
    om_runtime_free(rt);
}

static void leaves_no_phase_bits(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *keep = mk(rt, &node_type, 2);
    for (int i = 0; i < 100; i++) {
        om_object *a = mk(rt, &node_type, 2);
        set_slot(a, 0, a);
        if (i % 3 == 0)
            set_slot(keep, i % 2, a);
        om_decref(a);
    }
    om_gc_collect(rt, 0);
    gc_check_clean(rt->gc);
    om_gc_collect(rt, 2);
    gc_check_clean(rt->gc);
    om_decref(keep);
    om_runtime_free(rt);
}

static void collect_with_a_missing_incref(void *arg)
{
    (void)arg;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 2), *b = mk(rt, &node_type, 0);
    set_slot(a, 0, b);
    set_slot(a, 1, b);
    b->ob_refcnt = 1; /* a holds two references that b's count does not show */
    om_gc_collect(rt, 0);
}

static void a_missing_incref_is_fatal(void **state)
{
    (void)state;
    omtest_expect_abort(collect_with_a_missing_incref, NULL,
                        "is referred to more often than its reference count");
}

static void free_a_held_candidate(void *arg)
{
    (void)arg;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1);
    a->ob_gc |= GC_COLLECTING; /* as if the collector held it */
    om_decref(a);
}

static void freeing_what_the_collector_holds_is_fatal(void **state)
{
    (void)state;
    omtest_expect_abort(free_a_held_candidate, NULL, "freed while the collector holds it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(self_cycle_is_freed),
        cmocka_unit_test(two_cycles_and_a_survivor),
        cmocka_unit_test(external_references_keep_a_cycle),
        cmocka_unit_test(generations_and_counts_after_each_collect),
        cmocka_unit_test(young_collections_leave_old_trash_alone),
        cmocka_unit_test(middle_generation_trash_is_found_by_collect_1),
        cmocka_unit_test(tables_stay_small_under_young_churn),
        cmocka_unit_test(stats_after_each_collect),
        cmocka_unit_test(bad_generation_and_thresholds_fail),
        cmocka_unit_test(allocation_triggers_collection),
        cmocka_unit_test(full_collections_wait_for_25_percent),
        cmocka_unit_test(immutable_containers_of_atoms_are_untracked),
        cmocka_unit_test(freeze_hides_objects_from_collections),
        cmocka_unit_test(is_tracked_and_is_finalized),
        cmocka_unit_test(deep_cycle_without_stack_overflow),
        cmocka_unit_test(leaves_no_phase_bits),
        cmocka_unit_test(a_missing_incref_is_fatal),
        cmocka_unit_test(freeing_what_the_collector_holds_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
