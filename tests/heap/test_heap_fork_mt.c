/* test_heap_fork_mt.c: fork while other threads allocate and free; the
 * child's heap is consistent and it allocates fine; so does the parent. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "omtest.h"
#include "objmem.h"

static int stop;

static void *churn(void *arg)
{
    (void)arg;
    void *p[64] = {0};
    unsigned i = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        unsigned k = i++ % 64;
        om_free(p[k]);
        p[k] = om_malloc(16 + (i * 131) % (i % 50 == 0 ? 300000 : 3000));
    }
    for (int k = 0; k < 64; k++)
        om_free(p[k]);
    return NULL;
}

static void fork_while_allocating(void **state)
{
    (void)state;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, churn, NULL);
    for (int round = 0; round < 10; round++) {
        usleep(2000);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            void *p[1000];
            for (int i = 0; i < 1000; i++) {
                p[i] = om_malloc((size_t)(i * 7 % 5000));
                if (!p[i])
                    _exit(2);
            }
            for (int i = 0; i < 1000; i++)
                om_free(p[i]);
            om_release();
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    om_heap_check();
}

static void child_heap_checks_clean(void **state)
{
    (void)state;
    void *kept = om_malloc(100);
    pid_t pid = fork();
    if (pid == 0) {
        om_heap_check();
        om_free(kept);
        void *p = om_malloc(50);
        om_free(p);
        om_heap_check();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    om_free(kept);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fork_while_allocating),
        cmocka_unit_test(child_heap_checks_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
