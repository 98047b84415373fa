/*
 * types/instance.c: objects whose attributes live in a dict (Python's
 * default __dict__), the counterpart of records (record.c).
 *
 *     instance (24 B, 32 in the heap)     attribute dict, made on first set
 *     +--------+--------+                 +--------+-------+
 *     | header | dict --+---------------->| dict   | table |  64 + 128 and up
 *     +--------+--------+                 +--------+-------+
 *
 * Any attribute may be added at any time, at the price of the dict: an
 * instance with two attributes costs about 224 bytes against 32 for a
 * two-slot record.  Attribute names are interned strs, so each name's text
 * is stored once per runtime however many instances use it.
 *
 * om_sys_getsizeof(instance) counts the instance alone, as Python's does;
 * add om_sys_getsizeof of om_instance_dict to see the whole price.
 */
#include <stdio.h>

#include "types/containers.h"

#define TY_INSTANCE(o) ((ty_instance *)(o))

static void instance_dealloc(om_object *self)
{
    om_xdecref(TY_INSTANCE(self)->dict);
}

static int instance_traverse(om_object *self, om_visitproc visit, void *arg)
{
    om_object *d = TY_INSTANCE(self)->dict;
    return d ? visit(d, arg) : 0;
}

static int instance_clear(om_object *self)
{
    om_object *d = TY_INSTANCE(self)->dict;
    TY_INSTANCE(self)->dict = NULL;
    om_xdecref(d);
    return 0;
}

static om_hash_t instance_hash(om_object *self)
{
    return ty_identity_hash(self);
}

static size_t instance_repr(om_object *self, char *buf, size_t size)
{
    om_object *d = TY_INSTANCE(self)->dict;
    return ty_repr_count(self, buf, size, d ? TY_DICT(d)->t.used : 0, "attributes");
}

const om_type ty_instance_type = {
    .name = "instance",
    .basicsize = sizeof(ty_instance),
    .flags = OM_TYPE_GC | OM_TYPE_FREELIST,
    .dealloc = instance_dealloc,
    .traverse = instance_traverse,
    .clear = instance_clear,
    .hash = instance_hash,
    .repr = instance_repr,
};

bool om_instance_check(const om_object *o)
{
    return ty_is(o, &ty_instance_type);
}

om_object *om_instance_new(om_runtime *rt)
{
    return om_new(rt, &ty_instance_type);
}

static void no_attribute(const char *name)
{
    om_set_error("'instance' object has no attribute '%s'", name ? name : "(null)");
}

om_object *om_instance_dict(om_object *o)
{
    if (!om_instance_check(o))
        return ty_type_error("instance", o);
    ty_instance *in = TY_INSTANCE(o);
    if (!in->dict && !(in->dict = om_dict_new(ob_runtime_of(o))))
        return NULL;
    om_incref(in->dict);
    return in->dict;
}

int om_instance_setattr(om_object *o, const char *name, om_object *value)
{
    om_object *d = om_instance_dict(o);
    if (!d)
        return -1;
    int r = om_dict_setitem_str(d, name, value);
    om_decref(d);
    return r;
}

/* The attribute's key, or NULL with a message (no dict, unknown name). */
static om_object *attribute_key(om_object *o, const char *name, om_object **key)
{
    *key = NULL;
    if (!om_instance_check(o))
        return ty_type_error("instance", o);
    if (!TY_INSTANCE(o)->dict || !name) {
        no_attribute(name);
        return NULL;
    }
    *key = om_str_intern_cstr(ob_runtime_of(o), name);
    return *key ? TY_INSTANCE(o)->dict : NULL;
}

om_object *om_instance_getattr(om_object *o, const char *name)
{
    om_object *key, *v = NULL;
    om_object *d = attribute_key(o, name, &key);
    if (d && om_dict_lookup(d, key, &v) == 0)
        no_attribute(name);
    om_xdecref(key);
    return v;
}

int om_instance_delattr(om_object *o, const char *name)
{
    om_object *key;
    om_object *d = attribute_key(o, name, &key);
    if (!d)
        return -1;
    om_object *v = om_dict_pop(d, key, NULL);
    om_decref(key);
    if (!v) {
        no_attribute(name);
        return -1;
    }
    om_decref(v);
    return 0;
}
