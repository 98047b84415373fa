/*
 * trace/snapshot.c: om_trace_take_snapshot and what reads a snapshot.
 *
 * Taking a snapshot is two phases:
 *
 *   copy_under_lock   tr_raw_take: the traces (size, traceback id) and the
 *                     interned tracebacks, copied into one mapping while the
 *                     lock is held (no malloc there: malloc may be objmem);
 *   resolve           with no lock: keep only the tracebacks some trace
 *                     uses, renumber them densely, and turn each frame word
 *                     into file, function and line, the strings interned
 *                     into the snapshot's own pool.
 *
 * After it, a snapshot owns everything it points to: it outlives the tracer
 * (stop, clear) and can be dumped, loaded, filtered and compared.
 *
 * Frame words: a call site (top bit set) gives its file, function and line
 * exactly; a native return address is resolved by symbols.c (libdw when
 * present: function, source file and line; else dladdr: function and
 * object file, line 0).
 */
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"

void tr_resolve(uintptr_t word, const char **file, const char **func, unsigned *lineno,
                uintptr_t *address)
{
    if (word & TR_FRAME_SITE) {
        const om_trace_site *site = (const om_trace_site *)(word & ~TR_FRAME_SITE);
        *file = site->filename;
        *func = site->function;
        *lineno = site->lineno > 0 ? (unsigned)site->lineno : 0;
        *address = 0;
        return;
    }
    *address = word;
    tr_symbolize(word, file, func, lineno);
}

om_trace_snapshot *tr_snapshot_assemble(om_trace_snapshot *s)
{
    for (size_t i = 0; i < s->nframes; i++) {
        s->frames[i].filename = s->strings + (uintptr_t)s->frames[i].filename;
        s->frames[i].function = s->strings + (uintptr_t)s->frames[i].function;
    }
    return s;
}

static int resolve_tb(om_trace_snapshot *s, tr_strpool *pool, const tr_tb *r, uint32_t id)
{
    tr_snap_tb *t = &s->tbs[id];
    *t = (tr_snap_tb){r->domain, r->nframe, r->total_nframe, (uint32_t)s->nframes};
    for (unsigned i = 0; i < r->nframe; i++) {
        const char *file, *func;
        om_trace_frame *f = &s->frames[s->nframes++];
        tr_resolve(r->frames[i], &file, &func, &f->lineno, &f->address);
        size_t fo = tr_strpool_add(pool, file), fu = tr_strpool_add(pool, func);
        if (fo == SIZE_MAX || fu == SIZE_MAX)
            return -1;
        f->filename = (const char *)(uintptr_t)fo;
        f->function = (const char *)(uintptr_t)fu;
    }
    return 0;
}

/* resolve: keep the used tracebacks, renumbered, and their frames. */
static int resolve(om_trace_snapshot *s, const tr_raw *raw, tr_strpool *pool)
{
    uint32_t *renum = malloc((raw->ntbs + 1) * sizeof *renum);
    if (!renum)
        return -1;
    size_t nframes = 0;
    for (size_t i = 0; i < raw->ntbs; i++)
        renum[i] = TR_NO_TB;
    for (size_t i = 0; i < raw->ntraces; i++) {
        uint32_t old = raw->traces[i].tb;
        if (renum[old] == TR_NO_TB) {
            renum[old] = (uint32_t)s->ntbs++;
            nframes += raw->tbs[old]->nframe;
        }
    }
    s->traces = malloc((raw->ntraces + 1) * sizeof *s->traces);
    s->tbs = malloc((s->ntbs + 1) * sizeof *s->tbs);
    s->frames = malloc((nframes + 1) * sizeof *s->frames);
    int rc = s->traces && s->tbs && s->frames ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < raw->ntbs; i++)
        if (renum[i] != TR_NO_TB)
            rc = resolve_tb(s, pool, raw->tbs[i], renum[i]);
    for (size_t i = 0; rc == 0 && i < raw->ntraces; i++)
        s->traces[i] = (tr_snap_trace){raw->traces[i].size, renum[raw->traces[i].tb]};
    s->ntraces = raw->ntraces;
    free(renum);
    return rc;
}

