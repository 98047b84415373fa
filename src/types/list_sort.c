/*
 * types/list_sort.c: list.sort and the natural order of the builtin types.
 *
 * The sort is a stable bottom-up merge sort: insertion sort on runs of
 * RUN items, then passes that merge neighbouring runs of doubling width,
 * ping-ponging between the list's buffer and one scratch buffer of n
 * pointers.  O(n log n) comparisons in the worst case, n extra pointers.
 * (Python's timsort adds run detection and galloping on top of the same
 * idea; plain merging keeps this file short.)
 *
 * While the sort runs the list looks empty, so a comparison that reads or
 * changes the list cannot break the sort (Python does the same).  If the
 * comparison changed the list, whatever it put there is dropped and the
 * sort fails with "list modified during sort".  If the comparison fails,
 * the merge in progress is completed without comparing (keeping every item
 * exactly once), the list gets its items back in some order, and the sort
 * fails with the comparison's message.
 */
#include <string.h>

#include "types/containers.h"

#define RUN 16 /* insertion-sorted run length; small enough that n^2/4 stays cheap */

typedef struct sorter {
    om_compare_fn cmp;
    void *arg;
    bool failed;
} sorter;

/* a < b under the sorter's comparison; records a failure. */
static bool less(sorter *s, om_object *a, om_object *b)
{
    if (s->failed)
        return false;
    int r = s->cmp(a, b, s->arg);
    if (r == OM_COMPARE_ERROR) {
        s->failed = true;
        return false;
    }
    return r < 0;
}

static void insertion_sort(sorter *s, om_object **v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        om_object *x = v[i];
        size_t j = i;
        while (j > 0 && less(s, x, v[j - 1])) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Merges src[lo, mid) and src[mid, hi) into dst[lo, hi), stably. */
static void merge(sorter *s, om_object **src, om_object **dst, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        dst[k++] = less(s, src[j], src[i]) ? src[j++] : src[i++];
    while (i < mid)
        dst[k++] = src[i++];
    while (j < hi)
        dst[k++] = src[j++];
}

/* Sorts v[0, n) using tmp; the result is in v. */
static void merge_sort(sorter *s, om_object **v, om_object **tmp, size_t n)
{
    for (size_t lo = 0; lo < n; lo += RUN)
        insertion_sort(s, v + lo, n - lo < RUN ? n - lo : RUN);
    om_object **src = v, **dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            merge(s, src, dst, lo, mid, hi);
        }
        om_object **t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

int om_list_sort(om_object *lo, om_compare_fn cmp, void *arg)
{
    if (!ty_is(lo, &ty_list_type))
        return ty_type_error_int("list", lo);
    ty_list *l = TY_LIST(lo);
    om_runtime *rt = ob_runtime_of(lo);
    ty_list saved = *l;
    if (saved.size < 2)
        return 0;
    om_object **tmp = ob_mem_alloc(rt, saved.size * sizeof(om_object *));
    if (!tmp)
        return -1;
    l->items = NULL;
    l->size = l->allocated = 0;
    sorter s = {.cmp = cmp ? cmp : om_compare, .arg = arg};
    merge_sort(&s, saved.items, tmp, saved.size);
    ob_mem_free(rt, tmp);
    ty_list meddled = *l;
    l->items = saved.items;
    l->size = saved.size;
    l->allocated = saved.allocated;
    if (meddled.items || meddled.size) {
        for (size_t i = 0; i < meddled.size; i++)
            om_decref(meddled.items[i]);
        ob_mem_free(rt, meddled.items);
        om_set_error("list modified during sort");
        return -1;
    }
    return s.failed ? -1 : 0;
}

/* ---- the natural order ------------------------------------------------------ */

static int sign(int64_t d)
{
    return (d > 0) - (d < 0);
}

static int compare_numbers(const om_object *a, const om_object *b)
{
    if (om_int_check(a) && om_int_check(b)) {
        int64_t x = ty_int_value(a), y = ty_int_value(b);
        return (x > y) - (x < y);
    }
    double x, y;
    om_float_as_double(a, &x);
    om_float_as_double(b, &y);
    return (x > y) - (x < y); /* NaN compares equal to everything: no order */
}

static int compare_buffers(const void *p, size_t n, const void *q, size_t m)
{
    int r = memcmp(p, q, n < m ? n : m);
    return r ? sign(r) : sign((int64_t)n - (int64_t)m);
}

static bool is_number(const om_object *o)
{
    return om_int_check(o) || om_float_check(o);
}

/* Tuples: the first pair of unequal items decides, else the lengths. */
static int compare_tuples(om_object *a, om_object *b, void *arg)
{
    ty_tuple *x = TY_TUPLE(a), *y = TY_TUPLE(b);
    size_t n = x->size < y->size ? x->size : y->size;
    for (size_t i = 0; i < n; i++) {
        if (!x->items[i] || !y->items[i]) {
            om_set_error("tuple item was cleared by the collector");
            return OM_COMPARE_ERROR;
        }
        int eq = om_equal(x->items[i], y->items[i]);
        if (eq < 0)
            return OM_COMPARE_ERROR;
        if (!eq)
            return om_compare(x->items[i], y->items[i], arg);
    }
    return sign((int64_t)x->size - (int64_t)y->size);
}

int om_compare(om_object *a, om_object *b, void *arg)
{
    if (is_number(a) && is_number(b))
        return compare_numbers(a, b);
    if (om_str_check(a) && om_str_check(b))
        return compare_buffers(ty_str_data(a), ty_str_nbytes(a), ty_str_data(b), ty_str_nbytes(b));
    if (om_bytes_check(a) && om_bytes_check(b))
        return compare_buffers(om_bytes_as_buffer(a), (size_t)om_bytes_size(a),
                               om_bytes_as_buffer(b), (size_t)om_bytes_size(b));
    if (ty_is(a, &ty_tuple_type) && ty_is(b, &ty_tuple_type))
        return compare_tuples(a, b, arg);
    om_set_error("'<' not supported between instances of '%s' and '%s'",
                 a ? om_type_name(a) : "NULL", b ? om_type_name(b) : "NULL");
    return OM_COMPARE_ERROR;
}
