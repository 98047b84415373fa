/* Random graphs against a reachability model: after every full collection,
 * exactly the objects the model finds unreachable from the roots have been
 * freed, each once, and each finalizer ran at most once (exactly once for a
 * freed object with one).  Automatic collections run in between. */
#define MODEL_MAX   4096
#define MODEL_SLOTS 3
#include "model.h"
#include "gc/state.h"

static om_object *objs[MODEL_MAX]; /* valid while the model says reachable */
static uint32_t nslots[MODEL_MAX];
static bool is_fin[MODEL_MAX];

static void add_objects(om_runtime *rt, uint32_t count)
{
    for (uint32_t k = 0; k < count && model_n < MODEL_MAX; k++) {
        uint32_t n = rnd(MODEL_SLOTS + 1);
        bool fin = rnd(4) == 0;
        om_object *o = mk(rt, fin ? &fin_type : &node_type, n);
        uint32_t i = id_of(o);
        assert_int_equal(i, model_n);
        model_n++;
        objs[i] = o;
        nslots[i] = n;
        is_fin[i] = fin;
        for (uint32_t s = 0; s < MODEL_SLOTS; s++)
            model_edges[i][s] = -1;
        model_reach_of[i] = true;
        model_add_root(o); /* new objects become roots, replacing one */
    }
}

static void rewire(uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = model_random_reachable();
        if (nslots[i] == 0)
            continue;
        uint32_t s = rnd(nslots[i]);
        int j = rnd(5) == 0 ? -1 : (int)model_random_reachable();
        model_edges[i][s] = j;
        set_slot(objs[i], s, j < 0 ? NULL : objs[j]); /* may free what lost its last ref */
        model_reach();
    }
}

static void check_against_model(void)
{
    for (uint32_t i = 0; i < model_n; i++) {
        if (model_reach_of[i]) {
            if (frees[i] != 0)
                fail_msg("reachable object %u was freed", i);
            if (nslots[i] == 0)
                continue; /* no slot 0 to compare: reading it would run past the object */
            int j = model_edges[i][0];
            assert_ptr_equal(NODE(objs[i])->slot[0], j >= 0 ? objs[j] : NULL);
        } else {
            if (frees[i] != 1)
                fail_msg("unreachable object %u freed %u times", i, frees[i]);
            if (finals[i] != (is_fin[i] ? 1 : 0))
                fail_msg("object %u finalized %u times", i, finals[i]);
            objs[i] = NULL;
        }
    }
}

static void run_seed(uint64_t seed)
{
    omtest_srand(seed);
    om_runtime *rt = new_runtime();
    model_reset();
    memset(objs, 0, sizeof objs);
    om_gc_enable(rt);
    om_gc_set_threshold(rt, 1 + rnd(60), rnd(4), rnd(4));
    for (int round = 0; round < 12 && model_n < MODEL_MAX - 300; round++) {
        add_objects(rt, 100 + rnd(200));
        rewire(200 + rnd(300));
        for (uint32_t k = rnd(MODEL_ROOTS / 2); k > 0; k--)
            model_drop_root();
        om_gc_collect(rt, (int)rnd(3)); /* young ones keep old trash: no exact check */
        for (uint32_t i = 0; i < model_n; i++)
            if (model_reach_of[i] && frees[i])
                fail_msg("seed %llu: reachable object %u was freed", (unsigned long long)seed, i);
        om_gc_collect(rt, 2);
        check_against_model();
        gc_check_clean(rt->gc);
    }
    for (int r = 0; r < MODEL_ROOTS; r++)
        om_xdecref(model_roots[r]);
    om_gc_collect(rt, 2);
    for (uint32_t i = 0; i < model_n; i++)
        assert_int_equal(frees[i], 1);
    om_runtime_free(rt);
}

static void random_graphs_match_the_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++)
        run_seed(seed * 0x9e3779b97f4a7c15ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_graphs_match_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
