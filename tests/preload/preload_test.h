/*
 * tests/preload/preload_test.h: what the preload tests share: where the
 * preload library, the objmem command and the helper programs are, a scratch
 * directory inside the build tree, and running a shell command with its
 * output and exit status captured.
 */
#ifndef OM_PRELOAD_TEST_H
#define OM_PRELOAD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "omtest.h"

/* Commands are built with snprintf into buffers far larger than any path the
 * build tree has; a cut command would fail its test loudly anyway. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define PT_OUT 65536

static inline const char *pt_bindir(void)
{
    const char *d = getenv("OBJMEM_BINARY_DIR");
    return d ? d : ".";
}

/* path of something in the build tree, in a rotating static buffer */
static inline const char *pt_path(const char *rel)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 1024, "%s/%s", pt_bindir(), rel);
    return b;
}

static inline const char *pt_lib(void)
{
    return pt_path("preload/libobjmem-preload.so");
}
static inline const char *pt_objmem(void)
{
    return pt_path("objmem");
}
static inline const char *pt_helper(const char *name)
{
    static char b[1024];
    snprintf(b, sizeof b, "%s/tests/preload/preload_helper_%s", pt_bindir(), name);
    return b;
}

static inline int pt_exists(const char *path)
{
    return access(path, X_OK) == 0 || access(path, R_OK) == 0;
}

/* Runs `cmd` with sh; stdout (and stderr when merged by the command) goes to
 * out.  Returns the exit status, 128+N for signal N. */
static inline int pt_run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, n;
    while (out && len + 1 < cap && (n = fread(out + len, 1, cap - 1 - len, p)) > 0)
        len += n;
    if (out)
        out[len] = '\0';
    else
        while (fgetc(p) != EOF)
            ;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int pt_runf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int pt_runf(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return pt_run(cmd, out, cap);
}

/* A fresh scratch directory under the build tree; its path, static. */
static inline const char *pt_scratch(const char *name)
{
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/preload/scratch-%s", pt_bindir(), name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    return dir;
}

/* Skips the test when the preload library was not built (sanitized build). */
#define PT_REQUIRE_PRELOAD()                                                                       \
    do {                                                                                           \
        if (!pt_exists(pt_lib())) {                                                                \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs cmd plain and under the preload library; both must agree.  Returns
 * the output (a static buffer). */
static inline const char *pt_same_output(const char *cmd)
{
    static char plain[PT_OUT], preloaded[PT_OUT];
    char with[8192];
    int a = pt_run(cmd, plain, sizeof plain);
    snprintf(with, sizeof with, "LD_PRELOAD='%s' %s", pt_lib(), cmd);
    int b = pt_run(with, preloaded, sizeof preloaded);
    if (a != b || strcmp(plain, preloaded)) {
        fprintf(stderr, "command: %s\nplain (exit %d):\n%s\npreloaded (exit %d):\n%s\n", cmd, a,
                plain, b, preloaded);
        fail();
    }
    return preloaded;
}

#endif
