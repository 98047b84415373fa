/* test_heap_threads_mt.c: frees from other threads (producer/consumer),
 * many threads created and exited (their pools abandoned, then adopted or
 * released), statistics consistent, om_heap_check after. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

/* ---- producer / consumer over a lock-protected ring ---------------------------- */
enum { RING = 256, ITEMS = 40000, PAIRS = 2 };

typedef struct ring {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    void *slot[RING];
    size_t head, tail;
    int done;
} ring;

static void ring_put(ring *r, void *p)
{
    pthread_mutex_lock(&r->lock);
    while (r->head - r->tail == RING)
        pthread_cond_wait(&r->changed, &r->lock);
    r->slot[r->head++ % RING] = p;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void *ring_get(ring *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->head == r->tail && !r->done)
        pthread_cond_wait(&r->changed, &r->lock);
    void *p = r->head == r->tail ? NULL : r->slot[r->tail++ % RING];
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return p;
}

static void *produce(void *arg)
{
    ring *r = arg;
    uint64_t x = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < ITEMS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t size = 8 + (size_t)(x >> 33) % (i % 64 == 0 ? 20000 : 300);
        unsigned char *p = om_malloc(size);
        assert_non_null(p);
        p[0] = (unsigned char)size;
        p[size - 1] = 0x5a;
        ring_put(r, p);
    }
    pthread_mutex_lock(&r->lock);
    r->done = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void *consume(void *arg)
{
    ring *r = arg;
    void *p;
    size_t n = 0;
    while ((p = ring_get(r)) != NULL) {
        om_free(p);
        n++;
    }
    return (void *)n;
}

static void producer_consumer(void **state)
{
    (void)state;
    om_heap_stats before, after;
    om_heap_get_stats(&before);
    static ring rings[PAIRS];
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        memset(&rings[i], 0, sizeof rings[i]);
        pthread_mutex_init(&rings[i].lock, NULL);
        pthread_cond_init(&rings[i].changed, NULL);
        pthread_create(&t[2 * i], NULL, produce, &rings[i]);
        pthread_create(&t[2 * i + 1], NULL, consume, &rings[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        void *n;
        pthread_join(t[i], &n);
        if (i % 2)
            assert_int_equal((size_t)n, ITEMS);
    }
    om_heap_check();
    om_heap_get_stats(&after);
    assert_int_equal(after.blocks_in_use, before.blocks_in_use);
    assert_int_equal(after.allocs - before.allocs, (uint64_t)PAIRS * ITEMS);
    assert_int_equal(after.frees - before.frees, (uint64_t)PAIRS * ITEMS);
    om_release();
    om_heap_check();
}

/* ---- many short-lived threads, some leaving blocks for main to free ---------------- */
enum { WAVES = 8, PER_WAVE = 8, KEEP = 200 };
static void *kept[WAVES * PER_WAVE][KEEP];

static void *short_lived(void *arg)
{
    void **mine = arg;
    void *tmp[500];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 500; i++)
            tmp[i] = om_malloc((size_t)(16 + (i * 37) % 900));
        for (int i = 0; i < 500; i++)
            om_free(tmp[i]);
    }
    for (int i = 0; i < KEEP; i++)
        mine[i] = om_malloc((size_t)(16 + i % 300));
    return NULL;
}

static void threads_come_and_go(void **state)
{
    (void)state;
    om_release();
    om_heap_stats base;
    om_heap_get_stats(&base);
    for (int w = 0; w < WAVES; w++) {
        pthread_t t[PER_WAVE];
        for (int i = 0; i < PER_WAVE; i++)
            pthread_create(&t[i], NULL, short_lived, kept[w * PER_WAVE + i]);
        for (int i = 0; i < PER_WAVE; i++)
            pthread_join(t[i], NULL);
        om_heap_check();
    }
    /* the exited threads' blocks are still live, in abandoned pools */
    om_heap_stats mid;
    om_heap_get_stats(&mid);
    assert_int_equal(mid.blocks_in_use - base.blocks_in_use, (size_t)WAVES * PER_WAVE * KEEP);
    for (int i = 0; i < WAVES * PER_WAVE; i++)
        for (int j = 0; j < KEEP; j++)
            om_free(kept[i][j]);
    om_heap_check();
    om_release();
    om_heap_stats end;
    om_heap_get_stats(&end);
    assert_int_equal(end.blocks_in_use, base.blocks_in_use);
    /* every pool of the exited threads went back: no more than before */
    assert_true(end.pools_in_use <= base.pools_in_use + 2);
    assert_true(end.committed <= base.committed + ((size_t)1 << 20));
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(producer_consumer),
        cmocka_unit_test(threads_come_and_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
