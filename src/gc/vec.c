/*
 * gc/vec.c: growable arrays of object pointers for the collector's work
 * lists (candidates, mark stacks, the garbage list).
 *
 * They come from the raw heap (om_malloc), never from the runtime's object
 * heap, so a heap walk never meets them.  Growth doubles, so pushing n
 * pointers costs O(n) in total; a collection reserves its mark stack up
 * front (at most one entry per candidate), so no phase after the first can
 * run out of memory half-way.
 */
#include <errno.h>

#include "gc/state.h"

int gc_vec_reserve(gc_vec *v, size_t cap)
{
    if (cap <= v->cap)
        return 0;
    if (cap > SIZE_MAX / sizeof(om_object *)) {
        errno = ENOMEM;
        om_set_error("gc: work list of %zu entries is too large", cap);
        return -1;
    }
    om_object **items = om_realloc(v->items, cap * sizeof(om_object *));
    if (!items) {
        om_set_error("gc: out of memory for a work list of %zu entries", cap);
        return -1;
    }
    v->items = items;
    v->cap = cap;
    return 0;
}

void gc_vec_free(gc_vec *v)
{
    om_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

int gc_ivec_reserve(gc_ivec *v, size_t cap)
{
    if (cap <= v->cap)
        return 0;
    if (cap > SIZE_MAX / sizeof(uint32_t)) {
        errno = ENOMEM;
        om_set_error("gc: work array of %zu entries is too large", cap);
        return -1;
    }
    uint32_t *items = om_realloc(v->items, cap * sizeof(uint32_t));
    if (!items) {
        om_set_error("gc: out of memory for a work array of %zu entries", cap);
        return -1;
    }
    v->items = items;
    v->cap = cap;
    return 0;
}

void gc_ivec_free(gc_ivec *v)
{
    om_free(v->items);
    v->items = NULL;
    v->cap = 0;
}
