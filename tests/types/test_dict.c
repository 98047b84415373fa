/* test_dict.c: dicts: the mapping operations, insertion order, missing and
 * unhashable keys, and a long random run against a simple model with the
 * table's invariants checked along the way. */
#include <stdlib.h>

#include "containers_check.h"

static void test_set_get_del(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *k = om_str_from_cstr(rt, "answer");
    OM_AUTO om_object *v = int_(42);
    assert_int_equal(om_dict_len(d), 0);
    assert_int_equal(om_dict_setitem(d, k, v), 0);
    assert_int_equal(om_dict_len(d), 1);
    assert_int_obj(om_dict_getitem(d, k), 42);
    OM_AUTO om_object *k2 = om_str_from_cstr(rt, "answer"); /* equal, not identical */
    assert_int_obj(om_dict_getitem(d, k2), 42);
    assert_int_equal(om_dict_contains(d, k2), 1);
    OM_AUTO om_object *v2 = int_(43);
    assert_int_equal(om_dict_setitem(d, k2, v2), 0); /* replaces the value */
    assert_int_equal(om_dict_len(d), 1);
    assert_int_obj(om_dict_getitem(d, k), 43);
    assert_int_equal(om_dict_delitem(d, k), 0);
    assert_int_equal(om_dict_len(d), 0);
    assert_int_equal(om_dict_contains(d, k), 0);
    ty_dict_check(d);
}

/* Every index width (1, 2 and 4-byte slots: up to 128, 32768 and more
 * slots), keys found by identity (the probe loop that calls nothing) and
 * by an equal copy (the loop that compares), inserts placed in the slot
 * where the miss ended, and a str key whose hash was never computed. */
static void test_widths_identity_and_copies(void **state)
{
    (void)state;
    enum { N = 25000 }; /* 25000 / (2/3) > 32768 slots: 4-byte index */
    OM_AUTO om_object *d = om_dict_new(rt);
    om_object **keys = malloc(N * sizeof *keys);
    assert_non_null(keys);
    for (int i = 0; i < N; i++) {
        keys[i] = int_(1000 + i); /* beyond the small-int cache: copies differ */
        OM_AUTO om_object *v = int_(i);
        assert_int_equal(om_dict_setitem(d, keys[i], v), 0);
        if (i == 40 || i == 5000 || i == N - 1)
            ty_dict_check(d);
    }
    assert_int_equal(om_dict_len(d), N);
    for (int i = 0; i < N; i += 7) {
        assert_int_obj(om_dict_getitem(d, keys[i]), i);
        OM_AUTO om_object *copy = int_(1000 + i);
        assert_true(copy != keys[i]);
        assert_int_obj(om_dict_getitem(d, copy), i);
        OM_AUTO om_object *absent = int_(-1000 - i);
        om_object *out;
        assert_int_equal(om_dict_lookup(d, absent, &out), 0);
    }
    for (int i = 0; i < N; i++)
        om_decref(keys[i]);
    free(keys);
    OM_AUTO om_object *fresh = om_str_from_cstr(rt, "never hashed");
    OM_AUTO om_object *v = int_(7);
    assert_int_equal(om_dict_setitem(d, fresh, v), 0);
    OM_AUTO om_object *same = om_str_from_cstr(rt, "never hashed");
    assert_int_obj(om_dict_getitem(d, same), 7);
    ty_dict_check(d);
}

static void test_missing_key_is_distinguishable(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *k = int_(7);
    om_error_clear();
    om_object *v = (om_object *)1;
    assert_int_equal(om_dict_lookup(d, k, &v), 0); /* a miss: not an error */
    assert_null(v);
    assert_string_equal(om_error_message(), "");
    assert_null(om_dict_getitem(d, k));
    assert_error("key not found: 7");
    assert_int_equal(om_dict_delitem(d, k), -1);
    assert_error("key not found: 7");
    assert_null(om_dict_pop(d, k, NULL));
    assert_error("key not found");
    OM_AUTO om_object *dflt = int_(-1);
    assert_int_obj(om_dict_pop(d, k, dflt), -1);
}

static void test_unhashable_keys(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *l = om_list_new(rt);
    OM_AUTO om_object *v = int_(1);
    assert_int_equal(om_dict_setitem(d, l, v), -1);
    assert_error("unhashable type: 'list'");
    om_object *out;
    assert_int_equal(om_dict_lookup(d, l, &out), -1); /* an error, not a miss */
    assert_null(om_dict_getitem(d, d));
    assert_error("unhashable type: 'dict'");
    assert_int_equal(om_dict_contains(d, l), -1);
    assert_int_equal(om_dict_len(d), 0);
}

