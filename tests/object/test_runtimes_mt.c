/* test_runtimes_mt.c: runtimes are independent: several threads, each with
 * its own runtime, create, share within it, and release objects at once
 * (also run under ThreadSanitizer). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

#define THREADS 4

typedef struct link {
    om_object ob;
    om_object *next;
    om_object *value;
} link;

static void link_dealloc(om_object *self)
{
    link *l = (link *)self;
    om_xdecref(l->next);
    om_xdecref(l->value);
}

static const om_type link_type = {
    .name = "link",
    .basicsize = sizeof(link),
    .flags = OM_TYPE_GC,
    .dealloc = link_dealloc,
};

typedef struct result {
    int ok;
    uint64_t leaked;
} result;

static void *worker(void *arg)
{
    result *res = arg;
    om_runtime *rt = om_runtime_new(NULL);
    if (!rt)
        return NULL;
    uint64_t start = om_runtime_total_refcount(rt);
    om_object *head = NULL;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        link *l = (link *)om_new(rt, &link_type);
        snprintf(name, sizeof name, "v%d", i % 100);
        l->value = (i % 3) ? om_str_intern_cstr(rt, name) : om_float_from_double(rt, i * 0.5);
        l->next = head;
        head = &l->ob;
    }
    om_decref(head);
    res->ok = om_runtime_total_refcount(rt) == start;
    om_leak_report r;
    res->leaked = om_runtime_leak_report(rt, &r);
    om_runtime_free(rt);
    return NULL;
}

static void test_parallel_runtimes(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    result res[THREADS];
    memset(res, 0, sizeof res);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &res[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_true(res[i].ok);
        assert_int_equal(res[i].leaked, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_runtimes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
