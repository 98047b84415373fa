/*
 * object/census.c: counting a runtime's objects by walking its heap: the
 * statistics record, the total reference count that tests use to prove
 * balance, and the leak report.
 *
 * Each is one hp_heap_walk over the object heap (every live block is an
 * object or a parked free-list block, see object/runtime.h), so each costs
 * time in proportion to the heap and allocates nothing.  None may run while
 * a release is in progress (deferred objects have no valid header then).
 */
#include <string.h>

#include "object/private.h"

typedef struct census {
    size_t immortals;
    size_t parked;
    uint64_t total_refcount;
    om_leak_report *leaks;
} census;

static void count_leak(om_leak_report *r, const om_object *o, size_t size)
{
    r->objects++;
    r->bytes += size;
    const char *name = om_type_name(o);
    for (size_t i = 0; i < r->n_types; i++) {
        if (r->types[i].name == name || strcmp(r->types[i].name, name) == 0) {
            r->types[i].count++;
            r->types[i].bytes += size;
            return;
        }
    }
    if (r->n_types < OM_LEAK_MAX_TYPES) {
        r->types[r->n_types].name = name;
        r->types[r->n_types].count = 1;
        r->types[r->n_types].bytes = size;
        r->n_types++;
    }
}

static int visit(void *block, size_t size, void *arg)
{
    census *c = arg;
    om_object *o = block;
    if (!ob_is_object(o)) {
        c->parked++;
        return 0;
    }
    if (om_is_immortal(o)) {
        c->immortals++;
        return 0;
    }
    c->total_refcount += o->ob_refcnt;
    if (c->leaks)
        count_leak(c->leaks, o, size);
    return 0;
}

static void take_census(om_runtime *rt, census *c)
{
    om_assert(!ob_releasing(rt));
    hp_heap_walk(rt->heap, visit, c);
}

void om_runtime_get_stats(om_runtime *rt, om_runtime_stats *out)
{
    census c = {0};
    take_census(rt, &c);
    memset(out, 0, sizeof *out);
    out->objects = ob_live_objects(rt);
    out->immortals = c.immortals;
    out->freelist_blocks = c.parked;
    out->allocated = rt->allocated;
    out->released = rt->released;
    out->deferred = rt->deferred_count;
    out->max_release_depth = rt->max_depth;
}

uint64_t om_runtime_total_refcount(om_runtime *rt)
{
    census c = {0};
    take_census(rt, &c);
    return c.total_refcount;
}

static void sort_by_count(om_leak_report *r)
{
    for (size_t i = 1; i < r->n_types; i++) { /* insertion sort: at most 32 */
        for (size_t j = i; j > 0 && r->types[j].count > r->types[j - 1].count; j--) {
            __typeof__(r->types[0]) tmp = r->types[j];
            r->types[j] = r->types[j - 1];
            r->types[j - 1] = tmp;
        }
    }
}

size_t om_runtime_leak_report(om_runtime *rt, om_leak_report *out)
{
    memset(out, 0, sizeof *out);
    census c = {.leaks = out};
    take_census(rt, &c);
    sort_by_count(out);
    return out->objects;
}

size_t om_runtime_print_leaks(om_runtime *rt, int fd)
{
    om_leak_report r;
    om_runtime_leak_report(rt, &r);
    if (r.objects == 0)
        return 0;
    om_fdprintf(fd, "objmem: %zu objects (%zu bytes) still alive at runtime teardown:\n", r.objects,
                r.bytes);
    for (size_t i = 0; i < r.n_types; i++)
        om_fdprintf(fd, "  %10zu  %12zu bytes  %s\n", r.types[i].count, r.types[i].bytes,
                    r.types[i].name);
    return r.objects;
}
