/* The collector and user code: finalizers (once, resurrection, mutation),
 * legacy finalizers and garbage, SAVEALL, weak references, callbacks, debug
 * output, pauses. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "nodes.h"
#include "gc/state.h"

static om_object *saved[8];
static uint32_t resurrect_id = UINT32_MAX;

static void resurrect_one(om_object *self)
{
    if (id_of(self) == resurrect_id) {
        om_incref(self);
        saved[0] = self;
    }
}

static om_object *cycle2(om_runtime *rt, const om_type *t, om_object **b_out)
{
    om_object *a = mk(rt, t, 2), *b = mk(rt, t, 2);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    if (b_out)
        *b_out = b;
    else
        om_decref(b);
    return a;
}

static void finalizers_run_once(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *a = cycle2(rt, &fin_type, NULL);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(finals[0], 1);
    assert_int_equal(finals[1], 1);
    assert_int_equal(frees[0], 1);
    assert_int_equal(frees[1], 1);
    om_runtime_free(rt);
}

static void resurrected_objects_survive_intact(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    fin_hook = resurrect_one;
    om_object *b;
    om_object *a = cycle2(rt, &fin_type, &b); /* ids 0, 1 */
    om_object *c = mk(rt, &node_type, 0);     /* id 2, reachable from b */
    set_slot(b, 1, c);
    om_object *q = cycle2(rt, &fin_type, NULL); /* ids 3, 4: plain trash */
    resurrect_id = 0;
    om_decref(a);
    om_decref(b);
    om_decref(c);
    om_decref(q);
    assert_int_equal(om_gc_collect(rt, 2), 2); /* only 3 and 4 were freed */
    assert_int_equal(frees[3] + frees[4], 2);
    assert_int_equal(frees[0] + frees[1] + frees[2], 0);
    assert_ptr_equal(saved[0], a);
    assert_ptr_equal(NODE(a)->slot[0], b); /* intact: not cleared */
    assert_ptr_equal(NODE(b)->slot[0], a);
    assert_ptr_equal(NODE(b)->slot[1], c);
    assert_int_equal(om_gc_is_finalized(a), 1);
    assert_int_equal(om_gc_is_finalized(b), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(finals[i], i == 2 ? 0 : 1);
    assert_int_equal(om_gc_collect(rt, 2), 0);
    saved[0] = NULL;
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 3);
    assert_int_equal(frees[0] + frees[1] + frees[2], 3);
    assert_int_equal(finals[0], 1); /* never again */
    assert_int_equal(finals[1], 1);
    resurrect_id = UINT32_MAX;
    om_runtime_free(rt);
}

static void legacy_finalizers_go_to_garbage(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *l = mk(rt, &legacy_type, 2), *n = mk(rt, &node_type, 2), *m = mk(rt, &node_type, 0);
    set_slot(l, 0, n);
    set_slot(n, 0, l);
    set_slot(n, 1, m);
    om_object *other = cycle2(rt, &node_type, NULL); /* ids 3, 4: collectable beside it */
    om_decref(l);
    om_decref(n);
    om_decref(m);
    om_decref(other);
    assert_int_equal(om_gc_collect(rt, 2), 5);
    om_gc_stats s;
    om_gc_get_stats(rt, &s);
    assert_int_equal(s.gen[2].uncollectable, 3);
    assert_int_equal(s.gen[2].collected, 2);
    assert_int_equal(om_gc_garbage_count(rt), 1);
    assert_int_equal(frees[0] + frees[1] + frees[2], 0);
    assert_int_equal(finals[0], 0); /* never run by the collector */
    assert_int_equal(frees[3] + frees[4], 2);
    assert_int_equal(om_gc_collect(rt, 2), 0); /* the garbage list holds it */
    assert_int_equal(om_gc_clear_garbage(rt), 1);
    assert_int_equal(om_gc_garbage_count(rt), 0);
    om_runtime_free(rt); /* teardown frees the leftover cycle */
    assert_int_equal(frees[0] + frees[1] + frees[2], 3);
}

static void saveall_keeps_everything(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_gc_set_debug(rt, OM_GC_DEBUG_SAVEALL);
    assert_int_equal(om_gc_get_debug(rt), OM_GC_DEBUG_SAVEALL);
    om_object *a = cycle2(rt, &fin_type, NULL);
    om_decref(a);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(om_gc_garbage_count(rt), 2);
    assert_int_equal(frees[0] + frees[1], 0);
    om_gc_set_debug(rt, 0);
    om_gc_clear_garbage(rt);
    assert_int_equal(om_gc_collect(rt, 2), 2);
    assert_int_equal(frees[0] + frees[1], 2);
    assert_int_equal(finals[0] + finals[1], 2); /* once each, in the first collection */
    om_runtime_free(rt);
}

/* ---- user code that changes the graph ------------------------------------------- */
static om_runtime *mut_rt;
static om_object *victim; /* reachable only from this C global */
static int nested_result = -7;

