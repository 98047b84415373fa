/*
 * trace/stats.c: statistics of a snapshot grouped by line, file or
 * traceback (tracemalloc's Snapshot.statistics) and the difference between
 * two snapshots (Snapshot.compare_to).
 *
 * One pass over the traces adds each trace's size and count to its key's
 * entry, found through an open-addressing index of entry numbers that grows
 * at half full.  Keys compare by content (file name, line, frames), not by
 * pointer, so keys of two different snapshots match in compare_to.
 *
 *   BY_LINENO     key = first frame's (file, line)      cumulative: every frame
 *   BY_FILENAME   key = first frame's file              cumulative: every frame
 *   BY_TRACEBACK  key = every frame's (file, line)      never cumulative
 *
 * With cumulative, a trace counts once under each distinct key among its
 * frames (a recursive function is not counted twice).
 * The entries are sorted biggest first: size, then count, then key.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"

typedef struct grouper {
    om_trace_key key;
    om_trace_stat *items;
    om_trace_frame *keyframes; /* one per item for line and file keys */
    size_t n, cap;
    uint32_t *index; /* item + 1; 0 empty */
    size_t capindex;
} grouper;

static uint64_t mix_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t key_hash(const om_trace_traceback *k, om_trace_key key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < k->nframe; i++) {
        h = mix_str(h, k->frames[i].filename);
        if (key != OM_TRACE_BY_FILENAME)
            h = (h ^ k->frames[i].lineno) * 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

static bool frame_equal(const om_trace_frame *a, const om_trace_frame *b, om_trace_key key)
{
    return (a->filename == b->filename || !strcmp(a->filename, b->filename)) &&
           (key == OM_TRACE_BY_FILENAME || a->lineno == b->lineno);
}

static bool key_equal(const om_trace_traceback *a, const om_trace_traceback *b, om_trace_key key)
{
    if (a->nframe != b->nframe)
        return false;
    for (unsigned i = 0; i < a->nframe; i++)
        if (!frame_equal(&a->frames[i], &b->frames[i], key))
            return false;
    return true;
}

static int grow_index(grouper *g)
{
    size_t cap = g->capindex ? g->capindex * 2 : 256;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        size_t j = key_hash(&g->items[i].traceback, g->key) & (cap - 1);
        while (index[j])
            j = (j + 1) & (cap - 1);
        index[j] = (uint32_t)i + 1;
    }
    free(g->index);
    g->index = index;
    g->capindex = cap;
    return 0;
}

static int grow_items(grouper *g)
{
    size_t cap = g->cap ? g->cap * 2 : 64;
    om_trace_stat *items = realloc(g->items, cap * sizeof *items);
    if (!items)
        return -1;
    g->items = items;
    om_trace_frame *kf = realloc(g->keyframes, cap * sizeof *kf);
    if (!kf)
        return -1;
    /* the items' one-frame keys point into keyframes: follow the move */
    for (size_t i = 0; i < g->n && g->key != OM_TRACE_BY_TRACEBACK; i++)
        g->items[i].traceback.frames = kf + i;
    g->keyframes = kf;
    g->cap = cap;
    return 0;
}

/* The entry of key k (added, zeroed, when new); NULL when memory ran out. */
static om_trace_stat *entry(grouper *g, const om_trace_traceback *k)
{
    if ((g->n + 1) * 2 > g->capindex && grow_index(g) != 0)
        return NULL;
    size_t j = key_hash(k, g->key) & (g->capindex - 1);
    for (; g->index[j]; j = (j + 1) & (g->capindex - 1))
        if (key_equal(&g->items[g->index[j] - 1].traceback, k, g->key))
            return &g->items[g->index[j] - 1];
    if (g->n == g->cap && grow_items(g) != 0)
        return NULL;
    om_trace_stat *e = &g->items[g->n];
    *e = (om_trace_stat){0, 0, *k};
    if (g->key != OM_TRACE_BY_TRACEBACK) {
        om_trace_frame *f = &g->keyframes[g->n];
        *f = k->frames[0];
        if (g->key == OM_TRACE_BY_FILENAME) {
            f->lineno = 0;
            f->function = "";
            f->address = 0;
        }
        e->traceback.frames = f;
        e->traceback.nframe = 1;
        e->traceback.total_nframe = 1;
    }
    g->index[j] = (uint32_t)++g->n;
    return e;
}

