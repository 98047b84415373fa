/* test_release.c: release at zero: finalizers (once, resurrection), weak
 * reference records and their callbacks, the hooks of higher layers, free
 * lists. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "object/private.h"

typedef struct thing {
    om_object ob;
    om_object *child;
    int id;
} thing;

static int finalized, deallocated;
static om_object *rescued; /* where a resurrecting finalizer stores itself */
static bool resurrect;

static void thing_finalize(om_object *self)
{
    finalized++;
    if (resurrect) {
        om_incref(self);
        rescued = self;
    }
}

static void thing_dealloc(om_object *self)
{
    deallocated++;
    om_xdecref(((thing *)self)->child);
}

static const om_type fin_type = {
    .name = "fin",
    .basicsize = sizeof(thing),
    .flags = OM_TYPE_GC,
    .dealloc = thing_dealloc,
    .finalize = thing_finalize,
};

static const om_type plain_type = {
    .name = "plain",
    .basicsize = sizeof(thing),
    .dealloc = thing_dealloc,
};

static const om_type pooled_type = {
    .name = "pooled",
    .basicsize = sizeof(thing),
    .flags = OM_TYPE_FREELIST,
    .dealloc = thing_dealloc,
};

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    finalized = deallocated = 0;
    resurrect = false;
    rescued = NULL;
    rt = om_runtime_new(NULL);
    return rt ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    om_runtime_check(rt);
    om_runtime_free(rt);
    return 0;
}

static void test_finalizer_runs_once(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &fin_type);
    om_decref(o);
    assert_int_equal(finalized, 1);
    assert_int_equal(deallocated, 1);
}

static void test_resurrection(void **state)
{
    (void)state;
    uint64_t total = om_runtime_total_refcount(rt);
    resurrect = true;
    om_object *o = om_new(rt, &fin_type);
    om_decref(o);
    assert_int_equal(finalized, 1);
    assert_int_equal(deallocated, 0);
    assert_ptr_equal(rescued, o);
    assert_int_equal(om_refcnt(o), 1);
    assert_true(o->ob_gc & OM_GC_FINALIZED);
    assert_int_equal(om_runtime_total_refcount(rt), total + 1);
    /* The second death frees it without finalizing again (PEP 442). */
    om_decref(rescued);
    assert_int_equal(finalized, 1);
    assert_int_equal(deallocated, 1);
    assert_int_equal(om_runtime_total_refcount(rt), total);
}

static void test_finalizer_in_a_deep_chain(void **state)
{
    (void)state;
    om_object *head = NULL;
    for (int i = 0; i < 1000; i++) {
        thing *t = (thing *)om_new(rt, &fin_type);
        t->child = head;
        head = &t->ob;
    }
    om_decref(head);
    assert_int_equal(finalized, 1000);
    assert_int_equal(deallocated, 1000);
}

/* ---- weak references ---------------------------------------------------------- */

typedef struct probe {
    ob_weakref ref;
    int calls;
    om_object *seen_target; /* what the record said during the callback */
    int order;
} probe;

static int call_order;

static void on_dead(ob_weakref *ref, void *arg)
{
    probe *p = arg;
    assert_ptr_equal(&p->ref, ref);
    p->calls++;
    p->seen_target = ob_weakref_target(ref);
    p->order = ++call_order;
}

static void watch(probe *p, om_object *target, bool callback)
{
    memset(p, 0, sizeof *p);
    p->ref.target = target;
    p->ref.callback = callback ? on_dead : NULL;
    p->ref.arg = p;
    assert_int_equal(ob_weakref_register(rt, &p->ref), 0);
}

static void test_weakref_cleared_then_callback(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &plain_type);
    probe a, b, c;
    call_order = 0;
    watch(&a, o, true);
    watch(&b, o, true);
    watch(&c, o, false);
    assert_true(o->ob_gc & OM_GC_WEAKREFS);
    assert_int_equal(ob_weakref_count(rt, o), 3);
    assert_ptr_equal(ob_weakref_target(&a.ref), o);
    om_decref(o);
    assert_int_equal(deallocated, 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 0);
    assert_null(a.seen_target); /* cleared before any callback ran */
    assert_null(ob_weakref_target(&c.ref));
    assert_int_equal(b.order, 1); /* newest first */
    assert_int_equal(a.order, 2);
    ob_weakref_unregister(rt, &a.ref); /* after death: nothing to do */
}

