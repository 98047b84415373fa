/*
 * tests/preload/helper_known.c: a program whose allocations are known, for
 * the capture tests (test_capture_nosan).  Each function is kept out of line
 * so that it shows in the stacks.
 *
 *   leak_some(n)   n blocks of 1000 bytes, never freed
 *   temp_loop()    1000 blocks of 64 bytes, each freed at once
 *   peak_phase()   10 blocks of 1 MiB live together, then freed
 *   many_small()   20000 blocks of 48 bytes, freed (fills a block or more)
 *
 * Arguments pick extra behaviour: "leak=N", "crash" (SIGSEGV at the end),
 * "kill" (SIGKILL at the end), "fork" (a child also leaks), "big" (100 MiB in
 * 1000-byte blocks, for sampling), "shapes" (stacks that the recorder's
 * cached unwinder must tell apart, see shapes()), "pause" (a burst of
 * events, a second's sleep, one block of 64 MiB: see pause_then_peak()),
 * "execl", "execle", "execlp" (at the end, 3 more blocks leaked, then
 * true(1) replaces the program through that call), anything else is ignored
 * (the HTML test passes a string with markup in it).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE static void leak_some(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(1000);
        memset(p, 1, 1000);
        sink = p;
    }
}

NOINLINE static void temp_loop(void)
{
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(64);
        memset(p, 2, 64);
        sink = p;
        free(p);
    }
}

NOINLINE static void peak_phase(void)
{
    char *v[10];
    for (int i = 0; i < 10; i++) {
        v[i] = malloc(1 << 20);
        memset(v[i], 3, 1 << 20);
    }
    for (int i = 0; i < 10; i++)
        free(v[i]);
}

NOINLINE static void many_small(void)
{
    static char *v[20000];
    for (int i = 0; i < 20000; i++)
        v[i] = malloc(48);
    for (int i = 0; i < 20000; i++)
        free(v[i]);
}

NOINLINE static void big(void)
{
    for (int i = 0; i < 100 * 1024; i++) {
        char *p = malloc(1000);
        sink = p;
        free(p);
    }
}

/* ---- shapes: built without frame pointers (the unwinder's rules that
 * find the caller from the stack pointer), except where said. */
#define NO_FP __attribute__((noinline, optimize("omit-frame-pointer")))

NO_FP static void *shape_leaf(size_t n)
{
    void *p = malloc(n);
    sink = p;
    return p;
}

/* The same frame sizes, so shape_leaf's frame lands at the same place with
 * the same pc under both: only the return address above it differs. */
NO_FP static void shape_a(void)
{
    free(shape_leaf(100));
    sink = NULL;
}

NO_FP static void shape_b(void)
{
    free(shape_leaf(200));
    sink = NULL;
}

NO_FP static void deep_leaf(void)
{
    free(shape_leaf(300));
    sink = NULL;
}

NO_FP static int deep(int n)
{
    volatile int level = n; /* a frame at every level: no loop, no tail call */
    if (n == 0) {
        deep_leaf();
        return 0;
    }
    return deep(n - 1) + 1 + (level - n);
}

NO_FP static void signal_leaf(void)
{
    free(shape_leaf(400));
    sink = NULL;
}

static volatile int signals_seen;

static void on_usr1(int sig)
{
    signal_leaf();
    signals_seen += sig != 0; /* not a tail call: the handler's frame stays */
}

/* shape_a and shape_b in turn (1000 each: 100 and 200 bytes), a recursion
 * 100 deep past the 64 frames kept (50 times 300 bytes), an allocation in a
 * signal handler (10 times 400 bytes), each next to the others' stacks. */
NOINLINE static void shapes(void)
{
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 1000; i++) {
        shape_a();
        shape_b();
        if (i % 20 == 0 && deep(100) != 100)
            abort();
        if (i % 100 == 0)
            raise(SIGUSR1);
    }
}

/* A burst long enough for the recorder to stop reading the clock at every
 * event (and to start its ticker), a pause, then the run's peak: the
 * report must place the peak after the pause, not at the burst's end. */
NOINLINE static void pause_then_peak(void)
{
    for (int i = 0; i < 600000; i++) {
        char *p = malloc(16);
        sink = p;
        free(p);
    }
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);
    char *peak = malloc(64u << 20);
    sink = peak;
    free(peak);
    sink = NULL;
}

/* Leaves through one of the execl family (the last records must be written
 * first): `how` names it.  Returns only if the exec failed. */
NOINLINE static void leave_by_exec(const char *how)
{
    extern char **environ;
    leak_some(3);
    if (!strcmp(how, "execl"))
        execl("/bin/true", "true", (char *)NULL);
    else if (!strcmp(how, "execle"))
        execle("/bin/true", "true", (char *)NULL, environ);
    else
        execlp("true", "true", (char *)NULL);
}

int main(int argc, char **argv)
{
    int leak = 100, crash = 0, kill_self = 0, child = 0;
    const char *exec_by = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "leak=", 5))
            leak = atoi(argv[i] + 5);
        else if (!strcmp(argv[i], "crash"))
            crash = 1;
        else if (!strcmp(argv[i], "kill"))
            kill_self = 1;
        else if (!strcmp(argv[i], "fork"))
            child = 1;
        else if (!strcmp(argv[i], "big"))
            big();
        else if (!strcmp(argv[i], "shapes"))
            shapes();
        else if (!strcmp(argv[i], "pause"))
            pause_then_peak();
        else if (!strncmp(argv[i], "execl", 5))
            exec_by = argv[i];
    }
    leak_some(leak);
    temp_loop();
    peak_phase();
    many_small();
    if (child) {
        pid_t pid = fork();
        if (pid == 0) {
            leak_some(7);
            exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    if (exec_by) {
        leave_by_exec(exec_by);
        return 99;
    }
    if (kill_self)
        kill(getpid(), SIGKILL);
    if (crash)
        raise(SIGSEGV);
    return 0;
}
