/*
 * cli/demo_tables.c: the tables every section of `objmem demo` hands to the
 * HTML report.
 *
 * A section prints its results as text while it runs; the report is written
 * once, at the end of the tracing section, long after the other sections'
 * runtimes are gone.  So a section copies what it wants on the page into a
 * table here as it prints it:
 *
 *     demo_table("Heap: size classes", 5, headers);   start a table
 *     demo_cell("%zu", size); ...                     cells, row by row
 *
 * and the report writer appends demo_tables() after its own tables.  Cells
 * are formatted and copied at once; a table or cell that does not fit (the
 * limits below, or no memory) is dropped, never half written: the demo's
 * text output is what counts, the page is its summary.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "report.h"

#define MAX_TABLES  DEMO_MAX_TABLES
#define MAX_COLUMNS 12
#define MAX_CELLS   (MAX_COLUMNS * 64) /* rows beyond 64 are dropped */

typedef struct table {
    char *title;
    size_t n_cols, n_cells;
    char *headers[MAX_COLUMNS];
    char *cells[MAX_CELLS];
} table;

static table tables[MAX_TABLES];
static size_t n_tables;
static html_table views[MAX_TABLES]; /* what demo_tables hands out */

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

int demo_table(const char *title, size_t n_cols, const char *const *headers)
{
    if (n_tables == MAX_TABLES || n_cols == 0 || n_cols > MAX_COLUMNS)
        return -1;
    table *t = &tables[n_tables];
    memset(t, 0, sizeof *t);
    t->title = copy(title);
    t->n_cols = n_cols;
    bool ok = t->title != NULL;
    for (size_t i = 0; i < n_cols; i++)
        ok = (t->headers[i] = copy(headers[i])) != NULL && ok;
    if (!ok) {
        free(t->title);
        for (size_t i = 0; i < n_cols; i++)
            free(t->headers[i]);
        return -1;
    }
    n_tables++;
    return 0;
}

void demo_cell(const char *fmt, ...)
{
    if (n_tables == 0)
        return;
    table *t = &tables[n_tables - 1];
    if (t->n_cells == MAX_CELLS)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *c = copy(buf);
    t->cells[t->n_cells++] = c ? c : copy("");
}

const html_table *demo_tables(size_t *n)
{
    for (size_t i = 0; i < n_tables; i++) {
        table *t = &tables[i];
        size_t rows = t->n_cells / t->n_cols;
        for (size_t k = 0; k < rows * t->n_cols; k++)
            if (!t->cells[k])
                rows = k / t->n_cols; /* a cell lost to no memory ends the table */
        views[i] = (html_table){t->title, t->n_cols, rows, (const char *const *)t->headers,
                                (const char *const *)t->cells};
    }
    *n = n_tables;
    return views;
}

void demo_tables_free(void)
{
    for (size_t i = 0; i < n_tables; i++) {
        table *t = &tables[i];
        free(t->title);
        for (size_t k = 0; k < t->n_cols; k++)
            free(t->headers[k]);
        for (size_t k = 0; k < t->n_cells; k++)
            free(t->cells[k]);
    }
    n_tables = 0;
}