static void test_weakref_unregister(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &plain_type);
    probe a, b;
    watch(&a, o, true);
    watch(&b, o, true);
    ob_weakref_unregister(rt, &a.ref);
    assert_null(ob_weakref_target(&a.ref));
    assert_int_equal(ob_weakref_count(rt, o), 1);
    assert_true(o->ob_gc & OM_GC_WEAKREFS);
    ob_weakref_unregister(rt, &b.ref);
    assert_false(o->ob_gc & OM_GC_WEAKREFS);
    om_decref(o);
    assert_int_equal(a.calls + b.calls, 0);
}

static void test_weakref_table_many_targets(void **state)
{
    (void)state;
    enum { N = 2000 };
    om_object **objs = malloc(N * sizeof *objs);
    probe *probes = malloc(N * sizeof *probes);
    for (int i = 0; i < N; i++) {
        objs[i] = om_new(rt, &plain_type);
        watch(&probes[i], objs[i], true);
    }
    for (int i = 0; i < N; i += 2) /* every other record goes early */
        ob_weakref_unregister(rt, &probes[i].ref);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ob_weakref_count(rt, objs[i]), i % 2);
        om_decref(objs[i]);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(probes[i].calls, i % 2);
    assert_int_equal(rt->weakrefs.used, 0);
    free(objs);
    free(probes);
}

static bool keep_odd(ob_weakref *r, void *arg)
{
    (void)arg;
    return ((probe *)r->arg)->order % 2 == 1;
}

static void test_weakref_two_step_clear(void **state)
{
    (void)state;
    /* What the collector does: clear all first, filter, then run. */
    om_object *x = om_new(rt, &plain_type);
    om_object *owner = om_new(rt, &plain_type); /* stands for a weakref object */
    probe p[4];
    for (int i = 0; i < 4; i++) {
        watch(&p[i], x, true);
        p[i].ref.owner = owner;
        p[i].order = i; /* used by keep_odd */
    }
    ob_weakref_pending pending = {NULL, NULL};
    ob_weakref_clear(rt, x, &pending);
    assert_false(x->ob_gc & OM_GC_WEAKREFS);
    assert_int_equal(om_refcnt(owner), 5); /* each queued callback holds the owner */
    ob_weakref_filter(&pending, keep_odd, NULL);
    assert_int_equal(om_refcnt(owner), 3);
    for (int i = 0; i < 4; i++)
        assert_null(ob_weakref_target(&p[i].ref));
    call_order = 100;
    ob_weakref_run(&pending);
    assert_null(pending.head);
    assert_int_equal(om_refcnt(owner), 1);
    assert_int_equal(p[0].calls + p[2].calls, 0);
    assert_int_equal(p[1].calls + p[3].calls, 2);
    om_decref(x);
    om_decref(owner);
}

static void test_weakref_register_out_of_memory(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &plain_type);
    ob_weakref ref = {.target = o};
    om_heap_fail_after(1); /* the table's first allocation */
    assert_int_equal(ob_weakref_register(rt, &ref), -1);
    om_heap_fail_after(0);
    assert_non_null(strstr(om_error_message(), "cannot register a weak reference to a plain"));
    assert_false(o->ob_gc & OM_GC_WEAKREFS);
    assert_int_equal(ob_weakref_register(rt, &ref), 0); /* the runtime is still usable */
    om_decref(o);
    assert_null(ob_weakref_target(&ref));
}

/* ---- hooks of the higher layers -------------------------------------------------- */

static int collections, frees_seen, news_seen;
static bool was_releasing;

static void on_alloc(om_runtime *r)
{
    collections++;
    was_releasing = ob_releasing(r);
    r->young_count = 0;
}

static void on_free(om_runtime *r, om_object *o)
{
    (void)r;
    (void)o;
    frees_seen++;
}

static void on_new(om_runtime *r, om_object *o)
{
    (void)r;
    (void)o;
    news_seen++;
}

static const om_type gc_plain_type = {
    .name = "gcplain",
    .basicsize = sizeof(thing),
    .flags = OM_TYPE_GC,
    .dealloc = thing_dealloc,
};

