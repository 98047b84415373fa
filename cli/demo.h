/* cli/demo.h: the sections of `objmem demo`, one file each. */
#ifndef OM_CLI_DEMO_H
#define OM_CLI_DEMO_H

#include <stddef.h>

typedef struct demo_options {
    int scale;          /* 0 quick (tests), 1 normal */
    int threads;        /* worker threads for the heap workload */
    int progress;       /* draw the live progress line */
    const char *report; /* tracing section: writes REPORT.html and REPORT.json (NULL: no files) */
} demo_options;

/* Each returns 0, or prints what went wrong and returns -1. */
int demo_heap(const demo_options *opt);
/* The collector's section: a workload of its own, then demo_gc_report. */
int demo_gc(const demo_options *opt);
/* The object section: a churned graph of containers and records. */
int demo_objects(const demo_options *opt);
/* The tracing section: top allocation sites, types, a region, the report. */
int demo_trace(const demo_options *opt);

/* The summary: each section notes its headline results; demo.c prints them at
 * the end and the tracing section puts them at the top of the HTML report.
 * Lines longer than 160 bytes are cut; at most DEMO_MAX_NOTES are kept. */
#define DEMO_MAX_NOTES 32
void demo_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *const *demo_notes(size_t *n);

/* Tables for the HTML report (demo_tables.c): demo_table starts one (-1 when
 * it cannot: too many, or no memory), demo_cell adds the next cell, row by
 * row.  demo_tables hands them to the report writer; demo_tables_free drops
 * them. */
#define DEMO_MAX_TABLES 8
struct html_table;
int demo_table(const char *title, size_t n_cols, const char *const *headers);
void demo_cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const struct html_table *demo_tables(size_t *n);
void demo_tables_free(void);

/* Collections and pauses per generation of rt, for any section's summary;
 * also a table "Collector: <section>" on the HTML report. */
typedef struct om_runtime om_runtime;
void demo_gc_report(om_runtime *rt, const char *section);

#endif
