/* The plain way of freeing a full collection's garbage (gc/trash.c,
 * gc_plain_free: taken, emptied and freed in one pass over the table):
 * random graphs of lists, tuples and nodes against a reachability model,
 * members that a later member still refers to, members emptied by their
 * clear hook, the ordinary way whenever a member needs a step first
 * (a weak reference, a finalizer due), and the tracer's hook. */
#include "nodes.h"
#include "gc/state.h"

/* The model (model.h), its roots model indices: lists and tuples have no
 * node id. */
#define MODEL_MAX   6000
#define MODEL_SLOTS 3
#define MODEL_ROOTS_BY_INDEX
#include "model.h"
static int model_roots[MODEL_ROOTS]; /* -1: empty; a root holds a reference */

static void model_reach(void)
{
    model_reach_ids(model_roots);
}

enum kind { K_LIST, K_TUPLE, K_NODE };

static om_object *objs[MODEL_MAX]; /* by model index; valid while reachable */
static uint32_t tag_of[MODEL_MAX]; /* the atom whose free says the object died */
static enum kind kinds[MODEL_MAX];
static om_object *none; /* the empty slot of a list */

/* Model index i's tag: an atom in item 0 of a list or tuple, in slot
 * MODEL_SLOTS of a node. */
static om_object *new_tag(om_runtime *rt, uint32_t i)
{
    om_object *tag = mk(rt, &atom_type, 0);
    tag_of[i] = id_of(tag);
    return tag;
}

static om_object *make_object(om_runtime *rt, uint32_t i)
{
    om_object *tag = new_tag(rt, i);
    om_object *o;
    kinds[i] = i > 0 ? (enum kind)rnd(3) : K_LIST;
    for (uint32_t s = 0; s < MODEL_SLOTS; s++)
        model_edges[i][s] = -1;
    if (kinds[i] == K_NODE) {
        o = mk(rt, &node_type, MODEL_SLOTS + 1);
        set_slot(o, MODEL_SLOTS, tag);
    } else if (kinds[i] == K_LIST) {
        o = om_list_new(rt);
        assert_non_null(o);
        assert_int_equal(om_list_append(o, tag), 0);
        for (uint32_t s = 0; s < MODEL_SLOTS; s++)
            assert_int_equal(om_list_append(o, none), 0);
    } else { /* a tuple's references are fixed when it is made: older objects */
        om_object *item[MODEL_SLOTS];
        for (uint32_t s = 0; s < MODEL_SLOTS; s++) {
            /* slot 0 always refers to an object: a tuple of atoms only would
             * be untracked, and its death no collection's business */
            int j = s == 0 || rnd(3) ? (int)model_random_reachable() : -1;
            model_edges[i][s] = j;
            item[s] = j >= 0 ? objs[j] : none;
        }
        o = om_tuple_pack(rt, 4, tag, item[0], item[1], item[2]);
        assert_non_null(o);
    }
    om_decref(tag);
    return o;
}

/* Root r = object i (a new reference), dropping the old root's. */
static void set_root(int r, int i)
{
    int old = model_roots[r];
    model_roots[r] = i;
    model_reach();
    if (old >= 0)
        om_decref(objs[old]);
}

static void add_objects(om_runtime *rt, uint32_t count)
{
    for (uint32_t k = 0; k < count && model_n < MODEL_MAX; k++) {
        uint32_t i = model_n;
        objs[i] = make_object(rt, i); /* tuples refer to reachable objects */
        model_n++;
        model_reach_of[i] = true;
        set_root((int)rnd(MODEL_ROOTS), (int)i); /* the new object is a root */
    }
}

static void set_edge(uint32_t i, uint32_t s, int j)
{
    om_object *target = j >= 0 ? objs[j] : NULL;
    model_edges[i][s] = j;
    if (kinds[i] == K_NODE)
        set_slot(objs[i], s, target);
    else
        assert_int_equal(om_list_setitem(objs[i], 1 + s, target ? target : none), 0);
}