static void mutate(om_object *self)
{
    node *n = NODE(self);
    if (n->id == 0) {
        /* break the cycle and hand a member a brand-new young object */
        om_object *fresh = mk(mut_rt, &node_type, 1);
        set_slot(fresh, 0, fresh);
        set_slot(self, 1, fresh);
        om_decref(fresh);
        node_clear(n->slot[0] ? n->slot[0] : self);
        nested_result = (int)om_gc_collect(mut_rt, 2); /* refused: 0 */
        for (int i = 0; i < 2000; i++)                 /* allocations inside a collection */
            om_decref(mk(mut_rt, &node_type, 0));
    } else if (victim) {
        om_object *v = victim; /* frees an object the collector saw as reachable */
        victim = NULL;
        om_decref(v);
    }
}

static void finalizers_may_change_the_graph(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    mut_rt = rt;
    om_gc_enable(rt);
    om_gc_set_threshold(rt, 5, 1, 1);
    om_object *a = mk(rt, &fin_type, 2), *b = mk(rt, &fin_type, 2), *c = mk(rt, &fin_type, 2);
    set_slot(a, 0, b);
    set_slot(b, 0, c);
    set_slot(c, 0, a);
    victim = mk(rt, &node_type, 0);
    uint32_t vid = id_of(victim);
    om_gc_collect(rt, 2); /* everything old */
    fin_hook = mutate;
    om_decref(a);
    om_decref(b);
    om_decref(c);
    om_gc_collect(rt, 2);
    assert_int_equal(nested_result, 0);
    assert_int_equal(finals[0] + finals[1] + finals[2], 3);
    assert_int_equal(frees[vid], 1); /* dropped by a finalizer, mid-collection */
    fin_hook = NULL;
    om_gc_collect(rt, 2);
    om_gc_collect(rt, 2);
    assert_int_equal(frees[0] + frees[1] + frees[2], 3);
    assert_int_equal(frees[vid], 1);
    for (uint32_t i = 0; i < next_id; i++)
        assert_true(frees[i] <= 1);
    gc_check_clean(rt->gc);
    om_runtime_free(rt);
}

/* ---- weak references ----------------------------------------------------------------- */
static ob_weakref refs[4];
static int calls[4], order[4], n_calls;
static int all_cleared_at_first_call;

static void on_dead(ob_weakref *r, void *arg)
{
    int i = (int)(intptr_t)arg;
    if (n_calls == 0)
        all_cleared_at_first_call =
            !refs[0].target && !refs[1].target && !refs[2].target && !refs[3].target;
    calls[i]++;
    order[n_calls++] = i;
    assert_null(r->target);
}

static void weakrefs_cleared_before_callbacks(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    om_object *b;
    om_object *a = cycle2(rt, &node_type, &b);     /* 0, 1 */
    om_object *owner_dead = mk(rt, &node_type, 0); /* 2: part of the trash */
    set_slot(a, 1, owner_dead);
    om_object *owner_live = mk(rt, &node_type, 0); /* 3 */
    om_object *targets[4] = {a, b, a, b};
    om_object *owners[4] = {NULL, owner_live, owner_dead, NULL};
    memset(refs, 0, sizeof refs);
    memset(calls, 0, sizeof calls);
    n_calls = 0;
    for (int i = 0; i < 4; i++) {
        refs[i].target = targets[i];
        refs[i].owner = owners[i];
        refs[i].callback = on_dead;
        refs[i].arg = (void *)(intptr_t)i;
        assert_int_equal(ob_weakref_register(rt, &refs[i]), 0);
    }
    om_decref(a);
    om_decref(b);
    om_decref(owner_dead);
    assert_int_equal(om_gc_collect(rt, 2), 3);
    assert_int_equal(all_cleared_at_first_call, 1);
    assert_int_equal(calls[0], 1);
    assert_int_equal(calls[1], 1);
    assert_int_equal(calls[2], 0); /* its owner is trash: no callback */
    assert_int_equal(calls[3], 1);
    assert_int_equal(n_calls, 3);
    for (int i = 0; i < 4; i++)
        assert_null(refs[i].target);
    assert_int_equal(frees[0] + frees[1] + frees[2], 3);
    assert_int_equal(frees[3], 0);
    om_decref(owner_live);
    om_runtime_free(rt);
}

/* ---- gc callbacks ---------------------------------------------------------------------- */
typedef struct seen {
    int starts, stops, last_gen;
    size_t collected, candidates;
    long nested;
} seen;

static void on_gc(om_runtime *rt, const char *phase, const om_gc_info *info, void *data)
{
    seen *s = data;
    if (!strcmp(phase, "start")) {
        s->starts++;
        assert_int_equal(info->collected, 0);
        s->nested = om_gc_collect(rt, 2);
    } else {
        assert_string_equal(phase, "stop");
        s->stops++;
        s->collected = info->collected;
        s->candidates = info->candidates;
    }
    s->last_gen = info->generation;
}

