/*
 * test_edges_fuzz.c: the fuzz target's interpreter (fuzz/heap_ops.h) as a
 * regular test: the seed corpus in fuzz/corpus/heap, then a few thousand
 * random operation sequences from fixed seeds, on the plain heap, the debug
 * heap and with fault injection armed.  Nothing may leak: the heap's live
 * block count comes back to where it started.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../fuzz/heap_ops.h"
#include "heap/special.h"
#include "omtest.h"

#define RANDOM_INPUTS 3000
#define INPUT_MAX     600

static size_t blocks_in_use(void)
{
    hp_debug_flush(NULL);
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.blocks_in_use;
}

static void test_seed_corpus(void **state)
{
    (void)state;
    const char *root = getenv("OBJMEM_SOURCE_DIR");
    if (!root)
        skip();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/heap", root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t start = blocks_in_use();
    int runs = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        uint8_t buf[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        heap_ops_run(buf, n);
        runs++;
    }
    closedir(d);
    assert_true(runs >= 3);
    assert_int_equal(blocks_in_use(), start);
}

/* A random input with mostly small sizes: tier 2 (up to 64 KiB) one size in
 * 16, tier 3 (up to 1 MiB) one in 128, so a few thousand inputs take a few
 * seconds under the sanitizers. */
static size_t random_input(uint8_t *buf)
{
    size_t len = 2 + 3 * (omtest_rand() % ((INPUT_MAX - 2) / 3));
    /* debug heap, fault injection, private heap; not check-each */
    buf[0] = (uint8_t)(omtest_rand() % 16 & ~4u);
    buf[1] = (uint8_t)omtest_rand();
    for (size_t i = 2; i + 3 <= len; i += 3) {
        uint64_t r = omtest_rand();
        unsigned tier = (r >> 32) % 128 == 0 ? 3 : (r >> 32) % 16 == 0 ? 2 : (r >> 40) % 2;
        buf[i] = (uint8_t)r;
        buf[i + 1] = (uint8_t)(tier << 6 | ((r >> 8) & 63));
        buf[i + 2] = (uint8_t)(r >> 16);
    }
    return len;
}

static void test_random_sequences(void **state)
{
    (void)state;
    omtest_srand(0x0b1ec7);
    size_t start = blocks_in_use();
    uint8_t buf[INPUT_MAX];
    for (int i = 0; i < RANDOM_INPUTS; i++) {
        size_t len = random_input(buf);
        heap_ops_run(buf, len);
        if (i % 500 == 0)
            assert_int_equal(blocks_in_use(), start);
    }
    assert_int_equal(blocks_in_use(), start);
}

static void test_check_after_each(void **state)
{
    (void)state;
    omtest_srand(42);
    uint8_t buf[INPUT_MAX];
    for (int i = 0; i < 20; i++) {
        size_t len = random_input(buf);
        buf[0] |= 4;
        heap_ops_run(buf, len);
    }
}

static void corrupt_run(void *arg)
{
    (void)arg;
    /* a slot is written by the interpreter; break one byte behind its back */
    static const uint8_t op[] = {0x00, 0x20, 0x05}; /* malloc(32) into slot 0 */
    heap_ops o = {0};
    heap_ops_one(&o, op);
    o.slots[0].p[3] ^= 0xff;
    heap_ops_check(&o.slots[0], o.slots[0].size, 0);
}

/* The interpreter's own checks can fail. */
static void test_interpreter_detects(void **state)
{
    (void)state;
    omtest_expect_abort(corrupt_run, NULL, "heap_ops: content changed (slot 0, 32 bytes)");
}

int main(void)
{
    /* om_heap_check scans the whole quarantine at the end of every input: keep it small */
    om_option_set("debug_quarantine", 256 << 10);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_corpus),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_check_after_each),
        cmocka_unit_test(test_interpreter_detects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
