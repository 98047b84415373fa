/*
 * cli/report.c: `objmem report [options] CAPTURE`.
 *
 * Reads the capture (capture_read.c), replays it (capture_replay.c), prints
 * the text summary and writes whichever of JSON, HTML, folded stacks and
 * speedscope JSON were asked for.  A truncated capture (the program crashed
 * or was killed) is reported with a warning; a capture that is not one, from
 * another format version or corrupt is an error (exit 1).  Bad options: exit 2.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

/* ---- helpers shared by the report writers ---------------------------------------- */
const char *cap_human_bytes(double bytes, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    double v = bytes < 0 ? -bytes : bytes;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%s%.1f %s" : "%s%.0f %s", bytes < 0 ? "-" : "", v, units[u]);
    return buf;
}

static int progress_shown;

void cap_progress(const char *what, size_t done, size_t total)
{
    static uint64_t last_ms;
    if (!isatty(2) || !total)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (ms - last_ms < 100)
        return;
    last_ms = ms;
    fprintf(stderr, "\robjmem: %s %3.0f%%", what, 100.0 * (double)done / (double)total);
    progress_shown = 1;
}

void cap_progress_done(void)
{
    if (progress_shown)
        fprintf(stderr, "\r\033[K");
    progress_shown = 0;
}

uint64_t report_ip(const report_ctx *r, const cap_site *s, size_t i)
{
    return r->c->frames[r->c->stack_at[s->stack] + i];
}

size_t report_depth(const report_ctx *r, const cap_site *s)
{
    return s->stack < r->c->n_stacks ? r->c->stack_n[s->stack] : 0;
}

const char *report_frame(const report_ctx *r, const cap_site *s, size_t i, char *buf, size_t len)
{
    if (i >= report_depth(r, s)) {
        snprintf(buf, len, "[unknown stack]");
        return buf;
    }
    uint64_t ip = report_ip(r, s, i);
    snprintf(buf, len, "%s (%s)", cap_frame_function(r->sym, ip), cap_frame_where(r->sym, ip));
    return buf;
}

/* ---- the text summary -------------------------------------------------------------- */
static void print_site(const report_ctx *r, FILE *out, const cap_site *s, double v1, double v2,
                       int bytes_first)
{
    char a[32], frame[600];
    if (bytes_first)
        fprintf(out, "  %10s %10.0f  ", cap_human_bytes(v1, a, sizeof a), v2);
    else
        fprintf(out, "  %10.0f %10s  ", v1, cap_human_bytes(v2, a, sizeof a));
    fprintf(out, "%s\n", report_frame(r, s, 0, frame, sizeof frame));
    size_t depth = report_depth(r, s);
    for (size_t i = 1; i < depth && i < 4; i++)
        fprintf(out, "  %22s    from %s\n", "", report_frame(r, s, i, frame, sizeof frame));
}

static void print_table(const report_ctx *r, FILE *out, const char *title, enum cap_key key,
                        int bytes_first)
{
    const cap_site **v = r->sorted[key];
    size_t shown = 0;
    fprintf(out, "\n%s\n  %10s %10s  call site\n", title, bytes_first ? "bytes" : "count",
            bytes_first ? "count" : "bytes");
    for (size_t i = 0; i < r->n_sites && shown < r->top; i++) {
        const cap_site *s = v[i];
        double value = cap_site_value(s, key);
        if (value < 0.5)
            break;
        double other = key == CAP_BY_BYTES   ? s->count
                       : key == CAP_BY_COUNT ? s->bytes
                       : key == CAP_BY_PEAK  ? s->peak_count
                       : key == CAP_BY_LEAK  ? s->leak_count
                                             : s->bytes;
        print_site(r, out, s, value, other, bytes_first);
        shown++;
    }
    if (!shown)
        fprintf(out, "  (none)\n");
}

static void print_histogram(const cap_profile *p, FILE *out)
{
    double most = 0;
    for (int b = 0; b < CAP_HIST_BUCKETS; b++)
        if (p->hist_count[b] > most)
            most = p->hist_count[b];
    fprintf(out, "\nsize histogram (allocations by requested size)\n");
    for (int b = 0; b < CAP_HIST_BUCKETS; b++) {
        if (p->hist_count[b] < 0.5)
            continue;
        char lo[32], hi[32], bar[41];
        double from = b ? (double)(1ull << (b - 1)) : 0, to = b ? (double)(1ull << b) - 1 : 0;
        int w = (int)(40 * p->hist_count[b] / most + 0.5);
        memset(bar, '#', (size_t)w);
        bar[w] = '\0';
        fprintf(out, "  %9s - %-9s %12.0f  %s\n", cap_human_bytes(from, lo, sizeof lo),
                cap_human_bytes(to, hi, sizeof hi), p->hist_count[b], bar);
    }
}