static bool seen_before(const om_trace_traceback *tb, unsigned i, om_trace_key key)
{
    for (unsigned j = 0; j < i; j++)
        if (frame_equal(&tb->frames[j], &tb->frames[i], key))
            return true;
    return false;
}

static int add_trace(grouper *g, const om_trace_traceback *tb, size_t size, bool cumulative)
{
    if (tb->nframe == 0)
        return 0;
    unsigned nkeys = cumulative ? tb->nframe : 1;
    for (unsigned i = 0; i < nkeys; i++) {
        if (g->key != OM_TRACE_BY_TRACEBACK && seen_before(tb, i, g->key))
            continue;
        om_trace_traceback k = *tb;
        if (g->key != OM_TRACE_BY_TRACEBACK) {
            k.frames = tb->frames + i;
            k.nframe = 1;
        }
        om_trace_stat *e = entry(g, &k);
        if (!e)
            return -1;
        e->size += size;
        e->count++;
    }
    return 0;
}

static int compare_keys(const om_trace_traceback *a, const om_trace_traceback *b)
{
    for (unsigned i = 0; i < a->nframe && i < b->nframe; i++) {
        int c = strcmp(a->frames[i].filename, b->frames[i].filename);
        if (c)
            return c;
        if (a->frames[i].lineno != b->frames[i].lineno)
            return a->frames[i].lineno < b->frames[i].lineno ? -1 : 1;
    }
    return (int)a->nframe - (int)b->nframe;
}

static int by_size(const void *pa, const void *pb)
{
    const om_trace_stat *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return compare_keys(&a->traceback, &b->traceback);
}

static bool valid_key(om_trace_key key, bool cumulative, const char *who)
{
    if (key != OM_TRACE_BY_LINENO && key != OM_TRACE_BY_FILENAME && key != OM_TRACE_BY_TRACEBACK) {
        om_set_error("%s: unknown key type %d", who, (int)key);
        return false;
    }
    if (cumulative && key == OM_TRACE_BY_TRACEBACK) {
        om_set_error("%s: cumulative is only valid with BY_LINENO or BY_FILENAME", who);
        return false;
    }
    return true;
}

static void grouper_free(grouper *g)
{
    free(g->items);
    free(g->keyframes);
    free(g->index);
}

/* group: every trace of s into g; the items are left unsorted. */
static int group(grouper *g, const om_trace_snapshot *s, om_trace_key key, bool cumulative)
{
    memset(g, 0, sizeof *g);
    g->key = key;
    for (size_t i = 0; i < s->ntraces; i++) {
        om_trace_traceback tb = tr_snapshot_traceback(s, s->traces[i].tb);
        if (add_trace(g, &tb, s->traces[i].size, cumulative) != 0) {
            grouper_free(g);
            om_set_error("om_trace statistics: out of memory");
            return -1;
        }
    }
    return 0;
}

/* The result owns one block: [om_trace_stats][items][key frames]. */
om_trace_stats *om_trace_snapshot_statistics(const om_trace_snapshot *s, om_trace_key key,
                                             bool cumulative)
{
    grouper g;
    if (!s) {
        om_set_error("om_trace_snapshot_statistics: no snapshot");
        return NULL;
    }
    if (!valid_key(key, cumulative, "om_trace_snapshot_statistics") ||
        group(&g, s, key, cumulative) != 0)
        return NULL;
    om_trace_stats *st = malloc(sizeof *st + g.n * (sizeof *g.items + sizeof *g.keyframes));
    if (!st) {
        grouper_free(&g);
        om_set_error("om_trace_snapshot_statistics: out of memory");
        return NULL;
    }
    *st = (om_trace_stats){key, cumulative, g.n, (om_trace_stat *)(st + 1)};
    om_trace_frame *kf = (om_trace_frame *)(st->items + g.n);
    for (size_t i = 0; i < g.n; i++) {
        st->items[i] = g.items[i];
        if (key != OM_TRACE_BY_TRACEBACK) {
            kf[i] = g.keyframes[i];
            st->items[i].traceback.frames = &kf[i];
        }
    }
    grouper_free(&g);
    qsort(st->items, st->n, sizeof *st->items, by_size);
    return st;
}

