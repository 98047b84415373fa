/* Where a collection finds its candidates, and how it reads them: a full
 * collection gathers from the generation tables while they are complete and
 * walks the heap otherwise; whatever stays alive in generation 2 keeps its
 * table entry; registered item layouts (lists, tuples) are read in place. */
#include "nodes.h"
#include "gc/state.h"

/* A GC node without a clear hook: the collector cannot break its cycles. */
static const om_type noclear_type = {
    .name = "noclear",
    .basicsize = sizeof(node),
    .itemsize = sizeof(om_object *),
    .flags = OM_TYPE_GC,
    .dealloc = node_dealloc,
    .traverse = node_traverse,
};

static bool watched(const om_object *o)
{
    return (o->ob_gc & GC_WATCHED) != 0;
}

static void a_full_collection_reads_the_tables_not_the_heap(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    enum { ATOMS = 2000 };
    om_object *atoms[ATOMS];
    for (int i = 0; i < ATOMS; i++)
        atoms[i] = mk(rt, &atom_type, 0); /* blocks a heap walk must look at */
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_true(watched(a) && watched(b));
    assert_false(rt->gc->old.incomplete);
    uint64_t before = rt->gc->work;
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_true(rt->gc->work - before < ATOMS / 2); /* two entries, no heap walk */
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    for (int i = 0; i < ATOMS; i++)
        om_decref(atoms[i]);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void an_incomplete_table_sends_a_full_collection_to_the_heap(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    /* as when their entries found no memory */
    gc_table_forget(&rt->gc->old, a);
    gc_table_forget(&rt->gc->old, b);
    rt->gc->old.incomplete = 1;
    uint32_t ia = id_of(a), ib = id_of(b);
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(frees[ia], 1);
    assert_int_equal(frees[ib], 1);
    assert_false(rt->gc->old.incomplete); /* the walk rebuilt the table */
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void what_clear_cannot_free_stays_in_the_old_table(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = mk(rt, &noclear_type, 1), *b = mk(rt, &noclear_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    uint32_t ia = id_of(a);
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 2); /* found, but clear breaks nothing */
    assert_int_equal(frees[ia], 0);
    gc_check_clean(rt->gc); /* both alive, in generation 2, with entries */
    assert_false(rt->gc->old.incomplete);
    assert_int_equal(om_gc_collect(rt, 2), 2); /* so the next one finds them again */
    assert_int_equal(om_gc_collect(rt, 2), 2);
    om_runtime_free(rt);
}

static void what_saveall_keeps_stays_in_the_old_table(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_gc_set_debug(rt, OM_GC_DEBUG_SAVEALL);
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(om_gc_garbage_count(rt), 2);
    gc_check_clean(rt->gc);
    om_gc_set_debug(rt, 0);
    assert_int_equal(om_gc_clear_garbage(rt), 2);
    assert_int_equal(om_gc_collect(rt, 2), 2); /* found through the table */
    assert_int_equal(frees[0] + frees[1], 2);
    om_runtime_free(rt);
}

static void item_layouts_are_checked(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    assert_int_equal(gc_register_items(rt, &atom_type, 16, 24, false), -1); /* not GC */
    assert_non_null(strstr(om_error_message(), "GC type"));
    /* the builtin list and tuple took both kinds; registering one again is fine */
    const om_type *list = rt->gc->layouts.pointer_type, *tuple = rt->gc->layouts.inline_type;
    assert_non_null(list);
    assert_non_null(tuple);
    size_t size = rt->gc->layouts.pointer_size, items = rt->gc->layouts.pointer_items;
    assert_int_equal(gc_register_items(rt, list, size, items, true), 0);
    assert_int_equal(gc_register_items(rt, &node_type, 16, 24, false), -1);
    assert_non_null(strstr(om_error_message(), "taken by type"));
    assert_int_equal(gc_register_items(rt, &node_type, 16, 24, true), -1);
    assert_ptr_equal(rt->gc->layouts.pointer_type, list);
    om_runtime_free(rt);
}

/* Lists and tuples read in place: cycles through them, NULL items, empty
 * lists (no item array at all), and a tuple of atoms that gets untracked. */
/* Blocks a free list hands out again count as allocated: a young cycle of
 * recycled lists is found by a young collection, which looks only at the
 * pools allocated from since the last one. */
static void young_collections_see_recycled_blocks(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    enum { N = 64 };
    om_object *parked[N];
    for (int i = 0; i < N; i++)
        parked[i] = om_list_new(rt);
    for (int i = 0; i < N; i++)
        om_decref(parked[i]);                  /* onto the list type's free list */
    assert_int_equal(om_gc_collect(rt, 0), 0); /* no pool is dirty after this */
    om_object *a = om_list_new(rt), *b = om_list_new(rt);
    assert_int_equal(om_list_append(a, b), 0);
    assert_int_equal(om_list_append(b, a), 0);
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 0), 2);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void cycles_through_lists_and_tuples(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *l = om_list_new(rt), *empty = om_list_new(rt);
    om_object *one = om_int_from_int64(rt, 1);
    assert_int_equal(om_list_append(l, empty), 0);
    assert_int_equal(om_list_append(l, l), 0);
    om_object *atoms = om_tuple_pack(rt, 2, one, one);
    om_object *t = om_tuple_pack(rt, 2, l, atoms);
    assert_int_equal(om_list_append(l, t), 0);
    assert_true(om_gc_is_tracked(atoms));
    om_decref(t);
    om_decref(atoms);
    om_decref(empty);
    assert_int_equal(om_gc_collect(rt, 2), 0); /* l is held from here */
    om_object *kept = om_tuple_pack(rt, 2, one, one);
    assert_true(om_gc_is_tracked(kept));
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_false(om_gc_is_tracked(kept)); /* holds only atoms */
    om_decref(kept);
    om_decref(one);
    om_decref(l);
    /* l, t and empty; the first collection untracked the tuple of atoms */
    assert_int_equal(om_gc_collect(rt, 2), 3);
    om_runtime_free(rt);
}

/* Garbage is freed a block of members at a time (clear the block, then drop
 * its holds); a member that a later block still refers to waits until every
 * member is cleared.  A random ring sends references across blocks both
 * ways; a pair that clear cannot break keeps itself and the ring node it
 * refers to alive, in the old table; everything else is freed exactly once. */
static void garbage_is_freed_a_block_at_a_time(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    enum { RING = 1500 };
    static om_object *ring[RING];
    static uint32_t perm[RING];
    uint32_t seed = 12345;
    for (uint32_t i = 0; i < RING; i++) {
        ring[i] = mk(rt, &node_type, 2);
        perm[i] = i;
    }
    for (uint32_t i = RING - 1; i > 0; i--) { /* Fisher-Yates, a fixed LCG */
        seed = seed * 1103515245u + 12345u;
        uint32_t j = (seed >> 8) % (i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < RING; i++) {
        seed = seed * 1103515245u + 12345u;
        set_slot(ring[perm[i]], 0, ring[perm[(i + 1) % RING]]);
        set_slot(ring[perm[i]], 1, ring[(seed >> 8) % RING]);
    }
    om_object *a = mk(rt, &noclear_type, 2), *b = mk(rt, &noclear_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    set_slot(a, 1, ring[RING / 3]);
    uint32_t first = id_of(ring[0]), kept = id_of(ring[RING / 3]), ia = id_of(a);
    for (uint32_t i = 0; i < RING; i++)
        om_decref(ring[i]);
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), RING + 2);
    for (uint32_t i = 0; i < RING; i++)
        assert_int_equal(frees[first + i], first + i == kept ? 0 : 1);
    assert_int_equal(frees[ia], 0);
    gc_check_clean(rt->gc); /* the survivors: alive, in generation 2, with entries */
    assert_int_equal(om_gc_collect(rt, 2), 3); /* found again: a, b, the cleared node */
    om_runtime_free(rt);
}

/* A full collection over the tables records the references between entries
 * up to a budget (4 per entry, plus 65536); past it, mark traverses the
 * objects instead.  A hub holding 70000 references to one list goes past it
 * while it is counted: every entry from the hub on is traversed, and the
 * outcome is the same. */
static void references_past_the_budget_are_traversed(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    enum { REFS = 70000, CHAIN = 50 };
    om_object *root = om_list_new(rt), *hub = om_list_new(rt), *a = om_list_new(rt);
    assert_int_equal(om_list_append(root, hub), 0);
    for (int i = 0; i < REFS; i++)
        assert_int_equal(om_list_append(hub, a), 0);
    assert_int_equal(om_list_append(a, hub), 0); /* a cycle through the hub */
    om_object *prev = hub;
    for (int i = 0; i < CHAIN; i++) { /* a chain only the hub leads to */
        om_object *next = om_list_new(rt);
        assert_int_equal(om_list_append(prev, next), 0);
        om_decref(next);
        prev = next;
    }
    om_object *g1 = mk(rt, &node_type, 1), *g2 = mk(rt, &node_type, 1);
    set_slot(g1, 0, g2);
    set_slot(g2, 0, g1);
    om_decref(g1);
    om_decref(g2);
    om_decref(hub);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 2); /* the young ones enter the table */
    assert_int_equal(om_gc_collect(rt, 2), 0); /* from the table */
    assert_int_equal(rt->gc->full_last.entries, 3 + CHAIN);
    assert_true(rt->gc->full_last.traversed > 0);
    assert_true(om_refcnt(a) == REFS);
    om_decref(root); /* hub, a and the chain: cyclic garbage now */
    assert_int_equal(om_gc_collect(rt, 2), 2 + CHAIN);
    assert_true(rt->gc->full_last.traversed == 0); /* no roots: mark had nothing to do */
    om_runtime_free(rt);
}

