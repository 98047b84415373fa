/* Allocation tracing, tracemalloc's surface: start and stop, traced memory
 * and peak, call sites, snapshots, statistics, compare, filters, dump and
 * load, sampling, the tracer's own memory and its failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"
#include "trace/trace.h"

#define NBLOCKS 64

static void *blocks[NBLOCKS];
static unsigned line_a, line_b;

/* Allocates 40 blocks of 100 bytes at line_a and 24 of 1000 at line_b. */
static void allocate_two_sites(void)
{
    for (int i = 0; i < 40; i++) {
        line_a = __LINE__ + 1;
        blocks[i] = om_malloc(100);
    }
    for (int i = 40; i < NBLOCKS; i++) {
        line_b = __LINE__ + 1;
        blocks[i] = om_malloc(1000);
    }
}

static void free_blocks(void)
{
    for (int i = 0; i < NBLOCKS; i++) {
        om_free(blocks[i]);
        blocks[i] = NULL;
    }
}

static int stop_tracing(void **state)
{
    (void)state;
    if (om_trace_is_tracing())
        om_trace_stop();
    return 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static void misuse_gives_clear_errors(void **state)
{
    (void)state;
    assert_false(om_trace_is_tracing());
    assert_int_equal(om_trace_stop(), -1);
    assert_non_null(strstr(om_error_message(), "not running"));
    assert_null(om_trace_take_snapshot());
    assert_non_null(strstr(om_error_message(), "not running"));
    assert_int_equal(om_trace_start(0), -1);
    assert_int_equal(om_trace_start(OM_TRACE_MAX_FRAMES + 1), -1);
    assert_non_null(strstr(om_error_message(), "nframe"));
    assert_int_equal(om_trace_start(1), 0);
    assert_int_equal(om_trace_start(1), -1);
    assert_non_null(strstr(om_error_message(), "already running"));
    assert_true(om_trace_is_tracing());
    assert_int_equal(om_trace_get_traceback_limit(), 1);
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_get_traceback_limit(), 0);
    assert_null(om_trace_get_object_traceback(NULL));
}

static void traced_memory_and_peak(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    void *p = om_malloc(10000);
    om_trace_get_traced_memory(&cur, &peak);
    assert_true(cur >= 10000 && peak >= cur);
    om_free(p);
    size_t after, peak2;
    om_trace_get_traced_memory(&after, &peak2);
    assert_int_equal(after, 0);
    assert_int_equal(peak2, peak);
    om_trace_reset_peak();
    om_trace_get_traced_memory(&after, &peak2);
    assert_int_equal(peak2, 0);
    p = om_malloc(100);
    om_trace_clear_traces();
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    om_free(p); /* untraced now: nothing changes */
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    assert_int_equal(om_trace_stop(), 0);
}

static void call_site_is_the_callers_line(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    unsigned line = __LINE__ + 1;
    void *p = om_malloc(48);
    om_trace_traceback *tb = om_trace_get_object_traceback(p);
    assert_non_null(tb);
    assert_int_equal(tb->nframe, 1);
    assert_int_equal(tb->domain, 0);
    assert_true(ends_with(tb->frames[0].filename, "test_trace.c"));
    assert_int_equal(tb->frames[0].lineno, line);
    assert_string_equal(tb->frames[0].function, "call_site_is_the_callers_line");
    om_trace_traceback_free(tb);
    /* the site survives a realloc: the new block is traced at the new call */
    line = __LINE__ + 1;
    p = om_realloc(p, 5000);
    tb = om_trace_get_object_traceback(p);
    assert_non_null(tb);
    assert_int_equal(tb->frames[0].lineno, line);
    om_trace_traceback_free(tb);
    om_free(p);
    assert_null(om_trace_get_object_traceback(p));
    assert_int_equal(om_trace_stop(), 0);
}

