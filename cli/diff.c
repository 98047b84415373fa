/*
 * cli/diff.c: `objmem diff A B`: what grew from capture A to capture B.
 *
 * Addresses differ between two runs (address-space randomisation), so call
 * sites are matched by their symbolised stacks: the function names and source
 * lines of every frame, joined into one key.  Both sides' keys are sorted and
 * merged; a site present on one side only counts as zero on the other.  The
 * output: the change in the totals, then the sites whose bytes live at the
 * peak, bytes allocated and bytes leaked grew the most.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

typedef struct keyed {
    char *key;
    const cap_site *site;
    int side; /* 0: A, 1: B */
} keyed;

typedef struct change {
    const char *key;
    const cap_site *a, *b;
} change;

static char *site_key(const report_ctx *r, const cap_site *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    size_t depth = report_depth(r, s);
    for (size_t i = 0; i < depth; i++) {
        uint64_t ip = report_ip(r, s, i);
        fprintf(f, "%s (%s)%s", cap_frame_function(r->sym, ip), cap_frame_where(r->sym, ip),
                i + 1 < depth ? "\n" : "");
    }
    if (!depth)
        fputs("[unknown stack]", f);
    fclose(f);
    return text;
}

static int by_key(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : a->side - b->side;
}

static double value(const cap_site *s, enum cap_key k)
{
    return s ? cap_site_value(s, k) : 0;
}

static enum cap_key diff_key;

static int by_growth(const void *x, const void *y)
{
    const change *a = x, *b = y;
    double ga = value(a->b, diff_key) - value(a->a, diff_key);
    double gb = value(b->b, diff_key) - value(b->a, diff_key);
    return ga > gb ? -1 : ga < gb;
}

static void print_growth(change *v, size_t n, enum cap_key key, const char *title, size_t top)
{
    char a[32], b[32], d[32];
    diff_key = key;
    qsort(v, n, sizeof *v, by_growth);
    printf("\n%s\n  %10s %10s %11s  call site\n", title, "A", "B", "change");
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < top; i++) {
        double va = value(v[i].a, key), vb = value(v[i].b, key);
        if (vb - va < 0.5)
            break;
        const char *nl = strchr(v[i].key, '\n');
        printf("  %10s %10s %11s  %.*s\n", cap_human_bytes(va, a, sizeof a),
               cap_human_bytes(vb, b, sizeof b), cap_human_bytes(vb - va, d, sizeof d),
               nl ? (int)(nl - v[i].key) : (int)strlen(v[i].key), v[i].key);
        if (nl) {
            const char *nl2 = strchr(nl + 1, '\n');
            printf("  %34s    from %.*s\n", "", nl2 ? (int)(nl2 - nl - 1) : (int)strlen(nl + 1),
                   nl + 1);
        }
        shown++;
    }
    if (!shown)
        printf("  (nothing grew)\n");
}

static void print_totals(const cap_profile *pa, const cap_profile *pb)
{
    char a[32], b[32], d[32];
#define ROW(label, field)                                                                          \
    printf("%-18s %12s -> %12s  (%s)\n", label, cap_human_bytes(pa->field, a, sizeof a),           \
           cap_human_bytes(pb->field, b, sizeof b),                                                \
           cap_human_bytes(pb->field - pa->field, d, sizeof d))
    ROW("total allocated", total_bytes);
    ROW("peak heap", peak_bytes);
    ROW("leaked at exit", leak_bytes);
    ROW("peak RSS", rss_peak);
#undef ROW
    printf("%-18s %12.0f -> %12.0f  (%+.0f)\n", "allocations", pa->total_count, pb->total_count,
           pb->total_count - pa->total_count);
}

/* Pairs up the sites of both sides by key. */
static change *match_sites(report_ctx *r, size_t *n_out, keyed **keys_out)
{
    size_t n = r[0].n_sites + r[1].n_sites, k = 0, m = 0;
    keyed *keys = calloc(n + 1, sizeof *keys);
    change *v = calloc(n + 1, sizeof *v);
    if (!keys || !v)
        return NULL;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < r[side].n_sites; i++) {
            keys[k].site = &r[side].p->sites[i];
            keys[k].side = side;
            keys[k].key = site_key(&r[side], keys[k].site);
            if (keys[k].key)
                k++;
        }
    qsort(keys, k, sizeof *keys, by_key);
    for (size_t i = 0; i < k; i++) {
        if (m && !strcmp(v[m - 1].key, keys[i].key)) {
            if (keys[i].side)
                v[m - 1].b = keys[i].site;
            continue;
        }
        v[m].key = keys[i].key;
        if (keys[i].side)
            v[m].b = keys[i].site;
        else
            v[m].a = keys[i].site;
        m++;
    }
    *n_out = m;
    *keys_out = keys;
    return v; /* keys[k].key is NULL: the end, for freeing */
}

int cli_diff(int argc, char **argv)
{
    long top = 10;
    int ch;
    static const struct option longs[] = {
        {"top", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        char *end;
        if (ch == 't' && (top = strtol(optarg, &end, 10)) >= 1 && !*end)
            continue;
        if (ch == 'h') {
            printf("usage: objmem diff [--top N] A B\n");
            return 0;
        }
        fprintf(stderr, "objmem diff: bad option '%s'\nusage: objmem diff [--top N] A B\n",
                argv[optind - 1]);
        return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "objmem diff: two captures, please\nusage: objmem diff [--top N] A B\n");
        return 2;
    }
    cap_capture c[2];
    cap_profile p[2];
    report_ctx r[2];
    if (report_load(argv[optind], &c[0], &p[0], &r[0], (size_t)top) < 0)
        return 1;
    if (report_load(argv[optind + 1], &c[1], &p[1], &r[1], (size_t)top) < 0) {
        report_unload(&c[0], &p[0], &r[0]);
        return 1;
    }
    printf("objmem diff: A = %s, B = %s\n", c[0].path, c[1].path);
    print_totals(&p[0], &p[1]);
    size_t n = 0;
    keyed *keys = NULL;
    change *v = match_sites(r, &n, &keys);
    int rc = 0;
    if (v) {
        print_growth(v, n, CAP_BY_PEAK, "grew most in bytes live at the peak", (size_t)top);
        print_growth(v, n, CAP_BY_BYTES, "grew most in bytes allocated", (size_t)top);
        print_growth(v, n, CAP_BY_LEAK, "grew most in bytes leaked", (size_t)top);
    } else {
        fprintf(stderr, "objmem diff: out of memory\n");
        rc = 1;
    }
    for (size_t i = 0; keys && keys[i].key; i++)
        free(keys[i].key);
    free(keys);
    free(v);
    report_unload(&c[0], &p[0], &r[0]);
    report_unload(&c[1], &p[1], &r[1]);
    return rc;
}
