/*
 * test_debug.c: the debug heap: fill patterns, guards, the quarantine, and
 * each detection path as a death test with its one-line message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "objmem.h"
#include "heap/heap.h"
#include "heap/special.h"
#include "heap/debug.h" /* DBG_QUARANTINE_LANES */
#include "omtest.h"

#define ALLOC_FILL 0xCB
#define FREE_FILL  0xDF
#define GUARD_FILL 0xFD

static char expect_buf[256];

static const char *expect(const char *fmt, const void *p)
{
    snprintf(expect_buf, sizeof expect_buf, fmt, p);
    return expect_buf;
}

static int debug_on(void **state)
{
    (void)state;
    om_heap_set_debug(1);
    return 0;
}

static int debug_off(void **state)
{
    (void)state;
    om_heap_set_debug(0);
    hp_debug_flush(NULL);
    om_heap_check();
    return 0;
}

static size_t blocks_in_use(void)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.blocks_in_use;
}

/* Hides where p came from, so the compiler lets the tests look at guard
 * bytes outside the allocation on purpose. */
static unsigned char *launder(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

static bool all_bytes(const void *p, size_t n, int value)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value)
            return false;
    return true;
}

/* ---- what a debug block looks like -------------------------------------------- */

static void test_fill_patterns(void **state)
{
    (void)state;
    for (size_t n = 0; n < 300; n += 7) {
        unsigned char *p = om_malloc(n);
        assert_non_null(p);
        assert_int_equal(hp_block_kind(hp_block_of(p)), HP_KIND_DEBUG);
        assert_true(all_bytes(p, n, ALLOC_FILL));
        assert_true(all_bytes(launder(p) + n, 16, GUARD_FILL)); /* the tail guard */
        assert_true(all_bytes(launder(p) - 8, 8, GUARD_FILL));  /* the front guard */
        memset(p, 0x11, n);
        om_free(p);
        /* still in quarantine: the bytes are ours to look at */
        assert_true(all_bytes(launder(p), n, FREE_FILL));
    }
    unsigned char *z = om_calloc(10, 10);
    assert_non_null(z);
    assert_true(all_bytes(z, 100, 0));
    assert_true(all_bytes(launder(z) + 100, 16, GUARD_FILL));
    om_free(z);
    om_heap_check();
}

static void test_usable_size_is_requested(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 13, 16, 17, 100, 511, 512, 513, 4000, 70000, 1 << 20};
    for (size_t i = 0; i < OM_ARRAY_LEN(sizes); i++) {
        void *p = om_malloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal(om_usable_size(p), sizes[i]);
        memset(p, 1, sizes[i]); /* every byte up to the usable size is legal */
        om_free(p);
    }
    om_heap_check();
}

static void test_alignment_kept(void **state)
{
    (void)state;
    for (size_t a = 1; a <= (1u << 16); a <<= 1) {
        void *p = om_aligned_alloc(a, 24);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % (a < 16 ? 16 : a), 0);
        assert_int_equal(hp_block_kind(hp_block_of(p)), HP_KIND_DEBUG);
        memset(p, 2, 24);
        om_free(p);
    }
    void *q = om_malloc(40);
    assert_int_equal((uintptr_t)q % 16, 0);
    om_free(q);
    om_heap_check();
}

static void test_realloc_keeps_content(void **state)
{
    (void)state;
    size_t n = 5;
    unsigned char *p = om_malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7);
    for (size_t m = 9; m < 300000; m = m * 3 + 1) {
        unsigned char *q = om_realloc(p, m);
        assert_non_null(q);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(q[i], (unsigned char)(i * 7));
        for (size_t i = n; i < m; i++)
            q[i] = (unsigned char)(i * 7);
        assert_int_equal(om_usable_size(q), m);
        p = q;
        n = m;
    }
    p = om_realloc(p, 3);
    assert_non_null(p);
    assert_int_equal(p[2], 14);
    assert_null(om_realloc(p, 0));
    om_heap_check();
}

/* ---- the quarantine ------------------------------------------------------------ */

