/*
 * trace/leak.c: the leak report: what a runtime still holds, by type and
 * by the call site that allocated it.
 *
 *   census   the inspect layer's walk of the runtime's objects
 *   group    mortal objects by (type name, first frame of their traceback);
 *            objects allocated while the tracer was off have no site
 *   write    biggest groups first, as text or JSON
 *
 * Call it just before om_runtime_free, once the program has dropped its own
 * references: what is left is what would leak.  The object layer's own
 * report (om_runtime_print_leaks, config.report_leaks) gives the types only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/inspect.h"
#include "trace/trace.h"

typedef struct leak_group {
    const char *type;
    uintptr_t site; /* frame word, 0: unknown */
    size_t count, bytes;
} leak_group;

static int by_bytes(const void *pa, const void *pb)
{
    const leak_group *a = pa, *b = pb;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return a->count > b->count ? -1 : a->count < b->count;
}

/* group: one entry per (type, site); a linear probe over a table of 2n. */
static leak_group *group(const in_graph *g, size_t *ngroups, size_t *objects, size_t *bytes)
{
    size_t cap = 16;
    while (cap < g->n * 2)
        cap *= 2;
    leak_group *table = calloc(cap, sizeof *table);
    if (!table)
        return NULL;
    for (size_t i = 0; i < g->n; i++) {
        om_object *o = g->objs[i];
        if (om_is_immortal(o))
            continue;
        uintptr_t words[OM_TRACE_MAX_FRAMES];
        unsigned n = 0, total, domain;
        if (!tr_find_traceback((uintptr_t)o, words, &n, &total, &domain))
            n = 0;
        leak_group key = {om_type_name(o), n ? words[0] : 0, 0, 0};
        uint64_t h = ((uintptr_t)key.type ^ key.site * 31) * 0x9e3779b97f4a7c15ull;
        size_t j = (size_t)(h >> 20) & (cap - 1);
        while (table[j].type && (table[j].type != key.type || table[j].site != key.site))
            j = (j + 1) & (cap - 1);
        if (!table[j].type)
            table[j] = key;
        table[j].count++;
        table[j].bytes += g->sizes[i];
        (*objects)++;
        *bytes += g->sizes[i];
    }
    size_t k = 0;
    for (size_t j = 0; j < cap; j++)
        if (table[j].type)
            table[k++] = table[j];
    qsort(table, k, sizeof *table, by_bytes);
    *ngroups = k;
    return table;
}

static void write_group(const leak_group *e, bool first, om_format fmt, FILE *out)
{
    const char *file = "?", *func = "?";
    unsigned lineno = 0;
    uintptr_t address = 0;
    if (e->site)
        tr_resolve(e->site, &file, &func, &lineno, &address);
    if (fmt == OM_FORMAT_JSON) {
        fputs(first ? "{\"type\":" : ",{\"type\":", out);
        in_json_string(out, e->type);
        fprintf(out, ",\"count\":%zu,\"bytes\":%zu,\"file\":", e->count, e->bytes);
        in_json_string(out, file);
        fprintf(out, ",\"line\":%u,\"function\":", lineno);
        in_json_string(out, func);
        fputc('}', out);
    } else if (e->site) {
        fprintf(out, "  %-16s %8zu objects %10zu B  allocated at %s:%u (%s)\n", e->type, e->count,
                e->bytes, file, lineno, func);
    } else {
        fprintf(out, "  %-16s %8zu objects %10zu B  (allocated while not tracing)\n", e->type,
                e->count, e->bytes);
    }
}

long om_trace_leak_report(om_runtime *rt, size_t limit, om_format fmt, FILE *out)
{
    in_graph g;
    if (!out) {
        om_set_error("om_trace_leak_report: no stream");
        return -1;
    }
    if (in_graph_build(&g, rt, false) != 0)
        return -1;
    size_t ngroups = 0, objects = 0, bytes = 0;
    leak_group *groups = group(&g, &ngroups, &objects, &bytes);
    in_graph_free(&g);
    if (!groups) {
        om_set_error("om_trace_leak_report: out of memory");
        return -1;
    }
    size_t n = limit && limit < ngroups ? limit : ngroups;
    if (fmt == OM_FORMAT_JSON)
        fprintf(out, "{\"kind\":\"leaks\",\"objects\":%zu,\"bytes\":%zu,\"groups\":[", objects,
                bytes);
    else
        fprintf(out, "leaks: %zu objects, %zu bytes still alive\n", objects, bytes);
    for (size_t i = 0; i < n; i++)
        write_group(&groups[i], i == 0, fmt, out);
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    free(groups);
    return ferror(out) ? -1 : (long)objects;
}