static void test_numeric_keys_merge(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *one = int_(1);
    OM_AUTO om_object *onef = om_float_from_double(rt, 1.0);
    om_dict_setitem(d, one, one);
    om_dict_setitem(d, onef, onef); /* 1 == 1.0: the same key, as in Python */
    assert_int_equal(om_dict_len(d), 1);
}

static void test_insertion_order_through_deletes_and_growth(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    for (int i = 0; i < 100; i++) {
        om_object *k = int_(i * 7919 % 1000);
        om_dict_setitem(d, k, k);
        om_decref(k);
    }
    for (int i = 0; i < 100; i += 3) {
        om_object *k = int_(i * 7919 % 1000);
        assert_int_equal(om_dict_delitem(d, k), 0);
        om_decref(k);
    }
    OM_AUTO om_object *again = int_(0); /* deleted above, re-added: goes last */
    om_dict_setitem(d, again, again);
    ty_dict_check(d);
    OM_AUTO om_object *keys = om_dict_keys(d);
    int64_t n = om_list_len(keys), pos = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 3 == 0)
            continue;
        assert_int_obj(om_list_getitem(keys, pos++), i * 7919 % 1000);
    }
    assert_int_equal(pos, n - 1);
    assert_int_obj(om_list_getitem(keys, -1), 0);
    OM_AUTO om_object *values = om_dict_values(d);
    OM_AUTO om_object *items = om_dict_items(d);
    assert_int_equal(om_list_len(values), n);
    OM_AUTO om_object *first = om_list_getitem(items, 0);
    assert_int_equal(om_tuple_size(first), 2);
    assert_int_obj(om_tuple_getitem(first, 0), 7919 % 1000);
}

static void test_copy_update_equal_clear(void **state)
{
    (void)state;
    OM_AUTO om_object *a = om_dict_new(rt);
    for (int i = 0; i < 20; i++) {
        om_object *k = int_(i), *v = int_(i * i);
        om_dict_setitem(a, k, v);
        om_decref(k), om_decref(v);
    }
    OM_AUTO om_object *b = om_dict_copy(a);
    assert_int_equal(om_equal(a, b), 1);
    OM_AUTO om_object *k = int_(3);
    OM_AUTO om_object *v = int_(-3);
    om_dict_setitem(b, k, v);
    assert_int_equal(om_equal(a, b), 0);
    OM_AUTO om_object *c = om_dict_new(rt);
    assert_int_equal(om_dict_update(c, b), 0);
    assert_int_equal(om_equal(c, b), 1);
    assert_int_equal(om_dict_clear(c), 0);
    assert_int_equal(om_dict_len(c), 0);
    assert_int_equal(om_sys_getsizeof(c), hp_usable_size(c)); /* cleared: no table */
    assert_int_equal(om_hash(a), (om_hash_t)-1);
    assert_error("unhashable type: 'dict'");
}

static void test_str_keys(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *v = int_(5);
    assert_int_equal(om_dict_setitem_str(d, "five", v), 0);
    assert_int_obj(om_dict_getitem_str(d, "five"), 5);
    assert_null(om_dict_getitem_str(d, "six"));
    assert_error("key not found: ");
}

static void test_wrong_types(void **state)
{
    (void)state;
    OM_AUTO om_object *l = om_list_new(rt);
    OM_AUTO om_object *x = int_(1);
    assert_int_equal(om_dict_setitem(l, x, x), -1);
    assert_error("expected dict, got list");
    assert_int_equal(om_dict_len(l), -1);
    assert_null(om_dict_keys(l));
    assert_int_equal(om_dict_update(l, l), -1);
    OM_AUTO om_object *d = om_dict_new(rt);
    assert_int_equal(om_dict_update(d, l), -1);
    assert_error("expected dict, got list");
}

/* The model: key k in [0, NKEYS) present or not, its value, and the order
 * of insertion. */
#define NKEYS 300
typedef struct model {
    bool present[NKEYS];
    int64_t value[NKEYS];
    int order[NKEYS];
    int n;
} model;

static void model_check(om_object *d, const model *m)
{
    ty_dict_check(d);
    assert_int_equal(om_dict_len(d), m->n);
    OM_AUTO om_object *keys = om_dict_keys(d);
    for (int i = 0; i < m->n; i++)
        assert_int_obj(om_list_getitem(keys, i), m->order[i]);
}

