/*
 * test_fault_mt.c: fault injection under threads: an armed countdown fails
 * exactly one allocation among all the threads that race for it, with the
 * error message on the thread that got the failure.  Runs under
 * ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "objmem.h"
#include "omtest.h"

#define THREADS 4
#define ALLOCS  200

static int failed_by[THREADS]; /* each written by its own thread only */
static int bad_message;        /* atomic */

static void *alloc_all(void *arg)
{
    int me = (int)(intptr_t)arg;
    void *keep[ALLOCS];
    for (int i = 0; i < ALLOCS; i++) {
        errno = 0;
        keep[i] = om_malloc(16 + (size_t)i);
        if (!keep[i]) {
            if (errno != ENOMEM || !strstr(om_error_message(), "injected allocation failure #"))
                __atomic_add_fetch(&bad_message, 1, __ATOMIC_RELAXED);
            failed_by[me]++;
        }
    }
    for (int i = 0; i < ALLOCS; i++)
        om_free(keep[i]);
    return NULL;
}

static void test_one_failure_among_threads(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        uint64_t before = om_heap_failures();
        memset(failed_by, 0, sizeof failed_by);
        om_heap_fail_after(1 + (uint64_t)round * 37); /* within the 800 allocations */
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, alloc_all, (void *)(intptr_t)i), 0);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        int total = 0;
        for (int i = 0; i < THREADS; i++)
            total += failed_by[i];
        assert_int_equal(total, 1);
        assert_int_equal(bad_message, 0);
        assert_int_equal(om_heap_failures(), before + 1);
    }
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_failure_among_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
