/*
 * gc/trigger.c: automatic collection, driven by allocation.
 *
 * The object layer counts GC-type allocations minus deallocations in
 * rt->young_count and calls rt->gc_on_alloc, before it allocates, while the
 * count is above rt->young_threshold.  The collector keeps that threshold:
 *
 *     disabled, or threshold[0] == 0     INT64_MAX (never called)
 *     otherwise                          threshold[0] (700 by default)
 *     an incremental cycle is running    0, so that every allocation can
 *                                        pace the cycle's slices
 *
 * and chooses, like CPython, the oldest generation whose count passed its
 * threshold; generation 2 only when the objects that entered it since the
 * last full collection exceed 25% of those that survived it
 * (long_lived_pending > long_lived_total / 4), so that building a large
 * structure costs linear total work, not quadratic.
 *
 * With the option gc_incremental on, generation 2 is never collected in one
 * automatic pause: an incremental cycle (gc/incremental.c) starts after a
 * collection of generation 1 whenever the objects that entered generation 2
 * since the last cycle exceed 1/8 of those that survived it, without
 * waiting for count[2] (its slices are short, so it can afford to run
 * often, and old garbage stays within about an eighth of the old generation
 * plus what one cycle lets through).
 */
#include "gc/state.h"

void gc_update_trigger(gc_state *st)
{
    int64_t t = INT64_MAX;
    if (st->enabled && st->threshold[0] > 0)
        t = st->threshold[0];
    if (st->inc && st->enabled)
        t = 0; /* every allocation asks: slices are paced by rt->allocated */
    st->rt->young_threshold = t;
}

/* The 25% rule; an incremental cycle, whose pauses are short whatever the
 * heap's size, may start at GC_INC_START_SHARE (12.5%): more CPU in total
 * (still linear), half the garbage left waiting. */
#define GC_INC_START_SHARE 8
static bool want_full(const gc_state *st)
{
    return st->long_lived_pending > st->long_lived_total / 4;
}

static bool want_cycle(const gc_state *st)
{
    return st->long_lived_pending > st->long_lived_total / GC_INC_START_SHARE;
}

static void collect_generations(gc_state *st)
{
    om_runtime *rt = st->rt;
    if (st->threshold[0] <= 0 || rt->young_count <= st->threshold[0])
        return;
    int gen = st->count[1] > st->threshold[1] ? 1 : 0;
    if (gen == 1 && !st->old.on && st->count[2] > st->threshold[2] && want_full(st))
        gen = 2;
    gc_run(st, gen, 1);
    /* Incremental mode: a cycle costs no long pause, so it starts as soon as
     * the old generation grew by a quarter, whatever count[2] says. */
    if (gen == 1 && st->old.on && !st->inc && want_cycle(st))
        gc_inc_start(st);
}

void gc_on_alloc(om_runtime *rt)
{
    gc_state *st = gc_of(rt);
    if (!st || st->collecting || !st->enabled)
        return;
    if (st->inc)
        gc_inc_pace(st);
    collect_generations(st);
}

void gc_on_free(om_runtime *rt, om_object *o)
{
    gc_state *st = gc_of(rt);
    if (o->ob_gc & GC_WATCHED) {
        /* An old object freed by reference counting no longer counts toward
         * the growth that starts old cycles: short-lived objects that were
         * promoted by chance must not drive old-generation work. */
        if (st && gc_gen(o) == GC_GEN_OLD && st->long_lived_pending > 0)
            st->long_lived_pending--;
        if (st)
            gc_table_forget(gc_table_of(st, o), o);
        o->ob_gc &= ~GC_WATCHED;
    }
    if (OM_UNLIKELY(o->ob_gc & (GC_COLLECTING | GC_REACHABLE)))
        om_fatal("gc: object %p of type %s freed while the collector holds it "
                 "(a reference count dropped below what the collector took)",
                 (void *)o, o->ob_type->name);
}