static void test_random_against_model(void **state)
{
    (void)state;
    static model m;
    memset(&m, 0, sizeof m);
    OM_AUTO om_object *d = om_dict_new(rt);
    omtest_srand(7);
    for (int step = 0; step < 30000; step++) {
        int k = (int)(omtest_rand() % NKEYS);
        int op = (int)(omtest_rand() % 10);
        om_object *key = int_(k + 1000); /* beyond the small-int cache */
        if (op < 5) {
            om_object *v = int_(step);
            assert_int_equal(om_dict_setitem(d, key, v), 0);
            om_decref(v);
            if (!m.present[k])
                m.order[m.n++] = k + 1000;
            m.present[k] = true;
            m.value[k] = step;
        } else if (op < 8) {
            int r = om_dict_delitem(d, key);
            assert_int_equal(r, m.present[k] ? 0 : -1);
            if (m.present[k]) {
                int i = 0;
                while (m.order[i] != k + 1000)
                    i++;
                memmove(&m.order[i], &m.order[i + 1], (size_t)(m.n - i - 1) * sizeof(int));
                m.n--;
            }
            m.present[k] = false;
        } else {
            om_object *v;
            assert_int_equal(om_dict_lookup(d, key, &v), m.present[k]);
            if (m.present[k])
                assert_int_obj(v, m.value[k]);
        }
        om_decref(key);
        if (step % 1000 == 0)
            model_check(d, &m);
    }
    model_check(d, &m);
}

/* A key type whose equality runs "user code" that empties the dict being
 * searched: every key hashes alike, so lookups must compare. */
static om_object *victim;
static int evil_equal(om_object *a, om_object *b)
{
    (void)a, (void)b;
    if (victim)
        om_dict_clear(victim);
    return 0;
}
static om_hash_t evil_hash(om_object *o)
{
    (void)o;
    return 42;
}
static const om_type evil_type = {
    .name = "evil", .basicsize = sizeof(om_object), .hash = evil_hash, .equal = evil_equal};

static void test_mutation_during_compare(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    OM_AUTO om_object *a = om_new(rt, &evil_type), *b = om_new(rt, &evil_type);
    OM_AUTO om_object *v = int_(1);
    victim = NULL;
    assert_int_equal(om_dict_setitem(d, a, v), 0);
    victim = d;
    om_object *out;
    assert_int_equal(om_dict_lookup(d, b, &out), 0); /* restarted on an empty table */
    assert_int_equal(om_dict_len(d), 0);
    victim = NULL;
    assert_int_equal(om_dict_setitem(d, a, v), 0);
    victim = d;
    assert_int_equal(om_dict_setitem(d, b, v), 0); /* the insert survives it too */
    victim = NULL;
    assert_int_equal(om_dict_len(d), 1);
    ty_dict_check(d);
}

/* A broken table is reported in one line naming the type, then abort. */
static void corrupt_and_check(void *arg)
{
    om_object *d = arg;
    ty_entry *e = ty_table_entries(&TY_DICT(d)->t);
    e[1].hash ^= 0x5555; /* entry 1 is now off its probe sequence */
    ty_dict_check(d);
}

static void corrupt_counts(void *arg)
{
    om_object *d = arg;
    TY_DICT(d)->t.used++;
    ty_dict_check(d);
}

static void test_corruption_is_fatal(void **state)
{
    (void)state;
    OM_AUTO om_object *d = om_dict_new(rt);
    for (int i = 0; i < 4; i++) {
        om_object *k = int_(i * 4096);
        om_dict_setitem(d, k, k);
        om_decref(k);
    }
    ty_dict_check(d); /* sound before */
    omtest_expect_abort(corrupt_and_check, d, "dict table: entry 1 not on its probe sequence");
    omtest_expect_abort(corrupt_counts, d, "dict table: bad counts (used 5, entries 4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_set_get_del),
        RT_TEST(test_widths_identity_and_copies),
        RT_TEST(test_missing_key_is_distinguishable),
        RT_TEST(test_unhashable_keys),
        RT_TEST(test_numeric_keys_merge),
        RT_TEST(test_insertion_order_through_deletes_and_growth),
        RT_TEST(test_copy_update_equal_clear),
        RT_TEST(test_str_keys),
        RT_TEST(test_wrong_types),
        RT_TEST(test_random_against_model),
        RT_TEST(test_corruption_is_fatal),
        RT_TEST(test_mutation_during_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
