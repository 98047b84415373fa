/* The blocks index of the tracer (trace/blocks.c), on its own: random
 * inserts and removes against a model over slots of many block sizes and
 * phases (slots change size once empty, as when the heap gives them to
 * another pool), refusals the table must take instead, replaced traces,
 * its memory per trace, and running out of memory.  Addresses are made up:
 * the index never touches them. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "trace/trace.h"

#define BASE    ((uintptr_t)0x7f1234000000) /* below 2^47, 64 KiB aligned */
#define SLOT    ((uintptr_t)1 << 16)
#define NSLOTS  8
#define PERSLOT 64 /* blocks of the model in each slot */

static const size_t sizes[] = {16, 32, 48, 112, 512, 640, 5120, 70000};

typedef struct slot_model {
    size_t size, phase;
    uint32_t tb[PERSLOT]; /* tb + 1, 0: absent */
    unsigned live;
} slot_model;

static uintptr_t addr_of(unsigned s, const slot_model *m, unsigned j)
{
    return BASE + s * SLOT * 5 + m->phase + j * m->size; /* slots spread over segments */
}

static void reshape(slot_model *m)
{
    m->size = sizes[omtest_rand() % OM_ARRAY_LEN(sizes)];
    m->phase = m->size >= SLOT ? 0 : (size_t)(omtest_rand() % m->size);
}

static void sum_sizes(size_t size, uint32_t tb, void *arg)
{
    (void)tb;
    *(size_t *)arg += size;
}

static void random_ops_agree_with_a_model(void **state)
{
    (void)state;
    static slot_model model[NSLOTS];
    memset(model, 0, sizeof model);
    tr_blocks b = {0};
    omtest_srand(7);
    for (unsigned s = 0; s < NSLOTS; s++)
        reshape(&model[s]);
    size_t live = 0, live_bytes = 0;
    for (int op = 0; op < 200000; op++) {
        unsigned s = (unsigned)(omtest_rand() % NSLOTS);
        slot_model *m = &model[s];
        unsigned n = (unsigned)((SLOT - 1 - m->phase) / m->size + 1);
        unsigned j = (unsigned)(omtest_rand() % (n < PERSLOT ? n : PERSLOT));
        uintptr_t a = addr_of(s, m, j);
        uint32_t tb;
        size_t size, replaced;
        if (omtest_rand() % 2) {
            uint32_t want = (uint32_t)(omtest_rand() % 1000);
            assert_int_equal(tr_blocks_insert(&b, a, m->size, want, &replaced), 0);
            assert_int_equal(replaced, m->tb[j] ? m->size : 0);
            if (!m->tb[j]) {
                m->live++;
                live++;
                live_bytes += m->size;
            }
            m->tb[j] = want + 1;
        } else {
            bool had = tr_blocks_remove(&b, a, m->size, &tb);
            assert_int_equal(had, m->tb[j] != 0);
            if (had) {
                assert_int_equal(tb, m->tb[j] - 1);
                m->tb[j] = 0;
                m->live--;
                live--;
                live_bytes -= m->size;
                if (!m->live && omtest_rand() % 4 == 0)
                    reshape(m); /* the slot went to another pool */
            }
        }
        if (m->size > 16) { /* a pointer inside a block is no trace */
            assert_false(tr_blocks_find(&b, a + 8, &size, &tb));
            assert_false(tr_blocks_remove(&b, a + 8, m->size, &tb));
        }
        assert_int_equal(tr_blocks_find(&b, a, &size, &tb), m->tb[j] != 0);
        if (m->tb[j]) {
            assert_int_equal(size, m->size);
            assert_int_equal(tb, m->tb[j] - 1);
        }
        assert_int_equal(b.count, live);
    }
    size_t total = 0;
    assert_int_equal(tr_blocks_each(&b, sum_sizes, &total), live);
    assert_int_equal(total, live_bytes);
    tr_blocks_clear(&b);
    assert_int_equal(b.count, 0);
    assert_int_equal(tr_blocks_bytes(&b), 0);
}

/* A slot holding traces of one size refuses another size (the table takes
 * those); a remove of the wrong size finds nothing; once empty, the slot
 * takes the new size. */
