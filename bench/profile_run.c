/*
 * bench/profile_run.c: the cost of `objmem run`, side by side with heaptrack,
 * and the preloaded allocator against mimalloc preloaded.
 *
 * A driver: it runs other programs and reports ratios.  The workload is
 * bench_binary_trees_sys (benchmarks-game binary trees on malloc/free, built
 * beside this program), whose own "metric time" times only its measured phase.
 *
 *   full DEPTH          plain (glibc), under `objmem run` (libunwind stacks),
 *                       under heaptrack: slowdown (against plain),
 *                       recording_slowdown (against objmem preloaded but not
 *                       recording: the recorder's own cost), heaptrack_slowdown,
 *                       the capture sizes (capture_ratio = heaptrack's / objmem's)
 *   fp DEPTH            the same with frame-pointer stacks
 *   sample DEPTH BYTES  `objmem run --sample BYTES`: slowdown
 *   alloc DEPTH         preloaded objmem alone vs mimalloc preloaded: binary
 *                       trees (ratio_trees), and the whole run of python3 on a
 *                       workload and of gcc compiling a file (ratio_python,
 *                       ratio_gcc); above 1, objmem is slower
 *
 * Times are the programs' own "metric time" (wall), or with BENCH_CLOCK=cpu
 * the CPU seconds of each whole command (see run_timed).  Each measurement
 * is one run (TRIES); the runner repeats the whole program and takes
 * medians.  Programs that are missing (heaptrack,
 * mimalloc, python3, gcc) leave their metric out and say so in an info line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_api.h"
#include "bench.h"

#define TRIES 1

static char here[1024], scratch[1100];

static void locate(void)
{
    ssize_t n = readlink("/proc/self/exe", here, sizeof here - 1);
    if (n <= 0)
        bench_fail("cannot read /proc/self/exe");
    here[n] = '\0';
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    snprintf(scratch, sizeof scratch, "%s/profile-scratch", here);
    mkdir(scratch, 0755);
}

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

/* CPU seconds (user + system) of every child process waited for so far:
 * the shell, the program, and whatever they ran and waited for. */
static double children_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Runs a shell command; returns the value of its "metric time" line, or the
 * wall time of the whole command when it prints none (-1: it failed).  With
 * BENCH_CLOCK=cpu, as the runner's time rows, the CPU seconds of the whole
 * command instead, every process and thread of it (so heaptrack's
 * interpreter and objmem's ticker count), which a loaded machine disturbs
 * far less than wall time. */
static double run_timed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double run_timed(const char *fmt, ...)
{
    char cmd[4096], line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    const char *clock = getenv("BENCH_CLOCK");
    bool cpu = clock && !strcmp(clock, "cpu");
    double t0 = bench_now(), c0 = children_cpu(), inner = -1;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "metric time %lf", &inner) == 1)
            continue;
    int status = pclose(p);
    double wall = bench_now() - t0;
    if (status != 0) {
        fprintf(stderr, "profile_run: failed: %s\n", cmd);
        return -1;
    }
    if (cpu)
        return children_cpu() - c0;
    return inner >= 0 ? inner : wall;
}

