/* Profiles over the object runtime: regions (allocated, freed, kept, peak,
 * line by line), the timeline sampler, the leak report by type and call
 * site, and tracing domains of runtimes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    return rt ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (om_trace_is_tracing())
        om_trace_stop();
    om_runtime_free(rt);
    rt = NULL;
    return 0;
}

static void region_counts_allocated_freed_kept_and_peak(void **state)
{
    (void)state;
    void *outside = om_malloc(5000); /* before the region: not counted */
    om_trace_region *r = om_trace_region_begin("work");
    assert_non_null(r);
    assert_true(om_trace_is_tracing());
    unsigned line_tmp = __LINE__ + 1;
    void *tmp = om_malloc(100000);
    size_t tmp_size = om_usable_size(tmp), kept_size = 0;
    om_free(tmp);
    void *kept[10];
    unsigned line_kept = __LINE__ + 2;
    for (int i = 0; i < 10; i++)
        kept[i] = om_malloc(1000);
    for (int i = 0; i < 10; i++)
        kept_size += om_usable_size(kept[i]);
    om_trace_region_stats st;
    assert_int_equal(om_trace_region_end(r, &st), 0);
    assert_false(om_trace_is_tracing()); /* the region started it, the region stopped it */
    assert_string_equal(st.name, "work");
    assert_int_equal(st.nalloc, 11);
    assert_int_equal(st.nfree, 1);
    assert_int_equal(st.allocated, tmp_size + kept_size);
    assert_int_equal(st.freed, tmp_size);
    assert_int_equal(st.kept, (int64_t)kept_size);
    assert_int_equal(st.peak, tmp_size);
    assert_true(st.nlines >= 2);
    assert_int_equal(st.lines[0].lineno, line_tmp); /* most bytes allocated */
    assert_int_equal(st.lines[0].kept, 0);
    assert_int_equal(st.lines[1].lineno, line_kept);
    assert_int_equal(st.lines[1].nalloc, 10);
    assert_true(st.lines[1].kept >= 10000);
    assert_int_equal(om_trace_region_end(r, &st), -1);
    assert_non_null(strstr(om_error_message(), "not open"));
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_trace_region_write(r, 5, OM_FORMAT_JSON, out), 0);
    assert_int_equal(om_trace_region_write(r, 5, OM_FORMAT_TEXT, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"region\",\"name\":\"work\""), text);
    assert_non_null(strstr(text, "region work: allocated"));
    free(text);
    om_trace_region_free(r);
    for (int i = 0; i < 10; i++)
        om_free(kept[i]);
    om_free(outside);
}

static void regions_nest_and_are_bounded(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    om_trace_region *outer = om_trace_region_begin("outer");
    void *a = om_malloc(300);
    om_trace_region *inner = om_trace_region_begin("inner");
    void *b = om_malloc(700);
    om_trace_region_stats si, so;
    assert_int_equal(om_trace_region_end(inner, &si), 0);
    assert_int_equal(om_trace_region_end(outer, &so), 0);
    assert_int_equal(si.nalloc, 1);
    assert_int_equal(so.nalloc, 2);
    assert_true(om_trace_is_tracing()); /* the user started it: it stays */
    om_trace_region_free(inner);
    om_trace_region_free(outer);
    om_trace_region *many[17];
    int opened = 0;
    for (int i = 0; i < 17; i++)
        if ((many[i] = om_trace_region_begin("many")))
            opened++;
    assert_int_equal(opened, 16);
    assert_null(many[16]);
    for (int i = 0; i < 16; i++)
        om_trace_region_free(many[i]); /* ends an open region too */
    om_free(a);
    om_free(b);
}

