/*
 * bench/stats_read.c: what it costs to read the allocator's statistics, on a
 * small heap and on a heap of many blocks spread over several threads.
 *
 *     stats_read BLOCKS THREADS
 *
 * objmem reads om_heap_get_stats (every counter of the heap: bytes and
 * blocks in use and peak, per size class, arenas, pools, committed,
 * returned, fragmentation); glibc's peer reads mallinfo2, its nearest
 * equivalent.  Issue #2 asks for a read "in well under a microsecond" that
 * does not grow with the heap: the read sums per-thread counters and never
 * walks pools, so read_ns_big should stay near read_ns_small.
 *
 * Each cost is the fastest of 50 batches of 1000 reads (a preempted batch
 * only raises its own figure).  Reports read_ns_small (an empty heap),
 * read_ns_big (BLOCKS blocks of 16..512 bytes held by THREADS threads that
 * stay alive), growth (big / small).
 */
#include <malloc.h>
#include <pthread.h>

#include "alloc_api.h"
#include "bench.h"

static double read_ns(void)
{
    double best = 1e30;
    for (int batch = 0; batch < 50; batch++) {
        double t0 = bench_now();
        for (int i = 0; i < 1000; i++) {
#if defined(BENCH_OBJMEM)
            om_heap_stats st;
            om_heap_get_stats(&st);
            __asm__ volatile("" : : "r"(&st) : "memory");
#else
            struct mallinfo2 mi = mallinfo2();
            __asm__ volatile("" : : "r"(&mi) : "memory");
#endif
        }
        double ns = (bench_now() - t0) * 1e9 / 1000.0;
        if (ns < best)
            best = ns;
    }
    return best;
}

typedef struct holder {
    pthread_t thread;
    long blocks;
    void **held;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int *phase; /* 1: filled by all; 2: may free */
    int *filled;
} holder;

/* Allocates its share, says so, waits for the reads, frees. */
static void *hold(void *arg)
{
    holder *h = arg;
    bench_rng rng = {(uint64_t)(uintptr_t)h};
    for (long i = 0; i < h->blocks; i++) {
        size_t n = bench_between(bench_rand(&rng), BENCH_SMALL_MIN, BENCH_SMALL_MAX);
        if (!(h->held[i] = BENCH_MALLOC(n)))
            bench_fail("stats_read: out of memory");
    }
    pthread_mutex_lock(h->lock);
    ++*h->filled;
    pthread_cond_broadcast(h->cond);
    while (*h->phase < 2)
        pthread_cond_wait(h->cond, h->lock);
    pthread_mutex_unlock(h->lock);
    for (long i = 0; i < h->blocks; i++)
        BENCH_FREE(h->held[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    long blocks = bench_arg(argc, argv, 1, 1000000);
    long threads = bench_arg(argc, argv, 2, 4);
    double small = read_ns();

    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    int phase = 1, filled = 0;
    holder *hs = calloc((size_t)threads, sizeof *hs);
    void **held = malloc((size_t)blocks * sizeof *held);
    if (!hs || !held)
        bench_fail("stats_read: out of memory");
    for (long t = 0; t < threads; t++) {
        long lo = blocks * t / threads, hi = blocks * (t + 1) / threads;
        hs[t] = (holder){0, hi - lo, held + lo, &lock, &cond, &phase, &filled};
        if (pthread_create(&hs[t].thread, NULL, hold, &hs[t]))
            bench_fail("stats_read: pthread_create");
    }
    pthread_mutex_lock(&lock);
    while (filled < threads)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);

    double big = read_ns();

    pthread_mutex_lock(&lock);
    phase = 2;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (long t = 0; t < threads; t++)
        pthread_join(hs[t].thread, NULL);
    free(held);
    free(hs);

    bench_metric("read_ns_big", big, "ns");
    bench_metric("read_ns_small", small, "ns");
    bench_metric("growth", big / small, "x");
    return 0;
}
