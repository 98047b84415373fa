/*
 * gc/inc.h: the record of a running incremental cycle, shared by
 * gc/incremental.c (the cycle, its sliced proposal and its end) and
 * gc/verify.c (grouping the proposal and verifying it a group at a time).
 * Private to src/gc.
 *
 * Phases, in order: compact, update, subtract, mark (the proposal S: the
 * unmarked entries), group (S in connected pieces), verify (exact
 * collections over whole pieces, a few per slice), free.
 */
#ifndef OM_GC_INC_H
#define OM_GC_INC_H

#include "gc/state.h"

enum inc_phase {
    INC_COMPACT,
    INC_UPDATE,
    INC_SUBTRACT,
    INC_MARK,
    INC_GROUP_INIT,
    INC_GROUP,
    INC_VERIFY,
    INC_FREE
};

struct gc_inc {
    enum inc_phase phase;
    size_t cursor, write; /* position in the table (write: compaction only) */
    size_t n;             /* the cycle's entries: [0, n) */
    /* The work lists (kept in gc_state.inc_spare between cycles):
     *   stack    mark stack of entry indices (capacity n); from group on,
     *            next[]: the circular member list of each piece (sp: its top)
     *   cands, mark  verify's work lists, kept between its slices
     *   garbage  verified garbage, held, freed in slices (INC_FREE)
     *   members  from group on: the entry indices of S, ascending */
    struct gc_inc_buffers buf;
    size_t sp;
    size_t marked; /* entries given GC_OLD_MARK: |S| <= n - marked */
    /* subtract and mark: the entry whose items are being visited and the
     * next item (a slice may stop inside a list or tuple and go on from
     * there; the program may change it meanwhile: the proposal may be
     * wrong, never unsafe); has_item false: none. */
    bool has_item;
    uint32_t item_entry;
    size_t item_pos;
    uint64_t last_alloc;  /* rt->allocated when the last slice ran */
    uint64_t pause_ns;    /* the cycle's slices, summed */
    size_t work;          /* units done in the running slice */
    gc_free_pos free_pos; /* gc_free_step's position in it */
    gc_result res;        /* what verify found */
    size_t proposed;      /* |S| */
    size_t biggest;       /* the largest piece verified in one step */
    bool abort_wanted;    /* gc_inc_abort from inside a slice: done when it returns */
    size_t nmembers;      /* entries of buf.members in use */
};

/* The cycle's entry index of o, or -1 when o is not one of its entries (an
 * object of generation 1 is watched too, by index into the mid table). */
static inline long gc_inc_entry(const struct gc_inc *inc, const om_object *o)
{
    if (!o || !(o->ob_gc & GC_WATCHED) || gc_gen(o) != GC_GEN_OLD)
        return -1;
    uint32_t i = gc_scratch(o);
    return i < inc->n ? (long)i : -1;
}

/* gc/verify.c.  Each does work while inc->work < budget and moves to the
 * next phase when done. */
/* -1 when memory ran out (the caller ends the cycle). */
OM_INTERNAL int gc_inc_group_init(gc_state *st, struct gc_inc *inc, size_t budget);
OM_INTERNAL void gc_inc_group(gc_state *st, struct gc_inc *inc, size_t budget);
/* -1 when memory ran out (the batch in hand is back in the table: the
 * caller ends the cycle). */
OM_INTERNAL int gc_inc_verify(gc_state *st, struct gc_inc *inc, size_t budget);

#endif
