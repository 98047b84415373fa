/*
 * trace/filter.c: Snapshot.filter_traces.
 *
 * A filter matches a trace when the domain agrees (or is -1) and the first
 * frame, or with all_frames any frame, has a file name matching the fnmatch
 * pattern and the line (0: any).  A trace is kept when some inclusive filter
 * matches it (or none is given) and no exclusive filter does, tracemalloc's
 * rule.  The result is a new, self-contained snapshot: the kept traces, the
 * tracebacks they use (renumbered), their frames and a copy of the strings.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"

static bool frame_matches(const om_trace_filter *f, const om_trace_frame *fr)
{
    if (f->filename_pattern && fnmatch(f->filename_pattern, fr->filename, 0) != 0)
        return false;
    return f->lineno == 0 || fr->lineno == f->lineno;
}

static bool matches(const om_trace_filter *f, const om_trace_traceback *tb)
{
    if (f->domain >= 0 && (unsigned)f->domain != tb->domain)
        return false;
    if (!f->filename_pattern && f->lineno == 0)
        return true; /* a domain filter */
    unsigned n = f->all_frames ? tb->nframe : (tb->nframe ? 1 : 0);
    for (unsigned i = 0; i < n; i++)
        if (frame_matches(f, &tb->frames[i]))
            return true;
    return false;
}

static bool keep(const om_trace_filter *fs, size_t n, const om_trace_traceback *tb)
{
    bool any_inclusive = false, included = false;
    for (size_t i = 0; i < n; i++) {
        bool m = matches(&fs[i], tb);
        if (!fs[i].inclusive && m)
            return false;
        if (fs[i].inclusive) {
            any_inclusive = true;
            included |= m;
        }
    }
    return !any_inclusive || included;
}

static bool valid(const om_trace_filter *fs, size_t n)
{
    if (n && !fs) {
        om_set_error("om_trace_snapshot_filter_traces: %zu filters but no array", n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (fs[i].domain < -1) {
            om_set_error("om_trace_snapshot_filter_traces: filter %zu: domain %d (use -1 for "
                         "any)",
                         i, fs[i].domain);
            return false;
        }
    }
    return true;
}

/* copy_kept: the traces that pass, their tracebacks renumbered densely. */
static int copy_kept(om_trace_snapshot *d, const om_trace_snapshot *s, const bool *kept_tb,
                     const bool *kept)
{
    uint32_t *renum = malloc((s->ntbs + 1) * sizeof *renum);
    d->traces = malloc((s->ntraces + 1) * sizeof *d->traces);
    d->tbs = malloc((s->ntbs + 1) * sizeof *d->tbs);
    d->frames = malloc((s->nframes + 1) * sizeof *d->frames);
    d->strings = malloc(s->strings_len + 1);
    if (!renum || !d->traces || !d->tbs || !d->frames || !d->strings) {
        free(renum);
        return -1;
    }
    memcpy(d->strings, s->strings, s->strings_len);
    d->strings_len = s->strings_len;
    for (size_t i = 0; i < s->ntbs; i++) {
        if (!kept_tb[i])
            continue;
        tr_snap_tb t = s->tbs[i];
        renum[i] = (uint32_t)d->ntbs;
        for (uint32_t j = 0; j < t.nframe; j++) {
            om_trace_frame f = s->frames[t.first + j];
            f.filename = (const char *)(uintptr_t)(f.filename - s->strings);
            f.function = (const char *)(uintptr_t)(f.function - s->strings);
            d->frames[d->nframes + j] = f;
        }
        t.first = (uint32_t)d->nframes;
        d->nframes += t.nframe;
        d->tbs[d->ntbs++] = t;
    }
    for (size_t i = 0; i < s->ntraces; i++)
        if (kept[i])
            d->traces[d->ntraces++] = (tr_snap_trace){s->traces[i].size, renum[s->traces[i].tb]};
    free(renum);
    return 0;
}

om_trace_snapshot *om_trace_snapshot_filter_traces(const om_trace_snapshot *s,
                                                   const om_trace_filter *filters, size_t nfilters)
{
    if (!s) {
        om_set_error("om_trace_snapshot_filter_traces: no snapshot");
        return NULL;
    }
    if (!valid(filters, nfilters))
        return NULL;
    bool *kept = calloc(s->ntraces + 1, sizeof *kept);
    bool *kept_tb = calloc(s->ntbs + 1, sizeof *kept_tb);
    om_trace_snapshot *d = calloc(1, sizeof *d);
    int rc = kept && kept_tb && d ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->ntraces; i++) {
        om_trace_traceback tb = tr_snapshot_traceback(s, s->traces[i].tb);
        kept[i] = keep(filters, nfilters, &tb);
        kept_tb[s->traces[i].tb] |= kept[i];
    }
    if (rc == 0)
        rc = copy_kept(d, s, kept_tb, kept);
    free(kept);
    free(kept_tb);
    if (rc != 0) {
        om_trace_snapshot_free(d);
        om_set_error("om_trace_snapshot_filter_traces: out of memory");
        return NULL;
    }
    d->traceback_limit = s->traceback_limit;
    return tr_snapshot_assemble(d);
}
