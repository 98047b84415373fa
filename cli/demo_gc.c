/*
 * cli/demo_gc.c: the collector's section of `objmem demo`.
 *
 * demo_gc_report(rt, section) prints, for any runtime, the collections and pauses per
 * generation, and puts them in a table of the HTML report (the demo's object
 * workload calls it with its own runtime).  demo_gc(opt) runs a workload of its own first: a live
 * graph of lists and dicts that stays, while cyclic garbage (self-referencing lists, pairs of
 * dicts) is made and dropped, so that the automatic collector has work in every generation.
 */
#include <stdio.h>

#include "demo.h"
#include "objmem.h"

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* The same per generation, as a table for the HTML report. */
static void table_collector(const char *section, const om_gc_stats *s, const om_gc_pauses *p)
{
    static const char *const head[] = {"generation",    "collections",  "collected",
                                       "uncollectable", "pause p50 ms", "pause p99 ms",
                                       "pause max ms",  "max ms of CPU"};
    char title[128];
    snprintf(title, sizeof title, "Collector: %s", section);
    if (demo_table(title, 8, head) < 0)
        return;
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        demo_cell("%d", g);
        demo_cell("%llu", (unsigned long long)s->gen[g].collections);
        demo_cell("%llu", (unsigned long long)s->gen[g].collected);
        demo_cell("%llu", (unsigned long long)s->gen[g].uncollectable);
        demo_cell("%.3f", ms(p->automatic[g].p50_ns));
        demo_cell("%.3f", ms(p->automatic[g].p99_ns));
        demo_cell("%.3f", ms(p->automatic[g].max_ns));
        demo_cell("%.3f", ms(p->automatic[g].cpu_max_ns));
    }
}

void demo_gc_report(om_runtime *rt, const char *section)
{
    om_gc_stats s;
    om_gc_pauses p;
    om_gc_incremental_stats inc;
    om_gc_get_stats(rt, &s);
    om_gc_get_pauses(rt, &p);
    om_gc_get_incremental_stats(rt, &inc);
    printf("collector: collections and pauses per generation\n");
    printf("  gen  collections   collected  uncollectable   auto: p50 ms  p99 ms  max ms"
           "  (cpu max)   explicit: n  max ms\n");
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        printf("  %3d  %11llu  %10llu  %13llu   %12.3f  %6.3f  %6.3f  (%7.3f)   %10llu  %6.3f\n", g,
               (unsigned long long)s.gen[g].collections, (unsigned long long)s.gen[g].collected,
               (unsigned long long)s.gen[g].uncollectable, ms(p.automatic[g].p50_ns),
               ms(p.automatic[g].p99_ns), ms(p.automatic[g].max_ns), ms(p.automatic[g].cpu_max_ns),
               (unsigned long long)p.manual[g].count, ms(p.manual[g].max_ns));
    }
    if (inc.cycles || inc.slices)
        printf("  incremental old generation: %llu cycles, %llu slices, at most %llu units of "
               "work a slice, most garbage found by one cycle %llu objects\n",
               (unsigned long long)inc.cycles, (unsigned long long)inc.slices,
               (unsigned long long)inc.max_slice_work, (unsigned long long)inc.peak_garbage);
    table_collector(section, &s, &p);
}

/* The section's line in the demo's summary. */
static void note_collector(om_runtime *rt, int64_t live)
{
    om_gc_stats s;
    om_gc_pauses p;
    om_gc_get_stats(rt, &s);
    om_gc_get_pauses(rt, &p);
    uint64_t collections = 0, collected = 0, worst = 0, worst_cpu = 0;
    int worst_gen = 0;
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        collections += s.gen[g].collections;
        collected += s.gen[g].collected;
        if (p.automatic[g].cpu_max_ns > worst_cpu)
            worst_cpu = p.automatic[g].cpu_max_ns;
        if (p.automatic[g].max_ns > worst) {
            worst = p.automatic[g].max_ns;
            worst_gen = g;
        }
    }
    demo_note("collector: %llu collections freed %llu cyclic objects beside %lld live lists; "
              "longest automatic pause %.2f ms wall (generation %d), %.2f ms of CPU",
              (unsigned long long)collections, (unsigned long long)collected, (long long)live,
              ms(worst), worst_gen, ms(worst_cpu));
}

/* One piece of cyclic garbage: a list holding itself, or two dicts holding
 * each other.  0, or -1 on failure. */
static int make_trash(om_runtime *rt, om_object *key, int64_t i)
{
    if (i % 2 == 0) {
        om_object *l = om_list_new(rt);
        int rc = l ? om_list_append(l, l) : -1;
        om_xdecref(l);
        return rc;
    }
    om_object *a = om_dict_new(rt), *b = om_dict_new(rt);
    int rc =
        (a && b && om_dict_setitem(a, key, b) == 0 && om_dict_setitem(b, key, a) == 0) ? 0 : -1;
    om_xdecref(a);
    om_xdecref(b);
    return rc;
}

int demo_gc(const demo_options *opt)
{
    int64_t live = opt->scale ? 200000 : 20000, churn = live * 5;
    om_runtime *rt = om_runtime_new(NULL);
    om_object *root = rt ? om_list_new(rt) : NULL;
    om_object *key = rt ? om_str_from_cstr(rt, "peer") : NULL;
    int rc = root && key ? 0 : -1;
    for (int64_t i = 0; rc == 0 && i < live; i++) {
        om_object *node = om_list_new(rt);
        rc = node && om_list_append(root, node) == 0 ? 0 : -1;
        om_xdecref(node);
    }
    for (int64_t i = 0; rc == 0 && i < churn; i++)
        rc = make_trash(rt, key, i);
    if (rc == 0 && om_gc_collect(rt, 2) < 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "objmem demo: collector section failed: %s\n", om_error_message());
    else {
        printf("\n== collector: %lld live lists, %lld pieces of cyclic garbage ==\n",
               (long long)live, (long long)churn);
        demo_gc_report(rt, "cyclic garbage beside live lists");
        note_collector(rt, live);
    }
    om_xdecref(key);
    om_xdecref(root);
    om_runtime_free(rt);
    return rc;
}