static void native_frames_beyond_the_first(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(8), 0);
    void *p = om_malloc(64);
    unsigned line_q = __LINE__ + 1;
    void *q = (om_malloc)(64); /* no site: frame 0 is a return address */
    om_trace_traceback *tb = om_trace_get_object_traceback(p);
    assert_non_null(tb);
    assert_true(tb->nframe > 1);
    assert_true(tb->total_nframe >= tb->nframe);
    assert_true(ends_with(tb->frames[0].filename, "test_trace.c"));
    assert_int_not_equal(tb->frames[1].address, 0);
    om_trace_traceback_free(tb);
    tb = om_trace_get_object_traceback(q);
    assert_non_null(tb);
    /* resolved from the return address with libdw: the source line of the
     * call; a build without debug information (the release preset) has no
     * lines, and the file is then the object file, this test program */
    assert_int_not_equal(tb->frames[0].address, 0);
    if (tb->frames[0].lineno) {
        assert_true(ends_with(tb->frames[0].filename, "test_trace.c"));
        assert_int_equal(tb->frames[0].lineno, line_q);
    } else {
        assert_true(ends_with(tb->frames[0].filename, "test_trace"));
    }
    assert_string_equal(tb->frames[0].function, "native_frames_beyond_the_first");
    om_trace_traceback_free(tb);
    om_free(p);
    om_free(q);
    assert_int_equal(om_trace_stop(), 0);
}

static void statistics_by_line_and_file(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    allocate_two_sites();
    om_trace_snapshot *s = om_trace_take_snapshot();
    assert_non_null(s);
    assert_int_equal(om_trace_snapshot_count(s), NBLOCKS);
    assert_int_equal(om_trace_snapshot_traceback_limit(s), 1);
    om_trace_stats *st = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
    assert_non_null(st);
    assert_int_equal(st->n, 2);
    assert_int_equal(st->items[0].traceback.frames[0].lineno, line_b); /* 24000 > 4000 bytes */
    assert_int_equal(st->items[0].count, 24);
    assert_true(st->items[0].size >= 24000);
    assert_int_equal(st->items[1].traceback.frames[0].lineno, line_a);
    assert_int_equal(st->items[1].count, 40);
    om_trace_stats_free(st);
    st = om_trace_snapshot_statistics(s, OM_TRACE_BY_FILENAME, false);
    assert_int_equal(st->n, 1);
    assert_int_equal(st->items[0].count, NBLOCKS);
    assert_int_equal(st->items[0].traceback.frames[0].lineno, 0);
    om_trace_stats_free(st);
    assert_null(om_trace_snapshot_statistics(s, OM_TRACE_BY_TRACEBACK, true));
    assert_non_null(strstr(om_error_message(), "cumulative"));
    assert_null(om_trace_snapshot_statistics(s, (om_trace_key)7, false));
    om_trace_snapshot_free(s);
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
}

/* Three sites taken in turn, before and after a clear: each block keeps the
 * traceback of its own line (the per-thread site cache may never hand out
 * another site's id, nor an id from before the clear). */
static void interleaved_sites_keep_their_own_tracebacks(void **state)
{
    (void)state;
    enum { PER_SITE = 30 };
    void *kept[3 * PER_SITE];
    unsigned lines[3];
    assert_int_equal(om_trace_start(1), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3 * PER_SITE; i++) {
            int k = round ? 2 - i % 3 : i % 3;
            if (k == 0) {
                lines[0] = __LINE__ + 1;
                kept[i] = om_malloc(16);
            } else if (k == 1) {
                lines[1] = __LINE__ + 1;
                kept[i] = om_malloc(32);
            } else {
                lines[2] = __LINE__ + 1;
                kept[i] = om_malloc(48);
            }
        }
        om_trace_snapshot *s = om_trace_take_snapshot();
        assert_non_null(s);
        om_trace_stats *st = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
        assert_non_null(st);
        assert_int_equal(st->n, 3);
        for (size_t j = 0; j < st->n; j++) {
            unsigned line = st->items[j].traceback.frames[0].lineno;
            int k = line == lines[0] ? 0 : line == lines[1] ? 1 : line == lines[2] ? 2 : -1;
            assert_true(k >= 0);
            assert_int_equal(st->items[j].count, PER_SITE);
            assert_true(st->items[j].size >= PER_SITE * 16 * (size_t)(k + 1));
        }
        om_trace_stats_free(st);
        om_trace_snapshot_free(s);
        for (int i = 0; i < 3 * PER_SITE; i++)
            om_free(kept[i]);
        om_trace_clear_traces();
    }
    assert_int_equal(om_trace_stop(), 0);
}

static OM_NOINLINE void *deep(int n)
{
    return n ? deep(n - 1) : om_malloc(32);
}

