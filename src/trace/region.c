/*
 * trace/region.c: region profiles, memory_profiler's idea: what a stretch
 * of code allocated, freed and kept, its peak, and the same per line.
 *
 *   begin   take a slot (a bit of tr_global.region_mask: the hooks raise
 *           region_peak[slot] while it is set), copy the tracer's running
 *           totals and each traceback's allocation counters, and take a
 *           snapshot;
 *   end     take a snapshot, copy the totals and counters again, free the
 *           slot, then:
 *             allocated per line = counters at end - counters at begin,
 *                                  grouped by the first frame's file:line;
 *             kept per line      = compare_to(end snapshot, begin snapshot).
 *
 * The totals cover every thread.  If the traces are cleared while the
 * region is open (tr_global.epoch moved), per-line allocations are left
 * out and only the kept bytes are given per line.  The tracer is started
 * by the first region when it is off, and stopped when the last region
 * that needed it closes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/inspect.h"
#include "trace/trace.h"

typedef struct counter {
    uint64_t bytes, count;
    uintptr_t word; /* the first frame, at end only */
} counter;

struct om_trace_region {
    char name[64];
    int slot; /* -1 once closed */
    uint64_t t0, epoch;
    uint64_t alloc_bytes, free_bytes, alloc_count, free_count;
    size_t current;
    counter *base; /* per traceback id at begin (a tr_map mapping) */
    size_t nbase, base_bytes;
    om_trace_snapshot *before;
    om_trace_region_stats stats;
    om_trace_region_line *lines;
    size_t nlines, caplines;
    tr_strpool pool;
};

static bool tracer_owned; /* a region started the tracer (under tr_global.lock) */

static counter *copy_counters(tr_state *g, size_t *n, size_t *bytes)
{
    *n = g->tbs.count;
    *bytes = (*n + 1) * sizeof(counter);
    counter *c = tr_map(*bytes);
    for (size_t i = 0; c && i < *n; i++) {
        const tr_tb *r = tr_tbs_get(&g->tbs, (uint32_t)i);
        c[i] = (counter){r->alloc_bytes, r->alloc_count, r->nframe ? r->frames[0] : 0};
    }
    return c;
}

static int open_slot(om_trace_region *r)
{
    tr_state *g = &tr_global;
    tr_lock(g);
    int slot = -1;
    for (int i = 0; i < TR_MAX_REGIONS && slot < 0; i++)
        if (!(g->region_mask & (1u << i)))
            slot = i;
    if (slot >= 0) {
        tr_counts_revoke(g); /* every count takes the lock while a region is open */
        g->region_mask |= 1u << slot;
        g->region_peak[slot] = tr_current(g);
        r->slot = slot;
        r->epoch = g->epoch;
        r->alloc_bytes = g->alloc_bytes;
        r->free_bytes = g->free_bytes;
        r->alloc_count = g->alloc_count;
        r->free_count = g->free_count;
        r->current = g->region_peak[slot];
        r->base = copy_counters(g, &r->nbase, &r->base_bytes);
    }
    tr_unlock(g);
    return slot;
}

om_trace_region *om_trace_region_begin(const char *name)
{
    om_trace_region *r = calloc(1, sizeof *r);
    if (!r) {
        om_set_error("om_trace_region_begin: out of memory");
        return NULL;
    }
    snprintf(r->name, sizeof r->name, "%s", name ? name : "region");
    r->slot = -1;
    if (!om_trace_is_tracing() && om_trace_start(1) == 0) {
        tr_lock(&tr_global);
        tracer_owned = true;
        tr_unlock(&tr_global);
    }
    if (!om_trace_is_tracing() || open_slot(r) < 0) {
        om_set_error("om_trace_region_begin: %d regions are open already, or the tracer "
                     "cannot start",
                     TR_MAX_REGIONS);
        free(r);
        return NULL;
    }
    r->before = om_trace_take_snapshot();
    r->t0 = om_now_ns();
    return r;
}

