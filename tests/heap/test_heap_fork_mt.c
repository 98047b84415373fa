/* test_heap_fork_mt.c: fork while other threads allocate and free; the
 * child's heap is consistent and it allocates fine; so does the parent.
 *
 * The swap test is the hard case: three threads free each other's blocks
 * (remote frees, refills, purges) while the main thread forks every 2 ms, so
 * the child inherits pools whose owners stopped half-way through an
 * operation.  The child must get 1000 distinct blocks and pass
 * om_heap_check, in plain and in debug mode. */
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

/* ---- threads that free each other's blocks ---- */

#define SWAP_SLOTS   256
#define SWAP_ROUNDS  40
#define CHILD_BLOCKS 1000

static void *shared[SWAP_SLOTS]; /* atomic exchange: whoever takes a block frees it */
static int swap_stop;

static void *swapper(void *arg)
{
    uint64_t x = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    while (!__atomic_load_n(&swap_stop, __ATOMIC_RELAXED)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t size = (x >> 20) % 64 == 0 ? 200000 : 16 + (x >> 32) % 700;
        void *p = om_malloc(size);
        if (p)
            memset(p, 0x5A, 16);
        void *old = __atomic_exchange_n(&shared[(x >> 8) % SWAP_SLOTS], p, __ATOMIC_ACQ_REL);
        om_free(old);
    }
    return NULL;
}

/* In the child: 1000 distinct, writable blocks, and a clean heap check. */
static void child_allocates_and_checks(void)
{
    alarm(20); /* a lock left held by a thread that is gone: fail, do not hang */
    static unsigned *p[CHILD_BLOCKS];
    for (unsigned i = 0; i < CHILD_BLOCKS; i++) {
        p[i] = om_malloc(16 + (size_t)(i * 7 % 600));
        if (!p[i])
            _exit(2);
        p[i][0] = i;
        p[i][1] = ~i;
    }
    for (unsigned i = 0; i < CHILD_BLOCKS; i++)
        if (p[i][0] != i || p[i][1] != ~i)
            _exit(3); /* the same block was handed out twice */
    om_heap_check();
    for (unsigned i = 0; i < CHILD_BLOCKS; i++)
        om_free(p[i]);
    om_heap_check();
    _exit(0);
}

static void fork_while_swapping(void)
{
    pthread_t t[3];
    __atomic_store_n(&swap_stop, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, swapper, (void *)(uintptr_t)(i + 1));
    int failed = 0;
    for (int round = 0; round < SWAP_ROUNDS; round++) {
        usleep(2000);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_allocates_and_checks();
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    __atomic_store_n(&swap_stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < SWAP_SLOTS; i++) {
        om_free(shared[i]);
        shared[i] = NULL;
    }
    assert_int_equal(failed, 0);
    om_heap_check();
}

static void fork_while_freeing_across_threads(void **state)
{
    (void)state;
    fork_while_swapping();
}

static void fork_while_freeing_across_threads_debug(void **state)
{
    (void)state;
    om_heap_set_debug(1);
    fork_while_swapping();
    om_heap_set_debug(0);
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
        cmocka_unit_test(fork_while_freeing_across_threads),
        cmocka_unit_test(fork_while_freeing_across_threads_debug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
