/*
 * object/lifecycle.c: the object layer's part in creating and tearing down a
 * runtime.
 *
 * TEARDOWN.  By the time ob_release_all runs, the collector has made its final
 * collection and removed its hooks.  What is left is live: objects the
 * program still holds (leaks), immortals, and anything reachable from them.
 * It must all go, each finalizer running at most once, without touching
 * freed memory, and without allocating anything that could fail for good.
 * Phases, each with what holds after it:
 *
 *   pin        every mortal object is on the pin array with one extra
 *              reference, so nothing below frees it before unpin.
 *   finalize   every pinned object whose finalizer never ran has run it once
 *              (OM_GC_FINALIZED).  Objects the finalizers create are not
 *              pinned; sweep handles them.
 *   clear      every pinned GC object has dropped the references its `clear`
 *              hook drops: the cycles among them are broken.
 *   unpin      the extra references are gone; whatever nothing else held was
 *              released through the normal path (weakref callbacks included).
 *   sweep      the survivors (leaked, immortal, new) are made immortal so no
 *              decref can free one, their weak references are cleared without
 *              callbacks, and each one's dealloc has run.  Their blocks go
 *              with the heap in ob_runtime_fini.
 *
 * If the pin array cannot be had (memory, twice), pin to unpin are skipped
 * and sweep does everything: no finalizers then, but no leak either.
 */
#include <string.h>

#include "object/private.h"

int ob_runtime_init(om_runtime *rt, const om_config *config)
{
    if (config)
        rt->config = *config;
    rt->young_threshold = INT64_MAX;
    for (size_t c = 0; c < OB_FREELIST_CLASSES; c++)
        rt->freelists[c].limit = (uint32_t)(OB_FREELIST_MAX_BYTES / (16 * (c + 1)));
    rt->heap = hp_heap_new(rt);
    if (!rt->heap)
        return -1;
    rt->mem = hp_heap_new(NULL); /* no owner: its blocks are no runtime's objects */
    if (!rt->mem) {
        hp_heap_delete(rt->heap);
        rt->heap = NULL;
        return -1;
    }
    return 0;
}

typedef struct pins {
    om_object **items;
    size_t n, cap;
} pins;

static int gather(void *block, size_t size, void *arg)
{
    (void)size;
    pins *p = arg;
    om_object *o = block;
    if (!ob_is_object(o) || om_is_immortal(o))
        return 0;
    if (p->n == p->cap)
        return 1; /* cannot happen: the array was sized from the heap */
    p->items[p->n++] = o;
    return 0;
}

static bool pin(om_runtime *rt, pins *p)
{
    size_t blocks = 0, bytes = 0;
    hp_heap_usage(rt->heap, &blocks, &bytes);
    p->cap = blocks + 1;
    p->items = om_malloc(p->cap * sizeof *p->items);
    if (!p->items) /* fault injection fails an allocation once: retry */
        p->items = om_malloc(p->cap * sizeof *p->items);
    if (!p->items)
        return false;
    hp_heap_walk(rt->heap, gather, p);
    for (size_t i = 0; i < p->n; i++)
        om_incref(p->items[i]);
    return true;
}

static void finalize_pinned(pins *p)
{
    for (size_t i = 0; i < p->n; i++) {
        om_object *o = p->items[i];
        if (o->ob_type->finalize && !(o->ob_gc & OM_GC_FINALIZED)) {
            o->ob_gc |= OM_GC_FINALIZED;
            o->ob_type->finalize(o);
        }
    }
}

static void clear_pinned(pins *p)
{
    for (size_t i = 0; i < p->n; i++) {
        om_object *o = p->items[i];
        if ((o->ob_type->flags & OM_TYPE_GC) && o->ob_type->clear)
            o->ob_type->clear(o);
    }
}

static void unpin(pins *p)
{
    for (size_t i = 0; i < p->n; i++)
        om_decref(p->items[i]);
    om_free(p->items);
    p->items = NULL;
}

static int immortalize(void *block, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    om_object *o = block;
    if (ob_is_object(o))
        o->ob_refcnt = OM_IMMORTAL_REFCNT;
    return 0;
}

/* Runs in a heap walk: dealloc touches only rt->mem and the tables, never
 * the object heap (every object is immortal now), so the walk stays valid. */
static int sweep_one(void *block, size_t size, void *arg)
{
    (void)size;
    om_runtime *rt = arg;
    om_object *o = block;
    if (!ob_is_object(o))
        return 0;
    if (o->ob_gc & OM_GC_WEAKREFS) {
        ob_weakref_pending pending = {NULL, NULL};
        ob_weakref_clear(rt, o, &pending);
        while (pending.head) { /* owners are immortal: nothing to drop */
            ob_weakref *r = pending.head;
            pending.head = r->pending_next;
            r->pending_next = NULL;
        }
    }
    if (o->ob_type->dealloc)
        o->ob_type->dealloc(o);
    return 0;
}

void ob_release_all(om_runtime *rt)
{
    om_assert(!ob_releasing(rt));
    pins p = {NULL, 0, 0};
    if (pin(rt, &p)) {
        finalize_pinned(&p);
        clear_pinned(&p);
        unpin(&p);
    }
    rt->tearing_down = true;
    hp_heap_walk(rt->heap, immortalize, NULL);
    hp_heap_walk(rt->heap, sweep_one, rt);
}

void ob_runtime_fini(om_runtime *rt)
{
    ob_weakref_table_free(rt);
    if (rt->heap)
        hp_heap_delete(rt->heap);
    if (rt->mem)
        hp_heap_delete(rt->mem);
    rt->heap = rt->mem = NULL;
}
