/*
 * cli/demo_trace.c: the tracing section of `objmem demo`: a small "index
 * builder" workload run under the tracer, a timeline sampler and a region,
 * then what a person looks at when memory grows:
 *
 *   - the top allocation sites (file:line of the calls in this file),
 *   - the live objects by type, and what grew,
 *   - the region's allocations line by line,
 *   - the tracer's own cost (bytes a trace),
 * and the report: an HTML page (timeline, flame graph of the allocating
 * stacks, tables) and the same data as JSON (schema in docs/design.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "objmem.h"
#include "report.h"

#define TOP          5
#define FLAME_STACKS 64

typedef struct work {
    om_runtime *rt;
    om_object *index; /* dict: word -> list of postings */
    om_object *docs;  /* list of documents (lists of str) */
    char **buffers;   /* raw om_malloc scratch buffers, kept */
    size_t nbuffers;
} work;

static om_object *make_word(work *w, uint64_t r)
{
    char word[16];
    snprintf(word, sizeof word, "w%llu", (unsigned long long)(r % 5000));
    return om_str_from_cstr(w->rt, word);
}

static int add_posting(work *w, om_object *word, int64_t doc)
{
    om_object *postings = NULL;
    int found = om_dict_lookup(w->index, word, &postings);
    if (found < 0)
        return -1;
    if (!found) {
        postings = om_list_new(w->rt);
        if (!postings || om_dict_setitem(w->index, word, postings) != 0) {
            om_xdecref(postings);
            return -1;
        }
    }
    OM_AUTO om_object *n = om_int_from_int64(w->rt, doc);
    int rc = n ? om_list_append(postings, n) : -1;
    om_decref(postings);
    return rc;
}

static int add_document(work *w, int64_t doc, uint64_t *seed)
{
    OM_AUTO om_object *words = om_list_new(w->rt);
    for (int i = 0; words && i < 24; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        OM_AUTO om_object *word = make_word(w, *seed >> 33);
        if (!word || om_list_append(words, word) != 0 || add_posting(w, word, doc) != 0)
            return -1;
    }
    char *scratch = om_malloc(256 + (size_t)(doc % 7) * 128); /* a raw buffer per document */
    if (!words || !scratch)
        return -1;
    memset(scratch, 0, 256);
    if (doc % 4 == 0 && w->nbuffers < 4096)
        w->buffers[w->nbuffers++] = scratch;
    else
        om_free(scratch);
    return om_list_append(w->docs, words);
}

static int run_workload(work *w, const demo_options *opt, om_timeline *tl)
{
    int64_t ndocs = opt->scale ? 40000 : 3000;
    uint64_t seed = 42;
    for (int64_t d = 0; d < ndocs; d++) {
        if (add_document(w, d, &seed) != 0)
            return -1;
        if (d % 500 == 0)
            om_timeline_tick(tl, w->rt);
        if (d % 4 == 3 && om_list_len(w->docs) > 2000) {
            /* drop an old document: its list goes, its words stay indexed */
            OM_AUTO om_object *gone = om_int_from_int64(w->rt, d);
            if (!gone || om_list_setitem(w->docs, d % 2000, gone) != 0)
                return -1;
        }
    }
    om_timeline_tick(tl, w->rt);
    return 0;
}

/* ---- the summary on stdout ---------------------------------------------------- */
static void print_sites(const om_trace_stats *st)
{
    printf("  top allocation sites (live bytes):\n");
    for (size_t i = 0; i < st->n && i < TOP; i++) {
        const om_trace_frame *f = &st->items[i].traceback.frames[0];
        printf("    %-28s %-14s %9zu KiB %8zu blocks\n", f->function, "", st->items[i].size >> 10,
               st->items[i].count);
        printf("      at %s:%u\n", f->filename, f->lineno);
    }
}

