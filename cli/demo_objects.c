/*
 * cli/demo_objects.c: the object section of `objmem demo`.
 *
 * Builds and churns an object graph on one runtime: a registry dict maps
 * bucket names to dict-backed instances; each bucket keeps a list of
 * fixed-slot Item records, and every item points back at its bucket, so
 * each bucket is a cycle.  Each round adds items, replaces some buckets
 * (their cycles become garbage that only the collector can free), looks
 * names up through an LRU cache and walks the registry with iterators.  At
 * the end it prints the live objects by type, what they cost, and the
 * collector's report.
 */
#include <stdio.h>

#include "demo.h"
#include "objmem.h"

OM_RECORD_TYPE(item_type, "Item", "id", "name", "tags", "bucket");

#define BUCKETS 64

typedef struct churn {
    om_runtime *rt;
    om_object *registry; /* str -> instance (bucket) */
    om_object *tags;     /* a few interned strs, shared by every item */
    om_object *lengths;  /* lru cache: name -> len(name) */
    uint64_t seed;
} churn;

static uint64_t next_random(churn *c)
{
    c->seed ^= c->seed << 13;
    c->seed ^= c->seed >> 7;
    c->seed ^= c->seed << 17;
    return c->seed;
}

static om_object *name_length(om_object *name, void *ctx)
{
    (void)ctx;
    return om_int_from_int64(om_runtime_of(name), om_str_len(name));
}

/* A new bucket instance with an empty item list, stored under key. */
static om_object *new_bucket(churn *c, om_object *key)
{
    om_object *b = om_instance_new(c->rt);
    om_object *items = om_list_new(c->rt);
    int ok = b && items && om_instance_setattr(b, "items", items) == 0 &&
             om_instance_setattr(b, "name", key) == 0 && om_dict_setitem(c->registry, key, b) == 0;
    om_xdecref(items);
    if (!ok) {
        om_xdecref(b);
        return NULL;
    }
    return b;
}

/* Adds one Item to the bucket chosen by r. */
static int add_item(churn *c, uint64_t id)
{
    char text[32];
    snprintf(text, sizeof text, "bucket%llu", (unsigned long long)(id % BUCKETS));
    OM_AUTO om_object *key = om_str_intern_cstr(c->rt, text);
    OM_AUTO om_object *bucket = NULL;
    if (!key || om_dict_lookup(c->registry, key, &bucket) < 0)
        return -1;
    if (!bucket && !(bucket = new_bucket(c, key)))
        return -1;
    snprintf(text, sizeof text, "item-%llu", (unsigned long long)id);
    OM_AUTO om_object *item = om_record_new(c->rt, &item_type);
    OM_AUTO om_object *num = om_int_from_int64(c->rt, (int64_t)id);
    OM_AUTO om_object *name = om_str_from_cstr(c->rt, text);
    OM_AUTO om_object *items = bucket ? om_instance_getattr(bucket, "items") : NULL;
    if (!item || !num || !name || !items)
        return -1;
    OM_AUTO om_object *tags = om_tuple_getslice(c->tags, (int64_t)(id % 3), (int64_t)(id % 5));
    if (!tags || om_record_setattr(item, "id", num) < 0 ||
        om_record_setattr(item, "name", name) < 0 || om_record_setattr(item, "tags", tags) < 0 ||
        om_record_setattr(item, "bucket", bucket) < 0 || om_list_append(items, item) < 0)
        return -1;
    OM_AUTO om_object *len = om_lru_call(c->lengths, key); /* 64 names: mostly hits */
    return len ? 0 : -1;
}

/* Drops a bucket from the registry: its cycle is left for the collector. */
static int drop_bucket(churn *c, uint64_t which)
{
    char text[32];
    snprintf(text, sizeof text, "bucket%llu", (unsigned long long)(which % BUCKETS));
    OM_AUTO om_object *key = om_str_intern_cstr(c->rt, text);
    OM_AUTO om_object *old = key ? om_dict_pop(c->registry, key, key) : NULL;
    return old ? 0 : -1;
}

/* Walks the registry: items per bucket, through lazy iterators. */
static int64_t count_items(churn *c)
{
    OM_AUTO om_object *it = om_dict_iter_values(c->registry);
    om_object *bucket;
    int64_t total = 0;
    while (it && om_iter_next_item(it, &bucket) > 0) {
        om_object *items = om_instance_getattr(bucket, "items");
        total += items ? om_list_len(items) : 0;
        om_xdecref(items);
        om_decref(bucket);
    }
    return total;
}

static int churn_setup(churn *c)
{
    const char *words[] = {"red", "green", "blue", "hot", "cold"};
    om_object *w[5];
    c->registry = om_dict_new(c->rt);
    c->lengths = om_lru_cache_new(c->rt, 256, name_length, NULL);
    for (int i = 0; i < 5; i++)
        w[i] = om_str_intern_cstr(c->rt, words[i]);
    c->tags = w[0] && w[4] ? om_tuple_from_array(c->rt, w, 5) : NULL;
    for (int i = 0; i < 5; i++)
        om_xdecref(w[i]);
    return c->registry && c->lengths && c->tags ? 0 : -1;
}

