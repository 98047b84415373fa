/*
 * bench/bench.h: what every benchmark program shares.
 *
 * A benchmark program is an ordinary process that does its work once and
 * reports on stdout, one fact a line:
 *
 *     info KEY WORD          a fact that is not a number (the allocator)
 *     metric KEY VALUE UNIT  a number; the runner takes the median of each
 *                            KEY over the repetitions
 *
 * The runner (bench/run) adds the process's wall time and peak RSS, picks the
 * metric named in bench/benchmarks.list as the one to compare, and prints
 * the rest beneath it.  A program that finds a wrong result (a checksum that
 * does not add up) says so on stderr and exits non-zero: the runner then
 * fails the whole run, so a benchmark that rots cannot go unseen.
 *
 * Times are measured inside the program around the measured phase only, so
 * start-up, loading a preloaded library and the final teardown do not count.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* "metric KEY VALUE UNIT" on stdout. */
void bench_metric(const char *key, double value, const char *unit);

/* Resident set size of this process now, in bytes (/proc/self/statm). */
size_t bench_rss(void);

/* argv[i] as a positive integer, or dflt when absent; a malformed argument
 * ends the program with a usage line. */
long bench_arg(int argc, char **argv, int i, long dflt);

/* A message on stderr, then exit(1): a wrong result or a failed allocation. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A fast, seeded random source (splitmix64): every peer sees the same
 * sequence of sizes and slots. */
typedef struct bench_rng {
    uint64_t state;
} bench_rng;

static inline uint64_t bench_rand(bench_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform number in [lo, hi], from the top bits of one draw. */
static inline size_t bench_between(uint64_t draw, size_t lo, size_t hi)
{
    return lo + (size_t)((draw >> 32) % (uint64_t)(hi - lo + 1));
}

/* The small-request range of the heap benchmarks (objmem's small classes). */
#define BENCH_SMALL_MIN 16
#define BENCH_SMALL_MAX 512

#define BENCH_MIB (1024.0 * 1024.0)

#endif
