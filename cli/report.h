/*
 * cli/report.h: the writers of `objmem report`, one file each, and the HTML
 * page writer that `objmem demo` can use without a capture.
 *
 *     report.c          the command, the text summary
 *     report_json.c     --json
 *     report_html.c     --html (also html_report_write, capture-less)
 *     report_folded.c   --folded and --speedscope
 *     diff.c            objmem diff
 */
#ifndef OM_CLI_REPORT_H
#define OM_CLI_REPORT_H

#include <stdio.h>

#include "capture.h"

typedef struct report_ctx {
    const cap_capture *c;
    const cap_profile *p;
    cap_symbols *sym;
    const cap_site **sorted[CAP_BY_TEMP + 1]; /* the sites, largest first, per key */
    size_t n_sites;
    size_t top; /* rows per table */
} report_ctx;

/* Reads and replays a capture and symbolises it (report and diff); -1 with
 * the reason on stderr.  report_unload frees all of it. */
int report_load(const char *path, cap_capture *c, cap_profile *p, report_ctx *r, size_t top);
void report_unload(cap_capture *c, cap_profile *p, report_ctx *r);

/* Each returns 0, or prints why on stderr and returns -1. */
int report_text(const report_ctx *r, FILE *out);
int report_json(const report_ctx *r, const char *path);
int report_html(const report_ctx *r, const char *path);
int report_folded(const report_ctx *r, const char *path);
int report_speedscope(const report_ctx *r, const char *path);

/* "function (file:line)" of a site's frame i (0: the allocating call). */
const char *report_frame(const report_ctx *r, const cap_site *s, size_t i, char *buf, size_t len);
size_t report_depth(const report_ctx *r, const cap_site *s);
uint64_t report_ip(const report_ctx *r, const cap_site *s, size_t i);

/* Writers that escape what came from the program. */
void json_string(FILE *f, const char *s);
void html_text(FILE *f, const char *s);

/* ---- the self-contained HTML page, capture or not ------------------------------
 * A page is a title, summary lines, a timeline of heap (and RSS), up to two
 * flame graphs and sortable tables.  Every string is escaped; the page loads
 * nothing from the network. */
typedef struct html_stack {
    const char *const *frames; /* root first */
    size_t n;
    double value; /* bytes */
} html_stack;

typedef struct html_flame {
    const char *title;
    const html_stack *stacks;
    size_t n;
} html_flame;

typedef struct html_table {
    const char *title;
    size_t n_cols, n_rows;
    const char *const *headers; /* n_cols */
    const char *const *cells;   /* n_rows * n_cols, row by row; numbers sort as numbers */
} html_table;

typedef struct html_report {
    const char *title;
    const char *const *summary; /* lines of plain text */
    size_t n_summary;
    const cap_point *timeline; /* may be NULL */
    size_t n_points;
    html_flame flames[2]; /* n == 0: not drawn */
    const html_table *tables;
    size_t n_tables;
} html_report;

/* Writes the page to path.  0, or -1 with the reason on stderr. */
int html_report_write(const char *path, const html_report *page);

#endif
