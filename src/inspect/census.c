/*
 * inspect/census.c: counts by type (objgraph.typestats, most_common_types,
 * count), growth against a peak (objgraph.growth), the difference of two
 * censuses (pympler's summary.get_diff) and objects of a type (by_type).
 *
 * A census groups the graph's objects by type name (two types of the same
 * name count together, as in objgraph) through a small open-addressing
 * table, then copies the names into the result so it outlives the types.
 * Results are sorted most objects first, then by name.
 */
#include <stdlib.h>
#include <string.h>

#include "objmem/containers.h"
#include "inspect/inspect.h"

typedef struct tally {
    om_type_count *items;
    size_t n, cap;
    uint32_t *index; /* item + 1 */
    size_t capindex;
} tally;

static int grow(tally *t)
{
    size_t cap = t->capindex ? t->capindex * 2 : 64;
    uint32_t *index = calloc(cap, sizeof *index);
    om_type_count *items = realloc(t->items, cap / 2 * sizeof *items);
    if (items)
        t->items = items;
    if (!index || !items) {
        free(index);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t j = in_hash_str(t->items[i].name) & (cap - 1);
        while (index[j])
            j = (j + 1) & (cap - 1);
        index[j] = (uint32_t)i + 1;
    }
    free(t->index);
    t->index = index;
    t->capindex = cap;
    t->cap = cap / 2;
    return 0;
}

static int add(tally *t, const char *name, size_t count, size_t bytes)
{
    if (t->n + 1 > t->cap && grow(t) != 0)
        return -1;
    size_t j = in_hash_str(name) & (t->capindex - 1);
    for (; t->index[j]; j = (j + 1) & (t->capindex - 1)) {
        om_type_count *e = &t->items[t->index[j] - 1];
        if (!strcmp(e->name, name)) {
            e->count += count;
            e->bytes += bytes;
            return 0;
        }
    }
    t->items[t->n] = (om_type_count){name, count, bytes};
    t->index[j] = (uint32_t)++t->n;
    return 0;
}

static int by_count(const void *pa, const void *pb)
{
    const om_type_count *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* One block: [om_typestats][items][names]. */
static om_typestats *pack(const tally *t, size_t limit)
{
    size_t n = limit && limit < t->n ? limit : t->n, names = 0, objects = 0, bytes = 0;
    for (size_t i = 0; i < t->n; i++) {
        objects += t->items[i].count;
        bytes += t->items[i].bytes;
    }
    for (size_t i = 0; i < n; i++)
        names += strlen(t->items[i].name) + 1;
    om_typestats *st = malloc(sizeof *st + n * sizeof *st->items + names);
    if (!st) {
        om_set_error("objmem inspect: out of memory for type statistics");
        return NULL;
    }
    *st = (om_typestats){objects, bytes, n, (om_type_count *)(st + 1)};
    char *str = (char *)(st->items + n);
    for (size_t i = 0; i < n; i++) {
        st->items[i] = t->items[i];
        st->items[i].name = str;
        str = stpcpy(str, t->items[i].name) + 1;
    }
    return st;
}

static void tally_free(tally *t)
{
    free(t->items);
    free(t->index);
}

static om_typestats *census(om_runtime *rt, size_t limit)
{
    in_graph g;
    if (in_graph_build(&g, rt, false) != 0)
        return NULL;
    tally t = {0};
    om_typestats *st = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g.n; i++)
        rc = add(&t, om_type_name(g.objs[i]), 1, g.sizes[i]);
    if (rc == 0) {
        qsort(t.items, t.n, sizeof *t.items, by_count);
        st = pack(&t, limit);
    } else {
        om_set_error("objmem inspect: out of memory for type statistics");
    }
    tally_free(&t);
    in_graph_free(&g);
    return st;
}

om_typestats *om_objgraph_typestats(om_runtime *rt)
{
    return census(rt, 0);
}

om_typestats *om_objgraph_most_common_types(om_runtime *rt, size_t limit)
{
    return census(rt, limit ? limit : 10);
}

void om_typestats_free(om_typestats *st)
{
    free(st);
}

size_t om_objgraph_count(om_runtime *rt, const char *type_name)
{
    om_typestats *st = census(rt, 0);
    size_t n = 0;
    for (size_t i = 0; st && type_name && i < st->n; i++)
        if (!strcmp(st->items[i].name, type_name))
            n = st->items[i].count;
    free(st);
    return n;
}

/* ---- differences ------------------------------------------------------------------- */
static const om_type_count *find(const om_typestats *st, const char *name)
{
    for (size_t i = 0; st && i < st->n; i++)
        if (!strcmp(st->items[i].name, name))
            return &st->items[i];
    return NULL;
}

static int64_t iabs(int64_t v)
{
    return v < 0 ? -v : v;
}

