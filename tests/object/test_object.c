/* test_object.c: om_new, reference counting, immortals, OM_AUTO, the generic
 * protocol and the abort paths of the object layer. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "object/object.h"

/* A user type: a node with one reference and a dealloc counter. */
typedef struct node {
    om_object ob;
    om_object *next;
    int64_t id;
} node;

static int deallocs;

static void node_dealloc(om_object *self)
{
    deallocs++;
    om_xdecref(((node *)self)->next);
}

static const om_type node_type = {
    .name = "node",
    .basicsize = sizeof(node),
    .dealloc = node_dealloc,
};

static const om_type gc_node_type = {
    .name = "gcnode",
    .basicsize = sizeof(node),
    .flags = OM_TYPE_GC,
    .dealloc = node_dealloc,
};

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    deallocs = 0;
    return rt ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    om_runtime_check(rt);
    om_runtime_free(rt);
    rt = NULL;
    return 0;
}

static void test_header_is_16_bytes(void **state)
{
    (void)state;
    assert_int_equal(sizeof(om_object), 16);
    om_object *a = om_new(rt, &node_type);
    om_object *b = om_new(rt, &gc_node_type);
    assert_int_equal(om_usable_size(a), 32); /* 16 header + 16 fields */
    assert_int_equal(om_usable_size(b), 32); /* tracked: no extra bytes */
    om_decref(a);
    om_decref(b);
}

static void test_new_sets_header_and_zero_fills(void **state)
{
    (void)state;
    uint64_t before = om_runtime_total_refcount(rt);
    node *n = (node *)om_new(rt, &gc_node_type);
    assert_non_null(n);
    assert_ptr_equal(n->ob.ob_type, &gc_node_type);
    assert_int_equal(om_refcnt(&n->ob), 1);
    assert_true(n->ob.ob_gc & OM_GC_TRACKED);
    assert_null(n->next);
    assert_int_equal(n->id, 0);
    assert_ptr_equal(om_runtime_of(&n->ob), rt);
    assert_int_equal(om_runtime_total_refcount(rt), before + 1);
    om_object *plain = om_new(rt, &node_type);
    assert_false(plain->ob_gc & OM_GC_TRACKED);
    om_decref(plain);
    om_decref(&n->ob);
    assert_int_equal(deallocs, 2);
    assert_int_equal(om_runtime_total_refcount(rt), before);
}

static void test_refcount_and_release(void **state)
{
    (void)state;
    node *a = (node *)om_new(rt, &node_type);
    node *b = (node *)om_new(rt, &node_type);
    a->next = &b->ob; /* a takes over the creation reference of b */
    om_incref(&a->ob);
    assert_int_equal(om_refcnt(&a->ob), 2);
    om_decref(&a->ob);
    assert_int_equal(deallocs, 0);
    om_xincref(NULL);
    om_xdecref(NULL);
    om_decref(&a->ob);
    assert_int_equal(deallocs, 2);
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    assert_int_equal(st.allocated - st.released, st.objects);
}

static void test_immortal(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &node_type);
    om_make_immortal(o);
    assert_true(om_is_immortal(o));
    uint64_t total = om_runtime_total_refcount(rt);
    for (int i = 0; i < 10; i++)
        om_decref(o);
    om_incref(o);
    assert_true(om_is_immortal(o));
    assert_int_equal(deallocs, 0);
    assert_int_equal(om_runtime_total_refcount(rt), total); /* immortals are not summed */
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    assert_true(st.immortals >= 1);
    /* freed by the runtime's teardown: the dealloc runs then */
}

static void test_saturating_count_becomes_immortal(void **state)
{
    (void)state;
    om_object *o = om_new(rt, &node_type);
    o->ob_refcnt = OM_IMMORTAL_REFCNT - 1;
    om_incref(o);
    assert_true(om_is_immortal(o));
    om_incref(o);
    assert_int_equal(om_refcnt(o), OM_IMMORTAL_REFCNT);
}

static void scoped(int *seen)
{
    OM_AUTO om_object *a = om_new(rt, &node_type);
    OM_AUTO om_object *none = NULL;
    (void)none;
    assert_non_null(a);
    *seen = deallocs;
}

static void test_auto_release(void **state)
{
    (void)state;
    int seen = -1;
    scoped(&seen);
    assert_int_equal(seen, 0);
    assert_int_equal(deallocs, 1);
}

static void test_protocol_defaults(void **state)
{
    (void)state;
    om_object *a = om_new(rt, &node_type);
    om_object *b = om_new(rt, &node_type);
    assert_int_equal(om_equal(a, a), 1);
    assert_int_equal(om_equal(a, b), 0); /* identity without an equal hook */
    assert_int_equal(om_equal(a, NULL), -1);
    om_error_clear();
    assert_int_equal(om_hash(a), (om_hash_t)-1);
    assert_non_null(strstr(om_error_message(), "unhashable type: 'node'"));
    char buf[64];
    size_t n = om_repr(a, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "<node object at 0x"));
    char tiny[4];
    assert_int_equal(om_repr(a, tiny, sizeof tiny), n);
    assert_int_equal(strlen(tiny), 3);
    assert_string_equal(om_type_name(a), "node");
    assert_string_equal(om_type_name(NULL), "NULL");
    assert_true(om_type_check(a, &node_type));
    assert_false(om_type_check(a, &gc_node_type));
    om_decref(a);
    om_decref(b);
}