/* A count too large to subtract from (an immortal container in a cycle) is
 * a reference from outside: it and what it reaches stay. */
static void an_immortal_container_keeps_what_it_reaches(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *im = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(im, 0, b);
    set_slot(b, 0, im);
    om_make_immortal(im);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_int_equal(om_gc_collect(rt, 2), 0); /* from the table */
    assert_int_equal(frees[id_of(b)], 0);
    assert_ptr_equal(NODE(im)->slot[0], b);
    set_slot(im, 0, NULL); /* b is freed by its count */
    assert_int_equal(frees[1], 1);
    om_runtime_free(rt);
}

/* A tracked young object in no table and outside the dirty pools (the
 * dirty list cleared under it) that an old entry reaches becomes a
 * candidate of the full collection all the same: it is entered into the
 * old table when the count meets it, and found when it becomes garbage. */
static void a_full_collection_enters_what_the_entries_reach(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *root = mk(rt, &node_type, 1);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_true(watched(root));
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    set_slot(root, 0, a);
    hp_heap_clear_dirty(rt->heap); /* a and b: in no table, in no dirty pool */
    om_decref(a);
    om_decref(b);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    assert_true(watched(a) && watched(b));
    assert_int_equal(gen_of(a), 2);
    set_slot(root, 0, NULL);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(frees[1] + frees[2], 2);
    gc_check_clean(rt->gc);
    om_decref(root);
    om_runtime_free(rt);
}

