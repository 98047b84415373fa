/*
 * cli/report_json.c: `objmem report --json FILE`: everything the text
 * summary says, plus every call site with its whole stack and the timeline,
 * as one JSON document.  Strings from the program are escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void write_stack(const report_ctx *r, FILE *f, const cap_site *s)
{
    size_t depth = report_depth(r, s);
    fputs("[", f);
    for (size_t i = 0; i < depth; i++) {
        uint64_t ip = report_ip(r, s, i);
        fprintf(f, "%s{\"ip\":\"0x%llx\",\"function\":", i ? "," : "", (unsigned long long)ip);
        json_string(f, cap_frame_function(r->sym, ip));
        fputs(",\"where\":", f);
        json_string(f, cap_frame_where(r->sym, ip));
        fputs("}", f);
    }
    fputs("]", f);
}

static void write_summary(const report_ctx *r, FILE *f)
{
    const cap_capture *c = r->c;
    const cap_profile *p = r->p;
    fputs("{\"capture\":", f);
    json_string(f, c->path);
    fputs(",\"program\":", f);
    json_string(f, c->cmdline);
    fputs(",\"executable\":", f);
    json_string(f, c->exe);
    fprintf(f,
            ",\"pid\":%llu,\"duration_s\":%.6f,\"reached_exit\":%s,\"truncated\":%s,"
            "\"sample_bytes\":%llu,\"total_bytes\":%.0f,\"total_count\":%.0f,\"frees\":%.0f,"
            "\"peak_bytes\":%.0f,\"peak_s\":%.6f,\"rss_peak\":%.0f,\"leak_bytes\":%.0f,"
            "\"leak_count\":%.0f,\"temporary_count\":%.0f,\"unmatched_frees\":%llu",
            (unsigned long long)c->pid, (double)p->duration_us / 1e6, c->ended ? "true" : "false",
            c->truncated ? "true" : "false", (unsigned long long)c->sample_bytes, p->total_bytes,
            p->total_count, p->frees, p->peak_bytes, (double)p->peak_us / 1e6, p->rss_peak,
            p->leak_bytes, p->leak_count, p->temp_count, (unsigned long long)p->unmatched_frees);
}

int report_json(const report_ctx *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    const cap_profile *p = r->p;
    write_summary(r, f);
    fputs(",\"histogram\":[", f);
    int first = 1;
    for (int b = 0; b < CAP_HIST_BUCKETS; b++) {
        if (p->hist_count[b] < 0.5)
            continue;
        unsigned long long lo = b ? 1ull << (b - 1) : 0, hi = b ? (1ull << b) - 1 : 0;
        fprintf(f, "%s{\"from\":%llu,\"to\":%llu,\"count\":%.0f,\"bytes\":%.0f}", first ? "" : ",",
                lo, hi, p->hist_count[b], p->hist_bytes[b]);
        first = 0;
    }
    fputs("],\"timeline\":[", f);
    for (size_t i = 0; i < p->n_points; i++)
        fprintf(f, "%s[%.6f,%.0f,%.0f]", i ? "," : "", (double)p->timeline[i].time_us / 1e6,
                p->timeline[i].heap, p->timeline[i].rss);
    fputs("],\"sites\":[", f);
    for (size_t i = 0; i < r->n_sites; i++) {
        const cap_site *s = r->sorted[CAP_BY_BYTES][i];
        fprintf(f,
                "%s\n{\"bytes\":%.0f,\"count\":%.0f,\"peak_bytes\":%.0f,\"peak_count\":%.0f,"
                "\"leak_bytes\":%.0f,\"leak_count\":%.0f,\"temporary_count\":%.0f,\"stack\":",
                i ? "," : "", s->bytes, s->count, s->peak_bytes, s->peak_count, s->leak_bytes,
                s->leak_count, s->temp_count);
        write_stack(r, f, s);
        fputs("}", f);
    }
    fputs("]}\n", f);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}
