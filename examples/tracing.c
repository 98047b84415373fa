/*
 * tracing.c: where does the memory go?  The tracemalloc equivalent: start
 * tracing, take snapshots, print the top allocation sites and what grew.
 *
 *   ./build/release/examples/tracing
 */
#include <objmem.h>
#include <stdio.h>

static void *keep[1000];

static void grow(int n)
{
    for (int i = 0; i < n; i++)
        keep[i] = om_malloc(256); /* this line shows up in the statistics */
}

int main(void)
{
    if (om_trace_start(1) != 0) {
        fprintf(stderr, "%s\n", om_error_message());
        return 1;
    }
    om_trace_snapshot *before = om_trace_take_snapshot();
    grow(1000);
    om_trace_snapshot *after = om_trace_take_snapshot();

    om_trace_stats *top = om_trace_snapshot_statistics(after, OM_TRACE_BY_LINENO, false);
    printf("top allocation sites:\n");
    om_trace_stats_write(top, 3, OM_FORMAT_TEXT, stdout);

    om_trace_diffs *grew = om_trace_snapshot_compare_to(after, before, OM_TRACE_BY_LINENO, false);
    printf("what grew:\n");
    om_trace_diffs_write(grew, 3, OM_FORMAT_TEXT, stdout);

    size_t current, peak;
    om_trace_get_traced_memory(&current, &peak);
    printf("traced memory: %zu bytes now, %zu at peak; the tracer uses %zu bytes\n", current, peak,
           om_trace_get_tracemalloc_memory());

    om_trace_diffs_free(grew);
    om_trace_stats_free(top);
    om_trace_snapshot_free(after);
    om_trace_snapshot_free(before);
    for (int i = 0; i < 1000; i++)
        om_free(keep[i]);
    om_trace_stop();
    return 0;
}