/* close_slot: the totals and the per-traceback allocations since begin. */
static counter *close_slot(om_trace_region *r, size_t *n, size_t *bytes, bool *stop)
{
    tr_state *g = &tr_global;
    om_trace_region_stats *st = &r->stats;
    tr_lock(g);
    st->allocated = g->alloc_bytes - r->alloc_bytes;
    st->freed = g->free_bytes - r->free_bytes;
    st->nalloc = g->alloc_count - r->alloc_count;
    st->nfree = g->free_count - r->free_count;
    size_t peak = g->region_peak[r->slot];
    st->peak = peak > r->current ? peak - r->current : 0;
    g->region_mask &= ~(1u << r->slot);
    counter *now = NULL;
    if (g->epoch == r->epoch && g->tracing)
        now = copy_counters(g, n, bytes);
    else
        st->allocated = st->freed = st->nalloc = st->nfree = 0; /* the traces were forgotten */
    *stop = tracer_owned && g->region_mask == 0;
    if (*stop)
        tracer_owned = false;
    tr_unlock(g);
    st->kept = (int64_t)st->allocated - (int64_t)st->freed;
    r->slot = -1;
    return now;
}

/* line_of: the line entry for (file, line), added when new; NULL: no memory. */
static om_trace_region_line *line_of(om_trace_region *r, const char *file, const char *func,
                                     unsigned lineno)
{
    size_t fo = tr_strpool_add(&r->pool, file), fu = tr_strpool_add(&r->pool, func);
    if (fo == SIZE_MAX || fu == SIZE_MAX)
        return NULL;
    for (size_t i = 0; i < r->nlines; i++) /* files are interned: offsets compare */
        if ((uintptr_t)r->lines[i].filename == fo && r->lines[i].lineno == lineno)
            return &r->lines[i];
    if (r->nlines == r->caplines) {
        size_t cap = r->caplines ? r->caplines * 2 : 32;
        om_trace_region_line *lines = realloc(r->lines, cap * sizeof *lines);
        if (!lines)
            return NULL;
        r->lines = lines;
        r->caplines = cap;
    }
    om_trace_region_line *l = &r->lines[r->nlines++];
    *l = (om_trace_region_line){(const char *)fo, (const char *)fu, lineno, 0, 0, 0};
    return l;
}

static int add_allocations(om_trace_region *r, const counter *now, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t b0 = i < r->nbase ? r->base[i].bytes : 0;
        uint64_t c0 = i < r->nbase ? r->base[i].count : 0;
        if (now[i].count == c0)
            continue;
        const char *file, *func;
        unsigned lineno;
        uintptr_t address;
        tr_resolve(now[i].word, &file, &func, &lineno, &address);
        om_trace_region_line *l = line_of(r, file, func, lineno);
        if (!l)
            return -1;
        l->allocated += now[i].bytes - b0;
        l->nalloc += now[i].count - c0;
    }
    return 0;
}

static int add_kept(om_trace_region *r, const om_trace_snapshot *after)
{
    if (!r->before || !after)
        return 0;
    om_trace_diffs *d = om_trace_snapshot_compare_to(after, r->before, OM_TRACE_BY_LINENO, false);
    if (!d)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->n; i++) {
        const om_trace_frame *f = &d->items[i].traceback.frames[0];
        if (d->items[i].size_diff == 0)
            continue;
        om_trace_region_line *l = line_of(r, f->filename, f->function, f->lineno);
        if (l)
            l->kept += d->items[i].size_diff;
        else
            rc = -1;
    }
    om_trace_diffs_free(d);
    return rc;
}

static int64_t iabs(int64_t v)
{
    return v < 0 ? -v : v;
}

static int by_allocated(const void *pa, const void *pb)
{
    const om_trace_region_line *a = pa, *b = pb;
    if (a->allocated != b->allocated)
        return a->allocated > b->allocated ? -1 : 1;
    if (iabs(a->kept) != iabs(b->kept))
        return iabs(a->kept) > iabs(b->kept) ? -1 : 1;
    return a->lineno < b->lineno ? -1 : a->lineno > b->lineno;
}