static void print_types(om_runtime *rt)
{
    om_leak_report rep;
    om_heap_stats hs;
    om_runtime_leak_report(rt, &rep);
    om_heap_get_stats(&hs);
    printf("objects: %zu live, %zu KiB in their blocks; the heap holds %zu KiB in all\n",
           rep.objects, rep.bytes >> 10, hs.bytes_in_use >> 10);
    printf("  %-16s %8s %10s\n", "type", "count", "bytes");
    static const char *const head[] = {"type", "objects", "bytes", "bytes an object"};
    bool table = demo_table("Objects: the churned registry, live by type", 4, head) == 0;
    for (size_t i = 0; i < rep.n_types && i < 10; i++) {
        size_t n = rep.types[i].count, bytes = rep.types[i].bytes;
        printf("  %-16s %8zu %10zu\n", rep.types[i].name, n, bytes);
        if (table) {
            demo_cell("%s", rep.types[i].name);
            demo_cell("%zu", n);
            demo_cell("%zu", bytes);
            demo_cell("%.1f", n ? (double)bytes / (double)n : 0.0);
        }
    }
}

static void print_sizes(churn *c)
{
    OM_AUTO om_object *item = om_record_new(c->rt, &item_type);
    OM_AUTO om_object *inst = om_instance_new(c->rt);
    const char *slots[] = {"id", "name", "tags", "bucket"};
    for (int i = 0; i < 4; i++) {
        om_record_setattr(item, slots[i], c->tags);
        om_instance_setattr(inst, slots[i], c->tags);
    }
    OM_AUTO om_object *d = om_instance_dict(inst);
    size_t record = om_sys_getsizeof(item), instance = om_sys_getsizeof(inst) + om_sys_getsizeof(d);
    printf("  4 fields: record %zu bytes, instance + dict %zu bytes (getsizeof)\n", record,
           instance);
    demo_note("objects: a record of 4 fields takes %zu bytes, an instance with a dict %zu "
              "(the __slots__ saving); every object header is %zu bytes",
              record, instance, sizeof(om_object));
}

static int churn_run(churn *c, const demo_options *opt)
{
    int rounds = opt->scale ? 200 : 20, per_round = opt->scale ? 2000 : 400;
    uint64_t id = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < per_round; i++)
            if (add_item(c, id++) < 0)
                return -1;
        for (int i = 0; i < 4; i++)
            if (drop_bucket(c, next_random(c)) < 0)
                return -1;
        int64_t items = count_items(c);
        if (opt->progress) {
            om_runtime_stats st;
            om_runtime_get_stats(c->rt, &st);
            fprintf(stderr,
                    "\r  objects: round %3d/%d  %7lld items in %2lld buckets  %8zu live objects",
                    r + 1, rounds, (long long)items, (long long)om_dict_len(c->registry),
                    st.objects);
            fflush(stderr);
        }
    }
    if (opt->progress)
        fputc('\n', stderr);
    return 0;
}

int demo_objects(const demo_options *opt)
{
    printf("\n== objects: a registry of buckets of records, churned ==\n");
    churn c = {.rt = om_runtime_new(NULL), .seed = 0x2545f4914f6cdd1dull};
    if (!c.rt) {
        fprintf(stderr, "objects: %s\n", om_error_message());
        return -1;
    }
    int r = churn_setup(&c) == 0 ? churn_run(&c, opt) : -1;
    if (r < 0)
        fprintf(stderr, "objects: %s\n", om_error_message());
    else {
        print_sizes(&c);
        om_lru_info info;
        om_lru_cache_info(c.lengths, &info);
        printf("  name-length cache: %llu hits, %llu misses, %lld of %lld entries\n",
               (unsigned long long)info.hits, (unsigned long long)info.misses,
               (long long)info.currsize, (long long)info.maxsize);
        print_types(c.rt);
        long freed = om_gc_collect(c.rt, 2);
        printf("  a full collection freed %ld objects of dropped buckets\n", freed);
        printf("  a second full collection freed %ld (the first found all the garbage)\n",
               om_gc_collect(c.rt, 2));
        demo_note("objects: %ld objects of dropped buckets freed by one full collection; "
                  "name-length cache hit %llu of %llu lookups",
                  freed, (unsigned long long)info.hits,
                  (unsigned long long)(info.hits + info.misses));
        demo_gc_report(c.rt, "the churned registry of records");
    }
    om_xdecref(c.registry);
    om_xdecref(c.lengths);
    om_xdecref(c.tags);
    om_runtime_free(c.rt);
    return r;
}