static void test_gc_trigger_and_free_hook(void **state)
{
    (void)state;
    collections = frees_seen = 0;
    void (*saved_alloc)(om_runtime *) = rt->gc_on_alloc;
    void (*saved_free)(om_runtime *, om_object *) = rt->gc_on_free;
    int64_t saved_threshold = rt->young_threshold;
    rt->gc_on_alloc = on_alloc;
    rt->gc_on_free = on_free;
    rt->young_count = 0;
    rt->young_threshold = 10;
    om_object *objs[25];
    for (int i = 0; i < 25; i++)
        objs[i] = om_new(rt, &gc_plain_type);
    assert_int_equal(collections, 2); /* at the 12th and the 23rd */
    assert_false(was_releasing);
    om_object *plain = om_new(rt, &plain_type); /* not a GC type: no count */
    assert_int_equal(rt->young_count, 3);
    objs[0]->ob_gc |= 0x20u; /* a phase bit: the collector wants to hear */
    for (int i = 0; i < 25; i++)
        om_decref(objs[i]);
    assert_int_equal(frees_seen, 1);
    assert_int_equal(rt->young_count, 0); /* deallocations count down, not below 0 */
    om_decref(plain);
    rt->gc_on_alloc = saved_alloc;
    rt->gc_on_free = saved_free;
    rt->young_threshold = saved_threshold;
}

/* A dealloc that allocates GC objects must not start a collection. */
static void allocating_dealloc(om_object *self)
{
    (void)self;
    om_object *tmp = om_new(rt, &gc_plain_type);
    om_decref(tmp);
}

static const om_type alloc_in_dealloc_type = {
    .name = "allocating",
    .basicsize = sizeof(thing),
    .dealloc = allocating_dealloc,
};

static void test_no_collection_during_release(void **state)
{
    (void)state;
    collections = 0;
    void (*saved)(om_runtime *) = rt->gc_on_alloc;
    rt->gc_on_alloc = on_alloc;
    rt->young_count = 100;
    int64_t saved_threshold = rt->young_threshold;
    rt->young_threshold = 0;
    om_object *o = om_new(rt, &alloc_in_dealloc_type);
    om_decref(o);
    assert_int_equal(collections, 0);
    rt->gc_on_alloc = saved;
    rt->young_threshold = saved_threshold;
}

static void test_trace_hooks(void **state)
{
    (void)state;
    news_seen = frees_seen = 0;
    rt->trace_on_new = on_new;
    rt->trace_on_free = on_free;
    om_object *o = om_new(rt, &plain_type);
    om_decref(o);
    rt->trace_on_new = NULL;
    rt->trace_on_free = NULL;
    assert_int_equal(news_seen, 1);
    assert_int_equal(frees_seen, 1);
}

/* ---- free lists ----------------------------------------------------------------- */

static void test_freelist_reuses_blocks(void **state)
{
    (void)state;
    om_object *a = om_new(rt, &pooled_type);
    void *addr = a;
    om_decref(a);
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    assert_true(st.freelist_blocks >= 1);
    assert_ptr_equal(((om_object *)addr)->ob_type, &ob_freelist_type);
    assert_false(ob_is_object(addr));
    uint64_t total = om_runtime_total_refcount(rt); /* parked blocks are not counted */
    thing *b = (thing *)om_new(rt, &pooled_type);
    assert_ptr_equal(b, addr); /* last in, first out */
    assert_null(b->child);     /* zero-filled again */
    assert_int_equal(om_runtime_total_refcount(rt), total + 1);
    om_decref(&b->ob);
    om_runtime_clear_freelists(rt);
    om_runtime_get_stats(rt, &st);
    assert_int_equal(st.freelist_blocks, 0);
}

static void test_freelist_is_bounded(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    size_t limit = rt->freelists[ob_freelist_class(pooled_type.basicsize)].limit;
    size_t n = limit + 1000;
    om_object **objs = om_malloc(n * sizeof *objs);
    assert_non_null(objs);
    for (size_t i = 0; i < n; i++)
        objs[i] = om_new(rt, &pooled_type);
    for (size_t i = 0; i < n; i++)
        om_decref(objs[i]);
    om_free(objs);
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    assert_int_equal(st.freelist_blocks, limit);
    assert_int_equal(limit, OB_FREELIST_MAX_BYTES / ((pooled_type.basicsize + 15) & ~(size_t)15));
}

static void decref_parked(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &pooled_type);
    om_decref(o);
    om_decref(o); /* o's block is parked on the free list */
}

static void test_decref_of_parked_block_aborts(void **state)
{
    (void)state;
    omtest_expect_abort(decref_parked, NULL, "freed object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_finalizer_runs_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resurrection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalizer_in_a_deep_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weakref_cleared_then_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weakref_unregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weakref_table_many_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weakref_two_step_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weakref_register_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_trigger_and_free_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_collection_during_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_hooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freelist_reuses_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freelist_is_bounded, setup, teardown),
        cmocka_unit_test(test_decref_of_parked_block_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
