/*
 * trace/timeline.c: memory over time, sampled by a thread of its own (the
 * idea of mprof).
 *
 *     sampler thread:  sleep interval -> read heap stats, statm, traced
 *                      -> append under tl->lock -> repeat until stopped
 *     runtime thread:  om_timeline_tick(tl, rt) -> objects, collections
 *
 * The sampler never touches a runtime (a runtime belongs to one thread):
 * the runtime's thread hands its counters over with om_timeline_tick and
 * each sample carries the last ones handed over.
 *
 * Bounded memory: the samples live in one array of max_samples; when it is
 * full the timeline keeps every other sample and doubles its interval, so a
 * long run ends with between max/2 and max evenly spaced samples.
 *
 * Cost: each sample reads /proc/self/statm (one small read) and the heap's
 * statistics (which walk the heap's segments under its lock: about 20 us
 * for a small heap, 2 ms for 100 MB); the time each takes is measured and
 * reported (om_timeline_cost).  The sampler keeps its own cost under
 * MAX_COST_PERCENT of one core: when a sample costs more than that share of
 * the interval, the interval doubles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objmem/gc.h"
#include "objmem/heap.h"
#include "object/runtime.h"
#include "trace/trace.h"

#define MIN_SAMPLES      16 /* max_samples is raised to at least this (and to even) */
#define MAX_COST_PERCENT 1  /* of one core, spent sampling */

struct om_timeline {
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    bool running;
    uint64_t interval_ns, start_ns;
    om_timeline_sample *samples;
    size_t n, max;
    size_t objects; /* from the last tick */
    uint64_t collections;
    uint64_t cost_ns, taken;
};

static size_t read_rss(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long pages = 0, rss = 0;
    if (sscanf(buf, "%llu %llu", &pages, &rss) != 2)
        return 0;
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* decimate: keep samples 0, 2, 4, ... and sample half as often. */
static void decimate(om_timeline *tl)
{
    size_t k = 0;
    for (size_t i = 0; i < tl->n; i += 2)
        tl->samples[k++] = tl->samples[i];
    tl->n = k;
    tl->interval_ns *= 2;
}

static void take_sample(om_timeline *tl)
{
    uint64_t t0 = om_now_ns();
    om_heap_stats hs;
    om_heap_get_stats(&hs);
    om_timeline_sample s = {
        .heap_bytes = hs.bytes_in_use, .heap_blocks = hs.blocks_in_use, .rss = read_rss()};
    if (om_trace_is_tracing())
        om_trace_get_traced_memory(&s.traced, NULL);
    pthread_mutex_lock(&tl->lock);
    s.t_ns = t0 - tl->start_ns;
    s.objects = tl->objects;
    s.collections = tl->collections;
    if (tl->n == tl->max)
        decimate(tl);
    tl->samples[tl->n++] = s;
    uint64_t cost = om_now_ns() - t0;
    tl->cost_ns += cost;
    tl->taken++;
    if (cost * 100 > tl->interval_ns * MAX_COST_PERCENT)
        tl->interval_ns *= 2; /* keep the sampler's share of a core bounded */
    pthread_mutex_unlock(&tl->lock);
}

static void deadline_after(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ns += (uint64_t)ts->tv_nsec;
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

static void *sampler(void *arg)
{
    om_timeline *tl = arg;
    take_sample(tl);
    pthread_mutex_lock(&tl->lock);
    while (tl->running) {
        struct timespec until;
        deadline_after(&until, tl->interval_ns);
        int rc = 0;
        while (tl->running && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&tl->wake, &tl->lock, &until);
        pthread_mutex_unlock(&tl->lock);
        take_sample(tl);
        pthread_mutex_lock(&tl->lock);
    }
    pthread_mutex_unlock(&tl->lock);
    return NULL;
}

static int init_sync(om_timeline *tl)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&tl->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&tl->lock, NULL) != 0) {
        pthread_cond_destroy(&tl->wake);
        return -1;
    }
    return 0;
}

om_timeline *om_timeline_start(unsigned interval_ms, size_t max_samples)
{
    if (interval_ms == 0) {
        om_set_error("om_timeline_start: the interval must be at least 1 ms");
        return NULL;
    }
    max_samples = max_samples < MIN_SAMPLES ? MIN_SAMPLES : (max_samples + 1) & ~(size_t)1;
    om_timeline *tl = calloc(1, sizeof *tl);
    if (tl)
        tl->samples = malloc(max_samples * sizeof *tl->samples);
    if (!tl || !tl->samples || init_sync(tl) != 0) {
        if (tl)
            free(tl->samples);
        free(tl);
        om_set_error("om_timeline_start: out of memory");
        return NULL;
    }
    tl->max = max_samples;
    tl->interval_ns = (uint64_t)interval_ms * 1000000u;
    tl->start_ns = om_now_ns();
    tl->running = true;
    if (pthread_create(&tl->thread, NULL, sampler, tl) != 0) {
        tl->running = false;
        om_timeline_free(tl);
        om_set_error("om_timeline_start: cannot start the sampler thread");
        return NULL;
    }
    return tl;
}

