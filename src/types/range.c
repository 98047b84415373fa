/*
 * types/range.c: range(start, stop, step) in O(1) memory.
 *
 * A range is four integers (48 bytes with the header) whatever its length;
 * its iterator is three (40 bytes).  Nothing is ever materialised: len,
 * membership and indexing are arithmetic, and the iterator makes each int
 * as it is asked for (small ones come from the runtime's cache).
 *
 *     range  | header | start | stop | step | len |
 *     iter   | header | next  | step | left |
 *
 * Arithmetic is done in uint64_t, where wrap-around is defined, and the
 * results are exact because every value produced lies between start and
 * stop.  A range longer than INT64_MAX items is refused at creation
 * (Python's len() would overflow on it too).
 */
#include <stdio.h>

#include "types/containers.h"

typedef struct range_iter {
    om_object ob;
    int64_t next;
    int64_t step;
    uint64_t left;
} range_iter;

static om_hash_t range_hash(om_object *self)
{
    ty_range *r = (ty_range *)self;
    uint64_t h = ty_hash_int64(r->len);
    if (r->len > 0)
        h = h * 1000003u ^ ty_hash_int64(r->start);
    if (r->len > 1)
        h = h * 1000003u ^ ty_hash_int64(r->step);
    return h == (uint64_t)-1 ? (uint64_t)-2 : h;
}

/* Equal when they produce the same sequence, as in Python. */
static int range_equal(om_object *a, om_object *b)
{
    if (b->ob_type != &ty_range_type)
        return 0;
    ty_range *x = (ty_range *)a, *y = (ty_range *)b;
    if (x->len != y->len)
        return 0;
    if (x->len == 0)
        return 1;
    return x->start == y->start && (x->len == 1 || x->step == y->step);
}

static size_t range_repr(om_object *self, char *buf, size_t size)
{
    ty_range *r = (ty_range *)self;
    int n = r->step == 1
                ? snprintf(buf, size, "range(%lld, %lld)", (long long)r->start, (long long)r->stop)
                : snprintf(buf, size, "range(%lld, %lld, %lld)", (long long)r->start,
                           (long long)r->stop, (long long)r->step);
    return n < 0 ? 0 : (size_t)n;
}

const om_type ty_range_type = {
    .name = "range",
    .basicsize = sizeof(ty_range),
    .flags = OM_TYPE_IMMUTABLE,
    .hash = range_hash,
    .equal = range_equal,
    .repr = range_repr,
};

const om_type ty_range_iter_type = {
    .name = "range_iterator",
    .basicsize = sizeof(range_iter),
    .flags = OM_TYPE_FREELIST,
};

bool om_range_check(const om_object *o)
{
    return ty_is(o, &ty_range_type);
}

/* Number of items, or UINT64_MAX when it would not fit in an int64. */
static uint64_t range_length(int64_t start, int64_t stop, int64_t step)
{
    uint64_t span, stride;
    if (step > 0 && start < stop) {
        span = (uint64_t)stop - (uint64_t)start - 1;
        stride = (uint64_t)step;
    } else if (step < 0 && start > stop) {
        span = (uint64_t)start - (uint64_t)stop - 1;
        stride = 0 - (uint64_t)step;
    } else {
        return 0;
    }
    uint64_t n = span / stride + 1;
    return n > (uint64_t)INT64_MAX ? UINT64_MAX : n;
}

om_object *om_range(om_runtime *rt, int64_t start, int64_t stop, int64_t step)
{
    if (step == 0) {
        om_set_error("range() arg 3 must not be zero");
        return NULL;
    }
    uint64_t len = range_length(start, stop, step);
    if (len == UINT64_MAX) {
        om_set_error("range has more than 2**63 - 1 items");
        return NULL;
    }
    om_object *o = om_new(rt, &ty_range_type);
    if (!o)
        return NULL;
    ty_range *r = (ty_range *)o;
    r->start = start;
    r->stop = stop;
    r->step = step;
    r->len = (int64_t)len;
    return o;
}

int64_t om_range_len(const om_object *r)
{
    return ty_is(r, &ty_range_type) ? ((const ty_range *)r)->len : ty_type_error_int("range", r);
}

int om_range_item(const om_object *o, int64_t i, int64_t *out)
{
    if (!ty_is(o, &ty_range_type))
        return ty_type_error_int("range", o);
    const ty_range *r = (const ty_range *)o;
    int64_t k = ty_index(i, (size_t)r->len, "range object");
    if (k < 0)
        return -1;
    *out = (int64_t)((uint64_t)r->start + (uint64_t)k * (uint64_t)r->step);
    return 0;
}

int om_range_contains(const om_object *o, int64_t v)
{
    if (!ty_is(o, &ty_range_type))
        return ty_type_error_int("range", o);
    const ty_range *r = (const ty_range *)o;
    if (r->len == 0)
        return 0;
    uint64_t offset, stride;
    if (r->step > 0) {
        if (v < r->start || v >= r->stop)
            return 0;
        offset = (uint64_t)v - (uint64_t)r->start;
        stride = (uint64_t)r->step;
    } else {
        if (v > r->start || v <= r->stop)
            return 0;
        offset = (uint64_t)r->start - (uint64_t)v;
        stride = 0 - (uint64_t)r->step;
    }
    return offset % stride == 0;
}

om_object *ty_range_iter(om_object *range)
{
    const ty_range *r = (const ty_range *)range;
    om_object *o = om_new(ob_runtime_of(range), &ty_range_iter_type);
    if (!o)
        return NULL;
    range_iter *it = (range_iter *)o;
    it->next = r->start;
    it->step = r->step;
    it->left = (uint64_t)r->len;
    return o;
}

int ty_range_iter_next(om_object *o, om_object **item)
{
    range_iter *it = (range_iter *)o;
    if (!it->left)
        return 0;
    om_object *x = om_int_from_int64(ob_runtime_of(o), it->next);
    if (!x)
        return -1;
    it->left--;
    it->next = (int64_t)((uint64_t)it->next + (uint64_t)it->step);
    *item = x;
    return 1;
}