int om_trace_region_end(om_trace_region *r, om_trace_region_stats *out)
{
    if (!r || r->slot < 0) {
        om_set_error("om_trace_region_end: the region is not open");
        return -1;
    }
    om_trace_snapshot *after = om_trace_take_snapshot();
    size_t n = 0, bytes = 0;
    bool stop;
    counter *now = close_slot(r, &n, &bytes, &stop);
    int rc = now ? add_allocations(r, now, n) : 0;
    if (rc == 0)
        rc = add_kept(r, after);
    tr_unmap(now, bytes);
    om_trace_snapshot_free(after);
    if (stop)
        om_trace_stop();
    for (size_t i = 0; i < r->nlines; i++) {
        r->lines[i].filename = r->pool.buf + (uintptr_t)r->lines[i].filename;
        r->lines[i].function = r->pool.buf + (uintptr_t)r->lines[i].function;
    }
    if (r->nlines)
        qsort(r->lines, r->nlines, sizeof *r->lines, by_allocated);
    r->stats.name = r->name;
    r->stats.elapsed_ns = om_now_ns() - r->t0;
    r->stats.nlines = r->nlines;
    r->stats.lines = r->lines;
    if (out)
        *out = r->stats;
    if (rc != 0)
        om_set_error("om_trace_region_end: out of memory for the lines (totals are right)");
    return rc;
}

void om_trace_region_free(om_trace_region *r)
{
    if (!r)
        return;
    if (r->slot >= 0)
        om_trace_region_end(r, NULL);
    tr_unmap(r->base, r->base_bytes);
    om_trace_snapshot_free(r->before);
    free(r->lines);
    tr_strpool_free(&r->pool);
    free(r);
}

int om_trace_region_write(const om_trace_region *r, size_t limit, om_format fmt, FILE *out)
{
    if (!r || r->slot >= 0 || !out) {
        om_set_error("om_trace_region_write: the region is still open (or no stream)");
        return -1;
    }
    const om_trace_region_stats *st = &r->stats;
    size_t n = limit && limit < st->nlines ? limit : st->nlines;
    if (fmt == OM_FORMAT_JSON) {
        fputs("{\"kind\":\"region\",\"name\":", out);
        in_json_string(out, st->name);
        fprintf(out,
                ",\"allocated\":%" PRIu64 ",\"freed\":%" PRIu64 ",\"nalloc\":%" PRIu64
                ",\"nfree\":%" PRIu64 ",\"kept\":%" PRId64 ",\"peak\":%zu,\"elapsed_ns\":%" PRIu64
                ",\"lines\":[",
                st->allocated, st->freed, st->nalloc, st->nfree, st->kept, st->peak,
                st->elapsed_ns);
    } else {
        fprintf(out,
                "region %s: allocated %" PRIu64 " B in %" PRIu64 " blocks, freed %" PRIu64
                " B, kept %" PRId64 " B, peak +%zu B, %.3f ms\n",
                st->name, st->allocated, st->nalloc, st->freed, st->kept, st->peak,
                st->elapsed_ns / 1e6);
    }
    for (size_t i = 0; i < n; i++) {
        const om_trace_region_line *l = &st->lines[i];
        if (fmt == OM_FORMAT_JSON) {
            fputs(i ? ",{\"file\":" : "{\"file\":", out);
            in_json_string(out, l->filename);
            fprintf(out, ",\"line\":%u,\"function\":", l->lineno);
            in_json_string(out, l->function);
            fprintf(out, ",\"allocated\":%" PRIu64 ",\"nalloc\":%" PRIu64 ",\"kept\":%" PRId64 "}",
                    l->allocated, l->nalloc, l->kept);
        } else {
            fprintf(out,
                    "  %s:%u (%s): allocated %" PRIu64 " B in %" PRIu64 ", kept %+" PRId64 " B\n",
                    l->filename, l->lineno, l->function, l->allocated, l->nalloc, l->kept);
        }
    }
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    return ferror(out) ? -1 : 0;
}
