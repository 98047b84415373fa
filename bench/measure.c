/*
 * bench/measure.c: runs one benchmark process and reports what only its
 * parent can see: wall time, CPU time and peak RSS (bench/run calls it).
 *
 *     bench_measure [-p PRELOAD] [-t SECONDS] -- PROGRAM [ARG ...]
 *
 * -p sets LD_PRELOAD for the child alone (that is how mimalloc, jemalloc and
 * tcmalloc replace malloc); -t kills a child that runs longer (default 600).
 * The child writes to our stdout and stderr; once it has ended we append, in
 * the benchmark programs' format (see bench.h),
 *
 *     metric wall SECONDS s
 *     metric cpu SECONDS s              user + system, every thread
 *     metric peak_rss KIB KiB           getrusage of the child: ru_maxrss
 *
 * and exit with the child's status (128 + signal when it was killed, 124 on
 * a timeout).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define DEFAULT_TIMEOUT 600
#define EXIT_TIMEOUT    124

static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    kill(child, SIGKILL);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void usage(void)
{
    fputs("usage: bench_measure [-p PRELOAD] [-t SECONDS] -- PROGRAM [ARG ...]\n", stderr);
    exit(2);
}

static pid_t spawn(char **argv, const char *preload)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_measure: fork");
        exit(2);
    }
    if (pid == 0) {
        if (preload && setenv("LD_PRELOAD", preload, 1) != 0)
            _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "bench_measure: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    const char *preload = NULL;
    unsigned timeout = DEFAULT_TIMEOUT;
    int opt;
    while ((opt = getopt(argc, argv, "+p:t:")) != -1) {
        if (opt == 'p')
            preload = optarg;
        else if (opt == 't')
            timeout = (unsigned)atoi(optarg);
        else
            usage();
    }
    if (optind >= argc)
        usage();

    double t0 = bench_now();
    child = spawn(argv + optind, preload);
    signal(SIGALRM, on_alarm);
    alarm(timeout);
    int status;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    double wall = bench_now() - t0;
    alarm(0);
    if (r < 0) {
        perror("bench_measure: wait4");
        return 2;
    }

    bench_metric("wall", wall, "s");
    bench_metric("cpu", seconds(ru.ru_utime) + seconds(ru.ru_stime), "s");
    bench_metric("peak_rss", (double)ru.ru_maxrss, "KiB");
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGKILL && wall >= timeout) {
            fprintf(stderr, "bench_measure: %s ran longer than %u s\n", argv[optind], timeout);
            return EXIT_TIMEOUT;
        }
        fprintf(stderr, "bench_measure: %s died of signal %d\n", argv[optind], sig);
        return 128 + sig;
    }
    return WEXITSTATUS(status);
}
