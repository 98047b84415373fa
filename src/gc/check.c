/*
 * gc/check.c: the collector's invariant checker, for debug builds and tests.
 *
 * Outside a collection no object may carry GC_COLLECTING or GC_REACHABLE,
 * and an object with GC_WATCHED is a tracked object of generation 1 or 2
 * that the entry of its generation's table at its scratch points back to;
 * a table not marked incomplete holds every tracked object of its
 * generation (full collections gather from the tables then).  A walk of
 * the object heap proves it; a broken invariant is one line and abort.
 */
#include "gc/state.h"

static int check_block(void *block, size_t size, void *arg)
{
    const gc_state *st = arg;
    const om_object *o = block;
    (void)size;
    if (!ob_is_object(block))
        return 0;
    if (OM_UNLIKELY(o->ob_gc & (GC_COLLECTING | GC_REACHABLE)))
        om_fatal("gc: object %p of type %s has phase bits 0x%x outside a collection",
                 (const void *)o, o->ob_type->name, o->ob_gc & OM_GC_PHASE_MASK);
    if (o->ob_gc & GC_WATCHED) {
        uint32_t i = gc_scratch(o), g = gc_gen(o);
        const gc_table *t = g == 1 ? &st->mid : &st->old;
        if (OM_UNLIKELY((g != 1 && g != GC_GEN_OLD) || !gc_is_tracked(o) ||
                        (g == GC_GEN_OLD && !st->old.on) || i >= t->len || *gc_slot(t, i) != o))
            om_fatal("gc: object %p of type %s, generation %u, is watched but not in its "
                     "table at %u",
                     (const void *)o, o->ob_type->name, g, i);
    }
    if (gc_is_tracked(o) && !(o->ob_gc & GC_WATCHED)) {
        unsigned g = gc_gen(o);
        if (OM_UNLIKELY((g == 1 && !st->mid.incomplete) ||
                        (g == GC_GEN_OLD && st->old.on && !st->old.incomplete)))
            om_fatal("gc: tracked object %p of type %s, generation %u, is missing from a "
                     "table marked complete",
                     (const void *)o, o->ob_type->name, g);
    }
    if (OM_UNLIKELY((o->ob_gc & OM_GC_TRACKED) && !(o->ob_type->flags & OM_TYPE_GC)))
        om_fatal("gc: object %p of type %s is tracked but its type is not a GC type",
                 (const void *)o, o->ob_type->name);
    return 0;
}

void gc_check_clean(gc_state *st)
{
    if (st->collecting || ob_releasing(st->rt) || gc_inc_freeing(st))
        return;
    hp_heap_walk(st->rt->heap, check_block, st);
}
