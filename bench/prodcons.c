/*
 * bench/prodcons.c: producers allocate, consumers free (issue #2, benchmark 3).
 *
 *     prodcons BLOCKS [PRODUCERS [CONSUMERS]]      defaults: 2 producers, 2 consumers
 *
 *     producer 0 --+                        +--> consumer 0: frees every block
 *                  +--> queue of batches ---+
 *     producer 1 --+    (bounded, locked)   +--> consumer 1
 *
 * Each producer allocates BLOCKS blocks of random sizes 16..512 and hands
 * them over in batches of BATCH; every free therefore comes from a thread
 * other than the one that allocated, which is the path a thread-caching
 * allocator finds hardest (the block must travel back to its owner).  The
 * queue is a plain mutex and two condition variables: with batches of 256
 * its cost is small beside the allocator's.  QUEUE_CAP bounds the blocks in
 * flight (about 64 x 256 x 264 bytes, 4 MiB), so memory does not grow with
 * BLOCKS.
 *
 * Each block carries a value the consumer adds up; the totals of producers
 * and consumers must agree.
 *
 * Reports: time (s, all threads), ns per block (allocated and freed).
 */
#include <pthread.h>
#include <stdint.h>

#include "alloc_api.h"
#include "bench.h"

#define BATCH       256 /* blocks per hand-over */
#define QUEUE_CAP   64  /* batches in flight at most */
#define MAX_THREADS 64

typedef struct batch {
    int n;
    uint64_t *blocks[BATCH];
} batch;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    batch *ring[QUEUE_CAP];
    unsigned head, count;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

typedef struct worker {
    pthread_t thread;
    long blocks;
    uint64_t seed;
    uint64_t sum; /* of the values written (producer) or read (consumer) */
} worker;

/* b == NULL tells one consumer to stop. */
static void push(batch *b)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == QUEUE_CAP)
        pthread_cond_wait(&queue.not_full, &queue.lock);
    queue.ring[(queue.head + queue.count++) % QUEUE_CAP] = b;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

static batch *pop(void)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == 0)
        pthread_cond_wait(&queue.not_empty, &queue.lock);
    batch *b = queue.ring[queue.head];
    queue.head = (queue.head + 1) % QUEUE_CAP;
    queue.count--;
    pthread_cond_signal(&queue.not_full);
    pthread_mutex_unlock(&queue.lock);
    return b;
}

static void *produce(void *arg)
{
    worker *w = arg;
    bench_rng rng = {w->seed};
    uint64_t sum = 0; /* local: workers share cache lines */
    for (long done = 0; done < w->blocks;) {
        batch *b = BENCH_MALLOC(sizeof *b);
        if (!b)
            bench_fail("prodcons: no memory for a batch");
        for (b->n = 0; b->n < BATCH && done < w->blocks; b->n++, done++) {
            uint64_t draw = bench_rand(&rng);
            uint64_t *p = BENCH_MALLOC(bench_between(draw, BENCH_SMALL_MIN, BENCH_SMALL_MAX));
            if (!p)
                bench_fail("prodcons: allocation failed");
            p[0] = draw;
            sum += draw;
            b->blocks[b->n] = p;
        }
        push(b);
    }
    w->sum = sum;
    return NULL;
}

static void *consume(void *arg)
{
    worker *w = arg;
    uint64_t sum = 0;
    for (batch *b; (b = pop()) != NULL;) {
        for (int i = 0; i < b->n; i++) {
            sum += b->blocks[i][0];
            BENCH_FREE(b->blocks[i]);
        }
        BENCH_FREE(b);
    }
    w->sum = sum;
    return NULL;
}

static void start(worker *w, void *(*fn)(void *))
{
    if (pthread_create(&w->thread, NULL, fn, w) != 0)
        bench_fail("prodcons: cannot start a thread");
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    long blocks = bench_arg(argc, argv, 1, 4000000);
    int np = (int)bench_arg(argc, argv, 2, 2), nc = (int)bench_arg(argc, argv, 3, 2);
    if (np > MAX_THREADS || nc > MAX_THREADS)
        bench_fail("prodcons: at most %d producers and %d consumers", MAX_THREADS, MAX_THREADS);
    worker prod[MAX_THREADS] = {0}, cons[MAX_THREADS] = {0};

    double t0 = bench_now();
    for (int i = 0; i < nc; i++)
        start(&cons[i], consume);
    for (int i = 0; i < np; i++) {
        prod[i].blocks = blocks;
        prod[i].seed = 1000 + (uint64_t)i;
        start(&prod[i], produce);
    }
    uint64_t made = 0, freed = 0;
    for (int i = 0; i < np; i++) {
        pthread_join(prod[i].thread, NULL);
        made += prod[i].sum;
    }
    for (int i = 0; i < nc; i++)
        push(NULL);
    for (int i = 0; i < nc; i++) {
        pthread_join(cons[i].thread, NULL);
        freed += cons[i].sum;
    }
    double t = bench_now() - t0;

    if (made != freed)
        bench_fail("prodcons: consumers read other values than producers wrote");
    bench_metric("time", t, "s");
    bench_metric("ns_per_block", t * 1e9 / ((double)blocks * np), "ns");
    return 0;
}
