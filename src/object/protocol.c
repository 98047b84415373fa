/*
 * object/protocol.c: the generic object protocol (hash, equality, repr, type
 * name), dispatched through the type's hooks, and om_runtime_of.
 */
#include <stdio.h>

#include "object/private.h"

om_runtime *om_runtime_of(const om_object *o)
{
    return o ? ob_runtime_of(o) : NULL;
}

const char *om_type_name(const om_object *o)
{
    if (!o)
        return "NULL";
    return o->ob_type && o->ob_type->name ? o->ob_type->name : "?";
}

om_hash_t om_hash(om_object *o)
{
    if (!o) {
        om_set_error("om_hash: the object is NULL");
        return (om_hash_t)-1;
    }
    if (!o->ob_type->hash) {
        om_set_error("unhashable type: '%s'", om_type_name(o));
        return (om_hash_t)-1;
    }
    return o->ob_type->hash(o);
}

/* Python's rule for ==: the left operand's hook first, then the right's;
 * identity when neither type defines equality. */
int om_equal(om_object *a, om_object *b)
{
    if (!a || !b) {
        om_set_error("om_equal: an operand is NULL");
        return -1;
    }
    if (a == b)
        return 1;
    if (a->ob_type->equal)
        return a->ob_type->equal(a, b);
    if (b->ob_type->equal)
        return b->ob_type->equal(b, a);
    return 0;
}

size_t om_repr(om_object *o, char *buf, size_t size)
{
    if (!o) {
        int n = snprintf(buf, size, "NULL");
        return n < 0 ? 0 : (size_t)n;
    }
    if (o->ob_type->repr)
        return o->ob_type->repr(o, buf, size);
    int n = snprintf(buf, size, "<%s object at %p>", om_type_name(o), (void *)o);
    return n < 0 ? 0 : (size_t)n;
}