static void cumulative_counts_each_key_once(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(16), 0);
    void *p = deep(5); /* frames: site, deep x5 ... */
    om_trace_snapshot *s = om_trace_take_snapshot();
    om_trace_stats *tb = om_trace_snapshot_statistics(s, OM_TRACE_BY_TRACEBACK, false);
    assert_int_equal(tb->n, 1);
    assert_true(tb->items[0].traceback.nframe > 5);
    om_trace_stats_free(tb);
    om_trace_stats *c = om_trace_snapshot_statistics(s, OM_TRACE_BY_FILENAME, true);
    size_t count = 0;
    for (size_t i = 0; i < c->n; i++)
        count += c->items[i].count;
    assert_int_equal(count, c->n); /* one trace, counted once under each distinct file */
    om_trace_stats_free(c);
    om_trace_snapshot_free(s);
    om_free(p);
    assert_int_equal(om_trace_stop(), 0);
}

static void compare_to_shows_what_grew(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    allocate_two_sites();
    om_trace_snapshot *before = om_trace_take_snapshot();
    om_free(blocks[0]);
    blocks[0] = NULL;
    unsigned line = __LINE__ + 1;
    void *extra = om_malloc(7777);
    om_trace_snapshot *after = om_trace_take_snapshot();
    om_trace_diffs *d = om_trace_snapshot_compare_to(after, before, OM_TRACE_BY_LINENO, false);
    assert_non_null(d);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->items[0].traceback.frames[0].lineno, line);
    assert_true(d->items[0].size_diff >= 7777);
    assert_int_equal(d->items[0].count_diff, 1);
    bool saw_a = false;
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].traceback.frames[0].lineno == line_a) {
            assert_int_equal(d->items[i].count_diff, -1);
            saw_a = true;
        }
    assert_true(saw_a);
    om_trace_diffs_free(d);
    /* against itself nothing changed */
    d = om_trace_snapshot_compare_to(after, after, OM_TRACE_BY_TRACEBACK, false);
    for (size_t i = 0; i < d->n; i++)
        assert_int_equal(d->items[i].size_diff, 0);
    om_trace_diffs_free(d);
    assert_null(om_trace_snapshot_compare_to(after, NULL, OM_TRACE_BY_LINENO, false));
    om_trace_snapshot_free(before);
    om_trace_snapshot_free(after);
    om_free(extra);
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
}

static void filters_include_exclude_and_domain(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    allocate_two_sites();
    om_trace_snapshot *s = om_trace_take_snapshot();
    om_trace_filter only_a = {
        .inclusive = true, .filename_pattern = "*test_trace.c", .lineno = line_a, .domain = -1};
    om_trace_snapshot *f = om_trace_snapshot_filter_traces(s, &only_a, 1);
    assert_int_equal(om_trace_snapshot_count(f), 40);
    om_trace_snapshot_free(f);
    om_trace_filter not_a = only_a;
    not_a.inclusive = false;
    f = om_trace_snapshot_filter_traces(s, &not_a, 1);
    assert_int_equal(om_trace_snapshot_count(f), NBLOCKS - 40);
    om_trace_snapshot_free(f);
    om_trace_filter nothing = {
        .inclusive = true, .filename_pattern = "no/such/file.c", .domain = -1};
    f = om_trace_snapshot_filter_traces(s, &nothing, 1);
    assert_non_null(f);
    assert_int_equal(om_trace_snapshot_count(f), 0);
    om_trace_stats *st = om_trace_snapshot_statistics(f, OM_TRACE_BY_LINENO, false);
    assert_int_equal(st->n, 0);
    om_trace_stats_free(st);
    om_trace_snapshot_free(f);
    om_trace_filter other_domain = {.inclusive = true, .domain = 3};
    f = om_trace_snapshot_filter_traces(s, &other_domain, 1);
    assert_int_equal(om_trace_snapshot_count(f), 0);
    om_trace_snapshot_free(f);
    om_trace_filter raw_domain = {.inclusive = true, .domain = 0};
    f = om_trace_snapshot_filter_traces(s, &raw_domain, 1);
    assert_int_equal(om_trace_snapshot_count(f), NBLOCKS);
    om_trace_snapshot_free(f);
    om_trace_filter bad = {.inclusive = true, .domain = -5};
    assert_null(om_trace_snapshot_filter_traces(s, &bad, 1));
    assert_non_null(strstr(om_error_message(), "domain"));
    assert_null(om_trace_snapshot_filter_traces(s, NULL, 2));
    om_trace_snapshot_free(s);
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
}