static void test_quarantine_holds_and_flushes(void **state)
{
    (void)state;
    hp_debug_flush(NULL);
    size_t before = blocks_in_use();
    void *ps[100];
    for (int i = 0; i < 100; i++)
        ps[i] = om_malloc(32);
    for (int i = 0; i < 100; i++)
        om_free(ps[i]);
    /* freed, but held back: still live for the core */
    assert_int_equal(blocks_in_use(), before + 100);
    size_t held = 0, bytes = 0;
    hp_debug_held(NULL, &held, &bytes);
    assert_int_equal(held, 100);
    assert_true(bytes >= 100 * (64 + 32 + 16));
    assert_true(hp_debug_check() >= 100);
    assert_true(om_heap_check() >= 100);
    assert_int_equal(hp_debug_flush(NULL), 100);
    assert_int_equal(blocks_in_use(), before);
    hp_debug_held(NULL, &held, &bytes);
    assert_int_equal(held + bytes, 0);
    assert_int_equal(hp_debug_check(), 0);
}

static void test_quarantine_is_bounded(void **state)
{
    (void)state;
    hp_debug_flush(NULL);
    om_option_set("debug_quarantine", 64 * 1024);
    size_t before = blocks_in_use();
    for (int i = 0; i < 4000; i++)
        om_free(om_malloc(100)); /* 4000 blocks of ~176 bytes: far over 64 KiB */
    size_t held = blocks_in_use() - before;
    assert_true(held > 100);
    assert_true(held * 160 <= 64 * 1024);
    om_option_set("debug_quarantine", 4 << 20);
    hp_debug_flush(NULL);
    assert_int_equal(blocks_in_use(), before);
}

static void test_off_again(void **state)
{
    (void)state;
    void *d = om_malloc(24);
    om_heap_set_debug(0);
    void *plain = om_malloc(24);
    assert_int_equal(hp_block_kind(hp_block_of(d)), HP_KIND_DEBUG);
    assert_int_equal(hp_block_kind(hp_block_of(plain)), HP_KIND_PLAIN);
    assert_int_equal(om_usable_size(d), 24);
    om_free(d); /* a debug block stays one after the mode is off */
    om_free(plain);
    om_heap_set_debug(1);
    om_heap_check();
}

static int count_block(void *block, size_t size, void *arg)
{
    (void)block;
    (void)size;
    ++*(size_t *)arg;
    return 0;
}

static void test_private_heap(void **state)
{
    (void)state;
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    void *ps[50];
    for (int i = 0; i < 50; i++) {
        ps[i] = hp_heap_alloc(h, 16 + (size_t)i * 8);
        assert_non_null(ps[i]);
        assert_int_equal(hp_heap_of(ps[i]), h);
        assert_int_equal((uintptr_t)ps[i] % 16, 0);
        memset(ps[i], i, 16 + (size_t)i * 8);
    }
    for (int i = 0; i < 50; i += 2)
        hp_heap_free(h, ps[i]);
    size_t seen = 0;
    hp_heap_walk(h, count_block, &seen);
    assert_int_equal(seen, 25); /* quarantined blocks are not walked */
    void *z = hp_heap_calloc(h, 40);
    assert_true(all_bytes(z, 40, 0));
    ps[0] = hp_heap_realloc(h, ps[1], 1000);
    assert_true(all_bytes(ps[0], 24, 1));
    om_heap_check();
    hp_heap_delete(h); /* frees the live blocks and those the quarantine held */
    om_heap_check();
}

static int free_visited(void *block, size_t size, void *arg)
{
    (void)size;
    hp_heap_free(arg, block);
    return 0;
}

/* A walk's visitor may free the block it is given and nothing else: the
 * quarantine must not give other blocks of the heap back during the walk. */
static void test_walk_that_frees(void **state)
{
    (void)state;
    om_option_set("debug_quarantine", 4096);
    hp_heap *h = hp_heap_new(NULL);
    void *ps[500];
    for (int i = 0; i < 500; i++) {
        ps[i] = hp_heap_alloc(h, 48);
        memset(ps[i], i, 48);
    }
    /* blocks ahead of the walk wait in the quarantine, newest first */
    for (int i = 63; i >= 32; i--)
        hp_heap_free(h, ps[i]);
    size_t seen = 0;
    hp_heap_walk(h, free_visited, h);
    hp_heap_walk(h, count_block, &seen);
    assert_int_equal(seen, 0);
    void *p = hp_heap_alloc(h, 48); /* allocating trims the heap's quarantine */
    size_t held = 0, bytes = 0;
    hp_debug_held(h, &held, &bytes);
    assert_true(bytes <= 4096);
    assert_true(held > 0);
    hp_heap_free(h, p);
    om_heap_check();
    hp_heap_delete(h);
    om_option_set("debug_quarantine", 4 << 20);
    om_heap_check();
}

