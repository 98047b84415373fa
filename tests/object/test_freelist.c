/* test_freelist.c: the free lists' classes (a fixed-size type parks by its
 * basicsize, a variable-sized one by its block's size, and every parked block
 * serves any request of its class), the split between the fast and the
 * general release path, and the young count kept by both. */
#include "omtest.h"
#include "objmem.h"
#include "object/private.h"
#include "rt_fixture.h"

typedef struct small {
    om_object ob;
    int64_t value; /* 24 bytes: a 32-byte block, like an int */
} small;

typedef struct pair {
    om_object ob;
    om_object *a, *b; /* 32 bytes */
} pair;

typedef struct vec {
    om_object ob;
    int64_t items[]; /* 16 + 8 * n bytes */
} vec;

static int finalized;

static void pair_dealloc(om_object *self)
{
    pair *p = (pair *)self;
    om_xdecref(p->a);
    om_xdecref(p->b);
}

static void pair_finalize(om_object *self)
{
    (void)self;
    finalized++;
}

static const om_type small_type = {
    .name = "small", .basicsize = sizeof(small), .flags = OM_TYPE_FREELIST};
static const om_type pair_type = {
    .name = "pair", .basicsize = sizeof(pair), .flags = OM_TYPE_FREELIST, .dealloc = pair_dealloc};
static const om_type fin_pair_type = {.name = "fin_pair",
                                      .basicsize = sizeof(pair),
                                      .flags = OM_TYPE_FREELIST,
                                      .dealloc = pair_dealloc,
                                      .finalize = pair_finalize};
static const om_type gc_pair_type = {
    .name = "gc_pair", .basicsize = sizeof(pair), .flags = OM_TYPE_GC, .dealloc = pair_dealloc};
/* Types without OM_TYPE_FREELIST: fixed-size ones of 17..128 bytes keep
 * their blocks too (while no mode of the heap is on); variable-sized ones
 * and those of 16 or more than 128 bytes never do. */
static const om_type plain_pair_type = {
    .name = "plain_pair", .basicsize = sizeof(pair), .dealloc = pair_dealloc};
static const om_type plain_small_type = {.name = "plain_small", .basicsize = sizeof(small)};
static const om_type plain_fin_pair_type = {.name = "plain_fin_pair",
                                            .basicsize = sizeof(pair),
                                            .dealloc = pair_dealloc,
                                            .finalize = pair_finalize};
static const om_type plain_header_type = {.name = "plain_header", .basicsize = sizeof(om_object)};
static const om_type plain_big_type = {.name = "plain_big", .basicsize = 144};
static const om_type plain_vec_type = {
    .name = "plain_vec", .basicsize = sizeof(vec), .itemsize = sizeof(int64_t)};
static const om_type vec_type = {.name = "vec",
                                 .basicsize = sizeof(vec),
                                 .itemsize = sizeof(int64_t),
                                 .flags = OM_TYPE_FREELIST};

static size_t parked(void)
{
    om_runtime_stats st;
    om_runtime_get_stats(rt, &st);
    return st.freelist_blocks;
}

/* A 24-byte type gets a whole 32-byte block, parks in the 32-byte class and
 * serves the next 32-byte object, of another type. */
static void test_fixed_type_parks_by_its_class(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    small *s = (small *)om_new(rt, &small_type);
    assert_non_null(s);
    assert_true(hp_usable_size(s) >= 32);
    s->value = 42;
    void *addr = s;
    om_decref(&s->ob);
    assert_int_equal(parked(), 1);
    assert_ptr_equal(rt->freelists[ob_freelist_class(sizeof(small))].head, addr);
    om_runtime_check(rt);
    pair *p = (pair *)om_new(rt, &pair_type);
    assert_ptr_equal(p, addr);
    assert_null(p->a);
    assert_null(p->b); /* zeroed past the 24 bytes the small object used */
    assert_int_equal(parked(), 0);
    om_decref(&p->ob);
}

/* Variable-sized objects park by the size of their block; each comes back
 * for a request of its class only. */
static void test_var_type_parks_by_block_size(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    enum { N = 14 }; /* 24 .. 128 bytes */
    void *addr[N + 1];
    for (size_t n = 1; n <= N; n++) {
        vec *v = (vec *)om_new_var(rt, &vec_type, n);
        assert_non_null(v);
        for (size_t i = 0; i < n; i++)
            v->items[i] = (int64_t)i + 1;
        addr[n] = v;
    }
    for (size_t n = 1; n <= N; n++)
        om_decref(addr[n]);
    assert_int_equal(parked(), N);
    om_runtime_check(rt);
    for (size_t n = N; n >= 1; n--) {
        vec *v = (vec *)om_new_var(rt, &vec_type, n);
        size_t size = om_var_size(&vec_type, n);
        assert_true(hp_usable_size(v) >= ((size + 15) & ~(size_t)15));
        for (size_t i = 0; i < n; i++)
            assert_int_equal(v->items[i], 0);
        /* the newest parked block of the class: for an odd n the class also
         * holds the block of n + 1 items, parked after it */
        size_t mate = n % 2 ? n + 1 : n;
        if (mate > N || ob_freelist_class(om_var_size(&vec_type, mate)) != ob_freelist_class(size))
            mate = n;
        assert_true(v == addr[mate] || v == addr[n]);
        om_decref(&v->ob);
    }
    om_runtime_check(rt);
}

