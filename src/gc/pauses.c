/*
 * gc/pauses.c: how long collections stop the program, as histograms.
 *
 * A pause of n nanoseconds falls in a log-linear bucket: its power of two
 * picks a row of GC_PAUSE_SUB buckets and the next 4 bits below the leading
 * one pick the bucket in the row, so every bucket spans 1/16 of its value:
 *
 *     n < 16          bucket n (exact)
 *     2^e <= n < 2^(e+1), 4 <= e < GC_PAUSE_MAX_EXP
 *                     bucket (e - 3) * 16 + ((n >> (e - 4)) & 15)
 *
 * A percentile reports the middle of its bucket (never above the exact
 * maximum), so p50 and p99 are within 1/16 of the truth.  Recording is O(1)
 * and never allocates.
 */
#include <time.h>

#include "gc/state.h"

static unsigned bucket_of(uint64_t ns)
{
    if (ns < GC_PAUSE_SUB)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns);
    if (e >= GC_PAUSE_MAX_EXP)
        return GC_PAUSE_BUCKETS - 1;
    return (e - 3) * GC_PAUSE_SUB + (unsigned)((ns >> (e - 4)) & (GC_PAUSE_SUB - 1));
}

/* The middle of a bucket's range. */
static uint64_t value_of(unsigned b)
{
    if (b < GC_PAUSE_SUB)
        return b;
    unsigned e = b / GC_PAUSE_SUB + 3;
    uint64_t lo = ((uint64_t)(GC_PAUSE_SUB + b % GC_PAUSE_SUB)) << (e - 4);
    return lo + ((uint64_t)1 << (e - 4)) / 2;
}

gc_clock gc_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (gc_clock){om_now_ns(), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec};
}

void gc_pause_add(gc_pause_hist *h, uint64_t wall_ns, uint64_t cpu_ns)
{
    h->count++;
    h->total_ns += wall_ns;
    if (wall_ns > h->max_ns)
        h->max_ns = wall_ns;
    if (cpu_ns > h->cpu_max_ns)
        h->cpu_max_ns = cpu_ns;
    h->buckets[bucket_of(wall_ns)]++;
    h->cpu_buckets[bucket_of(cpu_ns)]++;
}

uint64_t gc_pause_record(gc_pause_hist *h, gc_clock start)
{
    gc_clock now = gc_clock_now();
    uint64_t wall = now.wall - start.wall;
    gc_pause_add(h, wall, now.cpu > start.cpu ? now.cpu - start.cpu : 0);
    return wall;
}

/* The value below which a fraction num/den of the pauses fall. */
static uint64_t percentile(const gc_pause_hist *h, const uint32_t *buckets, uint64_t max,
                           uint64_t num, uint64_t den)
{
    uint64_t rank = (h->count * num + den - 1) / den; /* 1-based */
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < GC_PAUSE_BUCKETS; b++) {
        seen += buckets[b];
        if (seen >= rank) {
            uint64_t v = value_of(b);
            return v < max ? v : max;
        }
    }
    return max;
}

void gc_pause_summarize(const gc_pause_hist *h, om_gc_pause_stats *out)
{
    out->count = h->count;
    out->total_ns = h->total_ns;
    out->max_ns = h->max_ns;
    out->cpu_max_ns = h->cpu_max_ns;
    out->p50_ns = h->count ? percentile(h, h->buckets, h->max_ns, 50, 100) : 0;
    out->p99_ns = h->count ? percentile(h, h->buckets, h->max_ns, 99, 100) : 0;
    out->cpu_p99_ns = h->count ? percentile(h, h->cpu_buckets, h->cpu_max_ns, 99, 100) : 0;
}
