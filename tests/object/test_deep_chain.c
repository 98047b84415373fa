/* test_deep_chain.c: releasing chains of any depth runs in bounded C stack
 * and frees every object exactly once.  1M objects in every build, 10M in
 * unsanitized release builds. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

#if defined(OM_SANITIZED) || OM_DEBUG > 0
#define BIG 1000000
#else
#define BIG 10000000
#endif

/* A node: a reference to the next node, and an id. */
typedef struct node {
    om_object ob;
    om_object *next;
    int64_t id;
} node;

/* A box: a variable number of children, like a list. */
typedef struct box {
    om_object ob;
    size_t n;
    om_object *items[];
} box;

static unsigned char *freed; /* one byte per id */
static size_t freed_count, double_frees;
static uintptr_t stack_top, stack_low;

static void note_free(int64_t id)
{
    char here;
    uintptr_t sp = (uintptr_t)&here;
    if (sp < stack_low)
        stack_low = sp;
    if (freed[id]++)
        double_frees++;
    freed_count++;
}

static void node_dealloc(om_object *self)
{
    node *n = (node *)self;
    note_free(n->id);
    om_xdecref(n->next);
}

static int node_traverse(om_object *self, om_visitproc visit, void *arg)
{
    node *n = (node *)self;
    return n->next ? visit(n->next, arg) : 0;
}

static const om_type node_type = {
    .name = "node",
    .basicsize = sizeof(node),
    .flags = OM_TYPE_GC,
    .dealloc = node_dealloc,
    .traverse = node_traverse,
};

static void box_dealloc(om_object *self)
{
    box *b = (box *)self;
    for (size_t i = 0; i < b->n; i++)
        om_xdecref(b->items[i]);
}

static const om_type box_type = {
    .name = "box",
    .basicsize = sizeof(box),
    .itemsize = sizeof(om_object *),
    .flags = OM_TYPE_GC,
    .dealloc = box_dealloc,
};

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    /* The collector is not under test here (it has deep-chain tests of its
     * own); automatic collections over millions of live nodes would only
     * slow the build-up down. */
    if (rt)
        om_gc_disable(rt);
    freed = calloc(BIG + 1, 1);
    freed_count = double_frees = 0;
    return rt && freed ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    om_runtime_check(rt);
    om_runtime_free(rt);
    free(freed);
    return 0;
}

static void start_measure(void)
{
    char here;
    stack_top = stack_low = (uintptr_t)&here;
}

/* Stack used below the caller's frame, in bytes. */
static size_t stack_used(void)
{
    return stack_top - stack_low;
}

static om_object *build_chain(size_t n)
{
    om_object *head = NULL;
    for (size_t i = 0; i < n; i++) {
        node *x = (node *)om_new(rt, &node_type);
        assert_non_null(x);
        x->id = (int64_t)i;
        x->next = head; /* takes over the reference */
        head = &x->ob;
    }
    return head;
}

static void test_long_linked_list(void **state)
{
    (void)state;
    uint64_t total = om_runtime_total_refcount(rt);
    om_object *head = build_chain(BIG);
    start_measure();
    om_decref(head);
    assert_int_equal(freed_count, BIG);
    assert_int_equal(double_frees, 0);
    for (size_t i = 0; i < BIG; i++)
        assert_int_equal(freed[i], 1);
    assert_true(stack_used() < 256 * 1024);
    assert_int_equal(om_runtime_total_refcount(rt), total);
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    assert_true(st.deferred > 0);
    assert_true(st.max_release_depth <= 65);
}

static void test_nested_boxes(void **state)
{
    (void)state;
    /* [[[[...]]]]: each box holds the previous one and a node. */
    om_object *inner = NULL;
    size_t n = BIG / 2;
    for (size_t i = 0; i < n; i++) {
        box *b = (box *)om_new_var(rt, &box_type, 2);
        assert_non_null(b);
        node *x = (node *)om_new(rt, &node_type);
        assert_non_null(x);
        x->id = (int64_t)i;
        b->n = 2;
        b->items[0] = inner;
        b->items[1] = &x->ob;
        inner = &b->ob;
    }
    om_runtime_stats before;
    om_runtime_get_stats(rt, &before);
    start_measure();
    om_decref(inner);
    assert_int_equal(freed_count, n);
    assert_int_equal(double_frees, 0);
    assert_true(stack_used() < 256 * 1024);
    om_runtime_stats after;
    om_runtime_get_stats(rt, &after);
    assert_int_equal(before.objects - after.objects, 2 * n);
}

/* [[[[...]]]]: BIG lists, each holding the previous one (the builtin list:
 * its dealloc is the containers' code, the deferral is the object layer's).
 * Without the deferral this nests BIG releases and overflows the stack. */
static void test_nested_lists(void **state)
{
    (void)state;
    uint64_t total = om_runtime_total_refcount(rt);
    om_runtime_stats before, after;
    om_runtime_get_stats(rt, &before);
    om_object *inner = om_list_new(rt);
    assert_non_null(inner);
    for (size_t i = 1; i < BIG; i++) {
        om_object *outer = om_list_new(rt);
        assert_non_null(outer);
        assert_int_equal(om_list_append(outer, inner), 0);
        om_decref(inner);
        inner = outer;
    }
    om_decref(inner);
    om_runtime_get_stats(rt, &after);
    assert_int_equal(after.objects, before.objects);
    assert_int_equal(after.released - before.released, BIG);
    assert_true(after.max_release_depth <= 65);
    assert_int_equal(om_runtime_total_refcount(rt), total);
}

/* A binary tree built bottom-up: releases fan out, deferral interleaves. */
static void test_wide_tree(void **state)
{
    (void)state;
    size_t n = 1 << 16, next_id = 0;
    om_object **level = malloc(n * sizeof *level);
    for (size_t i = 0; i < n; i++) {
        node *x = (node *)om_new(rt, &node_type);
        x->id = (int64_t)next_id++;
        level[i] = &x->ob;
    }
    for (size_t width = n; width > 1; width /= 2) {
        for (size_t i = 0; i < width / 2; i++) {
            box *b = (box *)om_new_var(rt, &box_type, 2);
            b->n = 2;
            b->items[0] = level[2 * i];
            b->items[1] = level[2 * i + 1];
            level[i] = &b->ob;
        }
    }
    om_decref(level[0]);
    free(level);
    assert_int_equal(freed_count, n);
    assert_int_equal(double_frees, 0);
}

/* max_release_depth is exact, although releases no deeper than the
 * deepest seen so far take the fast path (release_limit): a chain of k
 * nodes nests k releases, a shorter one leaves the figure alone, and past
 * the deferral depth it stops at 65 (64 nested plus the deferred one). */
static void test_max_depth_is_exact(void **state)
{
    (void)state;
    static const size_t lengths[] = {1, 10, 3, 11, 64, 65, 1000, 5};
    static const uint32_t expect[] = {1, 10, 10, 11, 64, 65, 65, 65};
    uint64_t deferred = 0;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        freed_count = 0;
        memset(freed, 0, lengths[i]);
        om_decref(build_chain(lengths[i]));
        assert_int_equal(freed_count, lengths[i]);
        om_runtime_stats st;
        om_runtime_get_stats(rt, &st);
        assert_int_equal(st.max_release_depth, expect[i]);
        if (lengths[i] > 64) /* one deferral per 64 nodes past the first 64 */
            assert_int_equal(st.deferred - deferred, (lengths[i] - 64 + 63) / 64);
        else
            assert_int_equal(st.deferred, deferred);
        deferred = st.deferred;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_long_linked_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_boxes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_depth_is_exact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
