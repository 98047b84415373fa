/*
 * object/check.c: the object layer's invariant checker, om_runtime_check.
 *
 * One walk of the object heap and one pass over the side tables, verifying
 * what the layer promises (each is written where the data is declared):
 *
 *   - no release is in progress and the deferred list is empty;
 *   - every block is an object or a parked free-list block; no block carries
 *     the poison of a freed object;
 *   - a parked block has count 0 and the OB_FREED_GC mark, and the parked
 *     blocks are exactly those on the free lists, each list within its bound,
 *     and each block at least as large as the requests its class serves;
 *   - a live object has a count of at least 1, a block at least as large as
 *     its type's basicsize, and OM_GC_TRACKED only if its type is OM_TYPE_GC;
 *   - allocated - released (ob_live_objects) equals the number of objects walked;
 *   - OM_GC_WEAKREFS is set exactly on the objects the weak reference table
 *     has an entry for, and every record on an entry's list points back at
 *     its object.
 *
 * A broken invariant prints one line naming it and the object, and aborts.
 * Cost: linear in the heap; tests call it, nothing else does.
 */
#include "object/private.h"

typedef struct tally {
    om_runtime *rt;
    size_t objects, parked, flagged;
} tally;

static void broken(const char *what, const om_object *o)
{
    om_fatal("runtime check: %s: object %p (type %s, count %u, gc 0x%x)", what, (const void *)o,
             o->ob_type == &ob_freelist_type ? "<free>" : om_type_name(o), o->ob_refcnt, o->ob_gc);
}

static void check_object(tally *t, const om_object *o, size_t size)
{
    const om_type *type = o->ob_type;
    if (!type || type == OB_FREED_TYPE)
        broken("a freed or blank block in the object heap", o);
    if (o->ob_refcnt == 0)
        broken("a live object with a reference count of 0", o);
    if (size < type->basicsize)
        broken("a block smaller than its type's basicsize", o);
    if ((o->ob_gc & OM_GC_TRACKED) && !(type->flags & OM_TYPE_GC))
        broken("a tracked object whose type is not OM_TYPE_GC", o);
    if (o->ob_gc & OM_GC_WEAKREFS) {
        t->flagged++;
        if (ob_weakref_count(t->rt, o) == 0)
            broken("OM_GC_WEAKREFS set but no weak reference recorded", o);
    }
    t->objects++;
}

static int visit(void *block, size_t size, void *arg)
{
    tally *t = arg;
    const om_object *o = block;
    if (ob_is_object(o)) {
        check_object(t, o, size);
        return 0;
    }
    if (o->ob_refcnt != 0 || o->ob_gc != OB_FREED_GC)
        broken("a parked free-list block was written to", o);
    t->parked++;
    return 0;
}

static size_t count_parked(om_runtime *rt)
{
    size_t n = 0;
    for (size_t c = 0; c < OB_FREELIST_CLASSES; c++) {
        size_t len = 0;
        for (om_object *o = rt->freelists[c].head; o; o = ob_freelist_next(o)) {
            if (hp_usable_size(o) < 16 * (c + 1))
                om_fatal("runtime check: free list of class %zu (%zu bytes) holds block %p of "
                         "%zu bytes",
                         c, 16 * (c + 1), (void *)o, hp_usable_size(o));
            len++;
        }
        if (len != rt->freelists[c].count || len > rt->freelists[c].limit)
            om_fatal("runtime check: free list of class %zu holds %zu blocks, counts %u", c, len,
                     rt->freelists[c].count);
        n += len;
    }
    return n;
}

static void check_weakrefs(om_runtime *rt, size_t flagged)
{
    const ob_table *t = &rt->weakrefs;
    for (size_t i = 0; t->slots && i <= t->mask; i++) {
        const om_object *o = t->slots[i].key;
        if (!o)
            continue;
        if (!(o->ob_gc & OM_GC_WEAKREFS))
            broken("a weak reference table entry for an object without OM_GC_WEAKREFS", o);
        for (ob_weakref *r = t->slots[i].value; r; r = r->next)
            if (r->target != o)
                broken("a weak reference record on the wrong object's list", o);
    }
    if (t->used != flagged)
        om_fatal("runtime check: %zu objects have OM_GC_WEAKREFS, the table has %zu entries",
                 flagged, t->used);
}

size_t om_runtime_check(om_runtime *rt)
{
    if (ob_releasing(rt) || rt->deferred)
        om_fatal("runtime check: called during a release (depth %u)", rt->release_depth);
    tally t = {rt, 0, 0, 0};
    hp_heap_walk(rt->heap, visit, &t);
    size_t parked = count_parked(rt);
    if (parked != t.parked)
        om_fatal("runtime check: %zu parked blocks in the heap, %zu on the free lists", t.parked,
                 parked);
    if (t.objects != ob_live_objects(rt))
        om_fatal("runtime check: %zu objects in the heap, the runtime counts %zu", t.objects,
                 ob_live_objects(rt));
    check_weakrefs(rt, t.flagged);
    return t.objects;
}
