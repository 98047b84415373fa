/*
 * trace/report.c: statistics, differences and snapshots as text for people
 * and as JSON for programs (the schema is in docs/design.md, "Report data").
 *
 * Text follows tracemalloc's lines:
 *     demo.c:42: size=1.5 MiB, count=1000, average=1.5 KiB
 *     demo.c:42: size=1.5 MiB (+1.0 MiB), count=1000 (+600), average=1.5 KiB
 * with the rest of a traceback indented below its first frame.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "inspect/inspect.h"
#include "trace/trace.h"

static const char *key_name(om_trace_key k)
{
    return k == OM_TRACE_BY_FILENAME    ? "filename"
           : k == OM_TRACE_BY_TRACEBACK ? "traceback"
                                        : "lineno";
}

/* "1.5 KiB": at most one decimal, binary units. */
static const char *human(char *buf, size_t len, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    double v = bytes < 0 ? -bytes : bytes;
    while (v >= 1024 && u + 1 < OM_ARRAY_LEN(units)) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%s%.1f %s" : "%s%.0f %s", bytes < 0 ? "-" : "", v, units[u]);
    return buf;
}

static void text_frame(FILE *out, const om_trace_frame *f, const char *indent)
{
    if (f->lineno)
        fprintf(out, "%s%s:%u", indent, f->filename, f->lineno);
    else
        fprintf(out, "%s%s", indent, f->filename);
    if (f->function[0] && f->function[0] != '?')
        fprintf(out, " (%s)", f->function);
    else if (f->address)
        fprintf(out, " [0x%" PRIxPTR "]", f->address);
}

static void text_rest(FILE *out, const om_trace_traceback *tb)
{
    for (unsigned i = 1; i < tb->nframe; i++) {
        text_frame(out, &tb->frames[i], "    ");
        fputc('\n', out);
    }
}

static void json_traceback(FILE *out, const om_trace_traceback *tb)
{
    fprintf(out, "\"domain\":%u,\"total_nframe\":%u,\"traceback\":[", tb->domain, tb->total_nframe);
    for (unsigned i = 0; i < tb->nframe; i++) {
        const om_trace_frame *f = &tb->frames[i];
        fputs(i ? ",{\"file\":" : "{\"file\":", out);
        in_json_string(out, f->filename);
        fprintf(out, ",\"line\":%u,\"function\":", f->lineno);
        in_json_string(out, f->function);
        fprintf(out, ",\"address\":\"0x%" PRIxPTR "\"}", f->address);
    }
    fputc(']', out);
}

static size_t shown(size_t n, size_t limit)
{
    return limit && limit < n ? limit : n;
}

int om_trace_stats_write(const om_trace_stats *st, size_t limit, om_format fmt, FILE *out)
{
    if (!st || !out) {
        om_set_error("om_trace_stats_write: no statistics or no stream");
        return -1;
    }
    size_t total = 0, count = 0, n = shown(st->n, limit);
    for (size_t i = 0; i < st->n; i++) {
        total += st->items[i].size;
        count += st->items[i].count;
    }
    char a[32], b[32];
    if (fmt == OM_FORMAT_JSON) {
        fprintf(out,
                "{\"kind\":\"trace_statistics\",\"key\":\"%s\",\"cumulative\":%s,"
                "\"total_size\":%zu,\"total_count\":%zu,\"entries\":[",
                key_name(st->key), st->cumulative ? "true" : "false", total, count);
        for (size_t i = 0; i < n; i++) {
            const om_trace_stat *e = &st->items[i];
            fprintf(out, "%s{\"size\":%zu,\"count\":%zu,", i ? "," : "", e->size, e->count);
            json_traceback(out, &e->traceback);
            fputc('}', out);
        }
        fputs("]}\n", out);
    } else {
        for (size_t i = 0; i < n; i++) {
            const om_trace_stat *e = &st->items[i];
            text_frame(out, &e->traceback.frames[0], "");
            fprintf(out, ": size=%s, count=%zu, average=%s\n", human(a, sizeof a, (double)e->size),
                    e->count, human(b, sizeof b, e->count ? (double)e->size / e->count : 0));
            text_rest(out, &e->traceback);
        }
        fprintf(out, "total: %s in %zu blocks (%zu entries by %s)\n",
                human(a, sizeof a, (double)total), count, st->n, key_name(st->key));
    }
    return ferror(out) ? -1 : 0;
}

int om_trace_diffs_write(const om_trace_diffs *d, size_t limit, om_format fmt, FILE *out)
{
    if (!d || !out) {
        om_set_error("om_trace_diffs_write: no differences or no stream");
        return -1;
    }
    size_t n = shown(d->n, limit);
    char a[32], b[32], c[32];
    if (fmt == OM_FORMAT_JSON)
        fprintf(out, "{\"kind\":\"trace_compare\",\"key\":\"%s\",\"cumulative\":%s,\"entries\":[",
                key_name(d->key), d->cumulative ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
        const om_trace_stat_diff *e = &d->items[i];
        if (fmt == OM_FORMAT_JSON) {
            fprintf(out,
                    "%s{\"size\":%zu,\"size_diff\":%" PRId64 ",\"count\":%zu,"
                    "\"count_diff\":%" PRId64 ",",
                    i ? "," : "", e->size, e->size_diff, e->count, e->count_diff);
            json_traceback(out, &e->traceback);
            fputc('}', out);
            continue;
        }
        text_frame(out, &e->traceback.frames[0], "");
        fprintf(out, ": size=%s (%s%s), count=%zu (%+" PRId64 "), average=%s\n",
                human(a, sizeof a, (double)e->size), e->size_diff >= 0 ? "+" : "",
                human(b, sizeof b, (double)e->size_diff), e->count, e->count_diff,
                human(c, sizeof c, e->count ? (double)e->size / e->count : 0));
        text_rest(out, &e->traceback);
    }
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    return ferror(out) ? -1 : 0;
}

int om_trace_snapshot_write(const om_trace_snapshot *s, size_t limit, om_format fmt, FILE *out)
{
    om_trace_stats *st = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
    if (!st || !out) {
        om_trace_stats_free(st);
        if (!out)
            om_set_error("om_trace_snapshot_write: no stream");
        return -1;
    }
    if (fmt == OM_FORMAT_JSON)
        fprintf(out,
                "{\"kind\":\"trace_snapshot\",\"traceback_limit\":%d,\"traces\":%zu,"
                "\"size\":%zu,\"top\":",
                s->traceback_limit, s->ntraces, om_trace_snapshot_size(s));
    else
        fprintf(out, "snapshot: %zu traces, %zu bytes, traceback limit %d\n", s->ntraces,
                om_trace_snapshot_size(s), s->traceback_limit);
    int rc = om_trace_stats_write(st, limit, fmt, out);
    if (fmt == OM_FORMAT_JSON)
        fputs("}\n", out);
    om_trace_stats_free(st);
    return rc;
}

int om_trace_stats_write_fd(const om_trace_stats *st, size_t limit, om_format fmt, int fd)
{
    int copy = dup(fd);
    FILE *out = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (!out) {
        if (copy >= 0)
            close(copy);
        om_set_error("om_trace_stats_write_fd: cannot write to descriptor %d", fd);
        return -1;
    }
    int rc = om_trace_stats_write(st, limit, fmt, out);
    return fclose(out) != 0 ? -1 : rc;
}
