/*
 * util/clock.c: a monotonic clock in nanoseconds and a seed for random
 * sources that never blocks and never allocates.
 */
#include <sys/random.h>
#include <time.h>

#include "util/util.h"

uint64_t om_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t om_random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        uint64_t noise = om_now_ns() ^ (uint64_t)(uintptr_t)&seed;
        seed = om_splitmix64(&noise);
    }
    return seed;
}
