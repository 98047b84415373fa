/*
 * types/bytes.c: the bytes type: an immutable byte string.
 *
 *     ty_bytes: [ header 16 | hash 8 | size 8 | data.. \0 ]  33 bytes + data
 *
 * The data is followed by a NUL, as in CPython, so it can be handed to C
 * string functions when it holds text.  The hash is computed on first use
 * and cached.  The empty bytes is one immortal object per runtime.
 */
#include <stddef.h>
#include <string.h>

#include "types/types.h"

static om_hash_t bytes_hash(om_object *o)
{
    ty_bytes *b = (ty_bytes *)o;
    if (b->hash == (om_hash_t)-1)
        b->hash = ty_hash_bytes(b->data, (size_t)b->size);
    return b->hash;
}

static int bytes_equal(om_object *a, om_object *b)
{
    if (b->ob_type != &om_bytes_type)
        return 0;
    ty_bytes *x = (ty_bytes *)a, *y = (ty_bytes *)b;
    return x->size == y->size && memcmp(x->data, y->data, (size_t)x->size) == 0;
}

static size_t bytes_repr(om_object *o, char *buf, size_t size)
{
    ty_sink s = ty_sink_init(buf, size);
    ty_bytes *b = (ty_bytes *)o;
    ty_sink_quoted(&s, (const char *)b->data, (size_t)b->size, true);
    return s.len;
}

const om_type om_bytes_type = {
    .name = "bytes",
    .basicsize = offsetof(ty_bytes, data) + 1, /* the NUL */
    .itemsize = 1,
    .flags = OM_TYPE_IMMUTABLE,
    .hash = bytes_hash,
    .equal = bytes_equal,
    .repr = bytes_repr,
};

bool om_bytes_check(const om_object *o)
{
    return o && o->ob_type == &om_bytes_type;
}

static ty_bytes *bytes_alloc(om_runtime *rt, size_t n)
{
    ty_bytes *b = (ty_bytes *)om_new_var(rt, &om_bytes_type, n);
    if (!b)
        return NULL;
    b->hash = (om_hash_t)-1;
    b->size = n;
    return b;
}

static om_object *empty_bytes(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    if (!ts->empty_bytes) {
        ty_bytes *b = bytes_alloc(rt, 0);
        if (!b)
            return NULL;
        om_make_immortal(&b->ob);
        ts->empty_bytes = &b->ob;
    }
    return ts->empty_bytes;
}

om_object *om_bytes_from_buffer(om_runtime *rt, const void *p, size_t n)
{
    if (!rt || (!p && n)) {
        om_set_error("om_bytes_from_buffer: %s is NULL", rt ? "the buffer" : "the runtime");
        return NULL;
    }
    if (n == 0)
        return empty_bytes(rt);
    ty_bytes *b = bytes_alloc(rt, n);
    if (!b)
        return NULL;
    memcpy(b->data, p, n);
    return &b->ob;
}

const unsigned char *om_bytes_as_buffer(const om_object *o)
{
    if (!om_bytes_check(o))
        return ty_type_error("bytes", o);
    return ((const ty_bytes *)o)->data;
}

int64_t om_bytes_size(const om_object *o)
{
    if (!om_bytes_check(o))
        return ty_type_error_int("bytes", o);
    return (int64_t)((const ty_bytes *)o)->size;
}

om_object *om_bytes_concat(om_object *a, om_object *b)
{
    if (!om_bytes_check(a))
        return ty_type_error("bytes", a);
    if (!om_bytes_check(b))
        return ty_type_error("bytes", b);
    ty_bytes *x = (ty_bytes *)a, *y = (ty_bytes *)b;
    if (x->size == 0 || y->size == 0) {
        om_object *r = y->size == 0 ? a : b;
        om_incref(r);
        return r;
    }
    ty_bytes *r = bytes_alloc(ob_runtime_of(a), (size_t)(x->size + y->size));
    if (!r)
        return NULL;
    memcpy(r->data, x->data, (size_t)x->size);
    memcpy(r->data + x->size, y->data, (size_t)y->size);
    return &r->ob;
}
