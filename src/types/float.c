/*
 * types/float.c: the float type (a C double, immutable), and the equality of
 * numbers across int and float.
 *
 * repr follows Python's: the shortest decimal that reads back as the same
 * double, in positional notation for exponents -4..15 (with ".0" when it
 * has no fraction) and scientific otherwise ("1e+16", "1.5e-07").
 *
 *     ty_float: [ header | value ]  24 bytes, a 32-byte block, free-listed
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/types.h"

/* An int and a double are equal when the double is integral and the same
 * value; compared exactly, never through a lossy conversion. */
static int int_equals_double(int64_t i, double d)
{
    if (!isfinite(d) || d != floor(d))
        return 0;
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return 0;
    return (int64_t)d == i;
}

int ty_number_equal(const om_object *a, const om_object *b)
{
    bool ai = a->ob_type == &om_int_type, bi = b->ob_type == &om_int_type;
    bool af = a->ob_type == &om_float_type, bf = b->ob_type == &om_float_type;
    if ((!ai && !af) || (!bi && !bf))
        return 0;
    if (ai && bi)
        return ty_int_value(a) == ty_int_value(b);
    if (af && bf)
        return ty_float_value(a) == ty_float_value(b);
    return ai ? int_equals_double(ty_int_value(a), ty_float_value(b))
              : int_equals_double(ty_int_value(b), ty_float_value(a));
}

static om_hash_t float_hash(om_object *o)
{
    return ty_hash_double(ty_float_value(o));
}

static int float_equal(om_object *a, om_object *b)
{
    return ty_number_equal(a, b);
}

/* The shortest "%.{p}e" form that round-trips: digits and exponent. */
static int shortest_digits(double v, char *digits, size_t size, int *exp10)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17)
            break;
    }
    char *e = strchr(tmp, 'e');
    *exp10 = atoi(e + 1);
    size_t n = 0;
    for (char *p = tmp; p < e && n + 1 < size; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    digits[n] = '\0';
    return (int)n;
}

static void write_positional(ty_sink *s, const char *digits, int nd, int exp10)
{
    if (exp10 < 0) {
        ty_sink_puts(s, "0.");
        for (int i = -1; i > exp10; i--)
            ty_sink_write(s, "0", 1);
        ty_sink_write(s, digits, (size_t)nd);
        return;
    }
    int intpart = exp10 + 1;
    for (int i = 0; i < intpart; i++)
        ty_sink_write(s, i < nd ? &digits[i] : "0", 1);
    ty_sink_write(s, ".", 1);
    if (nd > intpart)
        ty_sink_write(s, digits + intpart, (size_t)(nd - intpart));
    else
        ty_sink_write(s, "0", 1);
}

static void write_scientific(ty_sink *s, const char *digits, int nd, int exp10)
{
    ty_sink_write(s, digits, 1);
    if (nd > 1) {
        ty_sink_write(s, ".", 1);
        ty_sink_write(s, digits + 1, (size_t)(nd - 1));
    }
    ty_sink_printf(s, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
}

static size_t float_repr(om_object *o, char *buf, size_t size)
{
    ty_sink s = ty_sink_init(buf, size);
    double v = ty_float_value(o);
    if (isnan(v)) {
        ty_sink_puts(&s, "nan");
        return s.len;
    }
    if (isinf(v)) {
        ty_sink_puts(&s, v > 0 ? "inf" : "-inf");
        return s.len;
    }
    if (signbit(v))
        ty_sink_write(&s, "-", 1);
    char digits[24];
    int exp10 = 0;
    int nd =
        v == 0 ? (strcpy(digits, "0"), 1) : shortest_digits(fabs(v), digits, sizeof digits, &exp10);
    if (exp10 >= -4 && exp10 < 16)
        write_positional(&s, digits, nd, exp10);
    else
        write_scientific(&s, digits, nd, exp10);
    return s.len;
}

const om_type om_float_type = {
    .name = "float",
    .basicsize = sizeof(ty_float),
    .flags = OM_TYPE_IMMUTABLE | OM_TYPE_FREELIST,
    .hash = float_hash,
    .equal = float_equal,
    .repr = float_repr,
};

bool om_float_check(const om_object *o)
{
    return o && o->ob_type == &om_float_type;
}

om_object *om_float_from_double(om_runtime *rt, double v)
{
    if (!rt) {
        om_set_error("om_float_from_double: the runtime is NULL");
        return NULL;
    }
    om_object *o = om_new(rt, &om_float_type);
    if (o)
        ((ty_float *)o)->value = v;
    return o;
}

int om_float_as_double(const om_object *o, double *out)
{
    if (om_float_check(o)) {
        *out = ty_float_value(o);
        return 0;
    }
    if (om_int_check(o)) {
        *out = (double)ty_int_value(o);
        return 0;
    }
    return ty_type_error_int("float", o);
}
