/*
 * cli/capture_replay.c: replays a capture's events to answer the report's
 * questions.
 *
 * Two passes over the time-sorted events, with a table of live blocks
 * (address -> size, stack, weight):
 *   1. find_peak:   totals, the size histogram, temporary allocations, the
 *                   timeline, the most bytes live at once and the event where
 *                   it happened; what is live after the last event is the leak.
 *   2. replay_to_peak: the same replay stopped at that event, so each site's
 *                   live bytes are those at the peak.
 *
 * A temporary allocation (heaptrack's notion) is one freed by the same
 * thread with no other allocation of that thread in between.
 *
 * In a sampled capture (sample_bytes = N) an allocation of s bytes was kept
 * with probability 1 - exp(-s/N); each counts as 1/that allocations and s/that
 * bytes, so the estimates of every total stay unbiased.
 *
 * A free whose block is not live was allocated before recording started (or
 * lost with a killed thread's last block): counted, otherwise ignored.  An
 * allocation at an address still live means the free of the old block sorted
 * after it (two threads within one microsecond): the old block is freed
 * first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

typedef struct live {
    uint64_t addr; /* 0: empty slot */
    uint64_t size;
    uint32_t site;
    float weight;
} live;

typedef struct table {
    live *slots;
    size_t mask, used;
} table;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    return x ^ (x >> 27);
}

static void table_init(table *t, size_t want)
{
    size_t n = 1024;
    while (n < want * 2)
        n *= 2;
    t->slots = calloc(n, sizeof *t->slots);
    if (!t->slots) {
        fprintf(stderr, "objmem: out of memory replaying the capture\n");
        exit(1);
    }
    t->mask = n - 1;
    t->used = 0;
}

static live *table_find(table *t, uint64_t addr)
{
    size_t i = mix(addr) & t->mask;
    while (t->slots[i].addr && t->slots[i].addr != addr)
        i = (i + 1) & t->mask;
    return &t->slots[i];
}

static void table_remove(table *t, live *hole)
{
    size_t i = (size_t)(hole - t->slots);
    for (size_t j = (i + 1) & t->mask; t->slots[j].addr; j = (j + 1) & t->mask) {
        size_t home = mix(t->slots[j].addr) & t->mask;
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].addr = 0;
    t->used--;
}

static void table_grow(table *t)
{
    table old = *t;
    table_init(t, (old.mask + 1));
    for (size_t i = 0; i <= old.mask; i++)
        if (old.slots[i].addr) {
            *table_find(t, old.slots[i].addr) = old.slots[i];
            t->used++;
        }
    free(old.slots);
}

/* ---- the replay ------------------------------------------------------------------ */
typedef struct replay {
    const cap_capture *c;
    cap_profile *p;
    table live;
    uint32_t *site_of;    /* stack id -> site index + 1 */
    uint64_t *last_alloc; /* per thread: address of its last event if an alloc, else 0 */
    double live_bytes;
} replay;

static double weight_of(const cap_capture *c, uint64_t size)
{
    if (!c->sample_bytes)
        return 1.0;
    double s = size ? (double)size : 1.0;
    return 1.0 / -expm1(-s / (double)c->sample_bytes);
}

static cap_site *site_for(replay *r, uint32_t stack)
{
    if (stack >= r->c->n_stacks)
        stack = 0;
    if (!r->site_of[stack]) {
        r->p->sites[r->p->n_sites].stack = stack;
        r->site_of[stack] = (uint32_t)++r->p->n_sites;
    }
    return &r->p->sites[r->site_of[stack] - 1];
}

static unsigned bucket_of(uint64_t size)
{
    unsigned b = size ? 64u - (unsigned)__builtin_clzll(size) : 0;
    return b < CAP_HIST_BUCKETS ? b : CAP_HIST_BUCKETS - 1;
}

static void do_free(replay *r, live *l, int at_peak_pass)
{
    double bytes = (double)l->size * l->weight;
    cap_site *s = &r->p->sites[l->site];
    r->live_bytes -= bytes;
    if (at_peak_pass) {
        s->peak_bytes -= bytes;
        s->peak_count -= l->weight;
    } else {
        s->leak_bytes -= bytes;
        s->leak_count -= l->weight;
        r->p->frees += l->weight;
    }
    table_remove(&r->live, l);
}

static void do_alloc(replay *r, const cap_event *e, int at_peak_pass)
{
    live *l = table_find(&r->live, e->addr);
    if (l->addr)
        do_free(r, l, at_peak_pass);
    if ((r->live.used + 1) * 2 > r->live.mask + 1)
        table_grow(&r->live);
    l = table_find(&r->live, e->addr);
    cap_site *s = site_for(r, e->stack);
    double w = weight_of(r->c, e->size), bytes = (double)e->size * w;
    *l = (live){
        .addr = e->addr, .size = e->size, .site = (uint32_t)(s - r->p->sites), .weight = (float)w};
    r->live.used++;
    r->live_bytes += bytes;
    if (at_peak_pass) {
        s->peak_bytes += bytes;
        s->peak_count += w;
        return;
    }
    s->bytes += bytes;
    s->count += w;
    s->leak_bytes += bytes;
    s->leak_count += w;
    r->p->total_bytes += bytes;
    r->p->total_count += w;
    r->p->hist_count[bucket_of(e->size)] += w;
    r->p->hist_bytes[bucket_of(e->size)] += bytes;
}

