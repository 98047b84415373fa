/* The incremental old generation: slices bounded in work (never timed),
 * soundness while the program changes the graph between slices (against a
 * reachability model), automatic pacing that keeps garbage bounded. */
#define MODEL_MAX   6000
#define MODEL_SLOTS 2
#include "model.h"
#include "gc/inc.h"

#define BUDGET 500

static om_runtime *new_incremental_runtime(void)
{
    assert_int_equal(om_option_set("gc_incremental", 1), 0);
    assert_int_equal(om_option_set("gc_slice_work", BUDGET), 0);
    om_runtime *rt = new_runtime();
    assert_true(rt->gc->old.on);
    return rt;
}

static void cycle_to_end(om_runtime *rt)
{
    assert_int_equal(gc_inc_start(rt->gc), 0);
    gc_inc_finish(rt->gc);
    assert_null(rt->gc->inc);
}

static void old_cycles_are_found_in_slices(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { LIVE = 5000, TRASH = 300 };
    om_object *root = mk(rt, &node_type, 1), *prev = root;
    for (int i = 1; i < LIVE; i++) { /* a live chain */
        om_object *o = mk(rt, &node_type, 2);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    uint32_t first_trash = next_id;
    om_object *hook = prev;
    for (int i = 0; i < TRASH; i++) { /* self-cycles in a chain off the live one */
        om_object *o = mk(rt, &fin_type, 2);
        set_slot(o, 0, o);
        set_slot(hook, 1, o);
        om_decref(o);
        hook = o;
    }
    om_gc_collect(rt, 2); /* all old, all in the table */
    assert_int_equal(om_gc_collect(rt, 2), 0);
    node_clear(prev); /* the trash becomes unreachable, all of it old */
    om_gc_incremental_stats s0;
    om_gc_get_incremental_stats(rt, &s0);
    cycle_to_end(rt);
    om_gc_incremental_stats s;
    om_gc_get_incremental_stats(rt, &s);
    assert_int_equal(s.cycles, s0.cycles + 1);
    assert_true(s.slices - s0.slices >= (2 * LIVE) / BUDGET);
    /* + the fan-out of one traverse, and the trash's piece: one chain, so
     * one exact collection of 5 units per member and a step per member */
    assert_true(s.max_slice_work <= BUDGET + 3 + 6 * TRASH);
    for (uint32_t i = first_trash; i < next_id; i++)
        assert_int_equal(frees[i], 1);
    for (uint32_t i = 0; i < first_trash; i++)
        assert_int_equal(frees[i], 0);
    assert_int_equal(s.peak_garbage, TRASH);
    om_gc_stats gs;
    om_gc_get_stats(rt, &gs);
    assert_int_equal(gs.gen[2].collected, TRASH);
    gc_check_clean(rt->gc);
    om_decref(root);
    om_runtime_free(rt);
}

/* ---- a model, with the program running between slices ----------------------------------- */
static om_object *objs[MODEL_MAX];

static void add_object(om_runtime *rt)
{
    om_object *o = mk(rt, &node_type, MODEL_SLOTS);
    uint32_t i = id_of(o);
    model_n++;
    objs[i] = o;
    model_edges[i][0] = model_edges[i][1] = -1;
    model_add_root(o);
}

static void mutate(uint32_t steps, om_runtime *rt)
{
    for (uint32_t k = 0; k < steps; k++) {
        uint32_t what = rnd(10);
        if (what == 0 && model_n < MODEL_MAX) {
            add_object(rt);
        } else if (what == 1) {
            model_drop_root();
        } else {
            uint32_t i = model_random_reachable(), s = rnd(MODEL_SLOTS);
            int j = rnd(4) == 0 ? -1 : (int)model_random_reachable();
            model_edges[i][s] = j;
            set_slot(objs[i], s, j < 0 ? NULL : objs[j]);
            model_reach();
        }
    }
}

static void check_reachable_alive(void)
{
    for (uint32_t i = 0; i < model_n; i++)
        if (model_reach_of[i] && frees[i])
            fail_msg("reachable object %u was freed", i);
}

static void check_exact(void)
{
    for (uint32_t i = 0; i < model_n; i++) {
        if (model_reach_of[i] ? frees[i] != 0 : frees[i] != 1)
            fail_msg("object %u: reachable %d, freed %u times", i, model_reach_of[i], frees[i]);
    }
}

static void run_seed(uint64_t seed)
{
    omtest_srand(seed);
    om_runtime *rt = new_incremental_runtime();
    model_reset();
    for (int i = 0; i < 2000; i++)
        add_object(rt);
    mutate(3000, rt);
    om_gc_collect(rt, 2); /* everything old */
    check_exact();
    for (int round = 0; round < 4; round++) {
        mutate(300, rt); /* makes old trash */
        assert_int_equal(gc_inc_start(rt->gc), 0);
        while (gc_inc_slice(rt->gc)) {
            mutate(1 + rnd(20), rt); /* the program runs between slices */
            if (rnd(8) == 0)
                om_gc_collect(rt, (int)rnd(2)); /* young collections too */
            check_reachable_alive();
        }
        check_reachable_alive();
        gc_check_clean(rt->gc);
        /* what the cycle could not see (young, or made during it) is found by
         * the young collections and the next cycle, without mutation */
        om_gc_collect(rt, 1);
        cycle_to_end(rt);
        check_exact();
    }
    for (int r = 0; r < MODEL_ROOTS; r++)
        om_xdecref(model_roots[r]);
    om_gc_collect(rt, 2);
    om_runtime_free(rt);
}

static void mutation_between_slices_matches_the_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++)
        run_seed(seed * 0x2545f4914f6cdd1dull);
}

