/*
 * cli/demo_heap.c: the heap section of `objmem demo`.
 *
 * A mixed workload on the raw heap: opt->threads workers, each keeping a
 * window of live blocks of many sizes (mostly small, some medium, a few
 * large), replacing random ones, and handing every eighth block to the next
 * worker to free (frees from other threads).  A progress line on stderr,
 * then the heap's statistics and what om_release gave back.
 *
 * Scale 0 does about 200 thousand operations (well under a second), scale 1
 * about 8 million (a few seconds).
 */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"
#include "objmem.h"

#define WINDOW      4096 /* live blocks per worker */
#define HANDOFF     256  /* blocks waiting for the next worker to free them */
#define MAX_WORKERS 16

typedef struct worker {
    pthread_t thread;
    int id, nworkers;
    long ops;
    long done; /* progress, read by the main thread */
    pthread_mutex_t lock;
    void *handoff[HANDOFF]; /* blocks another worker gave us to free */
    int n_handoff;
    int failed;
} worker;

static worker workers[MAX_WORKERS];

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t pick_size(uint64_t r)
{
    unsigned roll = (unsigned)(r % 1000);
    if (roll < 900)
        return 8 + (size_t)(r >> 10) % 504; /* small */
    if (roll < 998)
        return 512 + (size_t)(r >> 10) % 60000; /* medium */
    return 200000 + (size_t)(r >> 10) % 800000; /* large */
}

/* Gives p to the next worker, or frees it here when its box is full. */
static void hand_off(worker *w, void *p)
{
    worker *to = &workers[(w->id + 1) % w->nworkers];
    pthread_mutex_lock(&to->lock);
    if (to->n_handoff < HANDOFF) {
        to->handoff[to->n_handoff++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&to->lock);
    om_free(p);
}

static void drain(worker *w)
{
    void *mine[HANDOFF];
    pthread_mutex_lock(&w->lock);
    int n = w->n_handoff;
    memcpy(mine, w->handoff, (size_t)n * sizeof(void *));
    w->n_handoff = 0;
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < n; i++)
        om_free(mine[i]);
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    static __thread void *window[WINDOW];
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    memset(window, 0, sizeof window);
    for (long i = 0; i < w->ops; i++) {
        uint64_t r = next_random(&seed);
        size_t k = (size_t)(r % WINDOW);
        if (window[k]) {
            if (i % 8 == 0)
                hand_off(w, window[k]);
            else
                om_free(window[k]);
        }
        size_t size = pick_size(next_random(&seed));
        window[k] = om_malloc(size);
        if (!window[k]) {
            w->failed = 1;
            break;
        }
        memset(window[k], (int)(i & 0xff), size < 64 ? size : 64);
        if (i % 1024 == 0) {
            drain(w);
            __atomic_store_n(&w->done, i, __ATOMIC_RELAXED);
        }
    }
    for (size_t k = 0; k < WINDOW; k++)
        om_free(window[k]);
    drain(w);
    __atomic_store_n(&w->done, w->ops, __ATOMIC_RELAXED);
    return NULL;
}

static void draw_progress(int nworkers, long total, double started)
{
    long done = 0;
    for (int i = 0; i < nworkers; i++)
        done += __atomic_load_n(&workers[i].done, __ATOMIC_RELAXED);
    om_heap_stats st;
    om_heap_get_stats(&st);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double secs = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 - started;
    fprintf(stderr,
            "\r  heap: %3ld%%  %9ld ops  %6.1f Mops/s  live %7.1f MiB  committed %7.1f MiB ",
            total ? done * 100 / total : 100, done, secs > 0 ? (double)done / secs / 1e6 : 0.0,
            (double)st.bytes_in_use / 1048576.0, (double)st.committed / 1048576.0);
    fflush(stderr);
}

static double mib(size_t bytes)
{
    return (double)bytes / 1048576.0;
}

