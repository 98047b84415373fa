/*
 * bench/rss.c: memory given back to the OS after freeing most of a large
 * heap (issue #2, benchmark 5).  It measures memory, not time.
 *
 *     rss MIB [KEEP_PER_MILLE [scatter | runs]]
 *                                       defaults: 1024 MiB, keep 10 per mille,
 *                                       scatter
 *
 *  1. allocate       small blocks of random sizes 16..512 (every byte
 *                    written) until MIB MiB are requested: about four
 *                    million blocks for 1 GiB
 *  2. choose         the survivors, KEEP_PER_MILLE / 1000 of the blocks:
 *                    "scatter": at random, about one block in a hundred
 *                    all over the heap; "runs": runs of RUN blocks
 *                    allocated one after the other (data that was born and
 *                    lives together), one run in every 100
 *  3. free           all the others, in a random order (Fisher-Yates)
 *  4. give back      objmem: om_release(); glibc: malloc_trim(0); the
 *                    other peers have no such call
 *
 * After steps 1, 3 and 4 it reads the resident set size and reports it
 * beside the live bytes.  The goal (VISION.md) is
 *
 *     ratio = RSS / (live + 4 MiB) <= 1.25
 *
 * right after the frees ("promptly").  The 4 MiB are an allowance for the
 * program, the C library and the allocator's own metadata.  rss_ratio, the
 * figure the runner compares, is the ratio after the last step the peer has.
 *
 * A floor beside it: floor_mib counts the distinct OS pages that still hold
 * a survivor, the least RSS any allocator that does not move blocks can
 * reach.  With one block in a hundred kept at random and about fifteen
 * blocks to a 4 KiB page, some 14% of the pages keep a survivor
 * (1 - 0.99^15), so the floor lies near 150 MiB for 1 GiB: about 11x the
 * live bytes plus the allowance: with "scatter" no allocator that leaves
 * blocks where they are can meet the goal.  With "runs" the survivors fill
 * their pages, the floor is about the live bytes, and the goal is within
 * reach of an allocator that gives free pages back promptly.
 *
 * The table of block pointers is mapped from the OS, not allocated, so it
 * does not weigh on the allocator under test, and the part of it that held
 * the freed blocks is unmapped before the RSS is read again.
 *
 * Reports: live_mib, rss_full_mib, rss_free_mib, ratio_free, then
 * rss_release_mib / ratio_release (objmem) or rss_trim_mib / ratio_trim
 * (glibc), rss_ratio, floor_mib, floor_ratio, and the seconds the allocation
 * and the frees took.
 */
#include <malloc.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc_api.h"
#include "bench.h"

#define ALLOWANCE (4.0 * BENCH_MIB)
#define PER_MILLE 1000
#define RUN       1024 /* blocks in a run of survivors ("runs"): about 264 KiB */

typedef struct table {
    unsigned char **blocks;
    size_t count, capacity, mapped; /* mapped: bytes of the mapping */
} table;

static void table_map(table *t, size_t target)
{
    t->capacity = target / BENCH_SMALL_MIN + 1;
    t->mapped = t->capacity * sizeof *t->blocks;
    t->blocks = mmap(NULL, t->mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t->blocks == MAP_FAILED)
        bench_fail("rss: cannot map a table of %zu blocks", t->capacity);
    t->count = 0;
}

/* Unmaps the table past its first `keep` entries. */
static void table_trim(table *t, size_t keep)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t used = (keep * sizeof *t->blocks + page - 1) / page * page;
    if (used < t->mapped)
        munmap((char *)t->blocks + used, t->mapped - used);
    t->mapped = used;
}

/* A block's marks: its size in the first two bytes, every other byte the
 * size's low byte. */
static size_t size_of(const unsigned char *p)
{
    return (size_t)p[0] | (size_t)p[1] << 8;
}

static void allocate(table *t, size_t target, bench_rng *rng)
{
    for (size_t total = 0; total < target && t->count < t->capacity;) {
        size_t size = bench_between(bench_rand(rng), BENCH_SMALL_MIN, BENCH_SMALL_MAX);
        unsigned char *p = BENCH_MALLOC(size);
        if (!p)
            bench_fail("rss: allocation failed after %zu blocks", t->count);
        memset(p, (int)(size & 0xff), size);
        p[0] = (unsigned char)size;
        p[1] = (unsigned char)(size >> 8);
        t->blocks[t->count++] = p;
        total += size;
    }
}

static void swap(unsigned char **a, unsigned char **b)
{
    unsigned char *tmp = *a;
    *a = *b;
    *b = tmp;
}

/* Fisher-Yates over blocks[from, count). */
static void shuffle(table *t, size_t from, bench_rng *rng)
{
    for (size_t i = t->count; i > from + 1; i--)
        swap(&t->blocks[i - 1], &t->blocks[from + (size_t)(bench_rand(rng) % (i - from))]);
}