static int by_change(const void *pa, const void *pb)
{
    const om_type_diff *a = pa, *b = pb;
    if (iabs(a->count_diff) != iabs(b->count_diff))
        return iabs(a->count_diff) > iabs(b->count_diff) ? -1 : 1;
    if (iabs(a->bytes_diff) != iabs(b->bytes_diff))
        return iabs(a->bytes_diff) > iabs(b->bytes_diff) ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* One block: [om_type_diffs][items][names]; `grown_only` keeps rises. */
static om_type_diffs *diff(const om_typestats *before, const om_typestats *after, bool grown_only,
                           size_t limit)
{
    size_t max = after->n + (before && !grown_only ? before->n : 0), names = 0;
    for (size_t i = 0; i < after->n; i++)
        names += strlen(after->items[i].name) + 1;
    for (size_t i = 0; before && !grown_only && i < before->n; i++)
        names += strlen(before->items[i].name) + 1;
    om_type_diffs *d = malloc(sizeof *d + max * sizeof *d->items + names);
    if (!d) {
        om_set_error("objmem inspect: out of memory for a difference");
        return NULL;
    }
    *d = (om_type_diffs){0, (om_type_diff *)(d + 1)};
    char *str = (char *)(d->items + max);
    for (size_t i = 0; i < after->n; i++) {
        const om_type_count *a = &after->items[i], *b = find(before, a->name);
        int64_t dc = (int64_t)a->count - (int64_t)(b ? b->count : 0);
        int64_t db = (int64_t)a->bytes - (int64_t)(b ? b->bytes : 0);
        if (grown_only ? dc <= 0 : (dc == 0 && db == 0))
            continue;
        d->items[d->n++] = (om_type_diff){str, a->count, a->bytes, dc, db};
        str = stpcpy(str, a->name) + 1;
    }
    for (size_t i = 0; before && !grown_only && i < before->n; i++) {
        const om_type_count *b = &before->items[i];
        if (find(after, b->name))
            continue;
        d->items[d->n++] = (om_type_diff){str, 0, 0, -(int64_t)b->count, -(int64_t)b->bytes};
        str = stpcpy(str, b->name) + 1;
    }
    qsort(d->items, d->n, sizeof *d->items, by_change);
    if (limit && limit < d->n)
        d->n = limit;
    return d;
}

om_type_diffs *om_summary_get_diff(const om_typestats *before, const om_typestats *after)
{
    if (!before || !after) {
        om_set_error("om_summary_get_diff: a census is missing");
        return NULL;
    }
    return diff(before, after, false, 0);
}

/* The new peaks: the larger count of each type in peak and now. */
static om_typestats *merge_peaks(const om_typestats *peak, const om_typestats *now)
{
    tally t = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < now->n; i++) {
        const om_type_count *p = find(peak, now->items[i].name);
        om_type_count c = now->items[i];
        if (p && p->count > c.count)
            c = *p;
        rc = add(&t, c.name, c.count, c.bytes);
    }
    for (size_t i = 0; rc == 0 && peak && i < peak->n; i++)
        if (!find(now, peak->items[i].name))
            rc = add(&t, peak->items[i].name, peak->items[i].count, peak->items[i].bytes);
    om_typestats *st = NULL;
    if (rc == 0) {
        qsort(t.items, t.n, sizeof *t.items, by_count);
        st = pack(&t, 0);
    }
    tally_free(&t);
    return st;
}

om_type_diffs *om_objgraph_growth(om_runtime *rt, om_typestats **peak, size_t limit)
{
    if (!peak) {
        om_set_error("om_objgraph_growth: no place for the peaks");
        return NULL;
    }
    om_typestats *now = census(rt, 0);
    if (!now)
        return NULL;
    om_type_diffs *d = diff(*peak, now, true, limit);
    om_typestats *merged = d ? merge_peaks(*peak, now) : NULL;
    free(now);
    if (!merged) {
        free(d);
        return NULL;
    }
    free(*peak);
    *peak = merged;
    return d;
}

void om_type_diffs_free(om_type_diffs *d)
{
    free(d);
}

/* ---- objects of a type ---------------------------------------------------------------- */
om_object *in_list_of(om_runtime *rt, om_object *const *objs, size_t n)
{
    om_object *list = om_list_new(rt);
    for (size_t i = 0; list && i < n; i++) {
        if (om_list_append(list, objs[i]) != 0) {
            om_decref(list);
            list = NULL;
        }
    }
    return list;
}

om_object *om_objgraph_by_type(om_runtime *rt, const char *type_name)
{
    if (!type_name) {
        om_set_error("om_objgraph_by_type: no type name");
        return NULL;
    }
    in_graph g;
    if (in_graph_build(&g, rt, false) != 0)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (!strcmp(om_type_name(g.objs[i]), type_name))
            g.objs[k++] = g.objs[i];
    om_object *list = in_list_of(rt, g.objs, k);
    in_graph_free(&g);
    return list;
}