static char dump_path[64];

static void write_bytes(const char *path, const char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void expect_load_error(const char *what)
{
    assert_null(om_trace_snapshot_load(dump_path));
    assert_non_null(strstr(om_error_message(), what));
}

static void dump_load_round_trip_and_bad_files(void **state)
{
    (void)state;
    snprintf(dump_path, sizeof dump_path, "/tmp/objmem-trace-%d.dump", (int)getpid());
    assert_int_equal(om_trace_start(4), 0);
    allocate_two_sites();
    om_trace_snapshot *s = om_trace_take_snapshot();
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_snapshot_dump(s, dump_path), 0);
    om_trace_snapshot *l = om_trace_snapshot_load(dump_path);
    assert_non_null(l);
    assert_int_equal(om_trace_snapshot_count(l), om_trace_snapshot_count(s));
    assert_int_equal(om_trace_snapshot_size(l), om_trace_snapshot_size(s));
    assert_int_equal(om_trace_snapshot_traceback_limit(l), 4);
    om_trace_diffs *d = om_trace_snapshot_compare_to(l, s, OM_TRACE_BY_TRACEBACK, false);
    for (size_t i = 0; i < d->n; i++) {
        assert_int_equal(d->items[i].size_diff, 0);
        assert_int_equal(d->items[i].count_diff, 0);
    }
    om_trace_diffs_free(d);
    om_trace_snapshot_free(l);
    om_trace_snapshot_free(s);

    size_t n;
    char *buf = read_bytes(dump_path, &n);
    char copy[1 << 16];
    memcpy(copy, buf, n);
    write_bytes(dump_path, copy, n - 3);
    expect_load_error("truncated");
    write_bytes(dump_path, copy, 20);
    expect_load_error("truncated");
    copy[n / 2] ^= 0x40;
    write_bytes(dump_path, copy, n);
    expect_load_error("checksum");
    copy[n / 2] ^= 0x40;
    copy[0] = 'X';
    write_bytes(dump_path, copy, n);
    expect_load_error("magic");
    copy[0] = 'O';
    copy[8] = 9; /* version */
    write_bytes(dump_path, copy, n);
    expect_load_error("version");
    unlink(dump_path);
    expect_load_error("cannot open");
    assert_null(om_trace_snapshot_load(NULL));
    assert_int_equal(om_trace_snapshot_dump(NULL, dump_path), -1);
    om_trace_snapshot empty = {0};
    assert_int_equal(om_trace_snapshot_dump(&empty, "/no/such/dir/x.dump"), -1);
    assert_non_null(strstr(om_error_message(), "cannot open"));
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Every truncation, and bytes of the body changed with the checksum made
 * right again (so only the loader's own checks stand between the bytes and
 * the snapshot): each load fails with a message or gives a snapshot whose
 * every trace and frame can be read (ASan watches). */
static void every_truncation_and_forged_body_is_safe(void **state)
{
    (void)state;
    snprintf(dump_path, sizeof dump_path, "/tmp/objmem-trace-forge-%d.dump", (int)getpid());
    assert_int_equal(om_trace_start(3), 0);
    allocate_two_sites();
    om_trace_snapshot *s = om_trace_take_snapshot();
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
    assert_int_equal(om_trace_snapshot_dump(s, dump_path), 0);
    om_trace_snapshot_free(s);
    size_t n;
    static unsigned char good[1 << 16], bad[1 << 16];
    const char *file = read_bytes(dump_path, &n);
    memcpy(good, file, n);
    for (size_t len = 0; len < n; len += 7) {
        write_bytes(dump_path, (const char *)good, len);
        assert_null(om_trace_snapshot_load(dump_path));
        assert_non_null(strstr(om_error_message(), "truncated"));
    }
    omtest_srand(7);
    for (int round = 0; round < 300; round++) {
        memcpy(bad, good, n);
        size_t at = 64 + omtest_rand() % (n - 64);
        bad[at] ^= (unsigned char)(1u << (omtest_rand() % 8));
        uint64_t sum = fnv1a(bad + 64, n - 64);
        memcpy(bad + 56, &sum, sizeof sum);
        write_bytes(dump_path, (const char *)bad, n);
        om_trace_snapshot *l = om_trace_snapshot_load(dump_path);
        if (!l) {
            assert_non_null(strstr(om_error_message(), "corrupt"));
            continue;
        }
        om_trace_stats *st = om_trace_snapshot_statistics(l, OM_TRACE_BY_TRACEBACK, false);
        assert_non_null(st);
        size_t chars = 0;
        for (size_t i = 0; i < st->n; i++)
            for (unsigned k = 0; k < st->items[i].traceback.nframe; k++)
                chars += strlen(st->items[i].traceback.frames[k].filename);
        assert_true(chars > 0 || st->n == 0);
        om_trace_stats_free(st);
        om_trace_snapshot_free(l);
    }
    unlink(dump_path);
}

static void tracer_memory_is_at_most_32_bytes_a_block(void **state)
{
    (void)state;
    enum { N = 100000 };
    void **v = malloc(N * sizeof *v);
    assert_int_equal(om_trace_start(1), 0);
    for (int i = 0; i < N; i++)
        v[i] = om_malloc(16 + (size_t)(i % 4) * 16);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, N);
    assert_true(st.bytes_per_trace > 0 && st.bytes_per_trace <= 32.0);
    assert_int_equal(om_trace_get_tracemalloc_memory(), st.table_bytes + st.traceback_bytes);
    assert_int_equal(st.lost, 0);
    for (int i = 0; i < N; i++)
        om_free(v[i]);
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(om_trace_stop(), 0);
    free(v);
}