/* Step 2: moves the survivors to the front of the table, the others after
 * them in a random order; returns how many survive. */
static size_t choose(table *t, size_t per_mille, bool runs, bench_rng *rng)
{
    size_t keep = 0;
    if (runs) {
        size_t every = PER_MILLE / per_mille;
        for (size_t i = 0; i < t->count; i++)
            if ((i / RUN) % every == 0)
                swap(&t->blocks[keep++], &t->blocks[i]);
    } else {
        shuffle(t, 0, rng);
        keep = t->count * per_mille / PER_MILLE;
    }
    shuffle(t, keep, rng);
    return keep;
}

/* Checks the survivors' marks and returns their live bytes. */
static size_t live_bytes(const table *t, size_t keep)
{
    size_t live = 0;
    for (size_t i = 0; i < keep; i++) {
        const unsigned char *p = t->blocks[i];
        size_t size = size_of(p);
        if (size < BENCH_SMALL_MIN || size > BENCH_SMALL_MAX || p[size - 1] != (size & 0xff))
            bench_fail("rss: a surviving block was overwritten");
        live += size;
    }
    return live;
}

static int compare_pages(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Bytes of the distinct pages the survivors touch: the least RSS that any
 * allocator that does not move blocks could keep (for the page size of the
 * OS).  Read after the measurements, so its own memory does not count. */
static size_t page_floor(const table *t, size_t keep)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0, distinct = 0;
    uintptr_t *pages = calloc(2 * keep + 1, sizeof *pages);
    if (!pages)
        bench_fail("rss: no memory to count pages");
    for (size_t i = 0; i < keep; i++) {
        uintptr_t first = (uintptr_t)t->blocks[i] / page;
        uintptr_t last = ((uintptr_t)t->blocks[i] + size_of(t->blocks[i]) - 1) / page;
        pages[n++] = first;
        if (last != first)
            pages[n++] = last;
    }
    qsort(pages, n, sizeof *pages, compare_pages);
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || pages[i] != pages[i - 1];
    free(pages);
    return distinct * page;
}

static void report(const char *step, size_t rss, size_t live)
{
    char key[32];
    snprintf(key, sizeof key, "rss_%s_mib", step);
    bench_metric(key, (double)rss / BENCH_MIB, "MiB");
    snprintf(key, sizeof key, "ratio_%s", step);
    bench_metric(key, (double)rss / ((double)live + ALLOWANCE), "x");
}

/* Step 4, where the peer has it; returns the RSS after it, or 0. */
static size_t give_back(size_t live)
{
    size_t rss = 0;
#if defined(BENCH_OBJMEM)
    size_t released = om_release();
    rss = bench_rss();
    bench_metric("released_mib", (double)released / BENCH_MIB, "MiB");
    report("release", rss, live);
#elif defined(BENCH_SYSTEM)
    if (strcmp(bench_allocator(), "glibc") == 0) {
        malloc_trim(0);
        rss = bench_rss();
        report("trim", rss, live);
    }
#endif
    (void)live;
    return rss;
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    size_t target = (size_t)bench_arg(argc, argv, 1, 1024) << 20;
    size_t per_mille = (size_t)bench_arg(argc, argv, 2, 10);
    bool runs = argc > 3 && strcmp(argv[3], "runs") == 0;
    if (per_mille > PER_MILLE)
        bench_fail("rss: KEEP_PER_MILLE is at most %d", PER_MILLE);
    bench_rng rng = {99};
    table t;
    table_map(&t, target);

    double t0 = bench_now();
    allocate(&t, target, &rng);
    double t1 = bench_now();
    size_t rss_full = bench_rss();
    size_t keep = choose(&t, per_mille, runs, &rng);
    double t2 = bench_now();
    for (size_t i = keep; i < t.count; i++)
        BENCH_FREE(t.blocks[i]);
    double t3 = bench_now();
    table_trim(&t, keep);

    size_t rss_free = bench_rss();
    size_t live = live_bytes(&t, keep);
    bench_metric("blocks", (double)t.count, "blocks");
    bench_metric("live_mib", (double)live / BENCH_MIB, "MiB");
    bench_metric("rss_full_mib", (double)rss_full / BENCH_MIB, "MiB");
    report("free", rss_free, live);
    size_t rss_last = give_back(live);
    if (!rss_last)
        rss_last = rss_free;
    bench_metric("rss_ratio", (double)rss_last / ((double)live + ALLOWANCE), "x");
    size_t floor = page_floor(&t, keep);
    bench_metric("floor_mib", (double)floor / BENCH_MIB, "MiB");
    bench_metric("floor_ratio", (double)floor / ((double)live + ALLOWANCE), "x");
    bench_metric("alloc_s", t1 - t0, "s");
    bench_metric("free_s", t3 - t2, "s");

    for (size_t i = 0; i < keep; i++)
        BENCH_FREE(t.blocks[i]);
    if (t.mapped)
        munmap(t.blocks, t.mapped);
    return 0;
}