/* ---- pacing: automatic cycles keep garbage bounded ------------------------------------------ */
/* Held garbage is never listed to the program between slices. */
static int not_held(om_object *o, void *arg)
{
    (void)arg;
    if (o->ob_gc & GC_COLLECTING)
        fail_msg("object %u, held as garbage, was listed", id_of(o));
    return 0;
}

/* Many small old garbage pieces (pairs, a third with a finalizer): verify
 * runs over many slices, each within the budget plus one piece, and frees
 * exactly the garbage, finalizing each once.  A pair that a live node lets
 * go of while verify runs is found by the next cycle. */
static void verify_runs_in_slices(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { PAIRS = 1500 };
    om_gc_incremental_stats s0, s;
    om_object *held[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        om_object *a = mk(rt, i % 3 ? &node_type : &fin_type, 1), *b = mk(rt, &node_type, 1);
        set_slot(a, 0, b);
        set_slot(b, 0, a);
        om_decref(b);
        held[i] = a;
    }
    om_object *keep = mk(rt, &node_type, 1); /* pair i is 2i (a) and 2i + 1 (b) */
    set_slot(keep, 0, held[PAIRS / 2]);
    om_gc_collect(rt, 2); /* all old, all in the table */
    for (int i = 0; i < PAIRS; i++)
        om_decref(held[i]);
    om_gc_get_incremental_stats(rt, &s0);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    uint64_t verify_slices = 0;
    while (rt->gc->inc) {
        assert_int_equal(gc_visit_objects(rt, -1, not_held, NULL), 0);
        bool verifying = rt->gc->inc->phase == INC_VERIFY;
        if (verifying && NODE(keep)->slot[0])
            set_slot(keep, 0, NULL); /* the pair dies after grouping */
        gc_inc_slice(rt->gc);
        verify_slices += verifying;
    }
    om_gc_get_incremental_stats(rt, &s);
    assert_true(verify_slices >= (uint64_t)(2 * PAIRS * 5) / BUDGET);
    assert_true(s.max_slice_work <= BUDGET + 3 + 2 * 6); /* + one traverse, one pair */
    for (uint32_t i = 0; i < 2 * PAIRS; i++) {
        if (frees[i] > 1 || finals[i] > 1)
            fail_msg("object %u freed %u times, finalized %u times", i, frees[i], finals[i]);
        if (i / 2 != PAIRS / 2)
            assert_int_equal(frees[i], 1);
    }
    cycle_to_end(rt); /* the pair let go during verify */
    for (uint32_t i = 0; i < 2 * PAIRS; i++)
        assert_int_equal(frees[i], 1);
    for (uint32_t i = 0; i < 2 * PAIRS; i += 6)
        assert_int_equal(finals[i], 1);
    gc_check_clean(rt->gc);
    om_decref(keep);
    om_runtime_free(rt);
}

