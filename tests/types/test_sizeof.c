/* test_sizeof.c: om_sys_getsizeof agrees with what the heaps really spent,
 * and the bytes per tuple / list / dict / set / record of n items, printed
 * for the benchmark notes. */
#include <stdio.h>

#include "containers_check.h"

/* Bytes in use in the runtime's two heaps (objects and buffers). */
static size_t heap_bytes(void)
{
    size_t blocks, a, b;
    hp_heap_usage(rt->heap, &blocks, &a);
    hp_heap_usage(rt->mem, &blocks, &b);
    return a + b;
}

typedef om_object *(*build_fn)(size_t n, om_object *const *items);

static om_object *build_tuple(size_t n, om_object *const *items)
{
    return om_tuple_from_array(rt, items, n);
}

static om_object *build_list(size_t n, om_object *const *items)
{
    om_object *l = om_list_new(rt);
    for (size_t i = 0; i < n; i++)
        om_list_append(l, items[i]);
    return l;
}

static om_object *build_dict(size_t n, om_object *const *items)
{
    om_object *d = om_dict_new(rt);
    for (size_t i = 0; i < n; i++)
        om_dict_setitem(d, items[i], items[i]);
    return d;
}

static om_object *build_set(size_t n, om_object *const *items)
{
    om_object *s = om_set_new(rt);
    for (size_t i = 0; i < n; i++)
        om_set_add(s, items[i]);
    return s;
}

static om_record_type *record_types[300];

/* Record types come from the global heap: made before any measurement. */
static void make_record_type(size_t n)
{
    if (n && !record_types[n]) {
        static const char *names[256];
        static char text[256][24];
        for (size_t i = 0; i < n; i++) {
            snprintf(text[i], sizeof text[i], "f%zu", i);
            names[i] = text[i];
        }
        record_types[n] = om_record_type_new("Rec", n, names);
    }
}

static om_object *build_record(size_t n, om_object *const *items)
{
    if (n == 0)
        return NULL;
    om_object *r = om_record_new(rt, record_types[n]);
    for (size_t i = 0; i < n; i++)
        om_record_set(r, (int64_t)i, items[i]);
    return r;
}

static size_t global_bytes(void)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.bytes_in_use;
}

/* Builds one object of n items and returns its getsizeof, checking it
 * against the delta of the runtime's heaps and of the heap's statistics. */
static size_t measure(build_fn build, size_t n, om_object *const *items)
{
    om_runtime_clear_freelists(rt);
    size_t before = heap_bytes(), before_stats = global_bytes();
    om_object *o = build(n, items);
    if (!o)
        return 0;
    size_t spent = heap_bytes() - before, counted = global_bytes() - before_stats;
    size_t size = om_sys_getsizeof(o);
    if (!debug_heap() && (spent != size || counted != size)) {
        print_error("%s of %zu items: getsizeof %zu, runtime heaps spent %zu, statistics %zu\n",
                    om_type_name(o), n, size, spent, counted);
        fail();
    }
    om_decref(o);
    return size;
}