static void print_types(const om_typestats *ts, const om_type_diffs *grown)
{
    printf("  live objects by type (%zu objects, %zu KiB):\n", ts->objects, ts->bytes >> 10);
    for (size_t i = 0; i < ts->n && i < TOP + 3; i++)
        printf("    %-16s %9zu %9zu KiB\n", ts->items[i].name, ts->items[i].count,
               ts->items[i].bytes >> 10);
    if (grown && grown->n)
        printf("  grew most since the start: %s (+%lld)\n", grown->items[0].name,
               (long long)grown->items[0].count_diff);
}

static void print_region(const om_trace_region_stats *rs)
{
    printf("  region \"%s\": allocated %llu KiB in %llu blocks, freed %llu KiB, kept %lld KiB, "
           "peak +%zu KiB\n",
           rs->name, (unsigned long long)(rs->allocated >> 10), (unsigned long long)rs->nalloc,
           (unsigned long long)(rs->freed >> 10), (long long)(rs->kept / 1024), rs->peak >> 10);
    for (size_t i = 0; i < rs->nlines && i < 3; i++)
        printf("    line %-5u %-22s allocated %8llu KiB, kept %+8lld KiB\n", rs->lines[i].lineno,
               rs->lines[i].function, (unsigned long long)(rs->lines[i].allocated >> 10),
               (long long)(rs->lines[i].kept / 1024));
}

/* ---- the report files ---------------------------------------------------------- */
typedef struct strings {
    char **v;
    size_t n;
} strings;