/* A finalizer that disables the collector while a slice verifies: the
 * cycle ends when the slice returns (never under the slice's feet), what
 * was verified is freed, and an explicit collection frees the rest; every
 * finalizer ran once. */
static om_runtime *disabling_rt;
static void disable_collector(om_object *self)
{
    (void)self;
    om_gc_disable(disabling_rt);
}

static void finalizer_disabling_the_collector_ends_the_cycle(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { PAIRS = 600 };
    om_object *held[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        om_object *a = mk(rt, &fin_type, 1), *b = mk(rt, &node_type, 1);
        set_slot(a, 0, b);
        set_slot(b, 0, a);
        om_decref(b);
        held[i] = a;
    }
    om_gc_collect(rt, 2); /* all old */
    for (int i = 0; i < PAIRS; i++)
        om_decref(held[i]);
    om_gc_enable(rt);
    disabling_rt = rt;
    fin_hook = disable_collector;
    assert_int_equal(gc_inc_start(rt->gc), 0);
    while (rt->gc->inc)
        gc_inc_slice(rt->gc);
    assert_false(om_gc_isenabled(rt));
    om_gc_incremental_stats s;
    om_gc_get_incremental_stats(rt, &s);
    assert_int_equal(s.cycles, 1); /* ended, its verified garbage freed */
    assert_true(s.verified > 0 && s.verified < 2 * PAIRS);
    fin_hook = NULL;
    om_gc_collect(rt, 2);
    for (uint32_t i = 0; i < 2 * PAIRS; i++)
        assert_int_equal(frees[i], 1);
    for (uint32_t i = 0; i < 2 * PAIRS; i += 2)
        assert_int_equal(finals[i], 1);
    /* The same from a young collection while a cycle runs: the cycle ends
     * as soon as the collection returns. */
    om_gc_enable(rt);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    om_object *a = mk(rt, &fin_type, 1);
    set_slot(a, 0, a);
    om_decref(a);
    fin_hook = disable_collector;
    assert_int_equal(om_gc_collect(rt, 0), 1);
    fin_hook = NULL;
    assert_false(om_gc_isenabled(rt));
    assert_null(rt->gc->inc);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

static void automatic_cycles_keep_garbage_bounded(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { LIVE = 20000, CHURN = 200000, RING = 4000 };
    om_object *root = mk(rt, &node_type, 1), *prev = root;
    om_object *ring = mk(rt, &node_type, RING); /* trash lives long enough to grow old */
    for (int i = 1; i < LIVE; i++) {
        om_object *o = mk(rt, &node_type, 2);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    om_gc_collect(rt, 2);
    om_gc_enable(rt);
    om_runtime_stats rs;
    size_t peak = 0;
    for (int i = 0; i < CHURN; i++) {
        om_object *a = mk(rt, &node_type, 2), *b = mk(rt, &node_type, 2);
        set_slot(a, 0, b);
        set_slot(b, 0, a);
        set_slot(ring, (uint32_t)i % RING, a);
        om_decref(a);
        om_decref(b);
        if (i % 1000 == 0) {
            om_runtime_get_stats(rt, &rs);
            if (rs.objects > peak)
                peak = rs.objects;
        }
    }
    om_gc_incremental_stats s;
    om_gc_get_incremental_stats(rt, &s);
    if (s.cycles < 2)
        fail_msg("%llu cycles, %llu slices", (unsigned long long)s.cycles,
                 (unsigned long long)s.slices);
    assert_true(s.max_slice_work <= BUDGET + RING + 1); /* the ring's traverse is one unit */
    om_gc_stats gs;
    om_gc_get_stats(rt, &gs);
    assert_true(gs.gen[2].collected > 0);
    /* 2 * CHURN objects were made; live objects stayed within a small
     * multiple of the live heap */
    if (peak >= 2 * (LIVE + 2 * RING)) /* the live heap, then at most as much again */
        fail_msg("peak %zu objects; %llu cycles, %llu slices, found %llu, proposed %llu", peak,
                 (unsigned long long)s.cycles, (unsigned long long)s.slices,
                 (unsigned long long)s.verified, (unsigned long long)s.candidates);
    om_gc_pauses p;
    om_gc_get_pauses(rt, &p);
    assert_true(p.automatic[2].count >= s.slices);
    om_decref(root);
    om_decref(ring);
    om_runtime_free(rt);
}

static void explicit_full_collection_and_freeze_abort_a_cycle(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    static om_object *made[3000];
    for (int i = 0; i < 3000; i++) {
        made[i] = mk(rt, &node_type, 1);
        set_slot(made[i], 0, made[i]);
    }
    om_gc_collect(rt, 1); /* young survivors enter the table */
    for (int i = 1; i < 3000; i += 2)
        om_decref(made[i]); /* old trash */
    assert_int_equal(gc_inc_start(rt->gc), 0);
    gc_inc_slice(rt->gc);
    gc_inc_slice(rt->gc);
    assert_non_null(rt->gc->inc);
    assert_int_equal(om_gc_collect(rt, 2), 1500);
    assert_null(rt->gc->inc);
    gc_check_clean(rt->gc);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    gc_inc_slice(rt->gc);
    om_gc_freeze(rt);
    assert_null(rt->gc->inc);
    assert_int_equal(rt->gc->old.len, 0);
    gc_check_clean(rt->gc);
    om_gc_unfreeze(rt);
    assert_true(rt->gc->old.len >= 1500);
    gc_check_clean(rt->gc);
    om_gc_incremental_stats s;
    om_gc_get_incremental_stats(rt, &s);
    assert_int_equal(s.aborted, 2);
    for (int i = 0; i < 3000; i += 2)
        om_decref(made[i]);
    assert_int_equal(om_gc_collect(rt, 2), 1500);
    om_runtime_free(rt);
}

/* A list far longer than the budget: subtract and mark stop inside it and go
 * on from there in the next slice, so no slice does much more than the
 * budget; the list shrinking between slices is safe, and the cycle still
 * finds exactly the garbage. */
static void a_slice_stops_inside_a_long_list(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { ITEMS = 40 * BUDGET, PAIRS = 100 };
    om_object *big = om_list_new(rt), *holder = om_list_new(rt);
    for (int i = 0; i < ITEMS; i++) {
        om_object *x = om_list_new(rt);
        assert_int_equal(om_list_append(x, x), 0); /* a cycle, alive through big */
        assert_int_equal(om_list_append(big, x), 0);
        om_decref(x);
    }
    for (int i = 0; i < PAIRS; i++) {
        om_object *a = om_list_new(rt), *b = om_list_new(rt);
        assert_int_equal(om_list_append(a, b), 0);
        assert_int_equal(om_list_append(b, a), 0);
        assert_int_equal(om_list_append(holder, a), 0);
        om_decref(a);
        om_decref(b);
    }
    om_gc_collect(rt, 2); /* all old */
    om_decref(holder);    /* the pairs are old garbage */
    om_gc_stats before, after;
    om_gc_get_stats(rt, &before);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    bool shrunk = false;
    while (gc_inc_slice(rt->gc)) {
        struct gc_inc *inc = rt->gc->inc;
        if (!shrunk && inc->phase == INC_MARK && inc->has_item) {
            shrunk = true; /* the mark phase stopped inside big: it shrinks */
            for (int i = 0; i < ITEMS / 2; i++)
                om_decref(om_list_pop(big, -1));
        }
    }
    assert_true(shrunk);
    om_gc_incremental_stats s;
    om_gc_get_incremental_stats(rt, &s);
    if (s.max_slice_work > BUDGET + 3 + 2 * 6) /* + one pair verified */
        fail_msg("a slice did %llu units of work", (unsigned long long)s.max_slice_work);
    om_gc_get_stats(rt, &after);
    /* every pair, and those of the popped cycles that mark had not reached */
    uint64_t found = after.gen[2].collected - before.gen[2].collected;
    assert_true(found >= 2 * PAIRS && found <= 2 * PAIRS + ITEMS / 2);
    assert_int_equal(om_list_len(big), ITEMS / 2);
    /* the next collection finds exactly the other popped cycles */
    assert_int_equal(om_gc_collect(rt, 2), ITEMS / 2 - (found - 2 * PAIRS));
    om_decref(big);
    assert_int_equal(om_gc_collect(rt, 2), ITEMS / 2); /* big itself went by refcount */
    om_runtime_free(rt);
}

/* A cycle's work buffers stay for the next cycle (their pages stay mapped:
 * no page faults in its slices), and go with the runtime. */
static void cycles_reuse_their_buffers(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    om_object *root = mk(rt, &node_type, 1), *prev = root;
    for (int i = 0; i < 5000; i++) {
        om_object *o = mk(rt, &node_type, 1);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    om_gc_collect(rt, 2);
    assert_null(rt->gc->inc_spare.stack);
    cycle_to_end(rt);
    uint32_t *stack = rt->gc->inc_spare.stack;
    assert_non_null(stack);
    assert_true(rt->gc->inc_spare.stack_cap >= 5001);
    cycle_to_end(rt);
    assert_ptr_equal(rt->gc->inc_spare.stack, stack);
    om_decref(root);
    om_runtime_free(rt);
}

/* group sizes the member list and the garbage list for all of S before it
 * lists the first member (|S| <= entries - marked), so neither grows (a
 * doubling copy faulted hundreds of fresh pages inside one slice), and the
 * garbage stays in the list it was sized into. */
static void group_sizes_its_lists_for_the_proposal(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { LIVE = 3000, PAIRS = 2500 };
    om_object *root = mk(rt, &node_type, 1), *prev = root;
    for (int i = 1; i < LIVE; i++) {
        om_object *o = mk(rt, &node_type, 1);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    om_object *held[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
        set_slot(a, 0, b);
        set_slot(b, 0, a);
        om_decref(b);
        held[i] = a;
    }
    om_gc_collect(rt, 2); /* all old, all in the table */
    for (int i = 0; i < PAIRS; i++)
        om_decref(held[i]);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    struct gc_inc *inc = rt->gc->inc;
    while (inc->phase < INC_GROUP_INIT)
        gc_inc_slice(rt->gc);
    gc_inc_slice(rt->gc); /* the first group_init slice sizes the lists */
    assert_int_equal(inc->n - inc->marked, 2 * PAIRS);
    assert_true(inc->buf.members_cap >= 2 * PAIRS);
    assert_true(inc->buf.garbage.cap >= 2 * PAIRS);
    uint32_t *members = inc->buf.members;
    om_object **garbage = inc->buf.garbage.items;
    while (inc->phase < INC_FREE)
        gc_inc_slice(rt->gc);
    assert_ptr_equal(inc->buf.members, members);
    assert_ptr_equal(inc->buf.garbage.items, garbage);
    assert_int_equal(inc->buf.garbage.len, 2 * PAIRS);
    gc_inc_finish(rt->gc);
    assert_null(rt->gc->inc);
    for (uint32_t i = LIVE; i < LIVE + 2 * PAIRS; i++)
        assert_int_equal(frees[i], 1);
    om_decref(root);
    om_runtime_free(rt);
}

/* The arrays a full collection keeps are freed by the next cycle's first
 * slices, one a slice and nothing else in it (all at once, at a cycle's
 * end, they made its longest slice), and the cycle goes on as usual. */
static void a_cycle_frees_the_full_arrays_one_a_slice(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    om_object *root = mk(rt, &node_type, 1), *prev = root;
    for (int i = 0; i < 3000; i++) {
        om_object *o = mk(rt, &node_type, 1);
        set_slot(prev, 0, o);
        om_decref(o);
        prev = o;
    }
    om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    om_decref(b);
    om_gc_collect(rt, 2); /* over the tables: its arrays stay */
    struct gc_full_buffers *fb = &rt->gc->full_spare;
    assert_non_null(fb->refs.items);
    assert_non_null(fb->start.items);
    assert_non_null(fb->stack.items);
    int arrays = 3 + (fb->edges.items != NULL);
    om_decref(a);
    assert_int_equal(gc_inc_start(rt->gc), 0);
    struct gc_inc *inc = rt->gc->inc;
    for (int k = arrays; k > 0; k--) {
        assert_int_equal(gc_inc_slice(rt->gc), 1);
        int left = (fb->refs.items != NULL) + (fb->start.items != NULL) +
                   (fb->edges.items != NULL) + (fb->stack.items != NULL);
        assert_int_equal(left, k - 1);
        assert_int_equal(inc->phase, INC_COMPACT);
        assert_int_equal(inc->cursor, 0); /* the slice did nothing else */
    }
    gc_inc_finish(rt->gc);
    assert_null(rt->gc->inc);
    assert_int_equal(frees[3001] + frees[3002], 2);
    assert_int_equal(frees[3000], 0);
    om_decref(root);
    om_runtime_free(rt);
}

/* Compaction counts a moved entry as GC_COMPACT_MOVE_COST units (its
 * header is written): a compaction slice looks at fewer entries than the
 * budget when they move. */
static void a_moved_entry_costs_more_than_a_look(void **state)
{
    (void)state;
    om_runtime *rt = new_incremental_runtime();
    enum { N = 4 * BUDGET };
    om_object *held[N];
    for (int i = 0; i < N; i++)
        held[i] = mk(rt, &node_type, 0);
    om_gc_collect(rt, 2);
    for (int i = 1; i < N; i += 2) { /* every other entry a tombstone */
        om_decref(held[i]);
        held[i] = NULL;
    }
    struct gc_full_buffers *fb = &rt->gc->full_spare;
    assert_int_equal(gc_inc_start(rt->gc), 0);
    struct gc_inc *inc = rt->gc->inc;
    while (fb->refs.items || fb->start.items || fb->edges.items || fb->stack.items)
        gc_inc_slice(rt->gc);
    assert_int_equal(inc->phase, INC_COMPACT);
    gc_inc_slice(rt->gc);
    assert_int_equal(inc->phase, INC_COMPACT);
    size_t looked = inc->cursor, moved = inc->write - 1; /* entry 0 stays */
    assert_true(moved > 0);
    assert_true(looked + (GC_COMPACT_MOVE_COST - 1) * moved >= BUDGET);
    assert_true(looked + (GC_COMPACT_MOVE_COST - 1) * moved < BUDGET + GC_COMPACT_MOVE_COST);
    gc_inc_finish(rt->gc);
    assert_null(rt->gc->inc);
    for (int i = 0; i < N; i++)
        om_xdecref(held[i]);
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_cycles_are_found_in_slices),
        cmocka_unit_test(mutation_between_slices_matches_the_model),
        cmocka_unit_test(verify_runs_in_slices),
        cmocka_unit_test(finalizer_disabling_the_collector_ends_the_cycle),
        cmocka_unit_test(automatic_cycles_keep_garbage_bounded),
        cmocka_unit_test(explicit_full_collection_and_freeze_abort_a_cycle),
        cmocka_unit_test(a_slice_stops_inside_a_long_list),
        cmocka_unit_test(cycles_reuse_their_buffers),
        cmocka_unit_test(group_sizes_its_lists_for_the_proposal),
        cmocka_unit_test(a_cycle_frees_the_full_arrays_one_a_slice),
        cmocka_unit_test(a_moved_entry_costs_more_than_a_look),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