static void rewire(uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = model_random_reachable();
        if (kinds[i] == K_TUPLE)
            continue;
        set_edge(i, rnd(MODEL_SLOTS), rnd(6) == 0 ? -1 : (int)model_random_reachable());
        model_reach();
    }
}

/* Exactly the objects the model finds unreachable died, each once (before
 * a collection: no reachable one died); the survivors' references are
 * intact.  Returns how many died since the last check. */
static long check(uint32_t *dead_before, bool collected)
{
    model_reach();
    long died = 0;
    for (uint32_t i = 0; i < model_n; i++) {
        uint32_t freed = frees[tag_of[i]];
        if (model_reach_of[i]) {
            if (freed)
                fail_msg("reachable object %u (kind %d) died", i, kinds[i]);
            for (uint32_t s = 0; s < MODEL_SLOTS && kinds[i] != K_TUPLE; s++) {
                int j = model_edges[i][s];
                om_object *want = j >= 0 ? objs[j] : NULL;
                om_object *got = kinds[i] == K_NODE ? NODE(objs[i])->slot[s] : NULL;
                if (kinds[i] == K_LIST) {
                    got = om_list_getitem(objs[i], 1 + s);
                    om_decref(got);
                    if (got == none)
                        got = NULL;
                }
                assert_ptr_equal(got, want);
            }
        } else if (freed == 0 && !collected) {
            continue; /* cyclic garbage, for the collection */
        } else if (freed != 1) {
            fail_msg("unreachable object %u (kind %d) freed %u times", i, kinds[i], freed);
        } else if (objs[i]) {
            objs[i] = NULL;
            died++;
        }
    }
    *dead_before += (uint32_t)died;
    return died;
}

static void run_seed(uint64_t seed)
{
    omtest_srand(seed);
    om_runtime *rt = new_runtime();
    none = mk(rt, &atom_type, 0);
    model_n = 0;
    for (int r = 0; r < MODEL_ROOTS; r++)
        model_roots[r] = -1;
    memset(objs, 0, sizeof objs);
    uint32_t dead = 0;
    for (int round = 0; round < 8 && model_n < MODEL_MAX - 800; round++) {
        add_objects(rt, 300 + rnd(400));
        rewire(400 + rnd(600));
        for (uint32_t k = rnd(MODEL_ROOTS / 2); k > 0; k--)
            set_root((int)rnd(MODEL_ROOTS), -1);
        check(&dead, false); /* what reference counting freed already */
        long found = om_gc_collect(rt, 2);
        assert_true(rt->gc->full_last.plain || found == 0);
        assert_int_equal(check(&dead, true), found);
        gc_check_clean(rt->gc);
    }
    for (int r = 0; r < MODEL_ROOTS; r++)
        set_root(r, -1);
    check(&dead, false);
    om_gc_collect(rt, 2);
    check(&dead, true);
    assert_int_equal(dead, model_n);
    om_decref(none);
    om_runtime_free(rt);
}

static void random_graphs_are_freed_the_plain_way(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++)
        run_seed(seed * 0x9e3779b97f4a7c15ull);
}

/* A chain of lists in cycles whose first member is referred to by the
 * last, blocks later: it waits for the end, and every member dies once. */
static void a_member_referred_to_from_a_later_block_waits(void **state)
{
    (void)state;
    enum { N = 3 * GC_FREE_BLOCK + 17 };
    om_runtime *rt = new_runtime();
    om_object *tags[N], *first = NULL, *prev = NULL;
    for (int i = 0; i < N; i++) {
        om_object *l = om_list_new(rt);
        tags[i] = mk(rt, &atom_type, 0);
        assert_int_equal(om_list_append(l, tags[i]), 0);
        if (prev)
            assert_int_equal(om_list_append(prev, l), 0);
        else
            first = l; /* our reference to it is dropped at the end */
        if (prev && prev != first)
            om_decref(prev);
        prev = l;
    }
    assert_int_equal(om_list_append(prev, first), 0); /* the last refers to the first */
    assert_int_equal(om_list_append(prev, prev), 0);  /* and to itself */
    om_decref(prev);
    om_decref(first);
    for (int i = 0; i < N; i++) {
        assert_int_equal(frees[id_of(tags[i])], 0);
        om_decref(tags[i]);
    }
    assert_int_equal(om_gc_collect(rt, 2), N);
    assert_true(rt->gc->full_last.plain);
    for (int i = 0; i < N; i++)
        assert_int_equal(frees[id_of(tags[i])], 1);
    om_runtime_free(rt);
}

