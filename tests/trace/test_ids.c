/* Exact tracing of private heaps' blocks through the heap's id lanes
 * (heap/ids.c, trace/counts.c): the id beside each block, the per-thread
 * counts and the peak, snapshots that walk the heap, object tracebacks,
 * blocks from before the start or a clear, a heap deleted with traced
 * blocks, regions, bad frees, and the tracer's memory. */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"
#include "heap/heap.h"
#include "heap/special.h"
#include "trace/trace.h"

typedef struct node {
    om_object ob;
    om_object *left, *right;
} node;

static const om_type node_type = {.name = "node", .basicsize = sizeof(node)};

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static size_t traced_now(void)
{
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    return cur;
}

static size_t traced_peak(void)
{
    size_t cur, peak;
    om_trace_get_traced_memory(&cur, &peak);
    return peak;
}

/* Objects are counted by the heap's lane, with no lock: current and peak
 * exact, every trace in the snapshot with its site and the heap's size,
 * none in the tracer's own indexes, and all gone after the frees. */
static void objects_are_traced_by_their_ids(void **state)
{
    (void)state;
    enum { N = 5000 };
    om_runtime *rt = om_runtime_new(NULL);
    om_object **v = malloc(N * sizeof *v);
    assert_int_equal(om_trace_start(1), 0);
    unsigned line = __LINE__ + 2;
    for (int i = 0; i < N; i++)
        v[i] = om_new(rt, &node_type);
    assert_int_equal(tr_global.blocks.count + tr_global.table.count, 0);
    assert_true(hp_ids_bytes() > 0);
    size_t want = N * sizeof(node);
    assert_int_equal(traced_now(), want);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, N);
    assert_int_equal(st.sampled, N);
    assert_true(st.bytes_per_trace > 0 && st.bytes_per_trace <= 32.0);
    om_trace_snapshot *s = om_trace_take_snapshot();
    assert_non_null(s);
    assert_int_equal(om_trace_snapshot_count(s), N);
    assert_int_equal(om_trace_snapshot_size(s), want);
    om_trace_stats *by_line = om_trace_snapshot_statistics(s, OM_TRACE_BY_LINENO, false);
    assert_int_equal(by_line->n, 1);
    assert_int_equal(by_line->items[0].count, N);
    assert_int_equal(by_line->items[0].traceback.frames[0].lineno, line);
    assert_int_equal(by_line->items[0].traceback.domain, om_trace_domain_of(v[0]));
    om_trace_stats_free(by_line);
    om_trace_snapshot_free(s);
    om_trace_traceback *tb = om_trace_get_object_traceback(v[N / 2]);
    assert_non_null(tb);
    assert_true(ends_with(tb->frames[0].filename, "test_ids.c"));
    assert_int_equal(tb->frames[0].lineno, line);
    om_trace_traceback_free(tb);
    for (int i = 0; i < N; i += 2)
        om_decref(v[i]);
    assert_int_equal(traced_now(), want / 2);
    assert_int_equal(traced_peak(), want);
    for (int i = 1; i < N; i += 2)
        om_decref(v[i]);
    assert_int_equal(traced_now(), 0);
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(st.lost, 0);
    assert_int_equal(om_trace_stop(), 0);
    free(v);
    om_runtime_free(rt);
}

/* The site cache holds one heap's entries at a time: two runtimes (so
 * two heaps, two domains) allocating at the same site in turn each get
 * their own heap's traceback, never the other's cached one; the counts
 * (traces = allocations - frees) stay exact through the switches; and
 * the lane is open for the heap the thread used last, also after a traced
 * om_malloc (which the hook path counts with a cache of its own). */
static void two_heaps_share_one_site(void **state)
{
    (void)state;
    enum { N = 400 };
    om_runtime *rt[2] = {om_runtime_new(NULL), om_runtime_new(NULL)};
    om_object *v[N];
    assert_int_equal(om_trace_start(1), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            v[i] = om_new(rt[(i / 3) & 1], &node_type); /* runs of three a heap */
        assert_int_equal(traced_now(), N * sizeof(node));
        om_trace_tracer_stats st;
        om_trace_get_tracer_stats(&st);
        assert_int_equal(st.traces, N);
        assert_int_equal(st.sampled, (round + 1) * N + round); /* and one om_malloc a round */
        for (int i = 0; i < N; i++) {
            om_trace_traceback *tb = om_trace_get_object_traceback(v[i]);
            assert_non_null(tb);
            assert_int_equal(tb->domain, om_trace_domain_of(v[i]));
            om_trace_traceback_free(tb);
        }
        assert_ptr_equal(HP_LOAD(&hp_ids_me.lane), hp_ids_me.heap);
        assert_ptr_equal(hp_ids_me.heap, hp_heap_of(v[N - 1]));
        assert_int_not_equal(om_trace_domain_of(v[0]), om_trace_domain_of(v[3]));
        void *raw = om_malloc(40); /* the hook path's own cache: the lane stays */
        assert_ptr_equal(HP_LOAD(&hp_ids_me.lane), hp_heap_of(v[N - 1]));
        om_free(raw);
        for (int i = 0; i < N; i++)
            om_decref(v[i]);
        assert_int_equal(traced_now(), 0);
        om_trace_get_tracer_stats(&st);
        assert_int_equal(st.traces, 0);
    }
    assert_int_equal(om_trace_stop(), 0);
    assert_null(HP_LOAD(&hp_ids_me.lane)); /* no owner once stopped */
    om_runtime_free(rt[0]);
    om_runtime_free(rt[1]);
}

