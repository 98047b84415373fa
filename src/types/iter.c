/*
 * types/iter.c: lazy iterators over the containers, and the iteration
 * protocol (om_iter, om_iter_next, om_iter_next_item).
 *
 * An iterator is 40 bytes (48 in the heap) whatever it walks: the container
 * it holds a reference to, a position, and for dicts and sets the size the
 * container had when the iteration began:
 *
 *     +--------+-----+-----+--------+
 *     | header | seq | pos | expect |      seq NULL once exhausted
 *     +--------+-----+-----+--------+
 *
 * So iteration never copies: a list iterator reads items[pos] live (an
 * append during the loop is seen, as in Python), a dict iterator walks the
 * dense entries from pos, skipping deleted ones.  A dict or set whose size
 * changes between two steps fails the next step ("dict changed size during
 * iteration") and every step after it, as Python's RuntimeError does; the
 * position is bounds-checked on every step, so no mutation can make it read
 * outside the container.  Once exhausted an iterator drops its container
 * and stays exhausted.
 *
 * Range iterators (range.c) hold three integers and no container.
 */
#include <stdio.h>

#include "types/containers.h"

#define ITER_BROKEN ((size_t)-1) /* expect: the size changed, fail from now on */

typedef struct ty_iter {
    om_object ob;
    om_object *seq;
    size_t pos;
    size_t expect;
} ty_iter;

static void iter_dealloc(om_object *self)
{
    om_xdecref(((ty_iter *)self)->seq);
}

static int iter_traverse(om_object *self, om_visitproc visit, void *arg)
{
    om_object *seq = ((ty_iter *)self)->seq;
    return seq ? visit(seq, arg) : 0;
}

static int iter_clear(om_object *self)
{
    ty_iter *it = (ty_iter *)self;
    om_object *seq = it->seq;
    it->seq = NULL;
    om_xdecref(seq);
    return 0;
}

static size_t iter_repr(om_object *self, char *buf, size_t size)
{
    int n = snprintf(buf, size, "<%s at %p>", self->ob_type->name, (void *)self);
    return n < 0 ? 0 : (size_t)n;
}

#define ITER_TYPE(var, tname)                                                                      \
    static const om_type var = {.name = tname,                                                     \
                                .basicsize = sizeof(ty_iter),                                      \
                                .flags = OM_TYPE_GC | OM_TYPE_FREELIST,                            \
                                .dealloc = iter_dealloc,                                           \
                                .traverse = iter_traverse,                                         \
                                .clear = iter_clear,                                               \
                                .repr = iter_repr}

ITER_TYPE(list_iter_type, "list_iterator");
ITER_TYPE(tuple_iter_type, "tuple_iterator");
ITER_TYPE(dict_keys_iter_type, "dict_keyiterator");
ITER_TYPE(dict_values_iter_type, "dict_valueiterator");
ITER_TYPE(dict_items_iter_type, "dict_itemiterator");
ITER_TYPE(set_iter_type, "set_iterator");

bool om_iter_check(const om_object *o)
{
    if (!o)
        return false;
    const om_type *t = o->ob_type;
    return t == &list_iter_type || t == &tuple_iter_type || t == &dict_keys_iter_type ||
           t == &dict_values_iter_type || t == &dict_items_iter_type || t == &set_iter_type ||
           t == &ty_range_iter_type;
}

static om_object *iter_new(om_object *seq, const om_type *type)
{
    om_object *o = om_new(ob_runtime_of(seq), type);
    if (!o)
        return NULL;
    ty_iter *it = (ty_iter *)o;
    om_incref(seq);
    it->seq = seq;
    it->expect = (ty_is(seq, &ty_dict_type) || ty_is(seq, &ty_set_type)) ? TY_DICT(seq)->t.used : 0;
    return o;
}

static om_object *dict_iter(om_object *d, const om_type *type)
{
    return ty_is(d, &ty_dict_type) ? iter_new(d, type) : ty_type_error("dict", d);
}

om_object *om_dict_iter_keys(om_object *d)
{
    return dict_iter(d, &dict_keys_iter_type);
}
om_object *om_dict_iter_values(om_object *d)
{
    return dict_iter(d, &dict_values_iter_type);
}
om_object *om_dict_iter_items(om_object *d)
{
    return dict_iter(d, &dict_items_iter_type);
}

om_object *om_iter(om_object *o)
{
    if (ty_is(o, &ty_list_type))
        return iter_new(o, &list_iter_type);
    if (ty_is(o, &ty_tuple_type))
        return iter_new(o, &tuple_iter_type);
    if (ty_is(o, &ty_dict_type))
        return iter_new(o, &dict_keys_iter_type);
    if (ty_is(o, &ty_set_type))
        return iter_new(o, &set_iter_type);
    if (ty_is(o, &ty_range_type))
        return ty_range_iter(o);
    if (om_iter_check(o)) {
        om_incref(o);
        return o;
    }
    om_set_error("'%s' object is not iterable", o ? om_type_name(o) : "NULL");
    return NULL;
}

/* Drops the container of an exhausted iterator; returns 0 (the end). */
static int iter_finish(ty_iter *it)
{
    iter_clear(&it->ob);
    return 0;
}

static int sequence_next(ty_iter *it, om_object **item)
{
    om_object *seq = it->seq;
    size_t n = ty_is(seq, &ty_list_type) ? TY_LIST(seq)->size : TY_TUPLE(seq)->size;
    om_object *const *items =
        ty_is(seq, &ty_list_type) ? TY_LIST(seq)->items : TY_TUPLE(seq)->items;
    if (it->pos >= n)
        return iter_finish(it);
    om_object *x = items[it->pos++];
    if (!x) {
        om_set_error("tuple item was cleared by the collector");
        return -1;
    }
    om_incref(x);
    *item = x;
    return 1;
}

static int table_next(ty_iter *it, om_object **item)
{
    ty_table *t = &TY_DICT(it->seq)->t;
    if (it->expect == ITER_BROKEN || t->used != it->expect) {
        it->expect = ITER_BROKEN;
        om_set_error("%s changed size during iteration", om_type_name(it->seq));
        return -1;
    }
    int64_t ix = ty_table_next(t, it->pos);
    if (ix < 0)
        return iter_finish(it);
    it->pos = (size_t)ix + 1;
    ty_entry *e = &ty_table_entries(t)[ix];
    const om_type *type = it->ob.ob_type;
    if (type == &dict_items_iter_type) {
        *item = ty_tuple_pair(ob_runtime_of(&it->ob), e->key, e->value);
        return *item ? 1 : -1;
    }
    *item = type == &dict_values_iter_type ? e->value : e->key;
    om_incref(*item);
    return 1;
}

int om_iter_next_item(om_object *o, om_object **item)
{
    *item = NULL;
    if (ty_is(o, &ty_range_iter_type))
        return ty_range_iter_next(o, item);
    if (!om_iter_check(o))
        return ty_type_error_int("iterator", o);
    ty_iter *it = (ty_iter *)o;
    if (!it->seq)
        return 0;
    if (o->ob_type == &list_iter_type || o->ob_type == &tuple_iter_type)
        return sequence_next(it, item);
    return table_next(it, item);
}

om_object *om_iter_next(om_object *it)
{
    om_object *item;
    int r = om_iter_next_item(it, &item);
    if (r == 0)
        om_error_clear();
    return item;
}