/* The classes that served the most allocations, with their peaks. */
static void print_busiest_classes(const om_heap_stats *st)
{
    unsigned order[OM_HEAP_MAX_CLASSES];
    for (unsigned c = 0; c < st->n_classes; c++)
        order[c] = c;
    for (unsigned i = 1; i < st->n_classes; i++) /* insertion sort, 64 entries at most */
        for (unsigned j = i;
             j > 0 && st->classes[order[j]].allocs > st->classes[order[j - 1]].allocs; j--) {
            unsigned t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    printf("  busiest size classes      allocs   peak blocks\n");
    for (unsigned i = 0; i < st->n_classes && i < 6; i++) {
        const om_class_stats *cs = &st->classes[order[i]];
        printf("    %6zu bytes  %14llu  %12zu\n", cs->block_size, (unsigned long long)cs->allocs,
               cs->blocks_peak);
    }
    static const char *const head[] = {"block bytes", "allocations", "peak blocks", "peak KiB"};
    if (demo_table("Heap: the 16 busiest size classes", 4, head) < 0)
        return;
    for (unsigned i = 0; i < st->n_classes && i < 16 && st->classes[order[i]].allocs; i++) {
        const om_class_stats *cs = &st->classes[order[i]];
        demo_cell("%zu", cs->block_size);
        demo_cell("%llu", (unsigned long long)cs->allocs);
        demo_cell("%zu", cs->blocks_peak);
        demo_cell("%zu", cs->blocks_peak * cs->block_size >> 10);
    }
}

static void print_summary(long ops, double secs, int nthreads)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    double peak_frag =
        st.committed_peak ? 1.0 - (double)st.bytes_peak / (double)st.committed_peak : 0.0;
    printf("  %ld allocations and frees in %.2f s (%.1f million a second, all threads)\n", ops,
           secs, secs > 0 ? (double)ops / secs / 1e6 : 0.0);
    printf("  live at peak %.1f MiB in %zu blocks; committed at peak %.1f MiB (%.0f%% overhead)\n",
           mib(st.bytes_peak), st.blocks_peak, mib(st.committed_peak), peak_frag * 100.0);
    printf("  arenas at peak %zu; large blocks from the OS now %zu; OS calls %llu; given back so "
           "far %.1f MiB\n",
           st.arenas_peak, st.large_in_use, (unsigned long long)st.os_calls, mib(st.returned));
    print_busiest_classes(&st);
    size_t live_blocks = om_heap_check();
    size_t committed_before = st.committed;
    size_t given = om_release();
    om_heap_get_stats(&st);
    printf("  heap check: %zu live blocks, every invariant holds\n", live_blocks);
    printf("  om_release gave back %.1f MiB; committed %.1f MiB -> %.1f MiB\n", mib(given),
           mib(committed_before), mib(st.committed));
    demo_note(
        "heap: %.1f million allocations a second on %d threads; peak %.1f MiB live in %.1f MiB "
        "committed; %.1f MiB committed after om_release",
        secs > 0 ? (double)ops / secs / 1e6 : 0.0, nthreads, mib(st.bytes_peak),
        mib(st.committed_peak), mib(st.committed));
}

int demo_heap(const demo_options *opt)
{
    int n = opt->threads < 1 ? 1 : opt->threads > MAX_WORKERS ? MAX_WORKERS : opt->threads;
    long per = opt->scale == 0 ? 200000 / n : 8000000 / n;
    printf("\n== heap: %d threads, %ld allocations each, frees from other threads ==\n", n, per);
    fflush(stdout);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double started = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    for (int i = 0; i < n; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].id = i;
        workers[i].nworkers = n;
        workers[i].ops = per;
        pthread_mutex_init(&workers[i].lock, NULL);
    }
    for (int i = 0; i < n; i++)
        if (pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "objmem demo: cannot start a heap worker\n");
            return -1;
        }
    bool live = true;
    while (live && opt->progress) {
        live = false;
        for (int i = 0; i < n; i++)
            live |= __atomic_load_n(&workers[i].done, __ATOMIC_RELAXED) < per;
        draw_progress(n, per * n, started);
        if (live)
            usleep(100000);
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(workers[i].thread, NULL);
        failed |= workers[i].failed;
    }
    for (int i = 0; i < n; i++)
        drain(&workers[i]); /* handed to a worker that had already finished */
    if (opt->progress) {
        draw_progress(n, per * n, started);
        fputc('\n', stderr);
    }
    if (failed) {
        fprintf(stderr, "objmem demo: the heap ran out of memory: %s\n", om_error_message());
        return -1;
    }
    struct timespec done_at;
    clock_gettime(CLOCK_MONOTONIC, &done_at);
    double secs = (double)done_at.tv_sec + (double)done_at.tv_nsec * 1e-9 - started;
    print_summary(per * n, secs, n);
    return 0;
}
