/*
 * types/str.c: the str type: immutable UTF-8 text.
 *
 * LAYOUT.  One block: the fields, then the text and a NUL.
 *
 *     ty_str: [ header 16 | hash 8 | nbytes 8 | nchars 8 | interned 1 | text.. \0 ]
 *             41 bytes + text: "abc" fits a 48-byte block (CPython: 52)
 *
 * The text is validated once, on entry (types/utf8.c), and never changes, so
 * the code point count is computed then and the hash on first use (cached;
 * (om_hash_t)-1 means "not yet").  The empty str is one immortal object per
 * runtime.  Interning (types/intern.c): om_str_intern returns the canonical
 * object for a text; the interning table holds no reference, and an
 * interned str removes itself from the table when it dies.
 */
#include <stddef.h>
#include <string.h>

#include "types/types.h"

static void str_dealloc(om_object *o)
{
    if (((ty_str *)o)->interned)
        ty_intern_remove(ob_runtime_of(o), o);
}

om_hash_t ty_str_hash(om_object *o)
{
    ty_str *s = (ty_str *)o;
    if (s->hash == (om_hash_t)-1)
        s->hash = ty_hash_bytes(s->data, (size_t)s->nbytes);
    return s->hash;
}

static int str_equal(om_object *a, om_object *b)
{
    if (b->ob_type != &om_str_type)
        return 0;
    ty_str *x = (ty_str *)a, *y = (ty_str *)b;
    if (x->nbytes != y->nbytes)
        return 0;
    if (x->hash != (om_hash_t)-1 && y->hash != (om_hash_t)-1 && x->hash != y->hash)
        return 0;
    if (x->interned && y->interned)
        return 0; /* two distinct interned strings never have the same text */
    return memcmp(x->data, y->data, (size_t)x->nbytes) == 0;
}

static size_t str_repr(om_object *o, char *buf, size_t size)
{
    ty_sink s = ty_sink_init(buf, size);
    ty_sink_quoted(&s, ty_str_data(o), ty_str_nbytes(o), false);
    return s.len;
}

const om_type om_str_type = {
    .name = "str",
    .basicsize = offsetof(ty_str, data) + 1, /* the NUL */
    .itemsize = 1,
    .flags = OM_TYPE_IMMUTABLE,
    .dealloc = str_dealloc,
    .hash = ty_str_hash,
    .equal = str_equal,
    .repr = str_repr,
};

bool om_str_check(const om_object *o)
{
    return o && o->ob_type == &om_str_type;
}

/* A str of nbytes uninitialised text bytes (NUL written). */
static ty_str *str_alloc(om_runtime *rt, size_t nbytes, size_t nchars)
{
    ty_str *s = (ty_str *)om_new_var(rt, &om_str_type, nbytes);
    if (!s)
        return NULL;
    s->hash = (om_hash_t)-1;
    s->nbytes = nbytes;
    s->nchars = nchars;
    return s;
}

/* The empty str (immortal), created on first use. */
static om_object *empty_str(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    if (!ts->empty_str) {
        ty_str *s = str_alloc(rt, 0, 0);
        if (!s)
            return NULL;
        om_make_immortal(&s->ob);
        ts->empty_str = &s->ob;
    }
    return ts->empty_str;
}

/* A str of already validated text. */
static om_object *str_from_valid(om_runtime *rt, const char *p, size_t n, size_t nchars)
{
    if (n == 0)
        return empty_str(rt);
    ty_str *s = str_alloc(rt, n, nchars);
    if (!s)
        return NULL;
    memcpy(s->data, p, n);
    return &s->ob;
}

om_object *om_str_from_utf8(om_runtime *rt, const char *p, size_t n)
{
    if (!rt || (!p && n)) {
        om_set_error("om_str_from_utf8: %s is NULL", rt ? "the text" : "the runtime");
        return NULL;
    }
    size_t nchars = 0;
    int64_t bad = ty_utf8_check(p, n, &nchars);
    if (bad >= 0) {
        om_set_error("invalid UTF-8 at byte %lld", (long long)bad);
        return NULL;
    }
    return str_from_valid(rt, p, n, nchars);
}

om_object *om_str_from_cstr(om_runtime *rt, const char *p)
{
    return om_str_from_utf8(rt, p, p ? strlen(p) : 0);
}

const char *om_str_as_utf8(const om_object *o)
{
    if (!om_str_check(o))
        return ty_type_error("str", o);
    return ty_str_data(o);
}

int64_t om_str_len(const om_object *o)
{
    if (!om_str_check(o))
        return ty_type_error_int("str", o);
    return (int64_t)((const ty_str *)o)->nchars;
}

int64_t om_str_size(const om_object *o)
{
    if (!om_str_check(o))
        return ty_type_error_int("str", o);
    return (int64_t)((const ty_str *)o)->nbytes;
}

om_object *om_str_concat(om_object *a, om_object *b)
{
    if (!om_str_check(a))
        return ty_type_error("str", a);
    if (!om_str_check(b))
        return ty_type_error("str", b);
    ty_str *x = (ty_str *)a, *y = (ty_str *)b;
    size_t n = (size_t)(x->nbytes + y->nbytes);
    if (y->nbytes == 0 || x->nbytes == 0) {
        om_object *r = y->nbytes == 0 ? a : b;
        om_incref(r); /* immutable: the operand itself is the result */
        return r;
    }
    ty_str *s = str_alloc(ob_runtime_of(a), n, (size_t)(x->nchars + y->nchars));
    if (!s)
        return NULL;
    memcpy(s->data, x->data, (size_t)x->nbytes);
    memcpy(s->data + x->nbytes, y->data, (size_t)y->nbytes);
    return &s->ob;
}

/* ---- interning -------------------------------------------------------------- */

bool om_str_is_interned(const om_object *o)
{
    return om_str_check(o) && ((const ty_str *)o)->interned;
}

om_object *om_str_intern(om_object *o)
{
    if (OM_UNLIKELY(!o || o->ob_type != &om_str_type)) /* om_str_check, inline */
        return ty_type_error("str", o);
    ty_str *s = (ty_str *)o;
    om_runtime *rt = ob_runtime_of(o);
    if (!s->interned) {
        om_object *found = ty_intern_lookup(rt, s->data, (size_t)s->nbytes, ty_str_hash(o));
        if (found) {
            om_incref(found);
            return found;
        }
        if (ty_intern_add(rt, o) != 0)
            return NULL;
    }
    om_incref(o);
    return o;
}

om_object *om_str_intern_utf8(om_runtime *rt, const char *p, size_t n)
{
    if (!rt || (!p && n)) {
        om_set_error("om_str_intern_utf8: %s is NULL", rt ? "the text" : "the runtime");
        return NULL;
    }
    om_object *found = ty_intern_lookup(rt, p, n, ty_hash_bytes(p, n));
    if (found) {
        om_incref(found);
        return found;
    }
    om_object *s = om_str_from_utf8(rt, p, n);
    if (!s)
        return NULL;
    om_object *canon = om_str_intern(s);
    om_decref(s);
    return canon;
}

om_object *om_str_intern_cstr(om_runtime *rt, const char *p)
{
    return om_str_intern_utf8(rt, p, p ? strlen(p) : 0);
}
