/*
 * test_fault.c: fault injection.  The nth allocation fails, only that one,
 * on every allocation path; a sweep over n proves a small workload's error
 * paths leak nothing.
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
#include "omtest.h"

/* Live blocks, after the debug heap's quarantine gave its blocks back. */
static size_t blocks_in_use(void)
{
    hp_debug_flush(NULL);
    om_heap_stats st;
    om_heap_get_stats(&st);
    return st.blocks_in_use;
}

/* The message of the kth injected failure. */
static void assert_injected(uint64_t k)
{
    char want[64];
    snprintf(want, sizeof want, "injected allocation failure #%llu", (unsigned long long)k);
    assert_int_equal(errno, ENOMEM);
    assert_string_equal(om_error_message(), want);
    assert_int_equal(om_heap_failures(), k);
}

static void test_nth_fails_once(void **state)
{
    (void)state;
    uint64_t k = om_heap_failures();
    void *p[6];
    om_heap_fail_after(3);
    p[0] = om_malloc(10);
    p[1] = om_malloc(100);
    errno = 0;
    p[2] = om_malloc(10);
    assert_null(p[2]);
    assert_injected(k + 1);
    p[3] = om_malloc(10);
    p[4] = om_malloc(1 << 20);
    p[5] = om_malloc(0);
    assert_non_null(p[0]);
    assert_non_null(p[1]);
    assert_non_null(p[3]);
    assert_non_null(p[4]);
    assert_non_null(p[5]);
    assert_int_equal(om_heap_failures(), k + 1);
    for (int i = 0; i < 6; i++)
        om_free(p[i]);
    om_heap_check();
}

static void test_disarm(void **state)
{
    (void)state;
    uint64_t k = om_heap_failures();
    om_heap_fail_after(2);
    om_heap_fail_after(0);
    for (int i = 0; i < 10; i++) {
        void *p = om_malloc(16);
        assert_non_null(p);
        om_free(p);
    }
    assert_int_equal(om_heap_failures(), k);
}

/* Each path, armed with n = 1, fails on its first allocation. */
static void test_every_path_counts(void **state)
{
    (void)state;
    uint64_t k = om_heap_failures();
    hp_heap *h = hp_heap_new(NULL);
    void *small = om_malloc(8);
    void *hs = hp_heap_alloc(h, 8);
    memcpy(small, "abcdefg", 8);
    memcpy(hs, "hijklmn", 8);

    om_heap_fail_after(1);
    assert_null(om_malloc(24));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(om_calloc(3, 8));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(om_aligned_alloc(256, 24));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(om_realloc(small, 100000)); /* growing: a new block */
    assert_injected(++k);
    assert_string_equal(small, "abcdefg"); /* the old block is untouched */
    om_heap_fail_after(1);
    assert_null(om_realloc(NULL, 40));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(hp_heap_alloc(h, 24));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(hp_heap_calloc(h, 24));
    assert_injected(++k);
    om_heap_fail_after(1);
    assert_null(hp_heap_realloc(h, hs, 5000));
    assert_injected(++k);
    assert_string_equal(hs, "hijklmn");

    om_free(small);
    hp_heap_free(h, hs);
    hp_heap_delete(h);
    om_heap_check();
}

/* ---- the sweep ------------------------------------------------------------------ */

typedef struct node {
    struct node *next;
    char *text;     /* om_realloc'd, growing */
    double *values; /* om_calloc'd */
    void *aligned;  /* om_aligned_alloc'd */
} node;

static void free_nodes(node *n)
{
    while (n) {
        node *next = n->next;
        om_free(n->text);
        om_free(n->values);
        om_free(n->aligned);
        om_free(n);
        n = next;
    }
}

/* Builds a list using every path of the global heap and a private heap;
 * on any failure undoes everything and returns -1. */
static int workload(void)
{
    node *list = NULL;
    hp_heap *h = hp_heap_new(NULL);
    if (!h)
        return -1;
    for (int i = 0; i < 12; i++) {
        node *n = om_calloc(1, sizeof *n);
        if (!n)
            goto fail;
        n->next = list;
        list = n;
        for (size_t len = 8; len <= (size_t)64 << i; len *= 4) {
            char *t = om_realloc(n->text, len);
            if (!t)
                goto fail;
            memset(t, 'a' + i, len);
            n->text = t;
        }
        n->values = om_calloc((size_t)i + 1, sizeof(double));
        n->aligned = om_aligned_alloc((size_t)64 << (i % 8), 10);
        if (!n->values || !n->aligned)
            goto fail;
        void *a = hp_heap_alloc(h, 40 + (size_t)i * 30);
        void *b = hp_heap_calloc(h, 10);
        if (!a || !b)
            goto fail;
        void *c = hp_heap_realloc(h, a, 3000);
        if (!c)
            goto fail;
        hp_heap_free(h, b);
    }
    free_nodes(list);
    hp_heap_delete(h);
    return 0;
fail:
    free_nodes(list);
    hp_heap_delete(h);
    return -1;
}

static void sweep(void)
{
    size_t start = blocks_in_use();
    uint64_t k = om_heap_failures();
    int n;
    for (n = 1; n < 100000; n++) {
        om_heap_fail_after((uint64_t)n);
        errno = 0;
        int rc = workload();
        assert_int_equal(blocks_in_use(), start);
        if (rc == 0)
            break;
        assert_injected(++k);
        om_heap_check();
    }
    om_heap_fail_after(0);
    /* every allocation of the workload failed once: more than 12 * 6 of them */
    assert_true(n > 12 * 6);
    assert_int_equal(om_heap_failures(), k);
    om_heap_check();
}

static void test_sweep(void **state)
{
    (void)state;
    sweep();
}

static void test_sweep_debug_heap(void **state)
{
    (void)state;
    om_heap_set_debug(1);
    sweep();
    om_heap_set_debug(0);
}

/* ---- the start-up option ------------------------------------------------------------ */

static int child_fail_at(void)
{
    void *a = om_malloc(10);
    void *b = om_malloc(10);
    void *c = om_malloc(10);
    return a && !b && c && om_heap_failures() == 1 ? 0 : 1;
}

static void test_start_option(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        putenv((char *)"OBJMEM_FAIL_AT=2");
        execl("/proc/self/exe", "test_fault", "--fail-at-child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--fail-at-child"))
        return child_fail_at();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nth_fails_once),    cmocka_unit_test(test_disarm),
        cmocka_unit_test(test_every_path_counts), cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_sweep_debug_heap),  cmocka_unit_test(test_start_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