void om_timeline_tick(om_timeline *tl, om_runtime *rt)
{
    if (!tl || !rt)
        return;
    om_gc_stats gs;
    om_gc_get_stats(rt, &gs);
    uint64_t collections = 0;
    for (int g = 0; g < OM_GC_GENERATIONS; g++)
        collections += gs.gen[g].collections;
    pthread_mutex_lock(&tl->lock);
    tl->objects = ob_live_objects(rt);
    tl->collections = collections;
    pthread_mutex_unlock(&tl->lock);
}

int om_timeline_stop(om_timeline *tl)
{
    if (!tl)
        return -1;
    pthread_mutex_lock(&tl->lock);
    bool was = tl->running;
    tl->running = false;
    pthread_cond_signal(&tl->wake);
    pthread_mutex_unlock(&tl->lock);
    if (!was) {
        om_set_error("om_timeline_stop: the timeline is not running");
        return -1;
    }
    pthread_join(tl->thread, NULL);
    return 0;
}

om_timeline_sample *om_timeline_samples(om_timeline *tl, size_t *n)
{
    pthread_mutex_lock(&tl->lock);
    om_timeline_sample *copy = malloc((tl->n + 1) * sizeof *copy);
    if (copy) {
        memcpy(copy, tl->samples, tl->n * sizeof *copy);
        *n = tl->n;
    }
    pthread_mutex_unlock(&tl->lock);
    if (!copy)
        om_set_error("om_timeline_samples: out of memory");
    return copy;
}

void om_timeline_cost(om_timeline *tl, uint64_t *total_ns, uint64_t *per_sample_ns)
{
    pthread_mutex_lock(&tl->lock);
    if (total_ns)
        *total_ns = tl->cost_ns;
    if (per_sample_ns)
        *per_sample_ns = tl->taken ? tl->cost_ns / tl->taken : 0;
    pthread_mutex_unlock(&tl->lock);
}

int om_timeline_write(om_timeline *tl, om_format fmt, FILE *out)
{
    size_t n = 0;
    uint64_t cost, per;
    om_timeline_sample *s = om_timeline_samples(tl, &n);
    if (!s)
        return -1;
    om_timeline_cost(tl, &cost, &per);
    if (fmt == OM_FORMAT_JSON)
        fprintf(out,
                "{\"kind\":\"timeline\",\"cost_ns\":%" PRIu64 ",\"per_sample_ns\":%" PRIu64
                ",\"samples\":[",
                cost, per);
    else
        fprintf(out, "%12s %12s %10s %12s %12s %10s %8s\n", "t_ms", "heap_bytes", "blocks", "rss",
                "traced", "objects", "gcs");
    for (size_t i = 0; i < n; i++) {
        const om_timeline_sample *x = &s[i];
        if (fmt == OM_FORMAT_JSON)
            fprintf(out,
                    "%s{\"t_ns\":%" PRIu64 ",\"heap_bytes\":%zu,\"heap_blocks\":%zu,"
                    "\"rss\":%zu,\"traced\":%zu,\"objects\":%zu,\"collections\":%" PRIu64 "}",
                    i ? "," : "", x->t_ns, x->heap_bytes, x->heap_blocks, x->rss, x->traced,
                    x->objects, x->collections);
        else
            fprintf(out, "%12.1f %12zu %10zu %12zu %12zu %10zu %8" PRIu64 "\n", x->t_ns / 1e6,
                    x->heap_bytes, x->heap_blocks, x->rss, x->traced, x->objects, x->collections);
    }
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    else
        fprintf(out, "sampler cost: %" PRIu64 " ns in all, %" PRIu64 " ns a sample\n", cost, per);
    free(s);
    return ferror(out) ? -1 : 0;
}

void om_timeline_free(om_timeline *tl)
{
    if (!tl)
        return;
    if (tl->running)
        om_timeline_stop(tl);
    pthread_mutex_destroy(&tl->lock);
    pthread_cond_destroy(&tl->wake);
    free(tl->samples);
    free(tl);
}
