/*
 * gc/verify.c: the end of an incremental cycle, in slices: the proposal is
 * cut into connected pieces, and each piece is verified on its own.
 *
 * STRATEGY.  The sliced phases (gc/incremental.c) propose S, the entries
 * that no reference from outside the table reached.  Verifying S is an
 * exact collection over S (fresh counts, subtract, mark, then finalizers,
 * weak references, hold).  Done over all of S at once it is one pause
 * proportional to the garbage found (15 to 20 ms for 150k objects).  But
 * trial deletion is exact over ANY set taken at one instant: whatever it
 * finds is garbage, because a member's count that references from inside
 * the set fully explain has no other referrer.  What a smaller set can
 * miss is garbage that straddles two sets.  So:
 *
 *     group_init   every member of S is a piece of its own, and
 *                  S is listed (later phases look at S alone)   (sliced)
 *     group        union-find over the references between
 *                  members: a piece = a connected part of S     (sliced)
 *     verify       whole pieces, gathered until the slice's
 *                  budget, are collected exactly, a batch per
 *                  slice; garbage is held for the free phase    (sliced)
 *
 *     S:  a <-> b     c -> d <-> e     f       pieces {a,b} {c,d,e} {f}
 *     table index:  0 1 2 3 4 5
 *     refs[] (parents, for S only):  0 0 2 2 2 5
 *     next[] (circular lists):       1 0 3 4 2 5
 *
 * The parent of a member lives in the table's refs[] (free once mark is
 * done: S is exactly the entries without GC_OLD_MARK); the circular member
 * list of each piece in the mark stack's array (free too), so a piece's
 * members are listed in O(piece) with no sorting: a union swaps the next
 * links of the two roots.
 *
 * Why it stays exact while the program runs between slices: each batch is
 * decided at one instant over fresh counts.  A reference made after group
 * ran may join two pieces verified apart: a member referred to from the
 * other piece then counts as referred to from outside, and survives (the
 * next cycle sees it).  Garbage verified in an earlier batch cannot be
 * referred to by anything any more, so later batches never see it.
 *
 * NUMBERS.  group: one unit per member looked at and per reference
 * visited; verify: GC_VERIFY_COST units per member (its exact collection:
 * count, subtract, mark, sort, hold).  A slice does at least one whole
 * piece, so a verify slice costs at most the budget plus the largest piece
 * (a garbage structure of a million objects is still one pause; many small
 * cycles, the usual garbage, are spread over slices).
 */
#include "gc/inc.h"

#define GC_VERIFY_COST 5

/* ---- group_init: each member its own piece, and on the member list --------------- */
static int add_member(struct gc_inc *inc, uint32_t i)
{
    if (inc->nmembers == inc->buf.members_cap) {
        size_t cap = inc->buf.members_cap ? 2 * inc->buf.members_cap : 1024;
        uint32_t *m = om_realloc(inc->buf.members, cap * sizeof *m);
        if (!m)
            return -1;
        inc->buf.members = m;
        inc->buf.members_cap = cap;
    }
    inc->buf.members[inc->nmembers++] = i;
    return 0;
}

/* Sizes the member list and the garbage list for all of S before the first
 * member is listed (|S| <= n - marked): growing them by doubling copied a
 * whole array inside one slice, and the copy's fresh pages faulted there
 * (350 to 530 faults, a millisecond).  Reserved fresh, untouched, their
 * pages fault a few at a time as the slices fill them.  Out of memory: they
 * grow as they fill. */
static void size_for_s(struct gc_inc *inc)
{
    size_t s = inc->n - inc->marked;
    if (inc->buf.members_cap < s) {
        om_free(inc->buf.members);
        inc->buf.members = om_malloc(s * sizeof *inc->buf.members);
        inc->buf.members_cap = inc->buf.members ? s : 0;
    }
    if (inc->buf.garbage.cap < s && inc->buf.garbage.len == 0) {
        gc_vec_free(&inc->buf.garbage);
        (void)gc_vec_reserve(&inc->buf.garbage, s);
    }
}

int gc_inc_group_init(gc_state *st, struct gc_inc *inc, size_t budget)
{
    gc_table *t = &st->old;
    if (inc->cursor == 0 && inc->nmembers == 0)
        size_for_s(inc);
    for (; inc->cursor < inc->n && inc->work < budget; inc->cursor++, inc->work++) {
        size_t i = inc->cursor;
        if (*gc_slot(t, i) && !(*gc_refs_of(t, i) & GC_OLD_MARK)) {
            if (add_member(inc, (uint32_t)i) != 0)
                return -1;
            *gc_refs_of(t, i) = (uint32_t)i;
            inc->buf.stack[i] = (uint32_t)i;
        }
    }
    if (inc->cursor == inc->n) {
        inc->cursor = 0;
        inc->phase = INC_GROUP;
    }
    return 0;
}

