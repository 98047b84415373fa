/*
 * types/int.c: the int type: a 64-bit signed value, immutable.
 *
 * Python's ints are unbounded; these are not, and a result that does not fit
 * 64 bits fails with a message instead of wrapping (the checked arithmetic is
 * the compiler's __builtin_*_overflow).
 *
 * SMALL INTS.  The values OM_SMALL_INT_MIN..OM_SMALL_INT_MAX (-5..256, as in
 * CPython) are created once per runtime, immortal, and handed out by
 * om_int_from_int64 instead of new objects: loop counters and small
 * constants cost no allocation and no reference-count traffic.
 *
 *     ty_int: [ ob_type | ob_refcnt | ob_gc | value ]  24 bytes, a 32-byte
 *                                                      block, free-listed
 */
#include <inttypes.h>

#include "types/types.h"

static om_hash_t int_hash(om_object *o)
{
    return ty_hash_int64(ty_int_value(o));
}

static int int_equal(om_object *a, om_object *b)
{
    return ty_number_equal(a, b);
}

static size_t int_repr(om_object *o, char *buf, size_t size)
{
    ty_sink s = ty_sink_init(buf, size);
    ty_sink_printf(&s, "%" PRId64, ty_int_value(o));
    return s.len;
}

const om_type om_int_type = {
    .name = "int",
    .basicsize = sizeof(ty_int),
    .flags = OM_TYPE_IMMUTABLE | OM_TYPE_FREELIST,
    .hash = int_hash,
    .equal = int_equal,
    .repr = int_repr,
};

bool om_int_check(const om_object *o)
{
    return o && o->ob_type == &om_int_type;
}

static bool is_small(int64_t v)
{
    return v >= OM_SMALL_INT_MIN && v <= OM_SMALL_INT_MAX;
}

static om_object *new_int(om_runtime *rt, int64_t v)
{
    om_object *o = om_new(rt, &om_int_type);
    if (o)
        ((ty_int *)o)->value = v;
    return o;
}

int ty_small_ints_init(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    for (int64_t v = OM_SMALL_INT_MIN; v <= OM_SMALL_INT_MAX; v++) {
        om_object *o = new_int(rt, v);
        if (!o)
            return -1; /* the ones made so far are immortal: teardown frees them */
        om_make_immortal(o);
        ts->small_ints[v - OM_SMALL_INT_MIN] = o;
    }
    return 0;
}

om_object *om_int_from_int64(om_runtime *rt, int64_t v)
{
    if (!rt) {
        om_set_error("om_int_from_int64: the runtime is NULL");
        return NULL;
    }
    if (is_small(v))
        return ty_state_of(rt)->small_ints[v - OM_SMALL_INT_MIN]; /* immortal: no incref */
    return new_int(rt, v);
}

int om_int_as_int64(const om_object *o, int64_t *out)
{
    if (!om_int_check(o))
        return ty_type_error_int("int", o);
    *out = ty_int_value(o);
    return 0;
}

/* ---- arithmetic ---------------------------------------------------------------- */

static int overflow(const char *op)
{
    om_set_error("integer overflow in %s", op);
    return -1;
}

int om_int64_add(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? overflow("add") : 0;
}

int om_int64_sub(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_sub_overflow(a, b, out) ? overflow("sub") : 0;
}

int om_int64_mul(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? overflow("mul") : 0;
}

/* Python's floor division and modulo: the quotient rounds toward minus
 * infinity and the remainder takes the sign of the divisor. */
static int floor_divmod(int64_t a, int64_t b, int64_t *q, int64_t *r)
{
    if (b == 0) {
        om_set_error("integer division or modulo by zero");
        return -1;
    }
    if (a == INT64_MIN && b == -1)
        return overflow("floordiv");
    int64_t qq = a / b, rr = a % b;
    if (rr != 0 && ((rr < 0) != (b < 0))) {
        qq -= 1;
        rr += b;
    }
    *q = qq;
    *r = rr;
    return 0;
}

typedef int (*int_op)(int64_t a, int64_t b, int64_t *out);

static int op_floordiv(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    return floor_divmod(a, b, out, &r);
}

static int op_mod(int64_t a, int64_t b, int64_t *out)
{
    int64_t q;
    if (b == -1) { /* INT64_MIN % -1 is 0, not an overflow */
        *out = 0;
        return 0;
    }
    return floor_divmod(a, b, &q, out);
}

static om_object *binary(om_object *a, om_object *b, int_op op)
{
    if (!om_int_check(a))
        return ty_type_error("int", a);
    if (!om_int_check(b))
        return ty_type_error("int", b);
    int64_t v;
    if (op(ty_int_value(a), ty_int_value(b), &v) != 0)
        return NULL;
    return om_int_from_int64(ob_runtime_of(a), v);
}

om_object *om_int_add(om_object *a, om_object *b)
{
    return binary(a, b, om_int64_add);
}

om_object *om_int_sub(om_object *a, om_object *b)
{
    return binary(a, b, om_int64_sub);
}

om_object *om_int_mul(om_object *a, om_object *b)
{
    return binary(a, b, om_int64_mul);
}

om_object *om_int_floordiv(om_object *a, om_object *b)
{
    return binary(a, b, op_floordiv);
}

om_object *om_int_mod(om_object *a, om_object *b)
{
    return binary(a, b, op_mod);
}

om_object *om_int_neg(om_object *a)
{
    if (!om_int_check(a))
        return ty_type_error("int", a);
    if (ty_int_value(a) == INT64_MIN) {
        om_set_error("integer overflow in neg");
        return NULL;
    }
    return om_int_from_int64(ob_runtime_of(a), -ty_int_value(a));
}