/* One event; returns nothing, updates r.  `pass` 0 = find_peak, 1 = to peak. */
static void step(replay *r, const cap_event *e, int pass)
{
    uint32_t thread = e->thread & ~CAP_EVENT_FREE;
    uint64_t *last = thread < r->c->n_threads ? &r->last_alloc[thread] : NULL;
    if (!(e->thread & CAP_EVENT_FREE)) {
        do_alloc(r, e, pass);
        if (last)
            *last = e->addr;
        return;
    }
    live *l = table_find(&r->live, e->addr);
    if (!l->addr) {
        if (!pass)
            r->p->unmatched_frees++;
        return;
    }
    if (!pass && last && *last == e->addr)
        r->p->sites[l->site].temp_count += l->weight, r->p->temp_count += l->weight;
    if (last)
        *last = 0;
    do_free(r, l, pass);
}

static void add_point(cap_profile *p, const cap_capture *c, size_t *sample, uint64_t t, double heap)
{
    cap_point *pt = &p->timeline[p->n_points++];
    pt->time_us = t;
    pt->heap = heap;
    pt->rss = p->n_points > 1 ? p->timeline[p->n_points - 2].rss : 0;
    while (*sample < c->n_samples && c->samples[*sample].time_us <= t)
        pt->rss = (double)c->samples[(*sample)++].rss;
    if (pt->rss > p->rss_peak)
        p->rss_peak = pt->rss;
}

static size_t find_peak(replay *r)
{
    const cap_capture *c = r->c;
    cap_profile *p = r->p;
    size_t peak_at = 0, sample = 0;
    uint64_t span = c->end_us ? c->end_us : 1, next_t = 0;
    double bucket_max = 0;
    for (size_t i = 0; i < c->n_events; i++) {
        const cap_event *e = &c->events[i];
        while (e->time_us >= next_t && p->n_points < CAP_TIMELINE_POINTS) {
            add_point(p, c, &sample, next_t,
                      bucket_max > r->live_bytes ? bucket_max : r->live_bytes);
            bucket_max = 0;
            next_t = span * p->n_points / (CAP_TIMELINE_POINTS - 1);
        }
        step(r, e, 0);
        if (r->live_bytes > bucket_max)
            bucket_max = r->live_bytes;
        if (r->live_bytes > p->peak_bytes) {
            p->peak_bytes = r->live_bytes;
            p->peak_us = e->time_us;
            peak_at = i + 1;
        }
        if ((i & 0xfffff) == 0)
            cap_progress("replaying", i, c->n_events * 2);
    }
    while (p->n_points < CAP_TIMELINE_POINTS) {
        add_point(p, c, &sample, next_t, bucket_max > r->live_bytes ? bucket_max : r->live_bytes);
        bucket_max = 0;
        next_t = span * p->n_points / (CAP_TIMELINE_POINTS - 1);
    }
    p->leak_bytes = r->live_bytes;
    p->leak_count = (double)r->live.used; /* refined below for sampled captures */
    if (c->sample_bytes) {
        p->leak_count = 0;
        for (size_t i = 0; i <= r->live.mask; i++)
            if (r->live.slots[i].addr)
                p->leak_count += r->live.slots[i].weight;
    }
    return peak_at;
}

static void replay_to_peak(replay *r, size_t peak_at)
{
    memset(r->live.slots, 0, (r->live.mask + 1) * sizeof *r->live.slots);
    r->live.used = 0;
    r->live_bytes = 0;
    for (size_t i = 0; i < peak_at; i++) {
        step(r, &r->c->events[i], 1);
        if ((i & 0xfffff) == 0)
            cap_progress("replaying", r->c->n_events + i, r->c->n_events * 2);
    }
}

int cap_replay(const cap_capture *c, cap_profile *p)
{
    memset(p, 0, sizeof *p);
    replay r = {.c = c, .p = p};
    p->sites = calloc(c->n_stacks + 1, sizeof *p->sites);
    p->timeline = calloc(CAP_TIMELINE_POINTS, sizeof *p->timeline);
    r.site_of = calloc(c->n_stacks + 1, sizeof *r.site_of);
    r.last_alloc = calloc(c->n_threads + 1, sizeof *r.last_alloc);
    if (!p->sites || !p->timeline || !r.site_of || !r.last_alloc) {
        fprintf(stderr, "objmem: out of memory replaying the capture\n");
        exit(1);
    }
    table_init(&r.live, 4096);
    size_t peak_at = find_peak(&r);
    replay_to_peak(&r, peak_at);
    p->duration_us = c->end_us;
    cap_progress_done();
    free(r.live.slots);
    free(r.site_of);
    free(r.last_alloc);
    return 0;
}

void cap_profile_free(cap_profile *p)
{
    free(p->sites);
    free(p->timeline);
    memset(p, 0, sizeof *p);
}

double cap_site_value(const cap_site *s, enum cap_key key)
{
    switch (key) {
    case CAP_BY_BYTES:
        return s->bytes;
    case CAP_BY_COUNT:
        return s->count;
    case CAP_BY_PEAK:
        return s->peak_bytes;
    case CAP_BY_PEAK_COUNT:
        return s->peak_count;
    case CAP_BY_LEAK:
        return s->leak_bytes;
    case CAP_BY_TEMP:
        return s->temp_count;
    }
    return 0;
}

static enum cap_key sort_key;

static int cmp_site(const void *a, const void *b)
{
    double x = cap_site_value(*(const cap_site *const *)a, sort_key);
    double y = cap_site_value(*(const cap_site *const *)b, sort_key);
    return x > y ? -1 : x < y;
}

void cap_sort_sites(const cap_site **v, size_t n, enum cap_key key)
{
    sort_key = key;
    qsort(v, n, sizeof *v, cmp_site);
}
