/*
 * objects_and_cycles.c: objects freed the moment their last reference goes,
 * and the cycle collector for what reference counting cannot free.
 *
 *   ./build/release/examples/objects_and_cycles
 */
#include <objmem.h>
#include <stdio.h>

static void on_death(om_object *wr, void *arg)
{
    (void)wr;
    printf("  weakref callback: %s died\n", (const char *)arg);
}

int main(void)
{
    om_runtime *rt = om_runtime_new(NULL);
    if (!rt) {
        fprintf(stderr, "%s\n", om_error_message());
        return 1;
    }

    /* A dict of lists, freed as soon as the last reference is dropped. */
    om_object *d = om_dict_new(rt);
    for (int i = 0; i < 3; i++) {
        OM_AUTO om_object *l = om_list_new(rt); /* dropped at the end of the block */
        OM_AUTO om_object *n = om_int_from_int64(rt, i);
        om_list_append(l, n);
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        om_dict_setitem_str(d, key, l);
    }
    printf("dict of %lld lists, %zu bytes (getsizeof)\n", (long long)om_dict_len(d),
           om_sys_getsizeof(d));
    om_decref(d); /* the dict and its lists go now */

    /* A cycle: a list that contains itself.  Only the collector frees it. */
    om_object *cyc = om_list_new(rt);
    om_list_append(cyc, cyc);
    om_object *wr = om_weakref_new(rt, cyc, on_death, "the self-referencing list");
    om_decref(cyc);
    printf("cycle dropped; alive according to its weakref: %s\n",
           om_weakref_alive(wr) ? "yes" : "no");
    long found = om_gc_collect(rt, 2);
    printf("om_gc_collect(rt, 2) found %ld unreachable object(s); alive now: %s\n", found,
           om_weakref_alive(wr) ? "yes" : "no");
    om_decref(wr);

    om_gc_stats gs;
    om_gc_get_stats(rt, &gs);
    printf("collections per generation: %lu %lu %lu\n", (unsigned long)gs.gen[0].collections,
           (unsigned long)gs.gen[1].collections, (unsigned long)gs.gen[2].collections);
    om_runtime_free(rt);
    return 0;
}
