/*
 * types/list.c: the mutable sequence.
 *
 * A list is a fixed 40-byte object (48 with the heap's rounding) and a
 * separate buffer of item pointers from the global heap:
 *
 *     list object                      item buffer (om_malloc)
 *     +--------+------+-------+-----+   +----+----+----+------------+
 *     | header | size | alloc | ptr-+-->| a  | b  | c  | spare ...  |
 *     +--------+------+-------+-----+   +----+----+----+------------+
 *
 * Growth over-allocates like CPython's list_resize: when the buffer is
 * full, the new capacity is (n + n/8 + 6) rounded down to a multiple of 4,
 * giving 0, 4, 8, 16, 24, 32, 40, 52, 64, 76, ...: amortised O(1) appends
 * for about 12% of spare room at large sizes.  The buffer shrinks only when
 * less than half of it is in use.
 *
 * Items are dropped last: a decref may run user code (a finalizer) that
 * looks at the list, so the list is made consistent before any item goes.
 */
#include <stdio.h>
#include <string.h>

#include "types/containers.h"

static void list_dealloc(om_object *self)
{
    ty_list *l = TY_LIST(self);
    for (size_t i = 0; i < l->size; i++)
        om_decref(l->items[i]);
    ob_mem_free(ob_runtime_of(self), l->items);
}

static int list_traverse(om_object *self, om_visitproc visit, void *arg)
{
    return ty_visit_items(TY_LIST(self)->items, TY_LIST(self)->size, visit, arg);
}

/* Empties the list, then drops the old items. */
static int list_clear_hook(om_object *self)
{
    ty_list *l = TY_LIST(self);
    om_object **items = l->items;
    size_t n = l->size;
    l->items = NULL;
    l->size = l->allocated = 0;
    for (size_t i = 0; i < n; i++)
        om_decref(items[i]);
    ob_mem_free(ob_runtime_of(self), items);
    return 0;
}

static size_t list_size_of(const om_object *self)
{
    const ty_list *l = (const ty_list *)self;
    return l->items ? hp_usable_size(l->items) : 0;
}

static int list_equal(om_object *a, om_object *b)
{
    if (b->ob_type != &ty_list_type)
        return 0;
    ty_list *x = TY_LIST(a), *y = TY_LIST(b);
    for (size_t i = 0; i < x->size && i < y->size; i++) {
        om_object *p = x->items[i], *q = y->items[i];
        if (p == q)
            continue;
        om_incref(p);
        om_incref(q);
        int r = om_equal(p, q);
        om_decref(p);
        om_decref(q);
        if (r <= 0)
            return r;
    }
    return x->size == y->size;
}

static size_t list_repr(om_object *self, char *buf, size_t size)
{
    return ty_repr_count(self, buf, size, TY_LIST(self)->size, "items");
}

const om_type ty_list_type = {
    .name = "list",
    .basicsize = sizeof(ty_list),
    .flags = OM_TYPE_GC | OM_TYPE_FREELIST,
    .dealloc = list_dealloc,
    .traverse = list_traverse,
    .clear = list_clear_hook,
    .size_of = list_size_of,
    .equal = list_equal,
    .repr = list_repr,
};

bool om_list_check(const om_object *o)
{
    return ty_is(o, &ty_list_type);
}

/* Makes room for newsize items, over-allocating as described above. */
static int list_resize(ty_list *l, size_t newsize)
{
    if (newsize <= l->allocated && newsize >= l->allocated / 2)
        return 0;
    if (newsize > (SIZE_MAX / sizeof(om_object *)) / 2) {
        om_set_error("list of %zu items is too large", newsize);
        return -1;
    }
    size_t cap = (newsize + (newsize >> 3) + 6) & ~(size_t)3;
    if (newsize == 0)
        cap = 0;
    om_object **items;
    if (cap == 0) {
        ob_mem_free(ob_runtime_of(&l->ob), l->items);
        items = NULL;
    } else if (!(items =
                     ob_mem_realloc(ob_runtime_of(&l->ob), l->items, cap * sizeof(om_object *))))
        return -1;
    l->items = items;
    l->allocated = cap;
    return 0;
}