static const char *keep(strings *s, const char *text)
{
    char *copy = strdup(text);
    char **v = copy ? realloc(s->v, (s->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(copy);
        return "";
    }
    s->v = v;
    s->v[s->n++] = copy;
    return copy;
}

static const char *frame_name(strings *s, const om_trace_frame *f)
{
    char buf[512];
    if (f->lineno)
        snprintf(buf, sizeof buf, "%s (%s:%u)", f->function, f->filename, f->lineno);
    else
        snprintf(buf, sizeof buf, "%s (%s)", f->function, f->filename);
    return keep(s, buf);
}

static const char *num(strings *s, size_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", v);
    return keep(s, buf);
}

static int write_html(const char *path, const om_trace_stats *lines, const om_trace_stats *tbs,
                      const om_typestats *ts, const om_timeline_sample *tl, size_t ntl)
{
    strings s = {0};
    size_t nstack = tbs->n < FLAME_STACKS ? tbs->n : FLAME_STACKS;
    html_stack *stacks = calloc(nstack + 1, sizeof *stacks);
    const char **frames = calloc(nstack * OM_TRACE_MAX_FRAMES + 1, sizeof *frames);
    cap_point *points = calloc(ntl + 1, sizeof *points);
    size_t nl = lines->n < 20 ? lines->n : 20, nt = ts->n < 20 ? ts->n : 20;
    const char **site_cells = calloc(nl * 4 + 1, sizeof *site_cells);
    const char **type_cells = calloc(nt * 3 + 1, sizeof *type_cells);
    int rc = -1;
    if (stacks && frames && points && site_cells && type_cells) {
        for (size_t i = 0; i < nstack; i++) {
            const om_trace_traceback *tb = &tbs->items[i].traceback;
            const char **f = frames + i * OM_TRACE_MAX_FRAMES;
            for (unsigned k = 0; k < tb->nframe; k++) /* root first */
                f[k] = frame_name(&s, &tb->frames[tb->nframe - 1 - k]);
            stacks[i] = (html_stack){f, tb->nframe, (double)tbs->items[i].size};
        }
        for (size_t i = 0; i < ntl; i++)
            points[i] = (cap_point){tl[i].t_ns / 1000, (double)tl[i].heap_bytes, (double)tl[i].rss};
        for (size_t i = 0; i < nl; i++) {
            const om_trace_frame *f = &lines->items[i].traceback.frames[0];
            char where[400];
            snprintf(where, sizeof where, "%s:%u", f->filename, f->lineno);
            site_cells[i * 4] = keep(&s, where);
            site_cells[i * 4 + 1] = keep(&s, f->function);
            site_cells[i * 4 + 2] = num(&s, lines->items[i].size);
            site_cells[i * 4 + 3] = num(&s, lines->items[i].count);
        }
        for (size_t i = 0; i < nt; i++) {
            type_cells[i * 3] = keep(&s, ts->items[i].name);
            type_cells[i * 3 + 1] = num(&s, ts->items[i].count);
            type_cells[i * 3 + 2] = num(&s, ts->items[i].bytes);
        }
        static const char *const site_head[] = {"site", "function", "live bytes", "blocks"};
        static const char *const type_head[] = {"type", "objects", "bytes"};
        size_t n_more;
        const html_table *more = demo_tables(&n_more);
        html_table tables[2 + DEMO_MAX_TABLES] = {
            {"Tracing: top allocation sites (live)", 4, nl, site_head, site_cells},
            {"Tracing: live objects by type", 3, nt, type_head, type_cells}};
        n_more = n_more < DEMO_MAX_TABLES ? n_more : DEMO_MAX_TABLES;
        memcpy(tables + 2, more, n_more * sizeof *more);
        size_t nnotes;
        const char *const *notes = demo_notes(&nnotes);
        const char *summary[DEMO_MAX_NOTES + 1];
        memcpy(summary, notes, nnotes * sizeof *summary);
        summary[nnotes] = "tracing section: allocation sites are the file:line of each call "
                          "(objmem/trace.h)";
        html_report page = {.title = "objmem demo",
                            .summary = summary,
                            .n_summary = nnotes + 1,
                            .timeline = points,
                            .n_points = ntl,
                            .flames = {{"Live bytes by allocating stack", stacks, nstack}},
                            .tables = tables,
                            .n_tables = 2 + n_more};
        rc = html_report_write(path, &page);
    }
    for (size_t i = 0; i < s.n; i++)
        free(s.v[i]);
    free(s.v);
    free(stacks);
    free(frames);
    free(points);
    free(site_cells);
    free(type_cells);
    return rc;
}

static int write_json(const char *path, const om_trace_snapshot *snap, const om_typestats *ts,
                      om_timeline *tl, const om_trace_region *region, om_runtime *rt)
{
    FILE *out = fopen(path, "w");
    if (!out)
        return -1;
    om_process_memory pm;
    om_process_memory_info(&pm);
    fputs("{\"kind\":\"objmem_report\",\"version\":1,\"snapshot\":", out);
    om_trace_snapshot_write(snap, 50, OM_FORMAT_JSON, out);
    fputs(",\"types\":", out);
    om_typestats_write(ts, 50, OM_FORMAT_JSON, out);
    fputs(",\"timeline\":", out);
    om_timeline_write(tl, OM_FORMAT_JSON, out);
    fputs(",\"region\":", out);
    om_trace_region_write(region, 20, OM_FORMAT_JSON, out);
    fputs(",\"leaks\":", out);
    om_trace_leak_report(rt, 20, OM_FORMAT_JSON, out);
    fputs(",\"process\":", out);
    om_process_memory_write(&pm, OM_FORMAT_JSON, out);
    fputs("}\n", out);
    return fclose(out) == 0 ? 0 : -1;
}

/* ---- the section ------------------------------------------------------------- */
typedef struct results {
    om_trace_snapshot *snap;
    om_trace_stats *lines, *tbs;
    om_typestats *types, *peak;
    om_type_diffs *grown;
    om_trace_region *region;
    om_timeline *tl;
} results;

static void results_free(results *r)
{
    om_trace_snapshot_free(r->snap);
    om_trace_stats_free(r->lines);
    om_trace_stats_free(r->tbs);
    om_typestats_free(r->types);
    om_typestats_free(r->peak);
    om_type_diffs_free(r->grown);
    om_trace_region_free(r->region);
    om_timeline_free(r->tl);
}

static int report(work *w, results *r, const demo_options *opt)
{
    om_trace_tracer_stats ts;
    om_trace_get_tracer_stats(&ts);
    r->snap = om_trace_take_snapshot();
    r->lines = r->snap ? om_trace_snapshot_statistics(r->snap, OM_TRACE_BY_LINENO, false) : NULL;
    r->tbs = r->snap ? om_trace_snapshot_statistics(r->snap, OM_TRACE_BY_TRACEBACK, false) : NULL;
    r->types = om_objgraph_typestats(w->rt);
    r->grown = om_objgraph_growth(w->rt, &r->peak, 3);
    if (!r->lines || !r->tbs || !r->types || !r->grown)
        return -1;
    print_sites(r->lines);
    print_types(r->types, r->grown);
    om_trace_region_stats rs;
    om_trace_region_end(r->region, &rs);
    print_region(&rs);
    om_timeline_stop(r->tl);
    uint64_t cost, per;
    om_timeline_cost(r->tl, &cost, &per);
    printf("  tracer: %zu live traces, %.1f bytes a trace of its own; timeline: %llu us a sample\n",
           ts.traces, ts.bytes_per_trace, (unsigned long long)(per / 1000));
    if (r->lines->n) {
        const om_trace_frame *f = &r->lines->items[0].traceback.frames[0];
        demo_note("tracing: top site %s (%s:%u) holds %zu KiB in %zu blocks; the tracer spends "
                  "%.1f bytes a trace",
                  f->function, f->filename, f->lineno, r->lines->items[0].size >> 10,
                  r->lines->items[0].count, ts.bytes_per_trace);
    }
    if (!opt->report)
        return 0;
    char html[512], json[512];
    snprintf(html, sizeof html, "%s.html", opt->report);
    snprintf(json, sizeof json, "%s.json", opt->report);
    size_t n = 0;
    om_timeline_sample *samples = om_timeline_samples(r->tl, &n);
    int rc = samples ? write_html(html, r->lines, r->tbs, r->types, samples, n) : -1;
    free(samples);
    if (rc == 0)
        rc = write_json(json, r->snap, r->types, r->tl, r->region, w->rt);
    if (rc == 0) {
        printf("  report: %s and %s\n", html, json);
        demo_note("report: %s (open it in a browser) and %s", html, json);
    }
    return rc;
}

int demo_trace(const demo_options *opt)
{
    printf("\n== tracing: an index of words built under the tracer ==\n");
    bool was_tracing = om_trace_is_tracing();
    if (!was_tracing && om_trace_start(8) != 0) {
        fprintf(stderr, "objmem demo: tracing: %s\n", om_error_message());
        return -1;
    }
    work w = {.rt = om_runtime_new(NULL)};
    w.index = w.rt ? om_dict_new(w.rt) : NULL;
    w.docs = w.rt ? om_list_new(w.rt) : NULL;
    w.buffers = calloc(4096, sizeof *w.buffers);
    results r = {.tl = om_timeline_start(opt->scale ? 10 : 2, 512)};
    if (w.rt) /* the first growth call only records the peaks */
        om_type_diffs_free(om_objgraph_growth(w.rt, &r.peak, 0));
    r.region = om_trace_region_begin("build the index");
    int rc = w.index && w.docs && w.buffers && r.tl && r.region ? 0 : -1;
    if (rc == 0)
        rc = run_workload(&w, opt, r.tl);
    if (rc == 0)
        rc = report(&w, &r, opt);
    if (rc != 0)
        fprintf(stderr, "objmem demo: tracing: %s\n", om_error_message());
    results_free(&r);
    for (size_t i = 0; i < w.nbuffers; i++)
        om_free(w.buffers[i]);
    free(w.buffers);
    om_xdecref(w.index);
    om_xdecref(w.docs);
    om_runtime_free(w.rt);
    if (!was_tracing)
        om_trace_stop();
    return rc;
}
