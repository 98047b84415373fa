/*
 * types/record.c: records with fixed named slots (Python's __slots__).
 *
 * A record type is an om_type followed by the slot count and names; an
 * instance is the header and one pointer per slot, nothing else:
 *
 *     Point(x, y)   | header (16) | x | y |          32 bytes
 *     instance      | header (16) | dict-+          32 bytes in the heap
 *                                        +-> dict (64) + table (128 and up)
 *
 * so a two-field record costs 32 bytes where an instance carrying the same
 * two attributes in a dict costs 32 + 64 + 128 = 224 (CPython 3.12: 48 for
 * the slotted object against 56 + 104 + ... for the dict-backed one).
 *
 * Slots are found by index (O(1)) or by name (a scan of the names: records
 * are small).  A slot starts unset; reading an unset slot fails with the
 * message Python's AttributeError carries.
 *
 * A record type made at run time is one block from the global heap: the
 * om_record_type, the array of name pointers, then the name strings.  It is
 * not an object and holds no reference; it must outlive its instances.
 */
#include <stdio.h>
#include <string.h>

#include "types/containers.h"
#include "objmem/heap.h"

#define TY_RECORD(o)   ((ty_record *)(o))
#define RECORD_TYPE(o) ((const om_record_type *)(o)->ob_type)

void om_record_dealloc(om_object *self)
{
    size_t n = RECORD_TYPE(self)->nslots;
    for (size_t i = 0; i < n; i++)
        om_xdecref(TY_RECORD(self)->slots[i]);
}

int om_record_traverse(om_object *self, om_visitproc visit, void *arg)
{
    return ty_visit_items(TY_RECORD(self)->slots, RECORD_TYPE(self)->nslots, visit, arg);
}

int om_record_clear(om_object *self)
{
    size_t n = RECORD_TYPE(self)->nslots;
    for (size_t i = 0; i < n; i++) {
        om_object *x = TY_RECORD(self)->slots[i];
        TY_RECORD(self)->slots[i] = NULL;
        om_xdecref(x);
    }
    return 0;
}

size_t om_record_repr(om_object *self, char *buf, size_t size)
{
    return ty_repr_count(self, buf, size, RECORD_TYPE(self)->nslots, "slots");
}

om_hash_t om_record_hash(om_object *self)
{
    return ty_identity_hash(self);
}

bool om_record_check(const om_object *o)
{
    return o && o->ob_type->dealloc == om_record_dealloc;
}

/* Checks the slot names: present, not empty, distinct. */
static int check_names(size_t nslots, const char *const *names)
{
    if (nslots == 0 || !names) {
        om_set_error("a record type needs at least one slot");
        return -1;
    }
    for (size_t i = 0; i < nslots; i++) {
        if (!names[i] || !names[i][0]) {
            om_set_error("slot %zu of a record type has no name", i);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(names[i], names[j])) {
                om_set_error("duplicate slot name '%s'", names[i]);
                return -1;
            }
        }
    }
    return 0;
}

om_record_type *om_record_type_new(const char *name, size_t nslots, const char *const *slot_names)
{
    if (!name || !name[0]) {
        om_set_error("a record type needs a name");
        return NULL;
    }
    if (check_names(nslots, slot_names) < 0)
        return NULL;
    if (nslots > (SIZE_MAX / 2 - sizeof(om_object)) / sizeof(om_object *)) {
        om_set_error("record type '%s' has too many slots", name);
        return NULL;
    }
    size_t bytes = sizeof(om_record_type) + nslots * sizeof(char *) + strlen(name) + 1;
    for (size_t i = 0; i < nslots; i++)
        bytes += strlen(slot_names[i]) + 1;
    om_record_type *t = om_malloc(bytes);
    if (!t)
        return NULL;
    const char **names = (const char **)(t + 1);
    char *text = (char *)(names + nslots);
    *t = (om_record_type){
        .type = {.name = text,
                 .basicsize = sizeof(om_object) + nslots * sizeof(om_object *),
                 .flags = OM_TYPE_GC | OM_TYPE_FREELIST,
                 .dealloc = om_record_dealloc,
                 .traverse = om_record_traverse,
                 .clear = om_record_clear,
                 .hash = om_record_hash,
                 .repr = om_record_repr},
        .nslots = nslots,
        .slot_names = names,
    };
    text = stpcpy(text, name) + 1;
    for (size_t i = 0; i < nslots; i++) {
        names[i] = text;
        text = stpcpy(text, slot_names[i]) + 1;
    }
    return t;
}

void om_record_type_free(om_record_type *t)
{
    om_free(t);
}

om_object *om_record_new(om_runtime *rt, const om_record_type *t)
{
    if (!t || t->type.dealloc != om_record_dealloc) {
        om_set_error("om_record_new: not a record type");
        return NULL;
    }
    return om_new(rt, &t->type);
}

int64_t om_record_nslots(const om_object *r)
{
    return om_record_check(r) ? (int64_t)RECORD_TYPE(r)->nslots : ty_type_error_int("record", r);
}

int64_t om_record_slot_index(const om_object *r, const char *name)
{
    if (!om_record_check(r))
        return ty_type_error_int("record", r);
    const om_record_type *t = RECORD_TYPE(r);
    for (size_t i = 0; i < t->nslots; i++)
        if (name && !strcmp(t->slot_names[i], name))
            return (int64_t)i;
    om_set_error("'%s' object has no attribute '%s'", t->type.name, name ? name : "(null)");
    return -1;
}

om_object *om_record_get(om_object *r, int64_t i)
{
    if (!om_record_check(r))
        return ty_type_error("record", r);
    const om_record_type *t = RECORD_TYPE(r);
    int64_t k = ty_index(i, t->nslots, "record slot");
    if (k < 0)
        return NULL;
    om_object *x = TY_RECORD(r)->slots[k];
    if (!x) {
        om_set_error("'%s' object has no attribute '%s'", t->type.name, t->slot_names[k]);
        return NULL;
    }
    om_incref(x);
    return x;
}

int om_record_set(om_object *r, int64_t i, om_object *value)
{
    if (!om_record_check(r))
        return ty_type_error_int("record", r);
    int64_t k = ty_index(i, RECORD_TYPE(r)->nslots, "record slot");
    if (k < 0)
        return -1;
    ty_same_runtime(r, value);
    om_object *old = TY_RECORD(r)->slots[k];
    om_xincref(value);
    TY_RECORD(r)->slots[k] = value;
    om_xdecref(old);
    return 0;
}

om_object *om_record_getattr(om_object *r, const char *name)
{
    int64_t k = om_record_slot_index(r, name);
    return k < 0 ? NULL : om_record_get(r, k);
}

int om_record_setattr(om_object *r, const char *name, om_object *value)
{
    int64_t k = om_record_slot_index(r, name);
    return k < 0 ? -1 : om_record_set(r, k, value);
}
