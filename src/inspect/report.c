/* inspect/report.c: censuses and their differences as text and as JSON
 * (schema in docs/design.md, "Report data"). */
#include <inttypes.h>

#include "inspect/inspect.h"

static size_t shown(size_t n, size_t limit)
{
    return limit && limit < n ? limit : n;
}

int om_typestats_write(const om_typestats *st, size_t limit, om_format fmt, FILE *out)
{
    if (!st || !out) {
        om_set_error("om_typestats_write: no statistics or no stream");
        return -1;
    }
    size_t n = shown(st->n, limit);
    if (fmt == OM_FORMAT_JSON)
        fprintf(out, "{\"kind\":\"typestats\",\"objects\":%zu,\"bytes\":%zu,\"types\":[",
                st->objects, st->bytes);
    else
        fprintf(out, "%-24s %12s %14s\n", "type", "objects", "bytes");
    for (size_t i = 0; i < n; i++) {
        const om_type_count *e = &st->items[i];
        if (fmt == OM_FORMAT_JSON) {
            fputs(i ? ",{\"name\":" : "{\"name\":", out);
            in_json_string(out, e->name);
            fprintf(out, ",\"count\":%zu,\"bytes\":%zu}", e->count, e->bytes);
        } else {
            fprintf(out, "%-24s %12zu %14zu\n", e->name, e->count, e->bytes);
        }
    }
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    else
        fprintf(out, "%-24s %12zu %14zu\n", "total", st->objects, st->bytes);
    return ferror(out) ? -1 : 0;
}

int om_type_diffs_write(const om_type_diffs *d, size_t limit, om_format fmt, FILE *out)
{
    if (!d || !out) {
        om_set_error("om_type_diffs_write: no differences or no stream");
        return -1;
    }
    size_t n = shown(d->n, limit);
    if (fmt == OM_FORMAT_JSON)
        fputs("{\"kind\":\"type_diffs\",\"types\":[", out);
    for (size_t i = 0; i < n; i++) {
        const om_type_diff *e = &d->items[i];
        if (fmt == OM_FORMAT_JSON) {
            fputs(i ? ",{\"name\":" : "{\"name\":", out);
            in_json_string(out, e->name);
            fprintf(out,
                    ",\"count\":%zu,\"count_diff\":%" PRId64 ",\"bytes\":%zu,"
                    "\"bytes_diff\":%" PRId64 "}",
                    e->count, e->count_diff, e->bytes, e->bytes_diff);
        } else {
            fprintf(out, "%-24s %12zu %+12" PRId64 " %14zu %+14" PRId64 "\n", e->name, e->count,
                    e->count_diff, e->bytes, e->bytes_diff);
        }
    }
    if (fmt == OM_FORMAT_JSON)
        fputs("]}\n", out);
    return ferror(out) ? -1 : 0;
}
