/*
 * tests/preload/helper_threads.c: a small threaded server for the preload
 * tests.  Waves of producer and consumer threads (2,000 threads in all,
 * each created and joined) pass heap buffers through a locked queue: every
 * buffer is allocated by one thread and freed by another.  The output is a
 * checksum of everything consumed, the same on any correct allocator.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAVES      40
#define PAIRS      25 /* producers (and consumers) per wave: 2 * 25 * 40 = 2000 threads */
#define PER_THREAD 100
#define QUEUE      256

static void *queue[QUEUE];
static size_t head, tail, count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static uint64_t checksum;

static void push(void *p)
{
    pthread_mutex_lock(&lock);
    while (count == QUEUE)
        pthread_cond_wait(&changed, &lock);
    queue[tail] = p;
    tail = (tail + 1) % QUEUE;
    count++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void *pop(void)
{
    pthread_mutex_lock(&lock);
    while (count == 0)
        pthread_cond_wait(&changed, &lock);
    void *p = queue[head];
    head = (head + 1) % QUEUE;
    count--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return p;
}

static void *produce(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 8 + (seed >> 16) % 4000;
        unsigned char *b = malloc(n);
        if (!b)
            abort();
        memcpy(b, &n, sizeof n);
        for (size_t k = sizeof n; k < n; k++)
            b[k] = (unsigned char)(k * 7 + n);
        push(b);
    }
    return NULL;
}

static void *consume(void *arg)
{
    (void)arg;
    uint64_t sum = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        unsigned char *b = pop();
        size_t n;
        memcpy(&n, b, sizeof n);
        for (size_t k = sizeof n; k < n; k++)
            sum += b[k];
        free(b);
    }
    __atomic_add_fetch(&checksum, sum, __ATOMIC_RELAXED);
    return NULL;
}

int main(void)
{
    pthread_t t[2 * PAIRS];
    for (int w = 0; w < WAVES; w++) {
        for (int i = 0; i < PAIRS; i++) {
            if (pthread_create(&t[2 * i], NULL, produce, (void *)(uintptr_t)(w * PAIRS + i + 1)) ||
                pthread_create(&t[2 * i + 1], NULL, consume, NULL)) {
                perror("pthread_create");
                return 1;
            }
        }
        for (int i = 0; i < 2 * PAIRS; i++)
            pthread_join(t[i], NULL);
    }
    printf("threads %d buffers %d checksum %llu\n", 2 * PAIRS * WAVES, PAIRS * WAVES * PER_THREAD,
           (unsigned long long)checksum);
    return 0;
}
