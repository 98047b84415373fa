/*
 * cli/report_page.c: `objmem report --html FILE`: a capture's profile turned
 * into the page html_report_write draws (report_html.c): the summary, the
 * timeline, flame graphs of the heap at its peak and of the leaks, a table of
 * call sites (the top 500 by bytes allocated) and the size histogram.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define PAGE_MAX_SITES 500
#define SITE_COLS      7

typedef struct strings {
    char **v;
    size_t n, cap;
} strings;

static const char *keep(strings *s, const char *text)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        char **w = realloc(s->v, s->cap * sizeof *w);
        if (!w)
            return "";
        s->v = w;
    }
    s->v[s->n] = strdup(text);
    return s->v[s->n] ? s->v[s->n++] : "";
}

static const char *keepf(strings *s, const char *fmt, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    return keep(s, buf);
}

static const char *keep_bytes(strings *s, double v)
{
    char buf[32];
    return keep(s, cap_human_bytes(v, buf, sizeof buf));
}

/* Stacks of every site, root first, valued by `key`. */
static html_stack *flame_stacks(const report_ctx *r, enum cap_key key, const char ***names)
{
    html_stack *v = calloc(r->n_sites + 1, sizeof *v);
    size_t total = 0;
    for (size_t i = 0; i < r->n_sites; i++)
        total += report_depth(r, &r->p->sites[i]) + 1;
    const char **frames = calloc(total + 1, sizeof *frames);
    *names = frames;
    if (!v || !frames)
        return v;
    for (size_t i = 0; i < r->n_sites; i++) {
        const cap_site *s = &r->p->sites[i];
        size_t depth = report_depth(r, s);
        v[i].frames = frames;
        v[i].n = depth ? depth : 1;
        v[i].value = cap_site_value(s, key);
        if (!depth)
            *frames++ = "[unknown stack]";
        for (size_t k = depth; k-- > 0;)
            *frames++ = cap_frame_function(r->sym, report_ip(r, s, k));
    }
    return v;
}

static void site_rows(const report_ctx *r, strings *st, const char **cells, size_t rows)
{
    char frame[700];
    for (size_t i = 0; i < rows; i++) {
        const cap_site *s = r->sorted[CAP_BY_BYTES][i];
        const char **row = cells + i * SITE_COLS;
        row[0] = keep(st, report_frame(r, s, 0, frame, sizeof frame));
        row[1] = keep_bytes(st, s->bytes);
        row[2] = keepf(st, "%.0f", s->count);
        row[3] = keep_bytes(st, s->peak_bytes);
        row[4] = keepf(st, "%.0f", s->peak_count);
        row[5] = keep_bytes(st, s->leak_bytes);
        row[6] = keepf(st, "%.0f", s->temp_count);
    }
}

static size_t histogram_rows(const cap_profile *p, strings *st, const char **cells)
{
    size_t n = 0;
    for (int b = 0; b < CAP_HIST_BUCKETS; b++) {
        if (p->hist_count[b] < 0.5)
            continue;
        char lo[32], hi[32], range[80];
        snprintf(range, sizeof range, "%s - %s",
                 cap_human_bytes(b ? (double)(1ull << (b - 1)) : 0, lo, sizeof lo),
                 cap_human_bytes(b ? (double)(1ull << b) - 1 : 0, hi, sizeof hi));
        cells[n * 3] = keep(st, range);
        cells[n * 3 + 1] = keepf(st, "%.0f", p->hist_count[b]);
        cells[n * 3 + 2] = keep_bytes(st, p->hist_bytes[b]);
        n++;
    }
    return n;
}

static void summary_lines(const report_ctx *r, strings *st, const char **lines, size_t *n)
{
    const cap_capture *c = r->c;
    const cap_profile *p = r->p;
    char buf[1200], a[32], b[32];
    snprintf(buf, sizeof buf, "program: %s (pid %llu), %.3f s, %s", c->cmdline ? c->cmdline : "?",
             (unsigned long long)c->pid, (double)p->duration_us / 1e6,
             c->ended ? "reached exit" : "did not reach exit");
    lines[(*n)++] = keep(st, buf);
    snprintf(buf, sizeof buf, "total allocated: %s in %.0f allocations",
             cap_human_bytes(p->total_bytes, a, sizeof a), p->total_count);
    lines[(*n)++] = keep(st, buf);
    snprintf(buf, sizeof buf, "peak heap: %s at %.3f s; peak RSS %s",
             cap_human_bytes(p->peak_bytes, a, sizeof a), (double)p->peak_us / 1e6,
             cap_human_bytes(p->rss_peak, b, sizeof b));
    lines[(*n)++] = keep(st, buf);
    snprintf(buf, sizeof buf, "leaked at exit: %s in %.0f blocks; temporary allocations: %.0f",
             cap_human_bytes(p->leak_bytes, a, sizeof a), p->leak_count, p->temp_count);
    lines[(*n)++] = keep(st, buf);
    if (c->sample_bytes) {
        snprintf(buf, sizeof buf, "sampled: one allocation per %llu bytes; figures are estimates",
                 (unsigned long long)c->sample_bytes);
        lines[(*n)++] = keep(st, buf);
    }
}

int report_html(const report_ctx *r, const char *path)
{
    static const char *site_headers[SITE_COLS] = {"call site", "allocated",      "allocations",
                                                  "at peak",   "blocks at peak", "leaked",
                                                  "temporary"};
    static const char *hist_headers[3] = {"size", "allocations", "bytes"};
    strings st = {0};
    size_t rows = r->n_sites < PAGE_MAX_SITES ? r->n_sites : PAGE_MAX_SITES;
    const char **cells = calloc(rows * SITE_COLS + 1, sizeof *cells);
    const char **hist = calloc(CAP_HIST_BUCKETS * 3, sizeof *hist);
    const char *lines[8], **peak_names = NULL, **leak_names = NULL;
    size_t n_lines = 0;
    html_stack *peak = flame_stacks(r, CAP_BY_PEAK, &peak_names);
    html_stack *leaks = flame_stacks(r, CAP_BY_LEAK, &leak_names);
    int rc = -1;
    if (!cells || !hist || !peak || !leaks || !peak_names || !leak_names) {
        fprintf(stderr, "objmem: out of memory writing %s\n", path);
        goto out;
    }
    site_rows(r, &st, cells, rows);
    summary_lines(r, &st, lines, &n_lines);
    html_table tables[2] = {
        {"call sites (top 500 by bytes allocated)", SITE_COLS, rows, site_headers, cells},
        {"size histogram", 3, histogram_rows(r->p, &st, hist), hist_headers, hist}};
    char title[300];
    snprintf(title, sizeof title, "objmem report: %s", r->c->path);
    html_report page = {
        .title = title,
        .summary = lines,
        .n_summary = n_lines,
        .timeline = r->p->timeline,
        .n_points = r->p->n_points,
        .flames = {{"heap at the peak", peak, r->n_sites}, {"leaked at exit", leaks, r->n_sites}},
        .tables = tables,
        .n_tables = 2};
    rc = html_report_write(path, &page);
out:
    for (size_t i = 0; i < st.n; i++)
        free(st.v[i]);
    free(st.v);
    free(cells);
    free(hist);
    free(peak);
    free(leaks);
    free(peak_names);
    free(leak_names);
    return rc;
}
