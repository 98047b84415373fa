/*
 * trace/sample.c: what a sampled block stands for, and the tracer's own
 * countdown for when the heap cannot sample.
 *
 * Sampling is a Poisson process of rate 1/M over allocated bytes: the gaps
 * between sampled bytes are exponential with mean M.  Normally the heap runs
 * it (hp_hooks.sample_bytes, each heap counting down on its fast path) and
 * calls on_alloc only for the blocks that hold a sampled byte.  A block of
 * s bytes holds one with probability
 *
 *     p(s) = 1 - exp(-s/M)        (memoryless: whatever came before)
 *
 * and is recorded with the Horvitz-Thompson weight w(s) = s / p(s), so that
 * E[w(s) 1{sampled}] = s for every block and all totals are unbiased:
 *
 *     s / M       0.01    0.1     0.5     1       2       8
 *     w(s) / M    1.005   1.05    1.27    1.58    2.31    8.003
 *
 * max(s, M) <= w(s) <= s + M; max(s, M) alone would undercount by 37% at
 * s = M.  The debug heap's blocks are never sampled by the heap, so while it
 * is on the tracer takes every block through exact hooks and runs the same
 * process itself, one countdown per thread (tr_sample_own).
 */
#include <math.h>

#include "trace/trace.h"

static OM_THREAD_LOCAL int64_t own_left;
static OM_THREAD_LOCAL uint64_t own_rng;
static OM_THREAD_LOCAL size_t own_mean; /* the mean own_left was drawn for */

size_t tr_sample_weight(size_t size, size_t mean)
{
    double p = -expm1(-(double)size / (double)mean); /* 1 - exp(-s/M), exact for small s */
    double weight = p > 0 ? (double)size / p : (double)mean;
    return weight < (double)size ? size : (size_t)(weight + 0.5);
}

/* The next gap: exponential of the given mean (inverse transform). */
static int64_t next_gap(size_t mean)
{
    if (own_mean != mean || own_rng == 0) {
        own_rng = om_random_seed() | 1;
        own_mean = mean;
    }
    double u = (double)((om_splitmix64(&own_rng) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double gap = -log(u) * (double)mean;
    return gap < 1.0 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap;
}

size_t tr_sample_own(size_t size, size_t mean)
{
    if (own_mean != mean)
        own_left = next_gap(mean);
    own_left -= (int64_t)size;
    if (OM_LIKELY(own_left > 0))
        return 0;
    own_left = next_gap(mean); /* memoryless: draw afresh from the block's end */
    return tr_sample_weight(size, mean);
}
