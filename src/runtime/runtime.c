/*
 * runtime/runtime.c: om_runtime_new and om_runtime_free, the top of the
 * library's layers: it sets up each layer in order and tears them down in
 * reverse.
 *
 *     new:   object (heaps, counters)  ->  gc (state, hooks)  ->  types
 *            (small ints, None, empty str/bytes, interning table)
 *     free:  gc final collection, hooks removed
 *            -> leak report (config->report_leaks)
 *            -> object: finalize, clear, release, sweep every object left
 *            -> types: tables freed (str deallocs use the interning table,
 *               so it outlives the objects)
 *            -> object: weakref table, heaps deleted
 *
 * The record itself comes from the global heap (om_calloc): a runtime's
 * private heaps hold objects and their buffers only.
 */
#include <errno.h>

#include "gc/gc.h"
#include "object/object.h"
#include "types/types.h"

/* Tears down whatever exists of rt; safe on a half-built runtime (each
 * layer's fini accepts a state its init never finished). */
static void teardown(om_runtime *rt, bool report)
{
    gc_runtime_fini(rt);
    rt->gc_on_alloc = NULL;
    rt->gc_on_free = NULL;
    if (report)
        om_runtime_print_leaks(rt, 2);
    ob_release_all(rt);
    ty_runtime_fini(rt);
    ob_runtime_fini(rt);
    om_free(rt);
}

om_runtime *om_runtime_new(const om_config *config)
{
    om_runtime *rt = om_calloc(1, sizeof *rt);
    if (!rt) {
        om_set_error("out of memory: cannot allocate a runtime");
        return NULL;
    }
    if (ob_runtime_init(rt, config) != 0) {
        om_free(rt);
        errno = ENOMEM;
        return NULL;
    }
    if (gc_runtime_init(rt) != 0 || ty_runtime_init(rt) != 0) {
        teardown(rt, false);
        errno = ENOMEM;
        return NULL;
    }
    return rt;
}

void om_runtime_free(om_runtime *rt)
{
    if (rt)
        teardown(rt, rt->config.report_leaks != 0);
}
