/*
 * types/intern.c: the interning table of a runtime (Python's sys.intern).
 *
 * A set of str objects keyed by their text, in a pointer table
 * (object/table.c) whose slot hash is the str's hash.  The table holds no
 * reference: a str is interned by setting its `interned` flag and adding it;
 * when it dies its dealloc removes it.  So interning never keeps text alive
 * (CPython did the same with "mortal" interned strings), and the table is
 * empty when the last interned str is gone.
 *
 * A lookup by C text allocates nothing: it hashes the bytes and compares
 * them with each candidate of equal hash (inline for texts up to 16 bytes;
 * the probe loop of ob_table_find is inline too).
 */
#include <string.h>

#include "types/types.h"

struct ty_intern_table {
    ob_table set;
};

typedef struct probe {
    const char *p;
    size_t n;
} probe;

/* memcmp(a, b, n) == 0 without a call for the short texts that names and
 * keys mostly are: 4 to 16 bytes by two overlapping words of 4 or 8 bytes
 * (never reading outside either text). */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n - 8 <= 8) { /* 8..16 */
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&b0, b, 8);
        memcpy(&a1, a + n - 8, 8);
        memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n - 4 <= 3) { /* 4..7 */
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&b0, b, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

static bool same_text(const void *key, const void *arg)
{
    const probe *q = arg;
    return ty_str_nbytes(key) == q->n && same_bytes(ty_str_data(key), q->p, q->n);
}

int ty_intern_init(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    ts->interned = ob_mem_calloc(rt, 1, sizeof *ts->interned);
    return ts->interned ? 0 : -1;
}

void ty_intern_fini(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    if (!ts || !ts->interned)
        return;
    ob_table_free(rt, &ts->interned->set);
    ob_mem_free(rt, ts->interned);
    ts->interned = NULL;
}

om_object *ty_intern_lookup(om_runtime *rt, const char *p, size_t n, om_hash_t h)
{
    probe q = {p, n};
    ob_table_slot *s = ob_table_find(&ty_state_of(rt)->interned->set, h, same_text, &q);
    return s ? s->key : NULL;
}

int ty_intern_add(om_runtime *rt, om_object *s)
{
    if (ob_table_insert(rt, &ty_state_of(rt)->interned->set, ty_str_hash(s), s, NULL) != 0) {
        om_set_error("out of memory: cannot intern a str of %zu bytes", ty_str_nbytes(s));
        return -1;
    }
    ((ty_str *)s)->interned = 1;
    return 0;
}

void ty_intern_remove(om_runtime *rt, om_object *s)
{
    struct ty_state *ts = ty_state_of(rt);
    ob_table_slot *slot =
        ts && ts->interned ? ob_table_find(&ts->interned->set, ty_str_hash(s), NULL, s) : NULL;
    if (!slot)
        om_fatal("interned str %p is missing from the interning table", (void *)s);
    ob_table_delete(&ts->interned->set, slot);
    ((ty_str *)s)->interned = 0;
}

size_t ty_intern_count(om_runtime *rt)
{
    struct ty_state *ts = ty_state_of(rt);
    return ts && ts->interned ? ts->interned->set.used : 0;
}