static void test_getsizeof_matches_the_heap(void **state)
{
    (void)state;
    static const size_t ns[] = {0, 1, 2, 3, 4, 5, 8, 10, 16, 64, 100, 256};
    /* python3.11: sys.getsizeof of tuple, list, dict, set built the same way */
    static const int cpython[][4] = {
        {40, 56, 64, 216},      {48, 88, 224, 216},     {56, 88, 224, 216},
        {64, 88, 224, 216},     {72, 88, 224, 216},     {80, 120, 224, 728},
        {104, 120, 352, 728},   {120, 184, 352, 728},   {168, 184, 632, 728},
        {552, 568, 2264, 2264}, {840, 920, 4688, 8408}, {2088, 2200, 9304, 8408}};
    om_object *items[256];
    for (size_t i = 0; i < 256; i++)
        items[i] = int_((int64_t)i * 1000003);
    for (size_t k = 0; k < OM_ARRAY_LEN(ns); k++)
        make_record_type(ns[k]);
    printf("# bytes per container of n int items, built by appends / inserts\n");
    printf("# om_sys_getsizeof, CPython 3.11's sys.getsizeof in brackets\n");
    printf("# %5s %12s %12s %12s %12s %8s\n", "n", "tuple", "list", "dict", "set", "record");
    for (size_t k = 0; k < OM_ARRAY_LEN(ns); k++) {
        size_t n = ns[k];
        size_t t = measure(build_tuple, n, items), l = measure(build_list, n, items);
        size_t d = measure(build_dict, n, items), s = measure(build_set, n, items);
        size_t r = measure(build_record, n, items);
        printf("# %5zu %5zu [%4d] %5zu [%4d] %5zu [%4d] %5zu [%4d] %8zu\n", n, t, cpython[k][0], l,
               cpython[k][1], d, cpython[k][2], s, cpython[k][3], r);
        if (n <= 60 && !debug_heap()) { /* the heap's 16-byte classes: exact layouts */
            assert_int_equal(t, (24 + 8 * n + 15) & ~(size_t)15);
            if (n)
                assert_int_equal(r, (16 + 8 * n + 15) & ~(size_t)15);
            assert_true(t <= l); /* a tuple is never bigger than a list */
        }
    }
    for (size_t i = 0; i < 256; i++)
        om_decref(items[i]);
    for (size_t i = 0; i < OM_ARRAY_LEN(record_types); i++)
        if (record_types[i])
            om_record_type_free(record_types[i]), record_types[i] = NULL;
}

static void test_fixed_sizes(void **state)
{
    (void)state;
    if (debug_heap())
        skip(); /* the debug heap's usable sizes are the requests */
    OM_AUTO om_object *l = om_list_new(rt);
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *i = om_instance_new(rt);
    OM_AUTO om_object *r = om_range(rt, 0, 1000000, 1);
    OM_AUTO om_object *e = om_tuple_pack(rt, 0);
    assert_int_equal(om_sys_getsizeof(l), 48);
    assert_int_equal(om_sys_getsizeof(d), 64);
    assert_int_equal(om_sys_getsizeof(i), 32);
    assert_int_equal(om_sys_getsizeof(r), 48);
    assert_int_equal(om_sys_getsizeof(e), 32);
    OM_AUTO om_object *x = int_(1);
    om_list_append(l, x);
    assert_int_equal(om_sys_getsizeof(l), 48 + hp_usable_size(TY_LIST(l)->items));
}

/* A dict's table fills the heap block it takes: its entries are cut to
 * what fits the block size below two thirds of its slots, rather than
 * spill just past one (64 int keys: 128 index bytes and 85 entries would be
 * 2168 bytes, a 2560-byte block; 80 entries fill 2048).  Checked after
 * every insert up to 3000 keys, and the table's invariants with it. */
static void test_dict_tables_fill_their_blocks(void **state)
{
    (void)state;
    if (debug_heap())
        skip(); /* the debug heap's blocks are as large as their request */
    OM_AUTO om_object *d = om_dict_new(rt);
    size_t rebuilds = 0;
    void *last = NULL;
    for (int64_t i = 0; i < 3000; i++) {
        OM_AUTO om_object *k = int_(i * 7919);
        assert_int_equal(om_dict_setitem(d, k, k), 0);
        const ty_table *t = &TY_DICT(d)->t;
        size_t want = t->nslots * ty_index_width(t->nslots) + t->usable * sizeof(ty_entry);
        assert_true(hp_usable_size(t->mem) - want < sizeof(ty_entry));
        assert_true(t->usable * 3 <= t->nslots * 2); /* the load bound holds */
        rebuilds += t->mem != last;
        last = t->mem;
        if (i == 63)
            assert_int_equal(om_sys_getsizeof(d), 64 + 2048); /* CPython 3.11: 2264 */
    }
    size_t doublings = 0; /* 8, 16, ... slots: one rebuild each, none more */
    for (size_t n = TY_DICT(d)->t.nslots; n > TY_TABLE_MIN_SLOTS; n /= 2)
        doublings++;
    assert_int_equal(rebuilds, doublings + 1);
    ty_table_check(&TY_DICT(d)->t, "dict");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_getsizeof_matches_the_heap),
        RT_TEST(test_fixed_sizes),
        RT_TEST(test_dict_tables_fill_their_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