static double best_of(double a, double b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static double file_mib(const char *pattern)
{
    char cmd[2048], line[64];
    snprintf(cmd, sizeof cmd, "cat %s 2>/dev/null | wc -c", pattern);
    FILE *p = popen(cmd, "r");
    double bytes = 0;
    if (p && fgets(line, sizeof line, p))
        bytes = atof(line);
    if (p)
        pclose(p);
    return bytes / BENCH_MIB;
}

static void profile(const char *mode, long depth, long sample)
{
    char opts[128] = "";
    if (!strcmp(mode, "fp"))
        snprintf(opts, sizeof opts, "--unwind fp");
    else if (!strcmp(mode, "sample"))
        snprintf(opts, sizeof opts, "--sample %ld", sample);
    double plain = -1, run = -1, ht = -1, alone = -1;
    int heaptrack = have("heaptrack") && strcmp(mode, "sample");
    for (int i = 0; i < TRIES; i++) {
        plain = best_of(plain, run_timed("'%s/bench_binary_trees_sys' %ld", here, depth));
        alone = best_of(alone, run_timed("LD_PRELOAD='%s/../preload/libobjmem-preload.so' "
                                         "'%s/bench_binary_trees_sys' %ld",
                                         here, here, depth));
        run =
            best_of(run, run_timed("rm -f '%s'/run.cap*; '%s/../objmem' run -q %s -o '%s/run.cap' "
                                   "-- '%s/bench_binary_trees_sys' %ld",
                                   scratch, here, opts, scratch, here, depth));
        if (heaptrack)
            ht = best_of(ht, run_timed("rm -f '%s'/ht.*; heaptrack -o '%s/ht' "
                                       "'%s/bench_binary_trees_sys' %ld 2>/dev/null",
                                       scratch, scratch, here, depth));
    }
    if (plain <= 0 || run <= 0)
        bench_fail("a run failed");
    bench_metric("slowdown", run / plain, "x");
    if (alone > 0)
        bench_metric("recording_slowdown", run / alone, "x");
    bench_metric("plain_time", plain, "s");
    bench_metric("preloaded_time", alone, "s");
    bench_metric("objmem_run_time", run, "s");
    char pattern[1200];
    snprintf(pattern, sizeof pattern, "'%s'/run.cap", scratch);
    double ours = file_mib(pattern);
    bench_metric("capture_mib", ours, "MiB");
    if (heaptrack && ht > 0) {
        snprintf(pattern, sizeof pattern, "'%s'/ht.*", scratch);
        double theirs = file_mib(pattern);
        bench_metric("heaptrack_slowdown", ht / plain, "x");
        bench_metric("heaptrack_mib", theirs, "MiB");
        bench_metric("capture_ratio", ours > 0 ? theirs / ours : 0, "x");
    } else if (strcmp(mode, "sample")) {
        printf("info heaptrack missing\n");
    }
}

static void allocators(long depth)
{
    char lib[1200];
    snprintf(lib, sizeof lib, "%s/../preload/libobjmem-preload.so", here);
    const char *mi =
        getenv("BENCH_LIB_MIMALLOC") ? getenv("BENCH_LIB_MIMALLOC") : "libmimalloc.so.2";
    if (run_timed("LD_PRELOAD='%s' '%s/bench_binary_trees_sys' 4 2>&1 | grep -q mimalloc", mi,
                  here) < 0) {
        printf("info mimalloc missing\n");
        return;
    }
    int full = depth >= 14; /* quick sizes: smaller python and gcc runs too */
    char py[512];
    snprintf(py, sizeof py,
             "python3 -c 'import json; d = [json.dumps({str(i): [i] * (i %% 40)}) "
             "for i in range(%d)]; print(sum(map(len, d)))' >/dev/null",
             full ? 150000 : 3000);
    char src[1200];
    snprintf(src, sizeof src, "%s/tree.c", scratch);
    FILE *f = fopen(src, "w");
    if (!f)
        bench_fail("cannot write %s", src);
    for (int i = 0; i < (full ? 300 : 20); i++)
        fprintf(f,
                "static int f%d(int x) { int a[%d]; for (int i = 0; i < %d; i++) a[i] = x * i; "
                "return a[x %% %d]; }\n",
                i, i % 50 + 1, i % 50 + 1, i % 50 + 1);
    fprintf(f, "int main(void) { return f1(0) + f19(3); }\n");
    fclose(f);
    double om[3] = {-1, -1, -1}, mim[3] = {-1, -1, -1};
    for (int i = 0; i < TRIES; i++) {
        const char *libs[2] = {lib, mi};
        double *out[2] = {om, mim};
        for (int k = 0; k < 2; k++) {
            out[k][0] =
                best_of(out[k][0], run_timed("LD_PRELOAD='%s' '%s/bench_binary_trees_sys' %ld",
                                             libs[k], here, depth));
            if (have("python3"))
                out[k][1] = best_of(out[k][1], run_timed("LD_PRELOAD='%s' %s", libs[k], py));
            if (have("gcc"))
                out[k][2] =
                    best_of(out[k][2], run_timed("LD_PRELOAD='%s' gcc -O2 -c -o '%s/tree.o' '%s'",
                                                 libs[k], scratch, src));
        }
    }
    static const char *names[3] = {"ratio_trees", "ratio_python", "ratio_gcc"};
    for (int k = 0; k < 3; k++)
        if (om[k] > 0 && mim[k] > 0)
            bench_metric(names[k], om[k] / mim[k], "x");
}

int main(int argc, char **argv)
{
    bench_alloc_start();
    locate();
    const char *mode = argc > 1 ? argv[1] : "full";
    long depth = bench_arg(argc, argv, 2, 16);
    if (!strcmp(mode, "full") || !strcmp(mode, "fp"))
        profile(mode, depth, 0);
    else if (!strcmp(mode, "sample"))
        profile(mode, depth, bench_arg(argc, argv, 3, 524288));
    else if (!strcmp(mode, "alloc"))
        allocators(depth);
    else
        bench_fail("usage: profile_run full|fp|sample|alloc DEPTH [BYTES]");
    return 0;
}