int report_text(const report_ctx *r, FILE *out)
{
    const cap_capture *c = r->c;
    const cap_profile *p = r->p;
    char a[32], b[32];
    fprintf(out, "objmem report: %s\n", c->path);
    fprintf(out, "program: %s (pid %llu), %.3f s, %s\n",
            c->cmdline && *c->cmdline ? c->cmdline : "?", (unsigned long long)c->pid,
            (double)p->duration_us / 1e6,
            c->ended ? "reached exit" : "did not reach exit (crashed, killed or still running)");
    if (c->truncated)
        fprintf(out, "warning: the capture ends inside a record; what came before is reported\n");
    if (c->sample_bytes)
        fprintf(out, "sampled: one allocation per %llu bytes on average; figures are estimates\n",
                (unsigned long long)c->sample_bytes);
    fprintf(out, "total allocated: %s in %.0f allocations (%.0f frees)\n",
            cap_human_bytes(p->total_bytes, a, sizeof a), p->total_count, p->frees);
    fprintf(out, "peak heap: %s at %.3f s; peak RSS %s\n",
            cap_human_bytes(p->peak_bytes, a, sizeof a), (double)p->peak_us / 1e6,
            cap_human_bytes(p->rss_peak, b, sizeof b));
    fprintf(out, "leaked at exit: %s in %.0f blocks\n", cap_human_bytes(p->leak_bytes, a, sizeof a),
            p->leak_count);
    fprintf(out, "temporary allocations: %.0f (%.1f%% of all)\n", p->temp_count,
            p->total_count > 0 ? 100.0 * p->temp_count / p->total_count : 0.0);
    print_table(r, out, "top call sites by bytes allocated", CAP_BY_BYTES, 1);
    print_table(r, out, "top call sites by number of allocations", CAP_BY_COUNT, 0);
    print_table(r, out, "top call sites by bytes live at the peak", CAP_BY_PEAK, 1);
    print_table(r, out, "top call sites by number of blocks live at the peak", CAP_BY_PEAK_COUNT,
                0);
    print_table(r, out, "leaks: bytes live at exit", CAP_BY_LEAK, 1);
    print_table(r, out, "temporary allocations", CAP_BY_TEMP, 0);
    print_histogram(p, out);
    return 0;
}

/* ---- the command ------------------------------------------------------------------ */
static void usage(FILE *f)
{
    fprintf(f, "usage: objmem report [--json FILE] [--html FILE] [--folded FILE]\n"
               "                     [--speedscope FILE] [--top N] [--quiet] CAPTURE\n");
}

typedef struct report_args {
    const char *json, *html, *folded, *speedscope, *capture;
    long top;
    int quiet;
} report_args;

static int parse_args(int argc, char **argv, report_args *a)
{
    static const struct option longs[] = {
        {"json", required_argument, 0, 'j'},   {"html", required_argument, 0, 'H'},
        {"folded", required_argument, 0, 'f'}, {"speedscope", required_argument, 0, 's'},
        {"top", required_argument, 0, 't'},    {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'j':
            a->json = optarg;
            break;
        case 'H':
            a->html = optarg;
            break;
        case 'f':
            a->folded = optarg;
            break;
        case 's':
            a->speedscope = optarg;
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 't':
            a->top = strtol(optarg, &end, 10);
            if (*end || a->top < 1 || a->top > 100000) {
                fprintf(stderr, "objmem report: --top wants a number from 1 to 100000\n");
                return -1;
            }
            break;
        default:
            fprintf(stderr, "objmem report: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "objmem report: %s\n",
                optind >= argc ? "which capture?" : "one capture only");
        return -1;
    }
    a->capture = argv[optind];
    return 0;
}

/* Reads and replays a capture into r; used by report and diff.  -1 with the
 * reason printed. */
int report_load(const char *path, cap_capture *c, cap_profile *p, report_ctx *r, size_t top)
{
    char err[600];
    if (cap_read(path, c, err, sizeof err) < 0) {
        fprintf(stderr, "objmem: %s\n", err);
        return -1;
    }
    if (c->truncated)
        fprintf(stderr,
                "objmem: warning: %s ends inside a record (the program was killed or "
                "crashed?); reporting what was recorded\n",
                path);
    cap_replay(c, p);
    memset(r, 0, sizeof *r);
    r->c = c;
    r->p = p;
    r->top = top;
    r->n_sites = p->n_sites;
    r->sym = cap_symbols_new(c);
    for (int k = 0; k <= CAP_BY_TEMP; k++) {
        r->sorted[k] = malloc((p->n_sites + 1) * sizeof *r->sorted[k]);
        if (!r->sorted[k] || !r->sym) {
            fprintf(stderr, "objmem: out of memory\n");
            return -1;
        }
        for (size_t i = 0; i < p->n_sites; i++)
            r->sorted[k][i] = &p->sites[i];
        cap_sort_sites(r->sorted[k], p->n_sites, (enum cap_key)k);
    }
    return 0;
}

void report_unload(cap_capture *c, cap_profile *p, report_ctx *r)
{
    for (int k = 0; k <= CAP_BY_TEMP; k++)
        free(r->sorted[k]);
    cap_symbols_free(r->sym);
    cap_profile_free(p);
    cap_free(c);
}

int cli_report(int argc, char **argv)
{
    report_args a = {.top = 10};
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr);
        return 2;
    }
    cap_capture c;
    cap_profile p;
    report_ctx r;
    if (report_load(a.capture, &c, &p, &r, (size_t)a.top) < 0)
        return 1;
    int rc = 0;
    if (!a.quiet)
        report_text(&r, stdout);
    if (a.json && report_json(&r, a.json) < 0)
        rc = 1;
    if (a.html && report_html(&r, a.html) < 0)
        rc = 1;
    if (a.folded && report_folded(&r, a.folded) < 0)
        rc = 1;
    if (a.speedscope && report_speedscope(&r, a.speedscope) < 0)
        rc = 1;
    report_unload(&c, &p, &r);
    return rc;
}