static ty_list *as_list(om_object *l)
{
    if (!ty_is(l, &ty_list_type)) {
        ty_type_error("list", l);
        return NULL;
    }
    return TY_LIST(l);
}

om_object *om_list_new(om_runtime *rt)
{
    return om_new(rt, &ty_list_type);
}

om_object *om_list_from_array(om_runtime *rt, om_object *const *items, size_t n)
{
    if (n > (SIZE_MAX / sizeof(om_object *)) / 2) {
        om_set_error("list of %zu items is too large", n);
        return NULL;
    }
    om_object *o = om_list_new(rt);
    if (!o)
        return NULL;
    ty_list *l = TY_LIST(o);
    if (n && !(l->items = ob_mem_alloc(rt, n * sizeof(om_object *)))) {
        om_decref(o);
        return NULL;
    }
    l->allocated = n; /* exact, like list(tuple): no room to grow yet */
    for (size_t i = 0; i < n; i++) {
        om_incref(items[i]);
        l->items[i] = items[i];
    }
    l->size = n;
    return o;
}

int64_t om_list_len(const om_object *l)
{
    if (!ty_is(l, &ty_list_type))
        return ty_type_error_int("list", l);
    return (int64_t)TY_LIST(l)->size;
}

/* om_list_append when the items are full: grow, then append. */
static OM_NOINLINE int append_grow(ty_list *l, om_object *x)
{
    if (list_resize(l, l->size + 1) < 0)
        return -1;
    om_incref(x);
    l->items[l->size++] = x;
    return 0;
}

/* The fast path calls nothing (the two rare cases leave by tail calls), so
 * it needs no frame. */
int om_list_append(om_object *lo, om_object *x)
{
    if (OM_UNLIKELY(!ty_is(lo, &ty_list_type)))
        return ty_type_error_int("list", lo);
    ty_list *l = TY_LIST(lo);
    ty_same_runtime(lo, x);
    if (OM_UNLIKELY(l->size == l->allocated))
        return append_grow(l, x);
    om_incref(x);
    l->items[l->size++] = x;
    return 0;
}

int om_list_insert(om_object *lo, int64_t i, om_object *x)
{
    ty_list *l = as_list(lo);
    if (!l)
        return -1;
    ty_same_runtime(lo, x);
    size_t at = ty_slice_bound(i, l->size);
    if (list_resize(l, l->size + 1) < 0)
        return -1;
    memmove(&l->items[at + 1], &l->items[at], (l->size - at) * sizeof(om_object *));
    om_incref(x);
    l->items[at] = x;
    l->size++;
    return 0;
}

/* Takes item k out of the list; the caller owns the returned reference. */
static om_object *list_take(ty_list *l, size_t k)
{
    om_object *x = l->items[k];
    memmove(&l->items[k], &l->items[k + 1], (l->size - k - 1) * sizeof(om_object *));
    l->size--;
    if (list_resize(l, l->size) < 0)
        om_error_clear(); /* shrinking is optional: keep the larger buffer */
    return x;
}

om_object *om_list_pop(om_object *lo, int64_t i)
{
    ty_list *l = as_list(lo);
    if (!l)
        return NULL;
    if (!l->size) {
        om_set_error("pop from empty list");
        return NULL;
    }
    int64_t k = ty_index(i, l->size, "pop");
    return k < 0 ? NULL : list_take(l, (size_t)k);
}

om_object *om_list_getitem(om_object *lo, int64_t i)
{
    ty_list *l = as_list(lo);
    if (!l)
        return NULL;
    int64_t k = ty_index(i, l->size, "list");
    if (k < 0)
        return NULL;
    om_incref(l->items[k]);
    return l->items[k];
}

/* The list and the position of index i for an assignment, or NULL. */
static ty_list *assignment_target(om_object *lo, int64_t i, size_t *k)
{
    ty_list *l = as_list(lo);
    int64_t at = l ? ty_index(i, l->size, "list assignment") : -1;
    *k = (size_t)at;
    return at < 0 ? NULL : l;
}

