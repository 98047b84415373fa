/*
 * bench/small.c: small malloc/free pairs on one thread (issue #2, benchmark 1).
 *
 *     small fixed PAIRS          allocate and at once free, PAIRS times in
 *                                all: PAIRS / 32 times 16 bytes, then as many
 *                                32 bytes, ... up to 512 bytes
 *     small window OPS WINDOW    WINDOW live blocks of random sizes 16..512;
 *                                OPS times, free a random one and put a new
 *                                block of a random size in its place
 *
 * "fixed" is the allocator's fast path and nothing else: the block just
 * freed is the next one handed out.  (Cycling through the 32 sizes on every
 * pair instead is a trap for allocators that give an empty page back at
 * once: mimalloc 2.0 took over ten times longer on it than on this loop.)  "window" makes the free
 * lists cold and mixed, as in a program whose objects die in no particular order; with the default
 * window (64 Ki blocks, about 17 MiB) the live data no longer fits in the caches, so every
 * operation pays for a miss or two.
 *
 * Each block of "window" is marked (alloc_api.h) and checked before it is
 * freed.
 *
 * Reports: time (s), ns per pair or per replacement.
 */
#include <string.h>

#include "alloc_api.h"
#include "bench.h"

/* Sizes of "fixed": 16 to 512 in steps of 16, 32 of them. */
#define FIXED_STEP  16
#define FIXED_SIZES (BENCH_SMALL_MAX / FIXED_STEP)

/* PAIRS / 32 pairs of each size in turn; every pair writes a byte that the
 * checksum reads back. */
static void run_fixed(long pairs)
{
    long per_size = pairs / FIXED_SIZES;
    unsigned long sum = 0;
    double t0 = bench_now();
    for (size_t size = FIXED_STEP; size <= BENCH_SMALL_MAX; size += FIXED_STEP) {
        for (long i = 0; i < per_size; i++) {
            unsigned char *p = BENCH_MALLOC(size);
            if (!p)
                bench_fail("small fixed: allocation of %zu bytes failed", size);
            p[0] = 1;
            BENCH_ESCAPE(p);
            sum += p[0];
            BENCH_FREE(p);
        }
    }
    double t = bench_now() - t0;
    if (sum != (unsigned long)(per_size * FIXED_SIZES))
        bench_fail("small fixed: checksum %lu is wrong", sum);
    bench_metric("time", t, "s");
    bench_metric("ns_per_pair", t * 1e9 / (double)(per_size * FIXED_SIZES), "ns");
}

static void run_window(long ops, long window)
{
    bench_rng rng = {42};
    unsigned char **slots = BENCH_MALLOC((size_t)window * sizeof *slots);
    if (!slots)
        bench_fail("small window: no memory for %ld slots", window);
    for (long i = 0; i < window; i++)
        slots[i] = bench_marked_block(&rng);

    double t0 = bench_now();
    for (long i = 0; i < ops; i++) {
        size_t k = (size_t)(bench_rand(&rng) % (uint64_t)window);
        bench_unmark(slots[k]);
        BENCH_FREE(slots[k]);
        slots[k] = bench_marked_block(&rng);
    }
    double t = bench_now() - t0;

    for (long i = 0; i < window; i++) {
        bench_unmark(slots[i]);
        BENCH_FREE(slots[i]);
    }
    BENCH_FREE(slots);
    bench_metric("time", t, "s");
    bench_metric("ns_per_op", t * 1e9 / (double)ops, "ns");
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    if (argc >= 2 && strcmp(argv[1], "fixed") == 0)
        run_fixed(bench_arg(argc, argv, 2, 50000000));
    else if (argc >= 2 && strcmp(argv[1], "window") == 0)
        run_window(bench_arg(argc, argv, 2, 20000000), bench_arg(argc, argv, 3, 65536));
    else
        bench_fail("usage: %s fixed [PAIRS] | window [OPS [WINDOW]]", argv[0]);
    return 0;
}
