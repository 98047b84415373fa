/* test_heap_release.c: memory goes back to the OS.  Frees a random 99% of
 * many small blocks, then checks that the heap's committed bytes and the
 * process's RSS (/proc/self/statm) drop as docs/design.md promises:
 * committed at most live bytes / density + 4 MiB, where density is the
 * share of a page's blocks that can keep it resident (see segment.c). */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

enum { BLOCK = 2048, N = 64 * 1024 }; /* 128 MiB of 2 KiB blocks */
static void *blocks[N];

static void free_99_percent_then_release(void **state)
{
    (void)state;
    size_t rss0 = rss_bytes();
    for (size_t i = 0; i < N; i++) {
        blocks[i] = om_malloc(BLOCK);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, BLOCK);
    }
    om_heap_stats full;
    om_heap_get_stats(&full);
    assert_true(full.committed >= (size_t)N * BLOCK);
    size_t rss_full = rss_bytes();
    assert_true(rss_full - rss0 >= (size_t)N * BLOCK * 9 / 10);
    omtest_srand(99);
    size_t live = 0;
    for (size_t i = 0; i < N; i++) {
        if (omtest_rand() % 100 == 0) {
            live++;
            continue;
        }
        om_free(blocks[i]);
        blocks[i] = NULL;
    }
    size_t given = om_release();
    assert_true(given > 0);
    om_heap_check();
    om_heap_stats after;
    om_heap_get_stats(&after);
    size_t live_bytes = live * BLOCK;
    /* 2 live blocks of 2 KiB share a page at most: a live block keeps at
     * most 2 pages (it may straddle two) */
    size_t bound = 2 * live * 4096 + ((size_t)4 << 20);
    fprintf(stderr, "live %zu KiB, committed %zu -> %zu KiB, rss %zu -> %zu KiB, bound %zu KiB\n",
            live_bytes >> 10, full.committed >> 10, after.committed >> 10, (rss_full - rss0) >> 10,
            (rss_bytes() - rss0) >> 10, bound >> 10);
    assert_true(after.committed <= bound);
    size_t rss = rss_bytes();
    assert_true(rss <= rss0 + bound);
    for (size_t i = 0; i < N; i++)
        om_free(blocks[i]);
    om_release();
    om_heap_check();
}

static int cmp_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* 64-byte blocks: a page of 64 blocks stays as long as one of them lives, so
 * the floor is the number of pages holding a survivor; om_release must come
 * down to it (plus the fixed slack of headers and current pools). */
enum { SMALL = 64, M = 128 * 1024 };
static void *small[M];
static uintptr_t pages[M];

static void small_blocks_down_to_the_page_floor(void **state)
{
    (void)state;
    om_release();
    size_t rss0 = rss_bytes();
    for (size_t i = 0; i < M; i++) {
        small[i] = om_malloc(SMALL);
        memset(small[i], 2, SMALL);
    }
    omtest_srand(5);
    size_t n = 0;
    for (size_t i = 0; i < M; i++) {
        if (omtest_rand() % 100 == 0) {
            pages[n++] = (uintptr_t)small[i] / 4096;
            continue;
        }
        om_free(small[i]);
        small[i] = NULL;
    }
    qsort(pages, n, sizeof pages[0], cmp_addr);
    size_t floor = 0;
    for (size_t i = 0; i < n; i++)
        floor += i == 0 || pages[i] != pages[i - 1];
    floor *= 4096;
    om_release();
    om_heap_check();
    om_heap_stats st;
    om_heap_get_stats(&st);
    size_t rss = rss_bytes();
    fprintf(stderr, "64-byte blocks: floor %zu KiB, committed %zu KiB, rss grew %zu KiB\n",
            floor >> 10, st.committed >> 10, (rss > rss0 ? rss - rss0 : 0) >> 10);
    assert_true(st.committed <= floor + ((size_t)4 << 20));
    assert_true(rss <= rss0 + floor + ((size_t)4 << 20));
    for (size_t i = 0; i < M; i++)
        om_free(small[i]);
    om_release();
    om_heap_check();
}

/* Without om_release: once enough frees have been counted, the slow paths
 * (refills, frees that move or empty a pool) look at the heap's sparse pools,
 * and those idle since the previous look give their free pages back.  With
 * purge_delay 0 every look may act.  The 64-byte pools, 99% free, are left
 * idle while another class churns; afterwards the pages that hold none of
 * their survivors must be mostly gone from memory (mincore). */
static void *churn[32 * 1024];
static uintptr_t free_pages[M];

static size_t resident(const uintptr_t *pg, size_t n)
{
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char v = 0;
        assert_int_equal(mincore((void *)(pg[i] * 4096), 4096, &v), 0);
        in += v & 1;
    }
    return in;
}

