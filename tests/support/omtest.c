/* omtest.c: death tests and a reproducible random source for the tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "omtest.h"

static char child_output[8192];

const char *omtest_expect_abort(void (*fn)(void *), void *arg, const char *expect)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        signal(SIGABRT, SIG_DFL);
        fn(arg);
        _exit(0); /* returning means nothing was detected */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], child_output + len, sizeof child_output - 1 - len)) > 0)
        len += (size_t)n;
    child_output[len] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)) {
        fprintf(stderr, "child did not abort (status %d); it printed:\n%s\n", status, child_output);
        fail();
    }
    if (expect && !strstr(child_output, expect)) {
        fprintf(stderr, "expected '%s' in the child's stderr:\n%s\n", expect, child_output);
        fail();
    }
    return child_output;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

void omtest_srand(uint64_t seed)
{
    rng_state = seed ? seed : 1;
}

uint64_t omtest_rand(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
