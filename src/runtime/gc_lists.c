/*
 * runtime/gc_lists.c: the collector's list-returning functions.
 *
 * om_gc_get_objects, om_gc_get_referrers, om_gc_get_referents and
 * om_gc_garbage return om lists, and lists belong to the types layer, which
 * sits above the collector.  So the collector offers visitors (gc/gc.h) and
 * this file, above both, turns what they visit into a new list.
 */
#include "gc/gc.h"
#include "objmem/containers.h"
#include "object/object.h"

static int append_to(om_object *o, void *list)
{
    if (o == list)
        return 0; /* the new list is not part of the answer (nor is it in Python) */
    return om_list_append(list, o) == 0 ? 0 : -1;
}

/* A new list of what visit() reports, or NULL with a message. */
static om_object *list_of(om_runtime *rt, int (*visit)(om_object *list, void *ctx), void *ctx)
{
    om_object *list = om_list_new(rt);
    if (!list)
        return NULL;
    if (visit(list, ctx) != 0) {
        om_decref(list);
        return NULL;
    }
    return list;
}

typedef struct query {
    om_runtime *rt;
    int generation;
    om_object *const *objs;
    size_t n;
    om_object *obj;
} query;

static int visit_objects(om_object *list, void *ctx)
{
    query *q = ctx;
    return gc_visit_objects(q->rt, q->generation, append_to, list);
}

om_object *om_gc_get_objects(om_runtime *rt, int generation)
{
    if (generation < -1 || generation >= OM_GC_GENERATIONS) {
        om_set_error("gc: invalid generation %d (0, 1, 2, or -1 for all)", generation);
        return NULL;
    }
    query q = {.rt = rt, .generation = generation};
    return list_of(rt, visit_objects, &q);
}

static int visit_referrers(om_object *list, void *ctx)
{
    query *q = ctx;
    return gc_visit_referrers(q->rt, q->objs, q->n, append_to, list);
}

om_object *om_gc_get_referrers(om_runtime *rt, om_object *const *objs, size_t n)
{
    query q = {.rt = rt, .objs = objs, .n = n};
    return list_of(rt, visit_referrers, &q);
}

static int visit_referents(om_object *list, void *ctx)
{
    query *q = ctx;
    return gc_visit_referents(q->obj, append_to, list);
}

om_object *om_gc_get_referents(om_object *o)
{
    query q = {.obj = o};
    return list_of(om_runtime_of(o), visit_referents, &q);
}

static int visit_garbage(om_object *list, void *ctx)
{
    query *q = ctx;
    return gc_visit_garbage(q->rt, append_to, list);
}

om_object *om_gc_garbage(om_runtime *rt)
{
    query q = {.rt = rt};
    return list_of(rt, visit_garbage, &q);
}
