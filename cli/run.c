/*
 * cli/run.c: `objmem run [options] [--] PROG ARGS`: runs a program, unchanged,
 * on objmem's heap through LD_PRELOAD, records a capture and prints its
 * summary.
 *
 * The child gets three variables: LD_PRELOAD (the preload library first,
 * anything already there after it), OBJMEM_CAPTURE (the file) and
 * OBJMEM_CAPTURE_PID (its own pid, so that only it writes to that exact name;
 * forked children write NAME.PID), plus the OBJMEM_PRELOAD_* options given on
 * the command line.  A program that cannot be started is told apart from one
 * that fails: the child reports exec's errno through a close-on-exec pipe.
 *
 * While the program runs, objmem ignores SIGINT and SIGQUIT (as system(3)
 * does): ^C reaches the program, and objmem still reports what was recorded.
 * The exit status is the program's; 128+N when signal N killed it; 127 when
 * it could not be found, 126 when it could not be run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define PRELOAD_NAME "libobjmem-preload.so"

typedef struct run_args {
    const char *output;
    const char *sample, *unwind, *depth, *interval;
    char sample_text[32], depth_text[32], interval_text[32]; /* k/m suffixes worked out */
    int report, quiet;
    char **argv; /* the program and its arguments */
} run_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: objmem run [options] [--] PROG [ARGS...]\n"
               "  -o, --output FILE   capture file (default objmem.PROG.PID.cap)\n"
               "  --sample BYTES      record one allocation per BYTES on average (0: all)\n"
               "  --unwind MODE       libunwind (default) or fp (frame pointers, faster)\n"
               "  --depth N           frames kept per stack, 1 to 128 (default 64)\n"
               "  --interval MS       milliseconds between RSS samples (default 10)\n"
               "  --no-report         do not print the summary afterwards\n"
               "  -q, --quiet         print nothing but errors\n");
}

/* Checks a number option (k and m suffixes allowed); -1 with a message. */
static long number_option(const char *name, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    if (errno || end == v || *end || n < lo || n > hi / mul) {
        fprintf(stderr, "objmem run: %s wants a number from %ld to %ld, not '%s'\n", name, lo, hi,
                v);
        return -1;
    }
    return n * mul;
}

/* Replaces a given number option by its plain decimal value (the form the
 * OBJMEM_ variables take).  -1 with a message when it does not fit. */
static int normalise(const char **v, const char *name, long lo, long hi, char text[32])
{
    if (!*v)
        return 0;
    long n = number_option(name, *v, lo, hi);
    if (n < 0)
        return -1;
    snprintf(text, 32, "%ld", n);
    *v = text;
    return 0;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    static const struct option longs[] = {{"output", required_argument, 0, 'o'},
                                          {"sample", required_argument, 0, 's'},
                                          {"unwind", required_argument, 0, 'u'},
                                          {"depth", required_argument, 0, 'd'},
                                          {"interval", required_argument, 0, 'i'},
                                          {"no-report", no_argument, 0, 'n'},
                                          {"quiet", no_argument, 0, 'q'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+o:qh", longs, NULL)) != -1) {
        switch (ch) {
        case 'o':
            a->output = optarg;
            break;
        case 's':
            a->sample = optarg;
            break;
        case 'u':
            a->unwind = optarg;
            break;
        case 'd':
            a->depth = optarg;
            break;
        case 'i':
            a->interval = optarg;
            break;
        case 'n':
            a->report = 0;
            break;
        case 'q':
            a->quiet = 1, a->report = 0;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "objmem run: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return -1;
        }
    }
    if (normalise(&a->sample, "--sample", 0, LONG_MAX, a->sample_text) < 0 ||
        normalise(&a->depth, "--depth", 1, 128, a->depth_text) < 0 ||
        normalise(&a->interval, "--interval", 1, 3600000, a->interval_text) < 0)
        return -1;
    if (a->unwind && strcmp(a->unwind, "libunwind") && strcmp(a->unwind, "fp")) {
        fprintf(stderr, "objmem run: --unwind is libunwind or fp, not '%s'\n", a->unwind);
        return -1;
    }
    if (optind >= argc) {
        fprintf(stderr, "objmem run: which program?\n");
        return -1;
    }
    a->argv = argv + optind;
    return 0;
}

/* The preload library: $OBJMEM_PRELOAD_LIB, else beside this executable (a
 * build tree: preload/; installed: ../lib/ or ../lib/<multiarch>/). */
static int find_preload(char *out, size_t len)
{
    const char *env = getenv("OBJMEM_PRELOAD_LIB");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return access(out, R_OK) == 0 ? 0 : -1;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    static const char *places[] = {
        "preload", "../lib", "../lib64", "../lib/x86_64-linux-gnu", "../lib/aarch64-linux-gnu",
        "."};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        int k = snprintf(out, len, "%s/%s/%s", self, places[i], PRELOAD_NAME);
        if (k > 0 && (size_t)k < len && access(out, R_OK) == 0)
            return 0;
    }
    return -1;
}