void om_trace_stats_free(om_trace_stats *st)
{
    free(st);
}

/* ---- compare_to ----------------------------------------------------------------- */
static int64_t iabs(int64_t v)
{
    return v < 0 ? -v : v;
}

static int by_change(const void *pa, const void *pb)
{
    const om_trace_stat_diff *a = pa, *b = pb;
    if (iabs(a->size_diff) != iabs(b->size_diff))
        return iabs(a->size_diff) > iabs(b->size_diff) ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (iabs(a->count_diff) != iabs(b->count_diff))
        return iabs(a->count_diff) > iabs(b->count_diff) ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return compare_keys(&a->traceback, &b->traceback);
}

static om_trace_stat *lookup(grouper *g, const om_trace_traceback *k)
{
    size_t j = key_hash(k, g->key) & (g->capindex - 1);
    for (; g->capindex && g->index[j]; j = (j + 1) & (g->capindex - 1))
        if (key_equal(&g->items[g->index[j] - 1].traceback, k, g->key))
            return &g->items[g->index[j] - 1];
    return NULL;
}

/* match: pair every key of the new grouping with the old one (count = -1
 * marks an old entry taken), then add the keys only the old one has. */
static size_t match(grouper *now, grouper *old, om_trace_stat_diff *out, om_trace_frame *kf)
{
    size_t n = 0;
    for (size_t i = 0; i < now->n; i++) {
        const om_trace_stat *e = &now->items[i];
        om_trace_stat *o = old->capindex ? lookup(old, &e->traceback) : NULL;
        size_t osize = o ? o->size : 0, ocount = o ? o->count : 0;
        if (o)
            o->count = SIZE_MAX;
        out[n++] = (om_trace_stat_diff){e->size, (int64_t)e->size - (int64_t)osize, e->count,
                                        (int64_t)e->count - (int64_t)ocount, e->traceback};
    }
    for (size_t i = 0; i < old->n; i++) {
        const om_trace_stat *o = &old->items[i];
        if (o->count != SIZE_MAX)
            out[n++] =
                (om_trace_stat_diff){0, -(int64_t)o->size, 0, -(int64_t)o->count, o->traceback};
    }
    for (size_t i = 0; i < n && now->key != OM_TRACE_BY_TRACEBACK; i++) {
        kf[i] = out[i].traceback.frames[0];
        out[i].traceback.frames = &kf[i];
    }
    return n;
}

om_trace_diffs *om_trace_snapshot_compare_to(const om_trace_snapshot *s,
                                             const om_trace_snapshot *old, om_trace_key key,
                                             bool cumulative)
{
    grouper now, before;
    if (!s || !old) {
        om_set_error("om_trace_snapshot_compare_to: no snapshot");
        return NULL;
    }
    if (!valid_key(key, cumulative, "om_trace_snapshot_compare_to") ||
        group(&now, s, key, cumulative) != 0)
        return NULL;
    if (group(&before, old, key, cumulative) != 0) {
        grouper_free(&now);
        return NULL;
    }
    size_t max = now.n + before.n;
    om_trace_diffs *d = malloc(sizeof *d + max * (sizeof *d->items + sizeof(om_trace_frame)));
    if (d) {
        *d = (om_trace_diffs){key, cumulative, 0, (om_trace_stat_diff *)(d + 1)};
        d->n = match(&now, &before, d->items, (om_trace_frame *)(d->items + max));
        qsort(d->items, d->n, sizeof *d->items, by_change);
    } else {
        om_set_error("om_trace_snapshot_compare_to: out of memory");
    }
    grouper_free(&now);
    grouper_free(&before);
    return d;
}

void om_trace_diffs_free(om_trace_diffs *d)
{
    free(d);
}