static void test_new_errors(void **state)
{
    (void)state;
    static const om_type tiny = {.name = "tiny", .basicsize = 8};
    static const om_type huge_items = {.name = "huge", .basicsize = 16, .itemsize = 1u << 20};
    om_error_clear();
    assert_null(om_new(rt, &tiny));
    assert_non_null(strstr(om_error_message(), "smaller than the object header"));
    assert_null(om_new(NULL, &node_type));
    assert_non_null(strstr(om_error_message(), "runtime is NULL"));
    assert_null(om_new(rt, NULL));
    assert_null(om_new_var(rt, &huge_items, SIZE_MAX / 2));
    assert_non_null(strstr(om_error_message(), "too large"));
    assert_int_equal(om_var_size(&huge_items, SIZE_MAX / 2), 0);
    assert_null(ob_mem_calloc(rt, SIZE_MAX / 2, 4));
    assert_non_null(strstr(om_error_message(), "overflows"));
    assert_int_equal(om_hash(NULL), (om_hash_t)-1);
    assert_non_null(strstr(om_error_message(), "NULL"));
    void *p = ob_mem_realloc(rt, NULL, 100); /* realloc(NULL) allocates */
    assert_non_null(p);
    ob_mem_free(rt, p);
    ob_mem_free(rt, NULL);
    assert_int_equal(om_var_size(&huge_items, 2), 16 + (2u << 20));
}

static void test_var_sized(void **state)
{
    (void)state;
    static const om_type vec = {.name = "vec", .basicsize = 24, .itemsize = 8};
    om_object *v = om_new_var(rt, &vec, 100);
    assert_non_null(v);
    assert_true(om_usable_size(v) >= 24 + 800);
    unsigned char *p = (unsigned char *)v + 16;
    for (size_t i = 0; i < 808; i++)
        assert_int_equal(p[i], 0);
    om_decref(v);
}

/* om_new zeroes the body of every size, on fresh blocks and on blocks
 * freed dirty, and never past its own block: the fast path zeroes up to
 * the 16-byte granule (a plain pool's blocks are whole granules), bodies
 * over 32 bytes by a call.  Neighbours filled with a pattern keep it. */
static void test_new_zero_fills_every_size(void **state)
{
    (void)state;
    static const size_t sizes[] = {16, 17, 24, 31,  32,  33,  40,  47,  48,  49,   56,   63,
                                   64, 65, 80, 100, 128, 129, 200, 512, 520, 1000, 2000, 5000};
    enum { N = 8 };
    for (size_t k = 0; k < OM_ARRAY_LEN(sizes); k++) {
        om_type type = {.name = "blob", .basicsize = sizes[k]};
        size_t body = sizes[k] - sizeof(om_object);
        om_object *o[N];
        for (int i = 0; i < N; i++) {
            o[i] = om_new(rt, &type);
            assert_non_null(o[i]);
            const unsigned char *b = (const unsigned char *)(o[i] + 1);
            for (size_t j = 0; j < body; j++)
                assert_int_equal(b[j], 0);
            memset(o[i] + 1, 0x5a, om_usable_size(o[i]) - sizeof(om_object));
        }
        for (int i = 0; i < N; i += 2) /* every other block freed dirty ... */
            om_decref(o[i]);
        for (int i = 0; i < N; i += 2) { /* ... and handed out again */
            o[i] = om_new(rt, &type);
            const unsigned char *b = (const unsigned char *)(o[i] + 1);
            for (size_t j = 0; j < body; j++)
                assert_int_equal(b[j], 0);
        }
        for (int i = 1; i < N; i += 2) { /* the neighbours kept every byte */
            const unsigned char *b = (const unsigned char *)(o[i] + 1);
            for (size_t j = 0; j < om_usable_size(o[i]) - sizeof(om_object); j++)
                assert_int_equal(b[j], 0x5a);
        }
        for (int i = 0; i < N; i++)
            om_decref(o[i]);
    }
}

/* Objects of every tier are released and counted the same way: pools of
 * one slot (the common case, found by one lookup), medium pools whose
 * objects lie past their first slot, and large objects (both found by the
 * heap's slow lookup). */