/* Exact traces live in the blocks index when their slot holds one size,
 * else in the table: the debug heap's user pointers (sizes vary within a
 * slot) land in both.  Either way every trace is counted, found, in the
 * snapshot with its size, and gone after its free. */
static void traces_of_both_indexes_are_all_seen(void **state)
{
    (void)state;
    enum { N = 3000 };
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (int debug = 0; debug < 2; debug++) {
        om_heap_set_debug(debug);
        assert_int_equal(om_trace_start(1), 0);
        size_t want = 0;
        for (int i = 0; i < N; i++) {
            v[i] = om_malloc(16 + (size_t)(i % 7) * 24);
            want += om_usable_size(v[i]);
        }
        if (debug) /* both indexes hold some */
            assert_true(tr_global.table.count > 0 && tr_global.blocks.count > 0);
        else /* plain blocks: all in the blocks index */
            assert_int_equal(tr_global.blocks.count, N);
        om_heap_check(); /* the hooked lane (inline pop, then report) keeps the heap whole */
        size_t cur, peak;
        om_trace_get_traced_memory(&cur, &peak);
        assert_int_equal(cur, want);
        om_trace_snapshot *s = om_trace_take_snapshot();
        assert_non_null(s);
        assert_int_equal(om_trace_snapshot_count(s), N);
        assert_int_equal(om_trace_snapshot_size(s), want);
        om_trace_snapshot_free(s);
        for (int i = 0; i < N; i += 97) {
            om_trace_traceback *tb = om_trace_get_object_traceback(v[i]);
            assert_non_null(tb);
            assert_true(ends_with(tb->frames[0].filename, "test_trace.c"));
            om_trace_traceback_free(tb);
        }
        for (int i = 0; i < N; i++)
            om_free(v[i]);
        om_trace_tracer_stats st;
        om_trace_get_tracer_stats(&st);
        assert_int_equal(st.traces, 0);
        om_trace_get_traced_memory(&cur, &peak);
        assert_int_equal(cur, 0);
        assert_int_equal(peak, want);
        assert_int_equal(om_trace_stop(), 0);
    }
    om_heap_set_debug(0);
    free(v);
}

static void tracer_out_of_memory_never_breaks_the_program(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    tr_map_fail_after(1); /* the first table the tracer asks for fails */
    void *p = om_malloc(100);
    assert_non_null(p);
    memset(p, 1, 100);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_true(st.lost >= 1);
    void *q = om_malloc(100); /* the tracer recovers */
    om_trace_traceback *tb = om_trace_get_object_traceback(q);
    assert_non_null(tb);
    om_trace_traceback_free(tb);
    om_free(p);
    om_free(q);
    assert_int_equal(om_trace_stop(), 0);
    tr_map_fail_after(0);
}

