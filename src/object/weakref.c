/*
 * object/weakref.c: the weak reference table of a runtime.
 *
 * STRATEGY
 *
 * Weak references are rare, and every object would pay for a list head in
 * its header.  So the header pays one bit (OM_GC_WEAKREFS) and the runtime
 * keeps a side table (object/table.c) from a target's address to the list of
 * records pointing at it:
 *
 *     rt->weakrefs:  obj A -> r3 -> r1      obj B -> r2
 *
 * A release of an object without weak references never looks at the table.
 * A record is embedded in its owner (the types layer's weakref object, or a
 * C structure); the table never allocates records.  New records go to the
 * head of their target's list, so callbacks run newest first.
 */
#include <errno.h>

#include "object/private.h"

static uint64_t hash_of(const om_object *o)
{
    return (uint64_t)(uintptr_t)o >> 4;
}

static ob_table_slot *find(om_runtime *rt, const om_object *o)
{
    return ob_table_find(&rt->weakrefs, hash_of(o), NULL, o);
}

int ob_weakref_register(om_runtime *rt, ob_weakref *r)
{
    om_object *o = r->target;
    om_assert(o != NULL);
    r->pending_next = NULL;
    ob_table_slot *s = find(rt, o);
    if (s) {
        r->next = s->value;
        s->value = r;
        return 0;
    }
    r->next = NULL;
    if (ob_table_insert(rt, &rt->weakrefs, hash_of(o), o, r) != 0) {
        om_set_error("out of memory: cannot register a weak reference to a %s", om_type_name(o));
        errno = ENOMEM;
        return -1;
    }
    o->ob_gc |= OM_GC_WEAKREFS;
    return 0;
}

void ob_weakref_unregister(om_runtime *rt, ob_weakref *r)
{
    om_object *o = r->target;
    if (!o)
        return;
    ob_table_slot *s = find(rt, o);
    if (!s)
        om_fatal("weak reference %p to %p (type %s) is not in the weak reference table", (void *)r,
                 (void *)o, om_type_name(o));
    ob_weakref **pp = (ob_weakref **)&s->value;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (!*pp)
        om_fatal("weak reference %p is not on the list of its target %p (type %s)", (void *)r,
                 (void *)o, om_type_name(o));
    *pp = r->next;
    r->next = NULL;
    r->target = NULL;
    if (!s->value) {
        ob_table_delete(&rt->weakrefs, s);
        o->ob_gc &= ~OM_GC_WEAKREFS;
    }
}

size_t ob_weakref_count(om_runtime *rt, const om_object *o)
{
    size_t n = 0;
    ob_table_slot *s = find(rt, o);
    for (ob_weakref *r = s ? s->value : NULL; r; r = r->next)
        n++;
    return n;
}

static void pending_append(ob_weakref_pending *p, ob_weakref *r)
{
    r->pending_next = NULL;
    if (p->tail)
        p->tail->pending_next = r;
    else
        p->head = r;
    p->tail = r;
}

void ob_weakref_clear(om_runtime *rt, om_object *o, ob_weakref_pending *pending)
{
    o->ob_gc &= ~OM_GC_WEAKREFS;
    ob_table_slot *s = find(rt, o);
    if (!s)
        return;
    ob_weakref *r = s->value;
    ob_table_delete(&rt->weakrefs, s);
    while (r) {
        ob_weakref *next = r->next;
        r->target = NULL;
        r->next = NULL;
        if (r->callback) {
            if (r->owner)
                om_incref(r->owner);
            pending_append(pending, r);
        }
        r = next;
    }
}

void ob_weakref_filter(ob_weakref_pending *pending, bool (*keep)(ob_weakref *r, void *arg),
                       void *arg)
{
    ob_weakref *r = pending->head;
    pending->head = pending->tail = NULL;
    while (r) {
        ob_weakref *next = r->pending_next;
        if (keep(r, arg)) {
            pending_append(pending, r);
        } else {
            r->pending_next = NULL;
            om_xdecref(r->owner);
        }
        r = next;
    }
}

void ob_weakref_run(ob_weakref_pending *pending)
{
    while (pending->head) {
        ob_weakref *r = pending->head;
        pending->head = r->pending_next;
        if (!pending->head)
            pending->tail = NULL;
        r->pending_next = NULL;
        om_object *owner = r->owner;
        r->callback(r, r->arg);
        om_xdecref(owner);
    }
}

void ob_weakref_table_free(om_runtime *rt)
{
    ob_table_free(rt, &rt->weakrefs);
}