static void set_env(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
}

/* In the child: set the environment and exec; on failure send errno. */
static void exec_child(const run_args *a, const char *lib, const char *capture, int report_fd)
{
    char preload[PATH_MAX * 2], pid[32];
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? " " : "", old ? old : "");
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LD_PRELOAD", preload, 1);
    setenv("OBJMEM_CAPTURE", capture, 1);
    setenv("OBJMEM_CAPTURE_PID", pid, 1);
    set_env("OBJMEM_PRELOAD_SAMPLE", a->sample);
    set_env("OBJMEM_PRELOAD_DEPTH", a->depth);
    set_env("OBJMEM_PRELOAD_INTERVAL", a->interval);
    if (a->unwind)
        setenv("OBJMEM_PRELOAD_UNWIND", strcmp(a->unwind, "fp") ? "0" : "1", 1);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    execvp(a->argv[0], a->argv);
    int err = errno;
    if (write(report_fd, &err, sizeof err) < 0)
        _exit(127);
    _exit(127);
}

static void default_name(char *out, size_t len, const char *prog, long pid)
{
    const char *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    snprintf(out, len, "objmem.%.64s.%ld.cap", base, pid);
}

/* Runs the program; returns its wait status, or -1 (message printed). */
static int run_child(const run_args *a, const char *lib, char *capture, size_t cap_len)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        perror("objmem run: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("objmem run: fork");
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        char name[PATH_MAX];
        if (!a->output)
            default_name(name, sizeof name, a->argv[0], (long)getpid());
        exec_child(a, lib, a->output ? a->output : name, fds[1]);
    }
    close(fds[1]);
    if (a->output)
        snprintf(capture, cap_len, "%s", a->output);
    else
        default_name(capture, cap_len, a->argv[0], (long)pid);
    int err = 0, status = 0;
    ssize_t got;
    while ((got = read(fds[0], &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof err) {
        fprintf(stderr, "objmem run: cannot run '%s': %s\n", a->argv[0], strerror(err));
        return err == ENOENT ? -127 : -126;
    }
    return status;
}

static void list_others(const char *capture)
{
    char pattern[PATH_MAX + 8];
    snprintf(pattern, sizeof pattern, "%s.*", capture);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    fprintf(stderr, "objmem run: %zu more capture%s (forked children, replaced images): %s%s\n",
            g.gl_pathc, g.gl_pathc == 1 ? "" : "s", g.gl_pathv[0], g.gl_pathc > 1 ? " ..." : "");
    globfree(&g);
}

int cli_run(int argc, char **argv)
{
    run_args a = {.report = 1};
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr);
        return 2;
    }
    char lib[PATH_MAX], capture[PATH_MAX];
    if (find_preload(lib, sizeof lib) < 0) {
        fprintf(stderr, "objmem run: cannot find %s (set OBJMEM_PRELOAD_LIB to its path)\n",
                PRELOAD_NAME);
        return 2;
    }
    void (*old_int)(int) = signal(SIGINT, SIG_IGN);
    void (*old_quit)(int) = signal(SIGQUIT, SIG_IGN);
    int status = run_child(&a, lib, capture, sizeof capture);
    signal(SIGINT, old_int);
    signal(SIGQUIT, old_quit);
    if (status == -1)
        return 1;
    if (status < -1)
        return -status;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (WIFSIGNALED(status))
        fprintf(stderr,
                "objmem run: %s was killed by signal %d (%s); the capture holds what was "
                "recorded until then\n",
                a.argv[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (access(capture, R_OK) != 0) {
        fprintf(stderr,
                "objmem run: no capture was written to %s (a static program, or one "
                "that ignores LD_PRELOAD?)\n",
                capture);
        return rc ? rc : 1;
    }
    if (!a.quiet) {
        fprintf(stderr, "objmem run: capture written to %s\n", capture);
        list_others(capture);
    }
    if (a.report) {
        cap_capture c;
        cap_profile p;
        report_ctx r;
        if (report_load(capture, &c, &p, &r, 5) == 0) {
            fflush(stdout);
            report_text(&r, stderr);
            report_unload(&c, &p, &r);
        }
    }
    return rc;
}