static void test_release_of_every_tier(void **state)
{
    (void)state;
    static const om_type medium = {.name = "medium", .basicsize = 10000, .dealloc = node_dealloc};
    static const om_type vec = {.name = "vec", .basicsize = 24, .itemsize = 8};
    enum { N = 40 }; /* 10 KiB blocks: pools of 8 of them span two slots */
    om_runtime_stats before, after;
    om_runtime_get_stats(rt, &before);
    om_object *m[N];
    int past_first_slot = 0;
    for (int i = 0; i < N; i++) {
        assert_non_null(m[i] = om_new(rt, &medium));
        hp_pool *slot;
        past_first_slot += hp_heap_lookup(m[i], &slot) == NULL;
    }
    assert_true(past_first_slot > 0);
    om_object *big = om_new_var(rt, &vec, 40000); /* 320 KiB: a large block */
    assert_non_null(big);
    assert_ptr_equal(om_runtime_of(big), rt);
    for (int i = 0; i < N; i++)
        om_decref(m[i]);
    om_decref(big);
    assert_int_equal(deallocs, N);
    om_runtime_get_stats(rt, &after);
    assert_int_equal(after.allocated - before.allocated, N + 1);
    assert_int_equal(after.released - before.released, N + 1);
    assert_int_equal(after.objects, before.objects);
    long debug_heap = 0;
    om_option_get("debug", &debug_heap);
    size_t blocks, bytes;
    hp_heap_usage(rt->heap, &blocks, &bytes);
    if (!debug_heap) /* whose quarantine keeps freed blocks for a while */
        assert_int_equal(blocks, after.objects + after.freelist_blocks);
}

/* ---- death tests ---------------------------------------------------------- */

static void decref_below_zero(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &node_type);
    o->ob_refcnt = 0; /* a count that is already wrong */
    om_decref(o);
}

static void test_refcount_below_zero_aborts(void **state)
{
    (void)state;
    const char *out = omtest_expect_abort(decref_below_zero, NULL, "would go below zero");
    assert_non_null(strstr(out, "type node"));
    assert_non_null(strstr(out, "count 0"));
    assert_non_null(strstr(out, "0x"));
}

static void decref_freed(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *keep = om_new(r, &node_type); /* keeps the pool alive */
    om_object *o = om_new(r, &node_type);
    om_decref(o);
    om_decref(o); /* o is freed */
    (void)keep;
}

static void test_decref_of_freed_object_aborts(void **state)
{
    (void)state;
    long debug_heap = 0;
    om_option_get("debug", &debug_heap);
    if (debug_heap)
        skip(); /* the debug heap fills freed blocks: their count reads as immortal */
    omtest_expect_abort(decref_freed, NULL, "freed object");
}

static void decref_foreign(void *arg)
{
    (void)arg;
    static om_object fake = {&node_type, 1, 0};
    om_decref(&fake);
}

static void test_release_of_foreign_object_aborts(void **state)
{
    (void)state;
    omtest_expect_abort(decref_foreign, NULL, "not in any runtime's heap");
}

/* A buffer of the runtime's buffer heap dressed up as an object: that heap
 * has no owner, so no runtime is found for it, and the release says so
 * (the release's one lookup is no licence to free, or keep, anywhere). */
static void release_buffer_as_object(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *fake = ob_mem_alloc(r, sizeof(node));
    memset(fake, 0, sizeof(node));
    fake->ob_type = &node_type;
    fake->ob_refcnt = 1;
    om_decref(fake);
}

static void test_release_of_a_buffer_aborts(void **state)
{
    (void)state;
    omtest_expect_abort(release_buffer_as_object, NULL, "not in any runtime's heap of objects");
}

static void check_flag_without_record(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &node_type);
    o->ob_gc |= OM_GC_WEAKREFS;
    om_runtime_check(r);
}

static void check_zero_count(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &gc_node_type);
    o->ob_refcnt = 0;
    om_runtime_check(r);
}

static void check_tracked_plain(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &node_type);
    o->ob_gc |= OM_GC_TRACKED;
    om_runtime_check(r);
}

static void test_runtime_check_finds_broken_invariants(void **state)
{
    (void)state;
    om_runtime *r = om_runtime_new(NULL);
    om_object *o = om_new(r, &gc_node_type);
    assert_true(om_runtime_check(r) >= 1);
    om_decref(o);
    om_runtime_free(r);
    omtest_expect_abort(check_flag_without_record, NULL, "OM_GC_WEAKREFS set but no weak");
    omtest_expect_abort(check_zero_count, NULL, "reference count of 0");
    omtest_expect_abort(check_tracked_plain, NULL, "not OM_TYPE_GC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_is_16_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_sets_header_and_zero_fills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcount_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_immortal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saturating_count_becomes_immortal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_var_sized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_zero_fills_every_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_of_every_tier, setup, teardown),
        cmocka_unit_test(test_refcount_below_zero_aborts),
        cmocka_unit_test(test_release_of_a_buffer_aborts),
        cmocka_unit_test(test_decref_of_freed_object_aborts),
        cmocka_unit_test(test_release_of_foreign_object_aborts),
        cmocka_unit_test(test_runtime_check_finds_broken_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
