/*
 * gc/state.c: the collector's state for one runtime, and the simple parts of
 * the control surface (enable, thresholds, counts, statistics, debug flags,
 * callbacks, the garbage list).
 *
 * The state is one record, struct gc_state (gc/state.h), allocated by
 * gc_runtime_init from the raw heap and reached through rt->gc.  Defaults
 * are Python's: collection enabled, thresholds 700 / 10 / 10 (the first
 * one from the option gc_threshold), no debug flags.
 */
#include "gc/state.h"

int gc_runtime_init(om_runtime *rt)
{
    gc_state *st = om_calloc(1, sizeof *st);
    if (!st) {
        om_set_error("gc: out of memory for the collector's state");
        return -1;
    }
    st->rt = rt;
    st->enabled = 1;
    st->threshold[0] = om_opt(OM_OPT_GC_THRESHOLD);
    st->threshold[1] = 10;
    st->threshold[2] = 10;
    st->old.on = om_opt(OM_OPT_GC_INCREMENTAL) != 0;
    rt->gc = st;
    rt->gc_on_alloc = gc_on_alloc;
    rt->gc_on_free = gc_on_free;
    gc_update_trigger(st);
    return 0;
}

void gc_runtime_fini(om_runtime *rt)
{
    gc_state *st = gc_of(rt);
    if (!st)
        return;
    if (st->inc)
        gc_inc_abort(st);
    st->debug &= ~OM_GC_DEBUG_SAVEALL;
    gc_run(st, 2, 0);
    om_gc_clear_garbage(rt);
    gc_table_free(&st->mid);
    gc_table_free(&st->old);
    rt->young_threshold = INT64_MAX;
    rt->gc_on_alloc = NULL;
    rt->gc_on_free = NULL;
    rt->gc = NULL;
    gc_vec_free(&st->garbage);
    gc_vec_free(&st->spare_cands);
    gc_vec_free(&st->spare_stack);
    gc_inc_free_spare(st);
    gc_full_free_spare(st);
    om_free(st);
}

int gc_register_items(om_runtime *rt, const om_type *type, size_t size_offset, size_t items_offset,
                      bool indirect)
{
    gc_state *st = gc_of(rt);
    if (!st || !type || !(type->flags & OM_TYPE_GC)) {
        om_set_error("gc: an item layout needs a GC type");
        return -1;
    }
    gc_layouts *l = &st->layouts;
    const om_type **slot = indirect ? &l->pointer_type : &l->inline_type;
    if (*slot && *slot != type) {
        om_set_error("gc: the %s item layout is taken by type %s", indirect ? "pointer" : "inline",
                     (*slot)->name);
        return -1;
    }
    *slot = type;
    if (indirect) {
        l->pointer_size = size_offset;
        l->pointer_items = items_offset;
    } else {
        l->inline_size = size_offset;
        l->inline_items = items_offset;
    }
    return 0;
}

/* ---- enable, thresholds, counts -------------------------------------------------- */
void om_gc_enable(om_runtime *rt)
{
    gc_of(rt)->enabled = 1;
    gc_update_trigger(gc_of(rt));
}

void om_gc_disable(om_runtime *rt)
{
    gc_state *st = gc_of(rt);
    st->enabled = 0;
    if (st->inc)
        gc_inc_abort(st);
    gc_update_trigger(st);
}

int om_gc_isenabled(const om_runtime *rt)
{
    return gc_of(rt)->enabled;
}

void om_gc_get_count(const om_runtime *rt, long count[OM_GC_GENERATIONS])
{
    const gc_state *st = gc_of(rt);
    count[0] = rt->young_count > 0 ? (long)rt->young_count : 0;
    count[1] = st->count[1];
    count[2] = st->count[2];
}

int om_gc_set_threshold(om_runtime *rt, long t0, long t1, long t2)
{
    if (t0 < 0 || t1 < 0 || t2 < 0) {
        om_set_error("gc: thresholds must be >= 0 (got %ld, %ld, %ld)", t0, t1, t2);
        return -1;
    }
    gc_state *st = gc_of(rt);
    st->threshold[0] = t0;
    st->threshold[1] = t1;
    st->threshold[2] = t2;
    gc_update_trigger(st);
    return 0;
}

void om_gc_get_threshold(const om_runtime *rt, long threshold[OM_GC_GENERATIONS])
{
    const gc_state *st = gc_of(rt);
    for (int g = 0; g < OM_GC_GENERATIONS; g++)
        threshold[g] = st->threshold[g];
}

long om_gc_collect(om_runtime *rt, int generation)
{
    if (generation == -1)
        generation = 2;
    if (generation < 0 || generation >= OM_GC_GENERATIONS) {
        om_set_error("gc: invalid generation %d (0, 1, 2, or -1 for all)", generation);
        return -1;
    }
    return gc_run(gc_of(rt), generation, 0);
}

/* ---- statistics -------------------------------------------------------------------- */
void om_gc_get_stats(const om_runtime *rt, om_gc_stats *out)
{
    *out = gc_of(rt)->stats;
}

void om_gc_get_pauses(const om_runtime *rt, om_gc_pauses *out)
{
    const gc_state *st = gc_of(rt);
    for (int g = 0; g < OM_GC_GENERATIONS; g++) {
        gc_pause_summarize(&st->pauses[1][g], &out->automatic[g]);
        gc_pause_summarize(&st->pauses[0][g], &out->manual[g]);
    }
}

void om_gc_get_incremental_stats(const om_runtime *rt, om_gc_incremental_stats *out)
{
    *out = gc_of(rt)->inc_stats;
}

/* ---- debug flags ------------------------------------------------------------------- */
void om_gc_set_debug(om_runtime *rt, int flags)
{
    gc_of(rt)->debug = flags;
}

int om_gc_get_debug(const om_runtime *rt)
{
    return gc_of(rt)->debug;
}

/* ---- callbacks --------------------------------------------------------------------- */
int om_gc_callback_add(om_runtime *rt, om_gc_callback fn, void *data)
{
    gc_state *st = gc_of(rt);
    if (!fn) {
        om_set_error("gc: callback is NULL");
        return -1;
    }
    if (st->n_callbacks == OM_GC_MAX_CALLBACKS) {
        om_set_error("gc: at most %d callbacks", OM_GC_MAX_CALLBACKS);
        return -1;
    }
    st->callbacks[st->n_callbacks].fn = fn;
    st->callbacks[st->n_callbacks].data = data;
    st->n_callbacks++;
    return 0;
}

int om_gc_callback_remove(om_runtime *rt, om_gc_callback fn, void *data)
{
    gc_state *st = gc_of(rt);
    for (int i = 0; i < st->n_callbacks; i++) {
        if (st->callbacks[i].fn == fn && st->callbacks[i].data == data) {
            for (int j = i + 1; j < st->n_callbacks; j++)
                st->callbacks[j - 1] = st->callbacks[j];
            st->n_callbacks--;
            return 0;
        }
    }
    om_set_error("gc: callback not installed");
    return -1;
}

/* ---- the garbage list ---------------------------------------------------------------- */
size_t om_gc_garbage_count(const om_runtime *rt)
{
    return gc_of(rt)->garbage.len;
}

size_t om_gc_clear_garbage(om_runtime *rt)
{
    gc_state *st = gc_of(rt);
    gc_vec old = st->garbage; /* dropping references runs user code: detach first */
    st->garbage = (gc_vec){0};
    for (size_t i = 0; i < old.len; i++)
        om_decref(old.items[i]);
    size_t n = old.len;
    gc_vec_free(&old);
    return n;
}