static void other_sizes_are_refused_until_the_slot_empties(void **state)
{
    (void)state;
    tr_blocks b = {0};
    size_t replaced, size;
    uint32_t tb;
    assert_int_equal(tr_blocks_insert(&b, BASE + 64, 32, 5, &replaced), 0);
    assert_int_equal(tr_blocks_insert(&b, BASE + 160, 48, 6, &replaced), 1);
    assert_int_equal(tr_blocks_insert(&b, BASE + 72, 32, 6, &replaced), 1); /* other phase */
    assert_false(tr_blocks_remove(&b, BASE + 64, 48, &tb));
    assert_true(tr_blocks_remove(&b, BASE + 64, 32, &tb));
    assert_int_equal(tb, 5);
    assert_int_equal(tr_blocks_insert(&b, BASE + 160, 48, 6, &replaced), 0);
    assert_true(tr_blocks_find(&b, BASE + 160, &size, &tb));
    assert_int_equal(size, 48);
    assert_int_equal(tb, 6);
    /* a trace whose free was missed is replaced, not counted twice */
    assert_int_equal(tr_blocks_insert(&b, BASE + 160, 48, 9, &replaced), 0);
    assert_int_equal(replaced, 48);
    assert_int_equal(b.count, 1);
    /* past 47 bits: refused, for the table */
    assert_int_equal(tr_blocks_insert(&b, (uintptr_t)1 << 50, 32, 1, &replaced), 1);
    assert_false(tr_blocks_find(&b, (uintptr_t)1 << 50, &size, &tb));
    tr_blocks_clear(&b);
}

/* 200000 blocks of 32 bytes, packed as a heap carves them: 4 bytes of ids
 * each, plus the nodes and the directory page. */
static void packed_blocks_cost_about_4_bytes_a_trace(void **state)
{
    (void)state;
    enum { N = 200000 };
    tr_blocks b = {0};
    size_t replaced;
    for (uintptr_t i = 0; i < N; i++)
        assert_int_equal(tr_blocks_insert(&b, BASE + i * 32, 32, (uint32_t)i, &replaced), 0);
    assert_int_equal(b.count, N);
    double per = (double)tr_blocks_bytes(&b) / N;
    assert_true(per >= 4.0 && per <= 6.0);
    tr_blocks_clear(&b);
}

/* One 16-byte trace in each of 2000 slots would need 16 KiB of ids each
 * (31 MiB): past 1 MiB the index refuses new arrays while it costs more
 * than 32 bytes a trace, and the slots that already have one still take
 * traces. */
static void sparse_slots_stay_within_the_budget(void **state)
{
    (void)state;
    enum { NSPARSE = 2000 };
    tr_blocks b = {0};
    size_t replaced, refused = 0;
    for (uintptr_t s = 0; s < NSPARSE; s++) {
        int rc = tr_blocks_insert(&b, BASE + s * SLOT, 16, 1, &replaced);
        assert_true(rc == 0 || rc == 1);
        refused += rc == 1;
    }
    assert_true(refused > NSPARSE / 2);
    assert_true(tr_blocks_bytes(&b) < ((size_t)3 << 20) / 2);
    for (uintptr_t i = 1; i < 100; i++) /* the first slot has its array */
        assert_int_equal(tr_blocks_insert(&b, BASE + i * 16, 16, 2, &replaced), 0);
    tr_blocks_clear(&b);
}

static void out_of_memory_fails_softly(void **state)
{
    (void)state;
    tr_blocks b = {0};
    size_t replaced, size;
    uint32_t tb;
    tr_map_fail_after(1); /* the directory */
    assert_int_equal(tr_blocks_insert(&b, BASE, 32, 1, &replaced), -1);
    tr_map_fail_after(2); /* the chunk for the nodes */
    assert_int_equal(tr_blocks_insert(&b, BASE, 32, 1, &replaced), -1);
    assert_int_equal(b.count, 0);
    tr_map_fail_after(0);
    assert_int_equal(tr_blocks_insert(&b, BASE, 32, 1, &replaced), 0);
    assert_true(tr_blocks_find(&b, BASE, &size, &tb));
    tr_blocks_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ops_agree_with_a_model),
        cmocka_unit_test(other_sizes_are_refused_until_the_slot_empties),
        cmocka_unit_test(packed_blocks_cost_about_4_bytes_a_trace),
        cmocka_unit_test(sparse_slots_stay_within_the_budget),
        cmocka_unit_test(out_of_memory_fails_softly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