static int weak_callbacks;
static void count_callback(om_object *ref, void *data)
{
    (void)ref;
    (void)data;
    weak_callbacks++;
}

/* A member with a weak reference or a finalizer due sends U the ordinary
 * way (weak references cleared first, finalizers run); a weak reference or
 * a finalizer on a survivor does not. */
static void members_that_need_a_step_go_the_ordinary_way(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = om_list_new(rt), *b = om_list_new(rt);
    assert_int_equal(om_list_append(a, b), 0);
    assert_int_equal(om_list_append(b, a), 0);
    om_object *alive = mk(rt, &fin_type, 0);
    om_object *weak_alive = om_weakref_new(rt, alive, NULL, NULL);
    om_object *weak = om_weakref_new(rt, a, count_callback, NULL);
    assert_non_null(weak);
    assert_non_null(weak_alive);
    om_decref(a);
    om_decref(b);
    weak_callbacks = 0;
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_false(rt->gc->full_last.plain);
    assert_int_equal(weak_callbacks, 1);
    om_decref(weak);

    om_object *c = mk(rt, &fin_type, 1), *d = om_list_new(rt);
    set_slot(c, 0, d);
    assert_int_equal(om_list_append(d, c), 0);
    uint32_t cid = id_of(c);
    om_decref(c);
    om_decref(d);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_false(rt->gc->full_last.plain);
    assert_int_equal(finals[cid], 1);
    assert_int_equal(frees[cid], 1);

    om_object *e = om_list_new(rt); /* the survivors need care, the garbage does not */
    assert_int_equal(om_list_append(e, e), 0);
    om_decref(e);
    assert_int_equal(om_gc_collect(rt, 2), 1);
    assert_true(rt->gc->full_last.plain);
    assert_int_equal(finals[id_of(alive)], 0);
    om_decref(weak_alive);
    om_decref(alive);
    om_runtime_free(rt);
}

static int frees_hooked;
static void hook_free(om_runtime *rt, om_object *o)
{
    (void)rt;
    (void)o;
    frees_hooked++;
}

/* With the tracer's hook on, the plain way gives every member to the
 * general release, which calls the hook (the bulk free would not); with it
 * off, the bulk free takes them all; either way each counts as released. */
static void the_tracers_hook_sees_every_plain_free(void **state)
{
    (void)state;
    enum { PAIRS = GC_FREE_BLOCK + 5 };
    om_runtime *rt = new_runtime();
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < PAIRS; i++) {
            om_object *l = om_list_new(rt);
            om_object *t = om_tuple_pack(rt, 1, l);
            assert_non_null(t);
            assert_int_equal(om_list_append(l, t), 0);
            om_decref(l);
            om_decref(t);
        }
        uint64_t released = rt->released;
        frees_hooked = 0;
        rt->trace_on_free = round == 0 ? hook_free : NULL;
        assert_int_equal(om_gc_collect(rt, 2), 2 * PAIRS);
        rt->trace_on_free = NULL;
        assert_true(rt->gc->full_last.plain);
        assert_int_equal(frees_hooked, round == 0 ? 2 * PAIRS : 0);
        assert_int_equal(rt->released - released, 2 * PAIRS);
    }
    om_runtime_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_graphs_are_freed_the_plain_way),
        cmocka_unit_test(a_member_referred_to_from_a_later_block_waits),
        cmocka_unit_test(members_that_need_a_step_go_the_ordinary_way),
        cmocka_unit_test(the_tracers_hook_sees_every_plain_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
