/*
 * inspect/asizeof.c: the deep size of an object, pympler's asizeof: the
 * getsizeof of the object and of every object it reaches through
 * references, each counted once however many paths lead to it.
 *
 * A depth-first walk with an explicit stack (a growing array) and a visited
 * set, so a list of a million items or a cycle costs no C stack.
 */
#include <stdlib.h>

#include "objmem/containers.h"
#include "inspect/inspect.h"

typedef struct deep {
    om_object **stack;
    size_t n, cap;
    in_set seen;
    bool failed;
} deep;

static int push(om_object *o, void *arg)
{
    deep *d = arg;
    int added = in_set_add(&d->seen, o);
    if (added <= 0) {
        d->failed |= added < 0;
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        om_object **stack = realloc(d->stack, cap * sizeof *stack);
        if (!stack) {
            d->failed = true;
            return 1;
        }
        d->stack = stack;
        d->cap = cap;
    }
    d->stack[d->n++] = o;
    return 0;
}

size_t om_asizeof(om_object *obj)
{
    if (!obj) {
        om_set_error("om_asizeof: no object");
        return (size_t)-1;
    }
    deep d = {0};
    size_t total = 0;
    push(obj, &d);
    while (d.n > 0 && !d.failed) {
        om_object *o = d.stack[--d.n];
        total += om_sys_getsizeof(o);
        in_referents(o, push, &d);
    }
    free(d.stack);
    in_set_free(&d.seen);
    if (d.failed) {
        om_set_error("om_asizeof: out of memory");
        return (size_t)-1;
    }
    return total;
}