/* A finalizer sends the release down the general path; the block is parked
 * all the same, and the finalizer ran once. */
static void test_general_path_parks_too(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    finalized = 0;
    pair *p = (pair *)om_new(rt, &fin_pair_type);
    p->a = om_new(rt, &small_type);
    void *addr = p;
    om_decref(&p->ob);
    assert_int_equal(finalized, 1);
    assert_int_equal(parked(), 2);
    assert_ptr_equal(rt->freelists[ob_freelist_class(sizeof(pair))].head, addr);
    om_runtime_check(rt);
}

/* A full class sends the blocks past its bound (OB_FREELIST_MAX_BYTES of
 * blocks) back to the heap. */
static void full_list_frees_to_the_heap(const om_type *type, size_t kept)
{
    om_runtime_clear_freelists(rt);
    size_t limit = rt->freelists[ob_freelist_class(sizeof(pair))].limit;
    assert_int_equal(limit, OB_FREELIST_MAX_BYTES / 32);
    size_t n = limit + 10;
    om_object **objs = om_malloc(n * sizeof *objs);
    assert_non_null(objs);
    for (size_t i = 0; i < n; i++)
        objs[i] = om_new(rt, type);
    size_t blocks0 = 0, bytes0 = 0, blocks1 = 0, bytes1 = 0;
    hp_heap_usage(rt->heap, &blocks0, &bytes0);
    for (size_t i = 0; i < n; i++)
        om_decref(objs[i]);
    om_free(objs);
    hp_heap_usage(rt->heap, &blocks1, &bytes1);
    assert_int_equal(parked(), kept);
    long debug_heap = 0;
    om_option_get("debug", &debug_heap);
    if (!debug_heap) /* the debug heap's quarantine holds freed blocks back */
        assert_int_equal(blocks0 - blocks1, n - kept);
    om_runtime_check(rt);
    om_runtime_clear_freelists(rt);
}

static void test_full_list_frees_to_the_heap(void **state)
{
    (void)state;
    size_t limit = rt->freelists[ob_freelist_class(sizeof(pair))].limit;
    full_list_frees_to_the_heap(&pair_type, limit);
    /* a type without the flag keeps blocks only while no mode is on */
    full_list_frees_to_the_heap(&plain_pair_type, hp_heap_quiet() ? limit : 0);
}

/* Every class keeps OB_FREELIST_MAX_BYTES of blocks at most. */
static void test_limits_are_bytes(void **state)
{
    (void)state;
    for (size_t c = 1; c < OB_FREELIST_CLASSES; c++)
        assert_int_equal(rt->freelists[c].limit, OB_FREELIST_MAX_BYTES / (16 * (c + 1)));
}

/* A fixed-size type without OM_TYPE_FREELIST keeps the blocks of its dead
 * objects on the free list of its class (the fast release path), and om_new
 * hands them out again zeroed, to any type of the class; while a mode of the
 * heap is on (here fault injection, armed far ahead) neither happens: the
 * heap sees every allocation and free. */
static void test_plain_type_keeps_its_blocks(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    if (!hp_heap_quiet())
        skip(); /* the debug heap is on for the whole run */
    pair *p = (pair *)om_new(rt, &plain_pair_type);
    p->a = om_new(rt, &plain_small_type);
    p->b = om_new(rt, &plain_small_type);
    void *addr = p, *child = p->a;
    om_decref(&p->ob);
    assert_int_equal(parked(), 3);
    om_runtime_check(rt);
    assert_ptr_equal(rt->freelists[ob_freelist_class(sizeof(pair))].head, addr);
    small *s = (small *)om_new(rt, &plain_small_type);
    assert_ptr_equal(s, addr);
    assert_int_equal(s->value, 0);
    assert_ptr_equal(s->ob.ob_type, &plain_small_type);
    assert_int_equal(om_refcnt(&s->ob), 1);
    assert_int_equal(parked(), 2);
    om_runtime_clear_freelists(rt);
    assert_int_equal(parked(), 0);
    om_decref(&s->ob);
    assert_int_equal(parked(), 1);
    om_heap_fail_after(1u << 30); /* a mode: no keeping, no reuse */
    pair *q = (pair *)om_new(rt, &plain_pair_type);
    assert_ptr_not_equal(q, addr);
    assert_int_equal(parked(), 1);
    om_decref(&q->ob);
    assert_int_equal(parked(), 1);
    om_heap_fail_after(0);
    (void)child;
    om_runtime_check(rt);
}

/* A finalizer sends the release of a plain type down the general path,
 * which keeps the block all the same. */
static void test_general_path_keeps_too(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    if (!hp_heap_quiet())
        skip();
    finalized = 0;
    pair *p = (pair *)om_new(rt, &plain_fin_pair_type);
    void *addr = p;
    om_decref(&p->ob);
    assert_int_equal(finalized, 1);
    assert_int_equal(parked(), 1);
    assert_ptr_equal(rt->freelists[ob_freelist_class(sizeof(pair))].head, addr);
    om_runtime_check(rt);
    om_runtime_clear_freelists(rt);
}

