/*
 * util/output.c: diagnostics that never allocate, and the calling thread's
 * error message.
 *
 * Everything formats into a buffer on the stack and leaves through write(2),
 * so it is safe inside the allocator, inside a signal handler's abort path
 * and while the preload library stands in for malloc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#define LINE_MAX_BYTES 1024

void om_write_all(int fd, const void *data, size_t len)
{
    const char *buf = data;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void om_vfdprintf(int fd, const char *fmt, va_list ap)
{
    char buf[LINE_MAX_BYTES];
    int saved = errno;
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n > 0)
        om_write_all(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    errno = saved;
}

void om_fdprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    om_vfdprintf(fd, fmt, ap);
    va_end(ap);
}

static void print_prefixed(const char *prefix, const char *fmt, va_list ap)
{
    char buf[LINE_MAX_BYTES];
    size_t len = strlen(prefix);
    memcpy(buf, prefix, len);
    int n = vsnprintf(buf + len, sizeof buf - len - 1, fmt, ap);
    if (n > 0)
        len += (size_t)n < sizeof buf - len - 1 ? (size_t)n : sizeof buf - len - 2;
    buf[len++] = '\n';
    om_write_all(2, buf, len);
}

void om_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_prefixed("objmem: fatal: ", fmt, ap);
    va_end(ap);
    abort();
}

void om_warn(const char *fmt, ...)
{
    if (!om_opt(OM_OPT_VERBOSE))
        return;
    va_list ap;
    va_start(ap, fmt);
    print_prefixed("objmem: warning: ", fmt, ap);
    va_end(ap);
}

/* ---- the calling thread's error message ---------------------------------- */
static OM_THREAD_LOCAL char error_text[512];

void om_set_error(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    errno = saved;
}

const char *om_error_message(void)
{
    return error_text;
}

void om_error_clear(void)
{
    error_text[0] = '\0';
}

const char *om_version(void)
{
    return "0.1.0";
}
