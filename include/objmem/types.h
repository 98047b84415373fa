/*
 * objmem/types.h: the scalar builtin types: int, float, str, bytes, None.
 *
 * Names follow Python and one scheme:
 *   om_<type>_from_<c type>(rt, ...)   a new object from a C value
 *   om_<type>_as_<c type>(o, &out)     the C value: 0, or -1 with a message
 *   om_<type>_check(o)                 true if o is exactly that type
 *   om_<type>_<python method>(a, ...)  an operation (om_int_add is a + b)
 * The ownership rule of objmem.h holds: every om_object * returned is a new
 * reference, every argument is borrowed.  Wrong types fail with NULL or -1
 * and a message such as "expected int, got str"; lengths are int64_t and -1
 * means "not this type".
 *
 *   int     64-bit signed; a result that does not fit is an error ("integer
 *           overflow in add"), never a wrap.  -5..256 are cached immortal
 *           objects, one set per runtime, as in CPython.
 *   float   a C double.
 *   str     immutable UTF-8, validated on entry; length in code points and in
 *           bytes; hash cached; om_str_intern returns the one canonical
 *           object per runtime for a given text.  Always NUL-terminated.
 *   bytes   immutable bytes, NUL-terminated for convenience.
 *   None    one immortal object per runtime.
 *
 * Equality and hashing agree with Python: 1 == 1.0 and their hashes are
 * equal (Python's numeric hash modulo 2**61 - 1), a str never equals bytes.
 * A hash is never (om_hash_t)-1, which means "error".
 */
#ifndef OBJMEM_TYPES_H
#define OBJMEM_TYPES_H

#include "objmem/common.h"
#include "objmem/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The type descriptors, for om_type_check and comparisons of ob_type. */
OM_API extern const om_type om_int_type;
OM_API extern const om_type om_float_type;
OM_API extern const om_type om_str_type;
OM_API extern const om_type om_bytes_type;
OM_API extern const om_type om_none_type;

/* ---- None ---------------------------------------------------------------- */
OM_API om_object *om_none(om_runtime *rt);
OM_API bool om_none_check(const om_object *o);

/* ---- int ----------------------------------------------------------------- */
#define OM_SMALL_INT_MIN (-5)
#define OM_SMALL_INT_MAX 256
OM_API om_object *om_int_from_int64(om_runtime *rt, int64_t v);
OM_API int om_int_as_int64(const om_object *o, int64_t *out);
OM_API bool om_int_check(const om_object *o);
/* a + b, a - b, a * b, a // b, a % b, -a (Python's floor division and
 * modulo); NULL with "integer overflow in add" or "integer division or
 * modulo by zero".  Both operands are ints. */
OM_API om_object *om_int_add(om_object *a, om_object *b);
OM_API om_object *om_int_sub(om_object *a, om_object *b);
OM_API om_object *om_int_mul(om_object *a, om_object *b);
OM_API om_object *om_int_floordiv(om_object *a, om_object *b);
OM_API om_object *om_int_mod(om_object *a, om_object *b);
OM_API om_object *om_int_neg(om_object *a);
/* The same on C values: 0 and *out, or -1 and a message on overflow. */
OM_API int om_int64_add(int64_t a, int64_t b, int64_t *out);
OM_API int om_int64_sub(int64_t a, int64_t b, int64_t *out);
OM_API int om_int64_mul(int64_t a, int64_t b, int64_t *out);

/* ---- float --------------------------------------------------------------- */
OM_API om_object *om_float_from_double(om_runtime *rt, double v);
/* Accepts a float, or an int (converted like Python's float(i)). */
OM_API int om_float_as_double(const om_object *o, double *out);
OM_API bool om_float_check(const om_object *o);

/* ---- str ------------------------------------------------------------------ */
/* len bytes of UTF-8 (need not be NUL-terminated); NULL with "invalid UTF-8
 * at byte N" for bad input (overlong forms, surrogates, > U+10FFFF). */
OM_API om_object *om_str_from_utf8(om_runtime *rt, const char *s, size_t len);
/* The same for a NUL-terminated string. */
OM_API om_object *om_str_from_cstr(om_runtime *rt, const char *s);
OM_API bool om_str_check(const om_object *o);
/* The text, NUL-terminated, valid while o lives; NULL for a non-str. */
OM_API const char *om_str_as_utf8(const om_object *o);
/* Length in code points (Python's len) and in bytes; -1 for a non-str. */
OM_API int64_t om_str_len(const om_object *o);
OM_API int64_t om_str_size(const om_object *o);
/* a + b. */
OM_API om_object *om_str_concat(om_object *a, om_object *b);
/* The canonical object equal to s (sys.intern): s itself if it is the first
 * of its text to be interned.  The runtime's table does not keep strings
 * alive: an interned str leaves the table when it dies. */
OM_API om_object *om_str_intern(om_object *s);
/* The canonical object for a C string, created and interned when missing:
 * a lookup that allocates nothing when the text is already interned. */
OM_API om_object *om_str_intern_utf8(om_runtime *rt, const char *s, size_t len);
OM_API om_object *om_str_intern_cstr(om_runtime *rt, const char *s);
OM_API bool om_str_is_interned(const om_object *o);

/* ---- bytes ---------------------------------------------------------------- */
/* A copy of n bytes at p (p may be NULL when n is 0). */
OM_API om_object *om_bytes_from_buffer(om_runtime *rt, const void *p, size_t n);
OM_API bool om_bytes_check(const om_object *o);
/* The bytes (followed by a NUL), valid while o lives; NULL for a non-bytes. */
OM_API const unsigned char *om_bytes_as_buffer(const om_object *o);
OM_API int64_t om_bytes_size(const om_object *o);
OM_API om_object *om_bytes_concat(om_object *a, om_object *b);

#ifdef __cplusplus
}
#endif
#endif