static void test_many_private_heaps(void **state)
{
    (void)state;
    enum { HEAPS = DBG_QUARANTINE_LANES + 16 };
    hp_heap *hs[HEAPS];
    size_t before = hp_debug_check();
    for (int i = 0; i < HEAPS; i++) {
        hs[i] = hp_heap_new(NULL);
        assert_non_null(hs[i]);
        void *p = hp_heap_alloc(hs[i], 100);
        assert_non_null(hp_heap_alloc(hs[i], 30));
        hp_heap_free(hs[i], p);
    }
    /* a lane each for the first 63 heaps; the others' frees skip the quarantine */
    assert_int_equal(hp_debug_check(), before + DBG_QUARANTINE_LANES - 1);
    assert_int_equal(hp_debug_flush(hs[0]), 1);
    assert_int_equal(hp_debug_flush(hs[HEAPS - 1]), 0);
    for (int i = 0; i < HEAPS; i++)
        hp_heap_delete(hs[i]);
    assert_int_equal(hp_debug_check(), before);
    /* the lanes are free again */
    hp_heap *h = hp_heap_new(NULL);
    hp_heap_free(h, hp_heap_alloc(h, 10));
    assert_int_equal(hp_debug_check(), before + 1);
    hp_heap_delete(h);
    om_heap_check();
}

/* ---- death tests: each detection path, one line, abort ---------------------------- */

static void do_double_free(void *p)
{
    om_free(p);
    om_free(p);
}

static void test_double_free(void **state)
{
    (void)state;
    void *p = om_malloc(24);
    omtest_expect_abort(do_double_free, p, expect("double free of %p (24 bytes", p));
    om_free(p);
}

static void do_free_interior(void *p)
{
    om_free((char *)p + 8);
}

static void do_free_header(void *p)
{
    om_free(launder(p) - 16);
}

static void test_interior_free(void **state)
{
    (void)state;
    char *p = om_malloc(40);
    const char *out = omtest_expect_abort(do_free_interior, p, "invalid free of");
    char want[128];
    snprintf(want, sizeof want, "%p (8 bytes past the start of %p", (void *)(p + 8), (void *)p);
    assert_non_null(strstr(out, want));
    out = omtest_expect_abort(do_free_header, p, "invalid free of");
    snprintf(want, sizeof want, "%p (16 bytes before the start of %p", (void *)(p - 16), (void *)p);
    assert_non_null(strstr(out, want));
    om_free(p);
}

static void do_write_past_end(void *p)
{
    launder(p)[13] = 'x';
    om_free(p);
}

static void do_write_past_end_check(void *p)
{
    launder(p)[13] = 'x';
    om_heap_check(); /* the block is live: the heap walk checks its guards */
}

static void test_write_past_end(void **state)
{
    (void)state;
    void *p = om_malloc(13);
    omtest_expect_abort(do_write_past_end, p, expect("write past the end of %p (13 bytes", p));
    omtest_expect_abort(do_write_past_end_check, p, expect("write past the end of %p", p));
    om_free(p);
}

static void do_write_far_past_end(void *p)
{
    launder(p)[13 + 15] = 0;
    om_free(p);
}

static void test_write_far_past_end(void **state)
{
    (void)state;
    void *p = om_malloc(13);
    omtest_expect_abort(do_write_far_past_end, p, "guard byte at +28");
    om_free(p);
}

static void do_write_before_start(void *p)
{
    launder(p)[-1] = 0;
    om_free(p);
}

static void test_write_before_start(void **state)
{
    (void)state;
    void *p = om_malloc(64);
    omtest_expect_abort(do_write_before_start, p, expect("write before the start of %p", p));
    om_free(p);
}

static void do_write_after_free_flush(void *p)
{
    om_free(p);
    launder(p)[5] = 1;
    hp_debug_flush(NULL); /* the block leaves the quarantine: checked */
}

static void do_write_after_free_check(void *p)
{
    om_free(p);
    launder(p)[0] = 1;
    om_heap_check();
}

