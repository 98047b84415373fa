/*
 * bench/bench.c: the clock, the report lines, RSS and arguments shared by the
 * benchmark programs (see bench.h for the report format).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_metric(const char *key, double value, const char *unit)
{
    printf("metric %s %.6f %s\n", key, value, unit);
    fflush(stdout);
}

size_t bench_rss(void)
{
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        bench_fail("cannot read /proc/self/statm");
    int n = fscanf(f, "%lu %lu", &pages, &resident);
    fclose(f);
    if (n != 2)
        bench_fail("cannot parse /proc/self/statm");
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

long bench_arg(int argc, char **argv, int i, long dflt)
{
    if (i >= argc)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno || *end || v <= 0)
        bench_fail("%s: argument %d must be a positive integer, not '%s'", argv[0], i, argv[i]);
    return v;
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}