int om_list_setitem(om_object *lo, int64_t i, om_object *x)
{
    size_t k;
    ty_list *l = assignment_target(lo, i, &k);
    if (!l)
        return -1;
    ty_same_runtime(lo, x);
    om_object *old = l->items[k];
    om_incref(x);
    l->items[k] = x;
    om_decref(old);
    return 0;
}

int om_list_delitem(om_object *lo, int64_t i)
{
    size_t k;
    ty_list *l = assignment_target(lo, i, &k);
    if (!l)
        return -1;
    om_decref(list_take(l, k));
    return 0;
}

om_object *om_list_getslice(om_object *lo, int64_t lo_i, int64_t hi_i)
{
    ty_list *l = as_list(lo);
    if (!l)
        return NULL;
    size_t a = ty_slice_bound(lo_i, l->size), b = ty_slice_bound(hi_i, l->size);
    return om_list_from_array(ob_runtime_of(lo), l->items + a, b > a ? b - a : 0);
}

int om_list_extend(om_object *lo, om_object *iterable)
{
    ty_list *l = as_list(lo);
    if (!l)
        return -1;
    if (iterable == lo || ty_is(iterable, &ty_tuple_type)) {
        /* l.extend(l) and tuples: a snapshot of the items first */
        size_t n = ty_is(iterable, &ty_tuple_type) ? TY_TUPLE(iterable)->size : l->size;
        om_object *const *src =
            ty_is(iterable, &ty_tuple_type) ? TY_TUPLE(iterable)->items : l->items;
        if (list_resize(l, l->size + n) < 0)
            return -1;
        src = ty_is(iterable, &ty_tuple_type) ? TY_TUPLE(iterable)->items : l->items;
        for (size_t i = 0; i < n; i++) {
            if (!src[i]) {
                l->size += i;
                om_set_error("tuple item was cleared by the collector");
                return -1;
            }
            om_incref(src[i]);
            l->items[l->size + i] = src[i];
        }
        l->size += n;
        return 0;
    }
    om_object *it = om_iter(iterable);
    if (!it)
        return -1;
    om_object *x;
    int r;
    while ((r = om_iter_next_item(it, &x)) > 0) {
        r = om_list_append(lo, x);
        om_decref(x);
        if (r < 0)
            break;
    }
    om_decref(it);
    return r < 0 ? -1 : 0;
}

int om_list_reverse(om_object *lo)
{
    ty_list *l = as_list(lo);
    if (!l)
        return -1;
    for (size_t i = 0, j = l->size; i + 1 < j; i++, j--) {
        om_object *t = l->items[i];
        l->items[i] = l->items[j - 1];
        l->items[j - 1] = t;
    }
    return 0;
}

int om_list_clear(om_object *lo)
{
    if (!as_list(lo))
        return -1;
    return list_clear_hook(lo);
}

/* The index of the first item equal to x, TY_MISSING, or TY_ERROR. */
static int64_t list_find(ty_list *l, om_object *x)
{
    for (size_t i = 0; i < l->size; i++) {
        om_object *y = l->items[i];
        om_incref(y);
        int r = y == x ? 1 : om_equal(y, x);
        om_decref(y);
        if (r < 0)
            return TY_ERROR;
        if (r)
            return (int64_t)i;
    }
    return TY_MISSING;
}

int64_t om_list_index(om_object *lo, om_object *x)
{
    ty_list *l = as_list(lo);
    int64_t i = l ? list_find(l, x) : TY_ERROR;
    if (i == TY_MISSING) {
        char what[128];
        om_repr(x, what, sizeof what);
        om_set_error("%s not in list", what);
    }
    return i < 0 ? -1 : i;
}

int om_list_contains(om_object *lo, om_object *x)
{
    ty_list *l = as_list(lo);
    int64_t i = l ? list_find(l, x) : TY_ERROR;
    return i == TY_ERROR ? -1 : i >= 0;
}