/* Garbage lists and tuples are emptied in place: references between members
 * are dropped without a release, the others as usual, and nothing is
 * dropped twice (the counts of what they held come back exactly). */
static void garbage_containers_drop_what_they_hold(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *keep = mk(rt, &node_type, 0), *one = om_int_from_int64(rt, 1000);
    uint32_t keep_count = om_refcnt(keep), one_count = om_refcnt(one);
    for (int round = 0; round < 2; round++) { /* young, then from the table */
        om_object *l = om_list_new(rt), *m = om_list_new(rt);
        om_object *t = om_tuple_pack(rt, 3, l, keep, one);
        assert_int_equal(om_list_append(l, m), 0);
        assert_int_equal(om_list_append(m, t), 0);
        assert_int_equal(om_list_append(m, keep), 0);
        assert_int_equal(om_list_append(m, l), 0);
        om_decref(m);
        om_decref(t);
        if (round == 1) {
            assert_int_equal(om_gc_collect(rt, 2), 0);
            assert_true(watched(l) && watched(m));
        }
        om_decref(l);
        assert_int_equal(om_gc_collect(rt, 2), 3);
        assert_int_equal(om_refcnt(keep), keep_count);
        assert_int_equal(om_refcnt(one), one_count);
    }
    om_decref(one);
    om_decref(keep);
    om_runtime_free(rt);
}

/* Emptied garbage lists and tuples are freed without their dealloc, except
 * when something must see them go: with the tracer's free hook installed
 * every one goes through the ordinary release (the hook sees each), and a
 * weak reference to one is dead, its callback run, after the collection. */
static size_t hooked;
static void count_free(om_runtime *rt, om_object *o)
{
    (void)rt;
    (void)o;
    hooked++;
}

static int callbacks_run;
static void on_dead(om_object *wr, void *arg)
{
    (void)wr;
    (void)arg;
    callbacks_run++;
}

static void what_must_see_garbage_go_sees_it(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    for (int round = 0; round < 2; round++) {
        om_object *l = om_list_new(rt), *m = om_list_new(rt);
        om_object *t = om_tuple_pack(rt, 1, l);
        assert_int_equal(om_list_append(l, m), 0);
        assert_int_equal(om_list_append(m, t), 0);
        om_object *wr = om_weakref_new(rt, m, on_dead, NULL);
        assert_non_null(wr);
        om_decref(l);
        om_decref(m);
        om_decref(t);
        hooked = 0;
        callbacks_run = 0;
        if (round == 0)
            rt->trace_on_free = count_free;
        assert_int_equal(om_gc_collect(rt, 2), 3);
        rt->trace_on_free = NULL;
        assert_int_equal(hooked, round == 0 ? 3 : 0);
        assert_false(om_weakref_alive(wr));
        assert_int_equal(callbacks_run, 1);
        om_decref(wr);
    }
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_collection_reads_the_tables_not_the_heap),
        cmocka_unit_test(an_incomplete_table_sends_a_full_collection_to_the_heap),
        cmocka_unit_test(garbage_is_freed_a_block_at_a_time),
        cmocka_unit_test(what_clear_cannot_free_stays_in_the_old_table),
        cmocka_unit_test(what_saveall_keeps_stays_in_the_old_table),
        cmocka_unit_test(item_layouts_are_checked),
        cmocka_unit_test(cycles_through_lists_and_tuples),
        cmocka_unit_test(young_collections_see_recycled_blocks),
        cmocka_unit_test(references_past_the_budget_are_traversed),
        cmocka_unit_test(an_immortal_container_keeps_what_it_reaches),
        cmocka_unit_test(a_full_collection_enters_what_the_entries_reach),
        cmocka_unit_test(garbage_containers_drop_what_they_hold),
        cmocka_unit_test(what_must_see_garbage_go_sees_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
