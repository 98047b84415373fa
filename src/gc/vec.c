/*
 * gc/vec.c: growable arrays of object pointers for the collector's work
 * lists (candidates, mark stacks, the garbage list).
 *
 * And arrays of 32-bit indices (gc_ivec) for a full collection's counts
 * and edges (gc/full.c).
 *
 * They come from the raw heap (om_malloc), never from the runtime's object
 * heap, so a heap walk never meets them.  Growth doubles, so pushing n
 * pointers costs O(n) in total; a collection reserves its mark stack up
 * front (at most one entry per candidate), so no phase after the first can
 * run out of memory half-way.
 */
#include <errno.h>

#include "gc/state.h"

/* Grows *items (of *cap entries of `size` bytes) to hold cap entries;
 * `what` names the array in the error message. */
static int reserve(void **items, size_t *have, size_t cap, size_t size, const char *what)
{
    if (cap <= *have)
        return 0;
    if (cap > SIZE_MAX / size) {
        errno = ENOMEM;
        om_set_error("gc: %s of %zu entries is too large", what, cap);
        return -1;
    }
    void *grown = om_realloc(*items, cap * size);
    if (!grown) {
        om_set_error("gc: out of memory for a %s of %zu entries", what, cap);
        return -1;
    }
    *items = grown;
    *have = cap;
    return 0;
}

int gc_vec_reserve(gc_vec *v, size_t cap)
{
    void *items = v->items;
    int rc = reserve(&items, &v->cap, cap, sizeof(om_object *), "work list");
    v->items = items;
    return rc;
}

void gc_vec_free(gc_vec *v)
{
    om_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

int gc_ivec_reserve(gc_ivec *v, size_t cap)
{
    void *items = v->items;
    int rc = reserve(&items, &v->cap, cap, sizeof(uint32_t), "work array");
    v->items = items;
    return rc;
}

void gc_ivec_free(gc_ivec *v)
{
    om_free(v->items);
    v->items = NULL;
    v->cap = 0;
}
