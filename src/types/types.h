/*
 * types/types.h: the internal interface of the types layer, for the types
 * themselves and the layers above (runtime, inspect, trace).
 *
 * Grouped by the file that defines each part.  Engineers of other type files
 * add their declarations in their own section with small edits.
 */
#ifndef OM_TYPES_TYPES_H
#define OM_TYPES_TYPES_H

#include "objmem/types.h"
#include "object/object.h"

/* ---- types/types.c: the layer's per-runtime state -------------------------- */

struct ty_intern_table; /* types/intern.c */

/* Owned by the types layer; rt->types.  Singletons and caches are created by
 * ty_runtime_init (scalars) or lazily on first use (containers), and are
 * immortal: the teardown frees them with the heap. */
struct ty_state {
    /* scalars (types/int.c, str.c, bytes.c, types.c) */
    om_object *small_ints[OM_SMALL_INT_MAX - OM_SMALL_INT_MIN + 1];
    om_object *none;
    om_object *empty_str;
    om_object *empty_bytes;
    struct ty_intern_table *interned;
    /* containers: add fields below (types/tuple.c, ...) */
    om_object *empty_tuple; /* types/tuple.c: made on first use, immortal */
};

static inline struct ty_state *ty_state_of(const om_runtime *rt)
{
    return rt->types;
}

/* Called by src/runtime after the object and gc layers: creates the
 * scalar caches.  0, or -1 with a message; what it made by then is undone
 * by the runtime's teardown, which accepts a half-built state. */
OM_INTERNAL int ty_runtime_init(om_runtime *rt);
/* Called after every object is gone: frees the tables. */
OM_INTERNAL void ty_runtime_fini(om_runtime *rt);

/* "expected <what>, got <type of o>": sets the message, returns NULL. */
OM_INTERNAL void *ty_type_error(const char *what, const om_object *o);
/* The same for functions returning int or int64_t: returns -1. */
OM_INTERNAL int ty_type_error_int(const char *what, const om_object *o);

/* ---- types/repr.c: writing reprs ---------------------------------------------
 * A repr hook writes into a caller's buffer and returns the length it wanted,
 * like snprintf.  A sink does the bookkeeping: it always NUL-terminates what
 * fits and counts everything. */
typedef struct ty_sink {
    char *buf;
    size_t size; /* bytes of buf */
    size_t len;  /* bytes wanted so far */
} ty_sink;
static inline ty_sink ty_sink_init(char *buf, size_t size)
{
    ty_sink s = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    return s;
}
OM_INTERNAL void ty_sink_write(ty_sink *s, const char *p, size_t n);
OM_INTERNAL void ty_sink_puts(ty_sink *s, const char *p);
OM_INTERNAL void ty_sink_printf(ty_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends o's repr (through om_repr) to the sink. */
OM_INTERNAL void ty_sink_repr(ty_sink *s, om_object *o);
/* Appends p[0..n) quoted and escaped like Python's repr of a str (bytes:
 * is_bytes true, b'...' with \xNN for every byte outside printable ASCII). */
OM_INTERNAL void ty_sink_quoted(ty_sink *s, const char *p, size_t n, bool is_bytes);

/* ---- the containers (tuple.c, list.c, dict.c, set.c, record.c, ...) ---------
 * Their layouts and shared internals are in types/containers.h; the hash
 * table under dict, set and the LRU cache is types/dict_table.h. */

/* ---- types/hash.c: hashing -------------------------------------------------- */
/* Python's numeric hash: values reduced modulo 2**61 - 1, sign kept, -1
 * replaced by -2, so equal int and float values hash alike. */
#define TY_HASH_MODULUS ((1ull << 61) - 1)
OM_INTERNAL om_hash_t ty_hash_int64(int64_t v);
OM_INTERNAL om_hash_t ty_hash_double(double v);
/* A keyed 64-bit hash of bytes (seeded once per process); never -1. */
OM_INTERNAL om_hash_t ty_hash_bytes(const void *p, size_t n);

/* ---- types/int.c, types/float.c: layouts ------------------------------------ */
typedef struct ty_int {
    om_object ob;
    int64_t value;
} ty_int;

typedef struct ty_float {
    om_object ob;
    double value;
} ty_float;

static inline int64_t ty_int_value(const om_object *o)
{
    return ((const ty_int *)o)->value;
}
static inline double ty_float_value(const om_object *o)
{
    return ((const ty_float *)o)->value;
}
/* Creates the cached small ints of rt (immortal).  0 or -1. */
OM_INTERNAL int ty_small_ints_init(om_runtime *rt);
/* 1 if the int or float a equals the number b (an int or float), 0 if not
 * or if b is not a number. */
OM_INTERNAL int ty_number_equal(const om_object *a, const om_object *b);

/* ---- types/str.c, types/bytes.c: layouts --------------------------------------
 * Text and bytes live inline after the fields, NUL-terminated. */
typedef struct ty_str {
    om_object ob;
    om_hash_t hash;  /* (om_hash_t)-1 until computed */
    uint64_t nbytes; /* UTF-8 bytes, without the NUL */
    uint64_t nchars; /* code points */
    uint8_t interned;
    char data[];
} ty_str;

typedef struct ty_bytes {
    om_object ob;
    om_hash_t hash; /* (om_hash_t)-1 until computed */
    uint64_t size;
    unsigned char data[];
} ty_bytes;

static inline const char *ty_str_data(const om_object *o)
{
    return ((const ty_str *)o)->data;
}
static inline size_t ty_str_nbytes(const om_object *o)
{
    return (size_t)((const ty_str *)o)->nbytes;
}
OM_INTERNAL om_hash_t ty_str_hash(om_object *o);
/* Byte count of the first invalid UTF-8 sequence in s, or -1 when all of s is
 * valid; *nchars receives the code point count when valid. */
OM_INTERNAL int64_t ty_utf8_check(const char *s, size_t len, size_t *nchars);

/* ---- types/intern.c: the interning table ------------------------------------
 * An open-addressing set of str objects keyed by their text.  It holds no
 * references: a str that dies while interned removes itself. */
OM_INTERNAL int ty_intern_init(om_runtime *rt);
OM_INTERNAL void ty_intern_fini(om_runtime *rt);
/* The interned str with this text (borrowed), or NULL. */
OM_INTERNAL om_object *ty_intern_lookup(om_runtime *rt, const char *s, size_t n, om_hash_t h);
/* Adds s (not yet interned, no equal text interned).  0 or -1. */
OM_INTERNAL int ty_intern_add(om_runtime *rt, om_object *s);
/* Removes the dying interned str s. */
OM_INTERNAL void ty_intern_remove(om_runtime *rt, om_object *s);
OM_INTERNAL size_t ty_intern_count(om_runtime *rt);

#endif
