/*
 * cli/report_folded.c: stacks for flame-graph tools.
 *
 *   --folded FILE      one line per call site, root first, frames joined by
 *                      ';', then the bytes it allocated over the run (the
 *                      format of Brendan Gregg's flamegraph.pl and inferno).
 *   --speedscope FILE  speedscope's JSON file format with three profiles:
 *                      bytes allocated, bytes live at the peak, bytes leaked.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* A frame name safe inside a folded line: no ';' and no line breaks. */
static void folded_name(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

int report_folded(const report_ctx *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    for (size_t i = 0; i < r->n_sites; i++) {
        const cap_site *s = r->sorted[CAP_BY_BYTES][i];
        if (s->bytes < 0.5)
            continue;
        size_t depth = report_depth(r, s);
        if (!depth)
            fputs("[unknown stack]", f);
        for (size_t k = depth; k-- > 0;) {
            folded_name(f, cap_frame_function(r->sym, report_ip(r, s, k)));
            if (k)
                fputc(';', f);
        }
        fprintf(f, " %.0f\n", s->bytes);
    }
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* ---- speedscope ------------------------------------------------------------------- */
typedef struct frame_index {
    uint64_t *ips; /* open addressing, 0 = empty */
    uint32_t *idx;
    size_t mask, n;
    uint64_t *order; /* ips by index */
} frame_index;

static uint32_t index_of(frame_index *x, uint64_t ip)
{
    size_t i = (ip * 0x9e3779b97f4a7c15ull >> 17) & x->mask;
    while (x->ips[i] && x->ips[i] != ip)
        i = (i + 1) & x->mask;
    if (!x->ips[i]) {
        x->ips[i] = ip;
        x->idx[i] = (uint32_t)x->n;
        x->order[x->n++] = ip;
    }
    return x->idx[i];
}

static int build_index(const report_ctx *r, frame_index *x)
{
    size_t total = 0;
    for (size_t i = 0; i < r->n_sites; i++)
        total += report_depth(r, r->sorted[0][i]);
    size_t slots = 1024;
    while (slots < total * 2 + 2)
        slots *= 2;
    x->mask = slots - 1;
    x->n = 0;
    x->ips = calloc(slots, sizeof *x->ips);
    x->idx = calloc(slots, sizeof *x->idx);
    x->order = calloc(total + 2, sizeof *x->order);
    if (!x->ips || !x->idx || !x->order)
        return -1;
    for (size_t i = 0; i < r->n_sites; i++)
        for (size_t k = 0; k < report_depth(r, r->sorted[0][i]); k++)
            index_of(x, report_ip(r, r->sorted[0][i], k) | (1ull << 63)); /* never 0 */
    return 0;
}

static void write_profile(const report_ctx *r, FILE *f, frame_index *x, const char *name,
                          enum cap_key key, double total)
{
    fputs("{\"type\":\"sampled\",\"name\":", f);
    json_string(f, name);
    fprintf(f, ",\"unit\":\"bytes\",\"startValue\":0,\"endValue\":%.0f,\"samples\":[", total);
    int first = 1;
    for (size_t i = 0; i < r->n_sites; i++) {
        const cap_site *s = r->sorted[key][i];
        if (cap_site_value(s, key) < 0.5)
            break;
        fputs(first ? "[" : ",[", f);
        size_t depth = report_depth(r, s);
        for (size_t k = depth; k-- > 0;)
            fprintf(f, "%u%s", index_of(x, report_ip(r, s, k) | (1ull << 63)), k ? "," : "");
        fputs("]", f);
        first = 0;
    }
    fputs("],\"weights\":[", f);
    first = 1;
    for (size_t i = 0; i < r->n_sites; i++) {
        double v = cap_site_value(r->sorted[key][i], key);
        if (v < 0.5)
            break;
        fprintf(f, "%s%.0f", first ? "" : ",", v);
        first = 0;
    }
    fputs("]}", f);
}

int report_speedscope(const report_ctx *r, const char *path)
{
    frame_index x;
    if (build_index(r, &x) < 0) {
        fprintf(stderr, "objmem: out of memory\n");
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",", f);
    fputs("\"exporter\":\"objmem\",\"name\":", f);
    json_string(f, r->c->cmdline);
    fputs(",\"shared\":{\"frames\":[", f);
    for (size_t i = 0; i < x.n; i++) {
        uint64_t ip = x.order[i] & ~(1ull << 63);
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        json_string(f, cap_frame_function(r->sym, ip));
        fputs(",\"file\":", f);
        json_string(f, cap_frame_where(r->sym, ip));
        fputs("}", f);
    }
    fputs("]},\"profiles\":[", f);
    write_profile(r, f, &x, "bytes allocated", CAP_BY_BYTES, r->p->total_bytes);
    fputs(",", f);
    write_profile(r, f, &x, "bytes live at the peak", CAP_BY_PEAK, r->p->peak_bytes);
    fputs(",", f);
    write_profile(r, f, &x, "bytes leaked at exit", CAP_BY_LEAK, r->p->leak_bytes);
    fputs("]}\n", f);
    free(x.ips);
    free(x.idx);
    free(x.order);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}