static void timeline_samples_and_measures_its_cost(void **state)
{
    (void)state;
    assert_null(om_timeline_start(0, 10));
    om_timeline *tl = om_timeline_start(1, 16);
    assert_non_null(tl);
    om_object *keep = om_list_new(rt);
    uint64_t total = 0, per = 0;
    for (int i = 0; i < 3000 && (!per || total / per < 40); i++) { /* 40 samples, 3 s at most */
        OM_AUTO om_object *x = om_list_new(rt);
        assert_int_equal(om_list_append(keep, x), 0);
        om_timeline_tick(tl, rt);
        usleep(1000);
        om_timeline_cost(tl, &total, &per);
    }
    assert_int_equal(om_timeline_stop(tl), 0);
    assert_int_equal(om_timeline_stop(tl), -1);
    size_t n = 0;
    om_timeline_sample *s = om_timeline_samples(tl, &n);
    assert_non_null(s);
    assert_true(n >= 8 && n <= 16); /* decimated: between half the bound and the bound */
    for (size_t i = 1; i < n; i++)
        assert_true(s[i].t_ns > s[i - 1].t_ns);
    assert_true(s[n - 1].rss > 0 && s[n - 1].heap_bytes > 0);
    assert_true(s[n - 1].objects >= 2);
    free(s);
    om_timeline_cost(tl, &total, &per);
    assert_true(total > 0 && per > 0 && per < 5000000);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_timeline_write(tl, OM_FORMAT_JSON, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"timeline\""), text);
    free(text);
    om_timeline_free(tl);
    om_decref(keep);
}

static void leak_report_names_type_and_site(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    unsigned line = __LINE__ + 1;
    om_object *leaked = om_dict_new(rt);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    long n = om_trace_leak_report(rt, 0, OM_FORMAT_TEXT, out);
    fclose(out);
    assert_true(n >= 1);
    char want[64];
    snprintf(want, sizeof want, "test_profile.c:%u", line);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, om_type_name(leaked)));
    free(text);
    out = open_memstream(&text, &len);
    assert_true(om_trace_leak_report(rt, 3, OM_FORMAT_JSON, out) >= 1);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"leaks\""), text);
    free(text);
    assert_int_equal(om_trace_leak_report(rt, 0, OM_FORMAT_TEXT, NULL), -1);
    om_decref(leaked);
}

static void objects_have_their_runtimes_domain(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    om_runtime *other = om_runtime_new(NULL);
    assert_non_null(other);
    unsigned line = __LINE__ + 1;
    om_object *a = om_list_new(rt), *b = om_list_new(other);
    void *raw = om_malloc(64);
    unsigned da = om_trace_domain_of(a), db = om_trace_domain_of(b);
    assert_true(da >= 1 && db >= 1 && da != db);
    assert_int_equal(om_trace_domain_of(raw), 0);
    om_trace_traceback *tb = om_trace_get_object_traceback(a);
    assert_non_null(tb);
    assert_int_equal(tb->domain, da);
    assert_int_equal(tb->frames[0].lineno, line);
    om_trace_traceback_free(tb);
    om_trace_snapshot *s = om_trace_take_snapshot();
    om_trace_filter only_a = {.inclusive = true, .domain = (int)da};
    om_trace_snapshot *f = om_trace_snapshot_filter_traces(s, &only_a, 1);
    om_trace_stats *st = om_trace_snapshot_statistics(f, OM_TRACE_BY_LINENO, false);
    assert_true(st->n >= 1);
    bool found = false;
    for (size_t i = 0; i < st->n; i++)
        found |= st->items[i].traceback.frames[0].lineno == line;
    assert_true(found);
    om_trace_stats_free(st);
    om_trace_snapshot_free(f);
    om_trace_snapshot_free(s);
    om_free(raw);
    om_decref(a);
    om_decref(b);
    om_runtime_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(region_counts_allocated_freed_kept_and_peak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(regions_nest_and_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(timeline_samples_and_measures_its_cost, setup, teardown),
        cmocka_unit_test_setup_teardown(leak_report_names_type_and_site, setup, teardown),
        cmocka_unit_test_setup_teardown(objects_have_their_runtimes_domain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