static void callbacks_see_start_and_stop(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    seen s = {0};
    seen s2 = {0};
    assert_int_equal(om_gc_callback_add(rt, on_gc, &s), 0);
    assert_int_equal(om_gc_callback_add(rt, on_gc, &s2), 0);
    om_object *a = cycle2(rt, &node_type, NULL);
    om_decref(a);
    om_object *keep = mk(rt, &node_type, 0);
    assert_int_equal(om_gc_collect(rt, 1), 2);
    assert_int_equal(s.starts, 1);
    assert_int_equal(s.stops, 1);
    assert_int_equal(s.last_gen, 1);
    assert_int_equal(s.collected, 2);
    assert_true(s.candidates >= 3);
    assert_int_equal(s.nested, 0);
    assert_int_equal(s2.stops, 1);
    assert_int_equal(om_gc_callback_remove(rt, on_gc, &s), 0);
    assert_int_equal(om_gc_callback_remove(rt, on_gc, &s), -1);
    om_gc_collect(rt, 0);
    assert_int_equal(s.stops, 1);
    assert_int_equal(s2.stops, 2);
    assert_int_equal(om_gc_callback_add(rt, NULL, NULL), -1);
    om_decref(keep);
    om_runtime_free(rt);
}

/* ---- debug output and pauses ------------------------------------------------------------- */
static void debug_flags_print_lines(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    char path[] = "/tmp/objmem-gc-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved_err = dup(2);
    dup2(fd, 2);
    om_gc_set_debug(rt, OM_GC_DEBUG_STATS | OM_GC_DEBUG_COLLECTABLE | OM_GC_DEBUG_UNCOLLECTABLE);
    om_object *a = cycle2(rt, &node_type, NULL);
    om_decref(a);
    om_object *l = mk(rt, &legacy_type, 1);
    set_slot(l, 0, l);
    om_decref(l);
    om_gc_collect(rt, 2);
    dup2(saved_err, 2);
    close(saved_err);
    char buf[4096] = {0};
    lseek(fd, 0, SEEK_SET);
    assert_true(read(fd, buf, sizeof buf - 1) > 0);
    close(fd);
    unlink(path);
    assert_non_null(strstr(buf, "collecting generation 2"));
    assert_non_null(strstr(buf, "collectable <node at"));
    assert_non_null(strstr(buf, "uncollectable <legacy at"));
    assert_non_null(strstr(buf, "3 unreachable, 1 uncollectable"));
    om_gc_set_debug(rt, 0);
    om_runtime_free(rt);
}

static void pauses_are_recorded(void **state)
{
    (void)state;
    om_runtime *rt = new_runtime();
    for (int i = 0; i < 20; i++)
        om_gc_collect(rt, i % 3);
    om_gc_enable(rt);
    om_gc_set_threshold(rt, 10, 100, 100);
    for (int i = 0; i < 100; i++)
        om_decref(mk(rt, &node_type, 0));
    for (int i = 0; i < 100; i++)
        (void)mk(rt, &node_type, 0);
    om_gc_pauses p;
    om_gc_get_pauses(rt, &p);
    assert_int_equal(p.manual[0].count, 7);
    assert_int_equal(p.manual[1].count, 7);
    assert_int_equal(p.manual[2].count, 6);
    assert_true(p.automatic[0].count >= 5);
    for (int g = 0; g < 3; g++) {
        assert_true(p.manual[g].p50_ns <= p.manual[g].p99_ns);
        assert_true(p.manual[g].p99_ns <= p.manual[g].max_ns);
        assert_true(p.manual[g].max_ns <= p.manual[g].total_ns);
        assert_true(p.manual[g].max_ns > 0);
    }
    om_runtime_free(rt);
}

static void pause_histogram_percentiles(void **state)
{
    (void)state;
    static gc_pause_hist h;
    memset(&h, 0, sizeof h);
    for (uint64_t i = 1; i <= 1000; i++)
        gc_pause_add(&h, i * 1000, i * 500); /* 1 us .. 1 ms */
    om_gc_pause_stats s;
    gc_pause_summarize(&h, &s);
    assert_int_equal(s.count, 1000);
    assert_int_equal(s.max_ns, 1000000);
    assert_true(s.p50_ns >= 500000 - 500000 / 16 && s.p50_ns <= 500000 + 500000 / 16);
    assert_true(s.p99_ns >= 990000 - 990000 / 16 && s.p99_ns <= 1000000);
    assert_int_equal(s.cpu_max_ns, 500000);
    assert_true(s.cpu_p99_ns >= 495000 - 495000 / 16 && s.cpu_p99_ns <= 500000);
    gc_pause_add(&h, 7, 7);
    gc_pause_add(&h, (uint64_t)1 << 50, 1);
    gc_pause_summarize(&h, &s);
    assert_int_equal(s.max_ns, (uint64_t)1 << 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finalizers_run_once),
        cmocka_unit_test(resurrected_objects_survive_intact),
        cmocka_unit_test(legacy_finalizers_go_to_garbage),
        cmocka_unit_test(saveall_keeps_everything),
        cmocka_unit_test(finalizers_may_change_the_graph),
        cmocka_unit_test(weakrefs_cleared_before_callbacks),
        cmocka_unit_test(callbacks_see_start_and_stop),
        cmocka_unit_test(debug_flags_print_lines),
        cmocka_unit_test(pauses_are_recorded),
        cmocka_unit_test(pause_histogram_percentiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