/* ---- group: union-find over the references between members ---------------------- */
typedef struct group_ctx {
    gc_table *t;
    struct gc_inc *inc;
    uint32_t from; /* the member being traversed */
} group_ctx;

/* The root of i's piece, halving the path on the way. */
static uint32_t find(gc_table *t, uint32_t i)
{
    uint32_t p;
    while ((p = *gc_refs_of(t, i)) != i) {
        uint32_t gp = *gc_refs_of(t, p);
        *gc_refs_of(t, i) = gp;
        i = gp;
    }
    return i;
}

static void join(gc_table *t, uint32_t *next, uint32_t a, uint32_t b)
{
    uint32_t ra = find(t, a), rb = find(t, b);
    if (ra == rb)
        return;
    if (ra > rb) {
        uint32_t tmp = ra;
        ra = rb;
        rb = tmp;
    }
    *gc_refs_of(t, rb) = ra;
    uint32_t tmp = next[ra]; /* splice the two circular lists into one */
    next[ra] = next[rb];
    next[rb] = tmp;
}

static int group_visit(om_object *child, void *arg)
{
    group_ctx *g = arg;
    g->inc->work++;
    long j = gc_inc_entry(g->inc, child);
    if (j >= 0 && !(*gc_refs_of(g->t, (size_t)j) & GC_OLD_MARK))
        join(g->t, g->inc->buf.stack, g->from, (uint32_t)j);
    return 0;
}

void gc_inc_group(gc_state *st, struct gc_inc *inc, size_t budget)
{
    group_ctx g = {.t = &st->old, .inc = inc};
    for (; inc->cursor < inc->nmembers && inc->work < budget; inc->cursor++, inc->work++) {
        uint32_t i = inc->buf.members[inc->cursor];
        om_object *o = *gc_slot(g.t, i); /* NULL: freed since */
        if (!o || !o->ob_type->traverse)
            continue;
        g.from = i;
        o->ob_type->traverse(o, group_visit, &g);
    }
    if (inc->cursor == inc->nmembers) {
        inc->cursor = 0;
        inc->phase = INC_VERIFY;
    }
}

/* ---- verify: exact collections over whole pieces ---------------------------------- */
/* o leaves the table and becomes a candidate of the batch. */
static int take(gc_state *st, struct gc_inc *inc, om_object *o)
{
    if (gc_vec_push(&inc->buf.cands, o) != 0)
        return -1;
    gc_table_forget(&st->old, o);
    o->ob_gc |= GC_COLLECTING;
    gc_set_scratch(o, o->ob_refcnt < GC_REFS_MAX ? o->ob_refcnt : GC_REFS_MAX);
    return 0;
}

/* Out of memory: the batch goes back to the table, as survivors do. */
static int give_back(gc_state *st, struct gc_inc *inc)
{
    for (size_t k = 0; k < inc->buf.cands.len; k++)
        gc_promote(st, inc->buf.cands.items[k], GC_GEN_OLD);
    inc->buf.cands.len = 0;
    return -1;
}

/* Appends the whole piece of member i to the batch. */
static int take_piece(gc_state *st, struct gc_inc *inc, size_t i)
{
    gc_table *t = &st->old;
    size_t before = inc->buf.cands.len;
    uint32_t j = (uint32_t)i;
    do {
        om_object *o = *gc_slot(t, j); /* NULL: freed since group ran */
        if (o && take(st, inc, o) != 0)
            return -1;
        j = inc->buf.stack[j];
        inc->work++;
    } while (j != i);
    if (inc->buf.cands.len - before > inc->biggest)
        inc->biggest = inc->buf.cands.len - before;
    return 0;
}

int gc_inc_verify(gc_state *st, struct gc_inc *inc, size_t budget)
{
    gc_table *t = &st->old;
    size_t limit = budget > inc->work ? budget : inc->work + 1; /* at least one step */
    while (inc->cursor < inc->nmembers && inc->work + GC_VERIFY_COST * inc->buf.cands.len < limit) {
        uint32_t i = inc->buf.members[inc->cursor++];
        inc->work++;
        if (*gc_slot(t, i) && take_piece(st, inc, i) != 0) /* NULL: freed, or taken already */
            return give_back(st, inc);
    }
    size_t n = inc->buf.cands.len;
    if (n) {
        if (gc_vec_reserve(&inc->buf.mark, n) != 0)
            return give_back(st, inc);
        inc->proposed += n;
        inc->res.candidates += n;
        inc->work += GC_VERIFY_COST * n;
        gc_collect_candidates(st, &inc->buf.cands, &inc->buf.mark, GC_GEN_OLD, &inc->res,
                              &inc->buf.garbage);
    }
    if (inc->cursor == inc->nmembers) {
        inc->phase = INC_FREE;
        inc->free_pos = (gc_free_pos){0, 0};
    }
    return 0;
}
