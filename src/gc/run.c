/*
 * gc/run.c: a collection as the program sees it.
 *
 * Around the collector's work (gc/collect.c) this file does what Python's
 * gc module does around gc_collect_main: it refuses to nest, tells the
 * callbacks ("start", "stop"), prints the OM_GC_DEBUG_STATS lines, measures
 * the pause, and keeps the counts, the statistics and the 25% rule:
 *
 *     after collecting generation g:
 *         count[0..g] = 0, count[g+1] += 1 (when g < 2)
 *         g == 1: long_lived_pending += survivors (they entered generation 2)
 *         g == 2: long_lived_total = survivors, long_lived_pending = 0
 *
 * A collection cannot start while one runs (a finalizer calling
 * om_gc_collect gets 0) nor while the object layer is releasing objects (a
 * dealloc calling om_gc_collect gets 0): objects on the deferred-release
 * list have no valid header then.
 */
#include "gc/state.h"

void gc_call_callbacks(gc_state *st, const char *phase, const om_gc_info *info)
{
    int n = st->n_callbacks;
    if (n == 0)
        return;
    /* A copy: a callback may add or remove callbacks. */
    __typeof__(st->callbacks[0]) copy[OM_GC_MAX_CALLBACKS];
    for (int i = 0; i < n; i++)
        copy[i] = st->callbacks[i];
    for (int i = 0; i < n; i++)
        copy[i].fn(st->rt, phase, info, copy[i].data);
}

void gc_account(gc_state *st, int gen, const gc_result *res)
{
    om_gc_gen_stats *s = &st->stats.gen[gen];
    s->collections++;
    s->collected += res->collected;
    s->uncollectable += res->uncollectable;

    st->rt->young_count = 0;
    for (int g = 1; g <= gen; g++)
        st->count[g] = 0;
    if (gen + 1 < OM_GC_GENERATIONS)
        st->count[gen + 1]++;
    if (gen == 1)
        st->long_lived_pending += res->survivors;
    else if (gen == 2) {
        st->long_lived_total = res->survivors;
        st->long_lived_pending = 0;
    }
    gc_update_trigger(st);
}

static void print_start(gc_state *st, int gen)
{
    om_fdprintf(2, "objmem: gc: collecting generation %d...\n", gen);
    om_fdprintf(2, "objmem: gc: objects in each generation: %ld %ld %ld (pending %zu of %zu)\n",
                (long)st->rt->young_count, st->count[1], st->count[2], st->long_lived_pending,
                st->long_lived_total);
}

static void print_stop(const om_gc_info *info)
{
    om_fdprintf(2,
                "objmem: gc: done, %zu unreachable, %zu uncollectable, %zu candidates, "
                "%llu.%06llu ms elapsed\n",
                info->collected + info->uncollectable, info->uncollectable, info->candidates,
                (unsigned long long)(info->duration_ns / 1000000),
                (unsigned long long)(info->duration_ns % 1000000));
}

/* A full collection frees in bulk (its garbage, then the free lists): the
 * pages of the pools it empties go back after it, at the heap's next slow
 * path, not run by run inside it (heap/batch.c). */
static void hold_pages(gc_state *st, bool hold)
{
    if (hold) {
        hp_heap_bulk_begin(st->rt->heap);
        hp_heap_bulk_begin(st->rt->mem);
    } else {
        hp_heap_bulk_end(st->rt->mem);
        hp_heap_bulk_end(st->rt->heap);
    }
}

long gc_run(gc_state *st, int gen, int automatic)
{
    if (st->collecting || ob_releasing(st->rt))
        return 0;
    if (gen == 2 && st->inc)
        gc_inc_abort(st);
    st->collecting = 1;
    bool bulk = gen == 2;
    if (bulk)
        hold_pages(st, true);
    om_gc_info info = {.generation = gen, .automatic = automatic};
    gc_call_callbacks(st, "start", &info);
    if (st->debug & OM_GC_DEBUG_STATS)
        print_start(st, gen);

    gc_result res;
    gc_clock t0 = gc_clock_now();
    int rc = gc_collect_atomic(st, gen, &res);
    uint64_t ns = gc_pause_record(&st->pauses[automatic ? 1 : 0][gen], t0);
    if (rc == 0)
        gc_account(st, gen, &res);

    info.collected = res.collected;
    info.uncollectable = res.uncollectable;
    info.candidates = res.candidates;
    info.duration_ns = ns;
    if (st->debug & OM_GC_DEBUG_STATS)
        print_stop(&info);
    gc_call_callbacks(st, "stop", &info);
    st->collecting = 0;
    gc_inc_settle(st); /* a callback or finalizer may have disabled the collector */
    if (rc == 0 && gen == 2)
        ob_freelists_clear(st->rt);
    if (bulk)
        hold_pages(st, false);
    if (rc != 0)
        return -1;
    if (OM_DEBUG >= 3 && !automatic)
        gc_check_clean(st);
    return (long)(res.collected + res.uncollectable);
}
