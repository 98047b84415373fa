/*
 * cli/report_html.c: the self-contained HTML page.
 *
 * One file, no network: the SVG is drawn here, in C, and the only script is
 * a few lines that sort a table when its header is clicked.  Every string that
 * came from the program (symbols, paths, its command line) goes through
 * html_text, so a symbol named "<script>" prints as text.
 *
 *     +--------------------------------------------+
 *     | title, summary lines                       |
 *     | timeline: heap (and RSS) over time   (SVG) |
 *     | flame graph 1, flame graph 2         (SVG) |
 *     | tables (click a header to sort)            |
 *     +--------------------------------------------+
 *
 * The flame graphs are built from stacks given root first: equal frames at
 * the same depth under the same parent merge; a frame's width is the sum of
 * the values below it; frames narrower than FLAME_MIN_PX are left out.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define SVG_WIDTH       1200
#define TIMELINE_HEIGHT 220
#define FLAME_ROW       17
#define FLAME_MIN_PX    0.3
#define FLAME_MAX_DEPTH 128

void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* ---- timeline -------------------------------------------------------------------- */
static void polyline(FILE *f, const cap_point *pts, size_t n, int rss, double top, double span,
                     const char *color)
{
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
    for (size_t i = 0; i < n; i++) {
        double v = rss ? pts[i].rss : pts[i].heap;
        double x = 50 + (SVG_WIDTH - 60) * (double)pts[i].time_us / span;
        double y = TIMELINE_HEIGHT - 25 - (TIMELINE_HEIGHT - 40) * v / top;
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fputs("'/>\n", f);
}

static void write_timeline(FILE *f, const cap_point *pts, size_t n)
{
    double top = 1, span = 1;
    int have_rss = 0;
    for (size_t i = 0; i < n; i++) {
        top = pts[i].heap > top ? pts[i].heap : top;
        top = pts[i].rss > top ? pts[i].rss : top;
        span = (double)pts[i].time_us > span ? (double)pts[i].time_us : span;
        have_rss |= pts[i].rss > 0;
    }
    char a[32];
    fprintf(f, "<h2>Memory over time</h2>\n<svg width='%d' height='%d' class='chart'>\n", SVG_WIDTH,
            TIMELINE_HEIGHT);
    fprintf(f, "<line x1='50' y1='15' x2='50' y2='%d' stroke='#888'/>", TIMELINE_HEIGHT - 25);
    fprintf(f, "<line x1='50' y1='%d' x2='%d' y2='%d' stroke='#888'/>\n", TIMELINE_HEIGHT - 25,
            SVG_WIDTH - 10, TIMELINE_HEIGHT - 25);
    fprintf(f, "<text x='4' y='20'>%s</text>", cap_human_bytes(top, a, sizeof a));
    fprintf(f, "<text x='%d' y='%d' text-anchor='end'>%.3f s</text>\n", SVG_WIDTH - 10,
            TIMELINE_HEIGHT - 8, span / 1e6);
    polyline(f, pts, n, 0, top, span, "#d9480f");
    if (have_rss)
        polyline(f, pts, n, 1, top, span, "#1971c2");
    fprintf(f, "<text x='60' y='12' fill='#d9480f'>heap (bytes live)</text>");
    if (have_rss)
        fprintf(f, "<text x='200' y='12' fill='#1971c2'>RSS</text>");
    fputs("</svg>\n", f);
}

/* ---- flame graph ---------------------------------------------------------------- */
typedef struct node {
    const char *name;
    double value;
    struct node *child, *next;
} node;

static node *child_named(node *parent, const char *name)
{
    for (node *c = parent->child; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = name;
    c->next = parent->child;
    parent->child = c;
    return c;
}

static void free_tree(node *n)
{
    while (n) {
        node *next = n->next;
        free_tree(n->child);
        free(n);
        n = next;
    }
}

static int depth_of(const node *n, int d)
{
    int most = d;
    for (const node *c = n->child; c; c = c->next) {
        int k = depth_of(c, d + 1);
        most = k > most ? k : most;
    }
    return most;
}

static unsigned hue(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void draw(FILE *f, const node *n, double x, double scale, int depth, int height)
{
    double w = n->value * scale;
    if (w < FLAME_MIN_PX || depth > FLAME_MAX_DEPTH)
        return;
    char a[32];
    if (depth > 0) {
        unsigned h = hue(n->name);
        int y = height - depth * FLAME_ROW;
        fputs("<g><title>", f);
        html_text(f, n->name);
        fprintf(f,
                " (%s)</title><rect x='%.1f' y='%d' width='%.1f' height='%d' "
                "fill='hsl(%u,%u%%,%u%%)'/>",
                cap_human_bytes(n->value, a, sizeof a), x, y, w, FLAME_ROW - 1, 10 + h % 40,
                60 + (h >> 8) % 30, 50 + (h >> 16) % 15);
        size_t fits = (size_t)((w - 6) / 7); /* 11px monospace: about 7 px a character */
        if (fits >= 3) {
            char label[256];
            size_t len = strlen(n->name);
            snprintf(label, sizeof label, "%.*s%s", (int)(len > fits ? fits - 2 : len), n->name,
                     len > fits ? ".." : "");
            fprintf(f, "<text x='%.1f' y='%d'>", x + 3, y + FLAME_ROW - 5);
            html_text(f, label);
            fputs("</text>", f);
        }
        fputs("</g>\n", f);
    }
    for (const node *c = n->child; c; c = c->next) {
        draw(f, c, x, scale, depth + 1, height);
        x += c->value * scale;
    }
}

static void write_flame(FILE *f, const html_flame *fl)
{
    node root = {.name = "all"};
    for (size_t i = 0; i < fl->n; i++) {
        const html_stack *s = &fl->stacks[i];
        if (s->value <= 0)
            continue;
        node *at = &root;
        at->value += s->value;
        for (size_t k = 0; k < s->n && at; k++) {
            at = child_named(at, s->frames[k] ? s->frames[k] : "?");
            if (at)
                at->value += s->value;
        }
    }
    int depth = depth_of(&root, 0);
    depth = depth > FLAME_MAX_DEPTH ? FLAME_MAX_DEPTH : depth;
    int height = (depth + 1) * FLAME_ROW;
    char a[32];
    fputs("<h2>", f);
    html_text(f, fl->title);
    fprintf(f, " &mdash; %s</h2>\n", cap_human_bytes(root.value, a, sizeof a));
    if (root.value <= 0) {
        fputs("<p>(nothing)</p>\n", f);
        return;
    }
    fprintf(f, "<svg width='%d' height='%d' class='flame'>\n", SVG_WIDTH, height);
    draw(f, &root, 0, SVG_WIDTH / root.value, 0, height);
    fputs("</svg>\n", f);
    free_tree(root.child);
}

/* ---- tables and the page ---------------------------------------------------------- */
static void write_table(FILE *f, const html_table *t, int id)
{
    fputs("<h2>", f);
    html_text(f, t->title);
    fprintf(f, "</h2>\n<table id='t%d'><thead><tr>", id);
    for (size_t c = 0; c < t->n_cols; c++) {
        fprintf(f, "<th onclick='sortTable(%d,%zu)'>", id, c);
        html_text(f, t->headers[c]);
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>\n", f);
    for (size_t r = 0; r < t->n_rows; r++) {
        fputs("<tr>", f);
        for (size_t c = 0; c < t->n_cols; c++) {
            fputs("<td>", f);
            html_text(f, t->cells[r * t->n_cols + c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static const char *page_style =
    "<style>body{font:14px sans-serif;margin:20px;color:#222}h1{font-size:20px}"
    "h2{font-size:16px;margin-top:28px}svg text{font:11px monospace}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
    "font:12px monospace;text-align:right}td:first-child{text-align:left}"
    "th{cursor:pointer;background:#eee}.flame rect:hover{stroke:#000}</style>\n";

static const char *page_script =
    "<script>function num(s){var m=s.replace(/,/g,'').match(/^-?[0-9.]+/);"
    "if(!m)return NaN;var v=parseFloat(m[0]);var u={'KiB':1024,'MiB':1048576,"
    "'GiB':1073741824,'TiB':1099511627776};for(var k in u)if(s.indexOf(k)>0)v*=u[k];return v}"
    "function sortTable(id,col){var t=document.getElementById('t'+id),b=t.tBodies[0],"
    "rows=Array.prototype.slice.call(b.rows),dir=t.dataset.col==col&&t.dataset.dir=='d'?'a':'d';"
    "t.dataset.col=col;t.dataset.dir=dir;rows.sort(function(x,y){var p=x.cells[col].textContent,"
    "q=y.cells[col].textContent,a=num(p),c=num(q),r=(isNaN(a)||isNaN(c))?p.localeCompare(q):a-c;"
    "return dir=='d'?-r:r});rows.forEach(function(r){b.appendChild(r)})}</script>\n";

int html_report_write(const char *path, const html_report *page)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>", f);
    html_text(f, page->title);
    fprintf(f, "</title>\n%s%s</head><body>\n<h1>", page_style, page_script);
    html_text(f, page->title);
    fputs("</h1>\n", f);
    for (size_t i = 0; i < page->n_summary; i++) {
        fputs("<div>", f);
        html_text(f, page->summary[i]);
        fputs("</div>\n", f);
    }
    if (page->timeline && page->n_points)
        write_timeline(f, page->timeline, page->n_points);
    for (int i = 0; i < 2; i++)
        if (page->flames[i].title)
            write_flame(f, &page->flames[i]);
    for (size_t i = 0; i < page->n_tables; i++)
        write_table(f, &page->tables[i], (int)i);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}