/* The peak is the highest sum, through frees and reallocations, and
 * reset_peak starts it again from the current level. */
static void the_peak_follows_every_count(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    om_object *v[300];
    assert_int_equal(om_trace_start(1), 0);
    for (int i = 0; i < 300; i++)
        v[i] = om_new(rt, &node_type);
    for (int i = 0; i < 200; i++)
        om_decref(v[i]);
    size_t unit = sizeof(node);
    assert_int_equal(traced_peak(), 300 * unit);
    om_trace_reset_peak();
    assert_int_equal(traced_peak(), 100 * unit);
    for (int i = 0; i < 150; i++)
        v[i] = om_new(rt, &node_type);
    for (int i = 0; i < 150; i++)
        om_decref(v[i]);
    assert_int_equal(traced_now(), 100 * unit);
    assert_int_equal(traced_peak(), 250 * unit);
    void *raw = om_malloc(1000); /* the tracer's own index, counted alike */
    assert_int_equal(traced_peak(), 250 * unit);
    om_free(raw);
    for (int i = 200; i < 300; i++)
        om_decref(v[i]);
    assert_int_equal(traced_now(), 0);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

static unsigned traceback_line(om_object *o)
{
    om_trace_traceback *tb = om_trace_get_object_traceback(o);
    assert_non_null(tb);
    unsigned line = tb->frames[0].lineno;
    om_trace_traceback_free(tb);
    return line;
}

/* Under exact tracing the runtime keeps the blocks of small plain objects
 * as with no mode (object/release.c) and om_new hands them out again
 * (object/alloc.c): the heap drops a kept block's id, counted as a free,
 * and writes the new one, counted as an allocation, inline from the
 * thread's cache or through the hooks.  A block kept before the start or
 * a clear has no id of this session: its free changes nothing, and its
 * reuse is traced at the new site; a kept block is in no snapshot. */
static void kept_blocks_lose_and_get_ids(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    if (!hp_heap_quiet()) {
        om_runtime_free(rt);
        skip(); /* the debug heap is on for the whole run: nothing is kept */
    }
    om_object *old = om_new(rt, &node_type), *older = om_new(rt, &node_type);
    void *addr = old;
    om_decref(old); /* kept, with no id */
    assert_int_equal(om_trace_start(1), 0);
    unsigned line = __LINE__ + 1;
    om_object *x = om_new(rt, &node_type);
    assert_ptr_equal(x, addr); /* the kept block, given an id through the hooks */
    assert_int_equal(traced_now(), sizeof(node));
    assert_int_equal(traceback_line(x), line);
    om_decref(x); /* kept again: its id dropped */
    assert_int_equal(traced_now(), 0);
    om_trace_snapshot *s = om_trace_take_snapshot();
    assert_int_equal(om_trace_snapshot_count(s), 0);
    om_trace_snapshot_free(s);
    assert_null(om_trace_get_object_traceback(addr));
    for (int i = 0; i < 100; i++) { /* the inline way: one site, one block */
        line = __LINE__ + 1;
        x = om_new(rt, &node_type);
        assert_ptr_equal(x, addr);
        assert_int_equal(traced_now(), sizeof(node));
        assert_int_equal(traceback_line(x), line);
        om_decref(x);
        assert_int_equal(traced_now(), 0);
    }
    assert_int_equal(traced_peak(), sizeof(node));
    om_decref(older); /* from before the start: no id, nothing changes */
    assert_int_equal(traced_now(), 0);
    x = om_new(rt, &node_type);
    assert_int_equal(traced_now(), sizeof(node));
    om_trace_clear_traces();
    assert_int_equal(traced_now(), 0);
    om_decref(x); /* an id of before the clear */
    assert_int_equal(traced_now(), 0);
    line = __LINE__ + 1;
    x = om_new(rt, &node_type);
    assert_int_equal(traced_now(), sizeof(node));
    assert_int_equal(traceback_line(x), line);
    s = om_trace_take_snapshot();
    assert_int_equal(om_trace_snapshot_count(s), 1);
    om_trace_snapshot_free(s);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 1);
    om_decref(x);
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

/* Blocks from before the start, and from before a clear, have no id of
 * this session: their frees change nothing, and they are in no snapshot. */
static void blocks_from_before_have_no_id(void **state)
{
    (void)state;
    enum { N = 400 };
    om_runtime *rt = om_runtime_new(NULL);
    om_object *old[N], *mid[N], *now[N];
    for (int i = 0; i < N; i++)
        old[i] = om_new(rt, &node_type);
    assert_int_equal(om_trace_start(1), 0);
    for (int i = 0; i < N; i++)
        mid[i] = om_new(rt, &node_type);
    for (int i = 0; i < N; i += 2)
        om_decref(old[i]);
    assert_int_equal(traced_now(), N * sizeof(node));
    om_trace_clear_traces();
    assert_int_equal(traced_now(), 0);
    for (int i = 0; i < N; i++)
        now[i] = om_new(rt, &node_type);
    for (int i = 0; i < N; i++)
        om_decref(mid[i]);
    assert_int_equal(traced_now(), N * sizeof(node));
    om_trace_snapshot *s = om_trace_take_snapshot();
    assert_int_equal(om_trace_snapshot_count(s), N);
    om_trace_snapshot_free(s);
    assert_null(om_trace_get_object_traceback(old[1]));
    om_trace_traceback *tb = om_trace_get_object_traceback(now[0]);
    assert_non_null(tb);
    om_trace_traceback_free(tb);
    assert_int_equal(om_trace_stop(), 0);
    /* a new session: ids of the last one are stale */
    assert_int_equal(om_trace_start(1), 0);
    for (int i = 0; i < N; i++)
        om_decref(now[i]);
    assert_int_equal(traced_now(), 0);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(om_trace_stop(), 0);
    for (int i = 1; i < N; i += 2)
        om_decref(old[i]);
    om_runtime_free(rt);
}

/* A private heap deleted with traced blocks in it: the heap reports them
 * gone (id_free of n blocks at once), and the ids arrays go back. */
static void a_heap_deleted_with_traced_blocks(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    hp_heap *h = hp_heap_new(NULL);
    assert_non_null(h);
    for (int i = 0; i < 1000; i++)
        assert_non_null(hp_heap_alloc(h, 48));
    assert_int_equal(traced_now(), 1000 * 48);
    hp_heap_delete(h);
    assert_int_equal(traced_now(), 0);
    assert_int_equal(traced_peak(), 1000 * 48);
    om_trace_tracer_stats st;
    om_trace_get_tracer_stats(&st);
    assert_int_equal(st.traces, 0);
    assert_int_equal(om_trace_stop(), 0);
}

/* Buffers objects own come from the runtime's other private heap: their
 * reallocations in place and moves keep the counts right too. */
static void buffers_grow_and_shrink(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_int_equal(om_trace_start(1), 0);
    om_object *l = om_list_new(rt);
    for (int i = 0; i < 1000; i++) {
        om_object *x = om_new(rt, &node_type);
        assert_int_equal(om_list_append(l, x), 0);
        om_decref(x);
    }
    om_trace_snapshot *s = om_trace_take_snapshot();
    size_t n = om_trace_snapshot_count(s), bytes = om_trace_snapshot_size(s);
    om_trace_snapshot_free(s);
    assert_int_equal(n, 1002); /* the list, its items, its buffer */
    assert_int_equal(traced_now(), bytes);
    om_decref(l);
    om_runtime_clear_freelists(rt); /* the list's block was parked, still live */
    assert_int_equal(traced_now(), 0);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

/* While a region is open every count takes the lock: the region's totals
 * and peak cover the id lane's allocations. */
static void regions_see_the_id_lane(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_int_equal(om_trace_start(1), 0);
    om_object *keep = om_new(rt, &node_type);
    om_trace_region *r = om_trace_region_begin("ids");
    assert_non_null(r);
    om_object *v[100];
    for (int i = 0; i < 100; i++)
        v[i] = om_new(rt, &node_type);
    for (int i = 0; i < 60; i++)
        om_decref(v[i]);
    om_trace_region_stats st;
    assert_int_equal(om_trace_region_end(r, &st), 0);
    assert_int_equal(st.nalloc, 100);
    assert_int_equal(st.allocated, 100 * sizeof(node));
    assert_int_equal(st.nfree, 60);
    assert_int_equal(st.kept, 40 * (int64_t)sizeof(node));
    assert_int_equal(st.peak, 100 * sizeof(node));
    om_trace_region_free(r);
    for (int i = 60; i < 100; i++)
        om_decref(v[i]);
    om_decref(keep);
    assert_int_equal(traced_now(), 0);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

/* The id lane checks a free as the inline push does. */
static hp_heap *bad_heap;
static void *bad_block;

static void free_twice(void *arg)
{
    (void)arg;
    hp_heap_free(bad_heap, bad_block);
    hp_heap_free(bad_heap, bad_block);
}

static void free_inside(void *arg)
{
    (void)arg;
    hp_heap_free(bad_heap, (char *)bad_block + 16);
}

static void bad_frees_are_named(void **state)
{
    (void)state;
    assert_int_equal(om_trace_start(1), 0);
    bad_heap = hp_heap_new(NULL);
    void *keep = hp_heap_alloc(bad_heap, 64); /* the pool stays */
    bad_block = hp_heap_alloc(bad_heap, 64);
    omtest_expect_abort(free_twice, NULL, "free");
    omtest_expect_abort(free_inside, NULL, "free");
    hp_heap_free(bad_heap, bad_block);
    hp_heap_free(bad_heap, keep);
    hp_heap_delete(bad_heap);
    assert_int_equal(traced_now(), 0);
    assert_int_equal(om_trace_stop(), 0);
}

/* The id lane finds a key's cache entry from the key's bits directly
 * (hp_ids_entry_of); the tracer fills the entry hp_ids_cache_slot names:
 * both must be the same entry for every key, sites (24-byte records) and
 * return addresses (any byte) alike, or the lane would never hit. */
static void the_lane_reads_the_entry_the_tracer_fills(void **state)
{
    (void)state;
    static const om_trace_site sites[3 * HP_IDS_CACHE];
    for (size_t i = 0; i < OM_ARRAY_LEN(sites); i++) {
        uintptr_t key = (uintptr_t)&sites[i];
        assert_ptr_equal(hp_ids_entry_of(&hp_ids_me, key),
                         &hp_ids_me.cache[hp_ids_cache_slot(key)]);
    }
    for (uintptr_t key = 0x401000; key < 0x401000 + 64 * HP_IDS_CACHE; key += 3)
        assert_ptr_equal(hp_ids_entry_of(&hp_ids_me, key),
                         &hp_ids_me.cache[hp_ids_cache_slot(key)]);
}

/* Nframe > 1: the id hooks unwind and intern under the lock; the ids still
 * live in the heap. */
static __attribute__((noinline)) om_object *make_node_deep(om_runtime *rt)
{
    return om_new(rt, &node_type);
}

static void deep_tracebacks_in_the_heap(void **state)
{
    (void)state;
    om_runtime *rt = om_runtime_new(NULL);
    assert_int_equal(om_trace_start(8), 0);
    om_object *v[50];
    for (int i = 0; i < 50; i++)
        v[i] = make_node_deep(rt);
    assert_int_equal(tr_global.blocks.count + tr_global.table.count, 0);
    om_trace_traceback *tb = om_trace_get_object_traceback(v[7]);
    assert_non_null(tb);
    assert_true(tb->nframe > 1);
    om_trace_traceback_free(tb);
    assert_int_equal(traced_now(), 50 * sizeof(node));
    for (int i = 0; i < 50; i++)
        om_decref(v[i]);
    assert_int_equal(traced_now(), 0);
    assert_int_equal(om_trace_stop(), 0);
    om_runtime_free(rt);
}

static int stop_tracing(void **state)
{
    (void)state;
    if (om_trace_is_tracing())
        om_trace_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(objects_are_traced_by_their_ids, stop_tracing),
        cmocka_unit_test_teardown(two_heaps_share_one_site, stop_tracing),
        cmocka_unit_test_teardown(the_peak_follows_every_count, stop_tracing),
        cmocka_unit_test_teardown(blocks_from_before_have_no_id, stop_tracing),
        cmocka_unit_test_teardown(kept_blocks_lose_and_get_ids, stop_tracing),
        cmocka_unit_test_teardown(a_heap_deleted_with_traced_blocks, stop_tracing),
        cmocka_unit_test_teardown(buffers_grow_and_shrink, stop_tracing),
        cmocka_unit_test_teardown(regions_see_the_id_lane, stop_tracing),
        cmocka_unit_test_teardown(bad_frees_are_named, stop_tracing),
        cmocka_unit_test_teardown(deep_tracebacks_in_the_heap, stop_tracing),
        cmocka_unit_test(the_lane_reads_the_entry_the_tracer_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