/* A debug block is never kept, even once the debug heap is off again: its
 * free must reach the debug heap (guards, quarantine). */
static void test_debug_blocks_are_not_kept(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    if (!hp_heap_quiet())
        skip();
    om_heap_set_debug(1);
    om_object *o = om_new(rt, &plain_pair_type);
    om_heap_set_debug(0);
    assert_non_null(o);
    assert_true(hp_heap_quiet());
    om_decref(o);
    assert_int_equal(parked(), 0);
    om_runtime_check(rt);
}

/* Variable-sized types, and sizes outside 17..128 bytes, never keep blocks
 * unless they ask for a free list. */
static void test_other_plain_types_free_to_the_heap(void **state)
{
    (void)state;
    om_runtime_clear_freelists(rt);
    om_decref(om_new(rt, &plain_header_type));
    om_decref(om_new(rt, &plain_big_type));
    om_decref(om_new_var(rt, &plain_vec_type, 1));
    om_decref(om_new_var(rt, &plain_vec_type, 0));
    assert_int_equal(parked(), 0);
    om_runtime_check(rt);
}

/* The young count drops by one per GC object freed and never below zero,
 * even when the collector reset it while the freed objects were young. */
static void test_young_count_never_negative(void **state)
{
    (void)state;
    int64_t young0 = rt->young_count;
    pair *root = (pair *)om_new(rt, &gc_pair_type);
    root->a = om_new(rt, &gc_pair_type);
    root->b = om_new(rt, &gc_pair_type);
    assert_int_equal(rt->young_count, young0 + 3);
    om_decref(&root->ob);
    assert_int_equal(rt->young_count, young0);
    root = (pair *)om_new(rt, &gc_pair_type);
    root->a = om_new(rt, &gc_pair_type);
    root->b = om_new(rt, &gc_pair_type);
    rt->young_count = 1; /* as after a collection and one allocation */
    om_decref(&root->ob);
    assert_int_equal(rt->young_count, 0);
}

static int count_block(void *block, size_t size, void *arg)
{
    (void)block;
    (void)size;
    ++*(size_t *)arg;
    return 0;
}

/* Blocks in the pools allocated from since the last hp_heap_clear_dirty
 * (where young collections look for young tracked objects). */
static size_t dirty_blocks(void)
{
    size_t n = 0;
    hp_heap_walk_dirty(rt->heap, count_block, &n);
    return n;
}

/* A parked block handed out again marks its pool dirty for a GC type, whose
 * young object the next young collection must see, and costs an untracked
 * type nothing: young collections consider tracked objects only. */
static void test_recycled_blocks_mark_dirty_only_when_tracked(void **state)
{
    (void)state;
    static const om_type gc_small_type = {
        .name = "gc_small", .basicsize = sizeof(small), .flags = OM_TYPE_FREELIST | OM_TYPE_GC};
    om_decref(om_new(rt, &small_type)); /* parked */
    hp_heap_clear_dirty(rt->heap);
    om_object *o = om_new(rt, &small_type); /* recycled, untracked */
    assert_int_equal(parked(), 0);
    assert_int_equal(dirty_blocks(), 0);
    om_decref(o);
    hp_heap_clear_dirty(rt->heap);
    o = om_new(rt, &gc_small_type); /* recycled, tracked */
    assert_int_equal(parked(), 0);
    assert_true(o->ob_gc & OM_GC_TRACKED);
    assert_true(dirty_blocks() >= 1);
    om_decref(o);
}

/* A parked block on a class larger than the block is caught by the check. */
static void misfile_block(void *arg)
{
    (void)arg;
    om_runtime *r = om_runtime_new(NULL);
    om_runtime_clear_freelists(r);
    om_decref(om_new(r, &small_type));
    size_t from = ob_freelist_class(sizeof(small)), to = OB_FREELIST_CLASSES - 1;
    r->freelists[to].head = r->freelists[from].head;
    r->freelists[to].count = r->freelists[from].count;
    r->freelists[from].head = NULL;
    r->freelists[from].count = 0;
    om_runtime_check(r);
}

static void test_check_catches_a_misfiled_block(void **state)
{
    (void)state;
    omtest_expect_abort(misfile_block, NULL, "free list of class 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_fixed_type_parks_by_its_class),
        RT_TEST(test_var_type_parks_by_block_size),
        RT_TEST(test_general_path_parks_too),
        RT_TEST(test_full_list_frees_to_the_heap),
        RT_TEST(test_limits_are_bytes),
        RT_TEST(test_plain_type_keeps_its_blocks),
        RT_TEST(test_other_plain_types_free_to_the_heap),
        RT_TEST(test_general_path_keeps_too),
        RT_TEST(test_debug_blocks_are_not_kept),
        RT_TEST(test_young_count_never_negative),
        RT_TEST(test_check_catches_a_misfiled_block),
        RT_TEST(test_recycled_blocks_mark_dirty_only_when_tracked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
