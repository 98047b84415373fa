/*
 * bench/larson.c: a churn of many threads with blocks that change hands
 * (issue #2, benchmark 4), after the server workload of Larson and Krishnan,
 * "Memory allocation for long-running server applications" (ISMM 1998).
 *
 *     larson THREADS ROUNDS OPS WINDOW
 *
 * Each thread owns a window of WINDOW blocks of random sizes 16..512, in two
 * halves: one it keeps, one it hands on.  A round is OPS replacements (free
 * a random block of the window, allocate a new one of a random size in its
 * place); then all threads meet, and the hand-on halves move one thread
 * along the ring:
 *
 *     round r:    T0 [keep0|handA]   T1 [keep1|handB]   T2 [keep2|handC]
 *     round r+1:  T0 [keep0|handC]   T1 [keep1|handA]   T2 [keep2|handB]
 *
 * so after the first round about half of each thread's frees hit blocks
 * another thread allocated, while the other half stays thread-local.
 *
 * Each block is marked (alloc_api.h) and checked before it is freed, so an
 * allocator that hands out overlapping blocks fails the run.
 *
 * Reports: time (s, all threads), ns per replacement.
 */
#include <pthread.h>

#include "alloc_api.h"
#include "bench.h"

#define MAX_THREADS 64

static struct {
    int threads;
    long rounds, ops, half; /* half: blocks per half window */
    pthread_barrier_t meet;
    unsigned char **hand[MAX_THREADS]; /* hand-on half of thread i, this round */
} world;

typedef struct worker {
    pthread_t thread;
    int id;
    unsigned char **keep;
    bench_rng rng;
} worker;

static void replace(unsigned char **slot, bench_rng *rng)
{
    bench_unmark(*slot);
    BENCH_FREE(*slot);
    *slot = bench_marked_block(rng);
}

/* After this, world.hand[i] is what thread i-1 handed on. */
static void pass_hands(void)
{
    int r = pthread_barrier_wait(&world.meet);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
        unsigned char **last = world.hand[world.threads - 1];
        for (int i = world.threads - 1; i > 0; i--)
            world.hand[i] = world.hand[i - 1];
        world.hand[0] = last;
    }
    pthread_barrier_wait(&world.meet);
}

static void *run(void *arg)
{
    worker *w = arg;
    bench_rng rng = w->rng; /* local: the workers share cache lines */
    for (long round = 0; round < world.rounds; round++) {
        unsigned char **hand = world.hand[w->id];
        for (long i = 0; i < world.ops; i++) {
            uint64_t k = bench_rand(&rng) % (uint64_t)(2 * world.half);
            replace(k < (uint64_t)world.half ? &w->keep[k] : &hand[k - world.half], &rng);
        }
        pass_hands();
    }
    w->rng = rng;
    return NULL;
}

static unsigned char **new_half(bench_rng *rng)
{
    unsigned char **half = BENCH_MALLOC((size_t)world.half * sizeof *half);
    if (!half)
        bench_fail("larson: no memory for a window");
    for (long i = 0; i < world.half; i++)
        half[i] = bench_marked_block(rng);
    return half;
}

static void free_half(unsigned char **half)
{
    for (long i = 0; i < world.half; i++)
        BENCH_FREE(half[i]);
    BENCH_FREE(half);
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    world.threads = (int)bench_arg(argc, argv, 1, 4);
    world.rounds = bench_arg(argc, argv, 2, 20);
    world.ops = bench_arg(argc, argv, 3, 500000);
    world.half = (bench_arg(argc, argv, 4, 8192) + 1) / 2;
    if (world.threads > MAX_THREADS)
        bench_fail("larson: at most %d threads", MAX_THREADS);
    pthread_barrier_init(&world.meet, NULL, (unsigned)world.threads);

    worker w[MAX_THREADS] = {0};
    for (int i = 0; i < world.threads; i++) {
        w[i].id = i;
        w[i].rng.state = 7000 + (uint64_t)i;
        w[i].keep = new_half(&w[i].rng);
        world.hand[i] = new_half(&w[i].rng);
    }
    double t0 = bench_now();
    for (int i = 0; i < world.threads; i++)
        if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
            bench_fail("larson: cannot start a thread");
    for (int i = 0; i < world.threads; i++)
        pthread_join(w[i].thread, NULL);
    double t = bench_now() - t0;

    for (int i = 0; i < world.threads; i++) {
        free_half(w[i].keep);
        free_half(world.hand[i]);
    }
    pthread_barrier_destroy(&world.meet);
    double ops = (double)world.threads * (double)world.rounds * (double)world.ops;
    bench_metric("time", t, "s");
    bench_metric("ns_per_op", t * 1e9 / ops, "ns");
    return 0;
}