om_trace_snapshot *om_trace_take_snapshot(void)
{
    tr_raw raw;
    if (tr_raw_take(&raw) != 0)
        return NULL;
    om_trace_snapshot *s = calloc(1, sizeof *s);
    tr_strpool pool = {0};
    if (!s || resolve(s, &raw, &pool) != 0 || tr_strpool_add(&pool, "") == SIZE_MAX) {
        tr_raw_free(&raw);
        tr_strpool_free(&pool);
        om_trace_snapshot_free(s);
        om_set_error("om_trace_take_snapshot: out of memory");
        return NULL;
    }
    s->traceback_limit = raw.nframe;
    tr_raw_free(&raw);
    s->strings = pool.buf;
    s->strings_len = pool.len;
    free(pool.index);
    return tr_snapshot_assemble(s);
}

void om_trace_snapshot_free(om_trace_snapshot *s)
{
    if (!s)
        return;
    free(s->traces);
    free(s->tbs);
    free(s->frames);
    free(s->strings);
    free(s);
}

size_t om_trace_snapshot_count(const om_trace_snapshot *s)
{
    return s ? s->ntraces : 0;
}

int om_trace_snapshot_traceback_limit(const om_trace_snapshot *s)
{
    return s ? s->traceback_limit : 0;
}

size_t om_trace_snapshot_size(const om_trace_snapshot *s)
{
    size_t total = 0;
    for (size_t i = 0; s && i < s->ntraces; i++)
        total += s->traces[i].size;
    return total;
}

om_trace_traceback tr_snapshot_traceback(const om_trace_snapshot *s, uint32_t tb)
{
    const tr_snap_tb *t = &s->tbs[tb];
    return (om_trace_traceback){t->domain, t->nframe, t->total_nframe, s->frames + t->first};
}

int om_trace_snapshot_trace(const om_trace_snapshot *s, size_t i, om_trace_trace *out)
{
    if (!s || i >= s->ntraces) {
        om_set_error("om_trace_snapshot_trace: index %zu out of range", i);
        return -1;
    }
    out->size = s->traces[i].size;
    out->traceback = tr_snapshot_traceback(s, s->traces[i].tb);
    return 0;
}

/* The traceback of one block, resolved into a single allocation:
 *   [om_trace_traceback][frames ...][strings ...] */
om_trace_traceback *om_trace_get_object_traceback(const void *p)
{
    uintptr_t words[OM_TRACE_MAX_FRAMES];
    unsigned n, total, domain;
    if (!p || !tr_find_traceback((uintptr_t)p, words, &n, &total, &domain)) {
        om_set_error("om_trace_get_object_traceback: %p is not traced", p);
        return NULL;
    }
    const char *files[OM_TRACE_MAX_FRAMES], *funcs[OM_TRACE_MAX_FRAMES];
    om_trace_frame frames[OM_TRACE_MAX_FRAMES];
    size_t strbytes = 0;
    for (unsigned i = 0; i < n; i++) {
        tr_resolve(words[i], &files[i], &funcs[i], &frames[i].lineno, &frames[i].address);
        strbytes += strlen(files[i]) + strlen(funcs[i]) + 2;
    }
    om_trace_traceback *tb = malloc(sizeof *tb + n * sizeof *frames + strbytes);
    if (!tb) {
        om_set_error("om_trace_get_object_traceback: out of memory");
        return NULL;
    }
    om_trace_frame *out = (om_trace_frame *)(tb + 1);
    char *str = (char *)(out + n);
    for (unsigned i = 0; i < n; i++) {
        out[i] = frames[i];
        out[i].filename = str;
        str = stpcpy(str, files[i]) + 1;
        out[i].function = str;
        str = stpcpy(str, funcs[i]) + 1;
    }
    *tb = (om_trace_traceback){domain, n, total, out};
    return tb;
}

void om_trace_traceback_free(om_trace_traceback *tb)
{
    free(tb);
}