static void do_write_after_free_evicted(void *p)
{
    om_option_set("debug_quarantine", 4096);
    om_free(p);
    launder(p)[31] = 1;
    for (int i = 0; i < 200; i++)
        om_free(om_malloc(64)); /* pushes p out of the quarantine */
}

static void do_private_write_after_free(void *arg)
{
    (void)arg;
    om_option_set("debug_quarantine", 4096);
    hp_heap *h = hp_heap_new(NULL);
    unsigned char *p = hp_heap_alloc(h, 40);
    hp_heap_free(h, p);
    launder(p)[39] = 7;
    for (int i = 0; i < 100; i++) /* allocations trim the heap's quarantine */
        hp_heap_free(h, hp_heap_alloc(h, 40));
}

static void test_write_after_free(void **state)
{
    (void)state;
    void *p = om_malloc(32);
    const char *out = omtest_expect_abort(do_write_after_free_flush, p,
                                          expect("write after free of %p (32 bytes", p));
    assert_non_null(strstr(out, "byte at +5 is 0x01"));
    omtest_expect_abort(do_write_after_free_check, p, expect("write after free of %p", p));
    out = omtest_expect_abort(do_write_after_free_evicted, p, expect("write after free of %p", p));
    assert_non_null(strstr(out, "byte at +31"));
    om_free(p);
    out = omtest_expect_abort(do_private_write_after_free, NULL, "write after free of");
    assert_non_null(strstr(out, "(40 bytes"));
    assert_non_null(strstr(out, "byte at +39 is 0x07"));
}

static void do_usable_after_free(void *p)
{
    om_free(p);
    (void)om_usable_size(p);
}

static void test_usable_size_after_free(void **state)
{
    (void)state;
    void *p = om_malloc(32);
    omtest_expect_abort(do_usable_after_free, p, expect("usable-size query of %p after", p));
    om_free(p);
}

static void do_private_double_free(void *arg)
{
    (void)arg;
    hp_heap *h = hp_heap_new(NULL);
    void *p = hp_heap_alloc(h, 50);
    hp_heap_free(h, p);
    hp_heap_free(h, p);
}

static void test_private_double_free(void **state)
{
    (void)state;
    omtest_expect_abort(do_private_double_free, NULL, "double free of");
}

static void do_one_line(void *p)
{
    om_free(p);
    om_free(p);
}

static void test_report_is_one_line(void **state)
{
    (void)state;
    void *p = om_malloc(8);
    const char *out = omtest_expect_abort(do_one_line, p, "objmem: fatal: double free");
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_true(nl[1] == '\0');
    om_free(p);
}

/* ---- the start-up option ---------------------------------------------------------- */

static int run_self(const char *mode, const char *env)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        putenv((char *)env);
        execl("/proc/self/exe", "test_debug", mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int child_debug_from_env(void)
{
    unsigned char *p = om_malloc(10);
    return p && hp_block_kind(hp_block_of(p)) == HP_KIND_DEBUG && p[0] == ALLOC_FILL ? 0 : 1;
}

static void test_start_option(void **state)
{
    (void)state;
    assert_int_equal(run_self("--debug-child", "OBJMEM_DEBUG=1"), 0);
    assert_int_equal(run_self("--debug-child", "OBJMEM_DEBUG=0"), 1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--debug-child"))
        return child_debug_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_patterns),
        cmocka_unit_test(test_usable_size_is_requested),
        cmocka_unit_test(test_alignment_kept),
        cmocka_unit_test(test_realloc_keeps_content),
        cmocka_unit_test(test_quarantine_holds_and_flushes),
        cmocka_unit_test(test_quarantine_is_bounded),
        cmocka_unit_test(test_off_again),
        cmocka_unit_test(test_private_heap),
        cmocka_unit_test(test_walk_that_frees),
        cmocka_unit_test(test_many_private_heaps),
        cmocka_unit_test(test_double_free),
        cmocka_unit_test(test_interior_free),
        cmocka_unit_test(test_write_past_end),
        cmocka_unit_test(test_write_far_past_end),
        cmocka_unit_test(test_write_before_start),
        cmocka_unit_test(test_write_after_free),
        cmocka_unit_test(test_usable_size_after_free),
        cmocka_unit_test(test_private_double_free),
        cmocka_unit_test(test_report_is_one_line),
        cmocka_unit_test(test_start_option),
    };
    return cmocka_run_group_tests(tests, debug_on, debug_off);
}