static void sparse_pools_purged_while_running(void **state)
{
    (void)state;
    long delay = 0;
    assert_int_equal(om_option_get("purge_delay", &delay), 0);
    assert_int_equal(om_option_set("purge_delay", 0), 0);
    om_release();
    for (size_t i = 0; i < M; i++) {
        small[i] = om_malloc(SMALL);
        memset(small[i], 3, SMALL);
    }
    omtest_srand(7);
    size_t nf = 0, ns = 0;
    for (size_t i = 0; i < M; i++) {
        if (omtest_rand() % 100 == 0) {
            pages[ns++] = (uintptr_t)small[i] / 4096;
            continue;
        }
        free_pages[nf++] = (uintptr_t)small[i] / 4096;
        om_free(small[i]);
        small[i] = NULL;
    }
    /* the pages that hold only freed blocks */
    qsort(pages, ns, sizeof pages[0], cmp_addr);
    qsort(free_pages, nf, sizeof free_pages[0], cmp_addr);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++)
        if ((n == 0 || free_pages[i] != free_pages[n - 1]) &&
            !bsearch(&free_pages[i], pages, ns, sizeof pages[0], cmp_addr))
            free_pages[n++] = free_pages[i];
    size_t before = resident(free_pages, n);
    for (int round = 0; round < 8; round++) {
        for (size_t j = 0; j < sizeof churn / sizeof churn[0]; j++)
            assert_non_null(churn[j] = om_malloc(256));
        for (size_t j = 0; j < sizeof churn / sizeof churn[0]; j++)
            om_free(churn[j]);
    }
    size_t after = resident(free_pages, n);
    fprintf(stderr, "pages without a survivor: %zu, resident %zu, after churning %zu\n", n, before,
            after);
    assert_true(n > 500);
    assert_true(after < n / 4);
    om_heap_check();
    assert_int_equal(om_option_set("purge_delay", delay), 0);
    for (size_t i = 0; i < M; i++)
        om_free(small[i]);
    om_release();
    om_heap_check();
}

static void empty_arenas_unmapped(void **state)
{
    (void)state;
    om_heap_stats before, after;
    om_release();
    om_heap_get_stats(&before);
    void *p[2000];
    for (int i = 0; i < 2000; i++)
        p[i] = om_malloc(16000); /* 32 MiB */
    for (int i = 0; i < 2000; i++)
        om_free(p[i]);
    om_release();
    om_heap_get_stats(&after);
    assert_true(after.arenas <= before.arenas + 1);
    assert_true(after.committed <= before.committed + ((size_t)1 << 20));
    assert_true(after.returned > before.returned);
    om_heap_check();
}

/* Without om_release, and with the paced purge held off (purge_delay of an
 * hour): a program that frees a random 99% of 64 MiB of small blocks gets
 * the pages that hold no survivor back while it frees (the sparse queue:
 * pools down to a quarter live are tracked and give back each page that
 * empties, in batches of 4 MiB), and when it then frees everything, the
 * emptied pools' slots go back too (the volume trigger on free slots).  Then
 * the pools are filled again, which must find every free block. */
enum { PROMPT = 256, P = 256 * 1024 }; /* 64 MiB of 256-byte blocks */
static void *prompt[P];
static uintptr_t prompt_pages[P], kept_pages[P];

static void freed_memory_returned_promptly(void **state)
{
    (void)state;
    long debug = 0;
    if (om_option_get("debug", &debug) == 0 && debug)
        skip(); /* debug pools keep their bits and quarantine frees: no sparse queue */
    long delay = 0;
    assert_int_equal(om_option_get("purge_delay", &delay), 0);
    assert_int_equal(om_option_set("purge_delay", 3600 * 1000), 0);
    om_release();
    om_heap_stats base, after, empty;
    om_heap_get_stats(&base);
    for (size_t i = 0; i < P; i++) {
        assert_non_null(prompt[i] = om_malloc(PROMPT));
        memset(prompt[i], (int)(i & 0xff), PROMPT);
    }
    omtest_srand(11);
    size_t nf = 0, nk = 0;
    for (size_t i = 0; i < P; i++) {
        if (omtest_rand() % 100 == 0) {
            kept_pages[nk++] = (uintptr_t)prompt[i] / 4096;
            continue;
        }
        prompt_pages[nf++] = (uintptr_t)prompt[i] / 4096;
        om_free(prompt[i]);
        prompt[i] = NULL;
    }
    qsort(kept_pages, nk, sizeof kept_pages[0], cmp_addr);
    qsort(prompt_pages, nf, sizeof prompt_pages[0], cmp_addr);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++)
        if ((n == 0 || prompt_pages[i] != prompt_pages[n - 1]) &&
            !bsearch(&prompt_pages[i], kept_pages, nk, sizeof kept_pages[0], cmp_addr))
            prompt_pages[n++] = prompt_pages[i];
    size_t in = resident(prompt_pages, n);
    om_heap_check();
    om_heap_get_stats(&after);
    fprintf(stderr, "pages without a survivor: %zu, still resident %zu; committed %zu KiB\n", n, in,
            after.committed >> 10);
    assert_true(n > 8000);
    /* two sparse batches (4 MiB each) and the free slots of emptied pools
     * (4 MiB) may wait, and the current pool keeps its pages */
    assert_true(in < 3 * 1024 + 64);
    for (size_t i = 0; i < P; i++) /* survivors intact */
        if (prompt[i])
            for (size_t j = 0; j < PROMPT; j++)
                assert_int_equal(((unsigned char *)prompt[i])[j], i & 0xff);
    for (size_t i = 0; i < P; i++) {
        om_free(prompt[i]);
        prompt[i] = NULL;
    }
    om_heap_get_stats(&empty);
    fprintf(stderr, "all freed: committed %zu KiB (%zu KiB before the test)\n",
            empty.committed >> 10, base.committed >> 10);
    assert_true(empty.committed <= base.committed + ((size_t)12 << 20));
    om_heap_check();
    for (size_t i = 0; i < P; i++) { /* fill again: tracked pools give every block back */
        assert_non_null(prompt[i] = om_malloc(PROMPT));
        memset(prompt[i], 5, PROMPT);
    }
    om_heap_check();
    for (size_t i = 0; i < P; i++)
        om_free(prompt[i]);
    assert_int_equal(om_option_set("purge_delay", delay), 0);
    om_release();
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_99_percent_then_release),
        cmocka_unit_test(small_blocks_down_to_the_page_floor),
        cmocka_unit_test(sparse_pools_purged_while_running),
        cmocka_unit_test(empty_arenas_unmapped),
        cmocka_unit_test(freed_memory_returned_promptly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
