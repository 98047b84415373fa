/*
 * types/weakref.c: the weak reference object (Python's weakref.ref).
 *
 * A weakref object embeds one record of the object layer's weak reference
 * table (object/object.h) and the user's C callback:
 *
 *     weakref object (80 B)
 *     +--------+------------------------------------------+----+-----+
 *     | header | ob_weakref: target, owner, callback, ... | cb | arg |
 *     +--------+------------------------------------------+----+-----+
 *                   | (borrowed)
 *                   v
 *                 target       ob_gc has OM_GC_WEAKREFS while refs exist
 *
 * It keeps no reference to its target.  When the target dies, the object
 * layer (or the collector, for cyclic trash) first sets every record's
 * target to NULL, so om_weakref_get returns NULL from then on, and only
 * afterwards runs the callbacks, newest weakref first, each with its
 * weakref object kept alive for the call (PEP 442's order; CPython's
 * handle_weakrefs).  A weakref that dies before its target unregisters
 * itself and its callback never runs.
 */
#include <stddef.h>
#include <stdio.h>

#include "types/containers.h"

typedef struct ty_weakref {
    om_object ob;
    ob_weakref rec;
    om_weakref_callback cb;
    void *arg;
} ty_weakref;

#define TY_WEAKREF(o) ((ty_weakref *)(o))

static void weakref_dealloc(om_object *self)
{
    ty_weakref *w = TY_WEAKREF(self);
    if (w->rec.target)
        ob_weakref_unregister(ob_runtime_of(self), &w->rec);
}

static size_t weakref_repr(om_object *self, char *buf, size_t size)
{
    om_object *t = TY_WEAKREF(self)->rec.target;
    int n = t ? snprintf(buf, size, "<weakref at %p; to '%s' at %p>", (void *)self, om_type_name(t),
                         (void *)t)
              : snprintf(buf, size, "<weakref at %p; dead>", (void *)self);
    return n < 0 ? 0 : (size_t)n;
}

static const om_type weakref_type = {
    .name = "weakref",
    .basicsize = sizeof(ty_weakref),
    .flags = OM_TYPE_FREELIST,
    .dealloc = weakref_dealloc,
    .repr = weakref_repr,
};

bool om_weakref_check(const om_object *o)
{
    return ty_is(o, &weakref_type);
}

/* The record's callback: hands the user its weakref object. */
static void weakref_fire(ob_weakref *rec, void *arg)
{
    ty_weakref *w = (ty_weakref *)((char *)rec - offsetof(ty_weakref, rec));
    w->cb(&w->ob, arg);
}

om_object *om_weakref_new(om_runtime *rt, om_object *target, om_weakref_callback cb, void *arg)
{
    if (!target) {
        om_set_error("cannot create a weak reference to NULL");
        return NULL;
    }
    if (om_runtime_of(target) != rt) {
        om_set_error("cannot create a weak reference to a '%s' of another runtime",
                     om_type_name(target));
        return NULL;
    }
    om_object *o = om_new(rt, &weakref_type);
    if (!o)
        return NULL;
    ty_weakref *w = TY_WEAKREF(o);
    w->cb = cb;
    w->arg = arg;
    w->rec = (ob_weakref){
        .target = target, .owner = o, .callback = cb ? weakref_fire : NULL, .arg = arg};
    if (ob_weakref_register(rt, &w->rec) < 0) {
        w->rec.target = NULL;
        om_decref(o);
        return NULL;
    }
    return o;
}

om_object *om_weakref_get(om_object *wr)
{
    if (!om_weakref_check(wr))
        return ty_type_error("weakref", wr);
    om_object *t = TY_WEAKREF(wr)->rec.target;
    if (t)
        om_incref(t);
    return t;
}

bool om_weakref_alive(const om_object *wr)
{
    return om_weakref_check(wr) && TY_WEAKREF(wr)->rec.target != NULL;
}