static void sampling_estimates_stay_unbiased(void **state)
{
    (void)state;
    enum { N = 20000, SIZE = 200 };
    void **v = malloc(N * sizeof *v);
    assert_int_equal(om_trace_start_sampling(1, 8192), 0);
    for (int i = 0; i < N; i++)
        v[i] = om_malloc(SIZE);
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.mean_bytes, 8192);
    assert_true(st.traces < N / 10); /* about N * SIZE / 8192 = 490 */
    double want = (double)N * SIZE;
    assert_true(cur > want * 0.8 && cur < want * 1.2);
    for (int i = 0; i < N; i++)
        om_free(v[i]);
    om_trace_get_traced_memory(&cur, &peak);
    assert_int_equal(cur, 0);
    assert_int_equal(om_trace_stop(), 0);
    free(v);
}

static void reports_as_text_and_json(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    allocate_two_sites();
    om_trace_snapshot *s = om_trace_take_snapshot();
    om_trace_stats *st = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_trace_stats_write(st, 10, OM_FORMAT_TEXT, out), 0);
    fclose(out);
    char want[64];
    snprintf(want, sizeof want, "test_trace.c:%u", line_b);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "count=24"));
    free(text);
    out = open_memstream(&text, &len);
    assert_int_equal(om_trace_stats_write(st, 1, OM_FORMAT_JSON, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"trace_statistics\",\"key\":\"lineno\","), text);
    assert_non_null(strstr(text, "\"count\":24"));
    assert_null(strstr(text, "\"count\":40,")); /* limit 1 */
    free(text);
    out = open_memstream(&text, &len);
    assert_int_equal(om_trace_snapshot_write(s, 5, OM_FORMAT_JSON, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"trace_snapshot\","), text);
    assert_non_null(strstr(text, "\"count\":40,"));
    free(text);
    om_trace_stats_free(st);
    om_trace_snapshot_free(s);
    free_blocks();
    assert_int_equal(om_trace_stop(), 0);
}

static void fork_keeps_the_tracer_consistent(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    void *p = om_malloc(100);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the child traces on, with the parent's traces */
        void *q = om_malloc(200);
        om_trace_snapshot *s = om_trace_take_snapshot();
        int ok = s && om_trace_snapshot_count(s) >= 2;
        om_trace_snapshot_free(s);
        om_free(q);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    om_free(p);
    assert_int_equal(om_trace_stop(), 0);
}

static void process_memory_from_the_kernel(void **state)
{
    (void)state;
    om_process_memory m;
    assert_int_equal(om_process_memory_info(&m), 0);
    assert_true(m.rss > 0 && m.vms >= m.rss && m.hwm >= m.rss / 2);
    if (m.detailed)
        assert_true(m.uss > 0 && m.pss >= m.uss / 2);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_process_memory_write(&m, OM_FORMAT_JSON, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "\"rss\":"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(misuse_gives_clear_errors, stop_tracing),
        cmocka_unit_test_teardown(traced_memory_and_peak, stop_tracing),
        cmocka_unit_test_teardown(call_site_is_the_callers_line, stop_tracing),
        cmocka_unit_test_teardown(native_frames_beyond_the_first, stop_tracing),
        cmocka_unit_test_teardown(statistics_by_line_and_file, stop_tracing),
        cmocka_unit_test_teardown(interleaved_sites_keep_their_own_tracebacks, stop_tracing),
        cmocka_unit_test_teardown(cumulative_counts_each_key_once, stop_tracing),
        cmocka_unit_test_teardown(compare_to_shows_what_grew, stop_tracing),
        cmocka_unit_test_teardown(filters_include_exclude_and_domain, stop_tracing),
        cmocka_unit_test_teardown(dump_load_round_trip_and_bad_files, stop_tracing),
        cmocka_unit_test_teardown(every_truncation_and_forged_body_is_safe, stop_tracing),
        cmocka_unit_test_teardown(tracer_memory_is_at_most_32_bytes_a_block, stop_tracing),
        cmocka_unit_test_teardown(tracer_out_of_memory_never_breaks_the_program, stop_tracing),
        cmocka_unit_test_teardown(traces_of_both_indexes_are_all_seen, stop_tracing),
        cmocka_unit_test_teardown(sampling_estimates_stay_unbiased, stop_tracing),
        cmocka_unit_test_teardown(reports_as_text_and_json, stop_tracing),
        cmocka_unit_test_teardown(fork_keeps_the_tracer_consistent, stop_tracing),
        cmocka_unit_test(process_memory_from_the_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
