/*
 * util/util.h: what every layer may use: assertions at three levels, the
 * error message of the calling thread, output that never allocates, the
 * option table, a clock and a cheap random source.
 *
 * Output here never calls malloc (it formats into a stack buffer and calls
 * write), so the heap itself can report from inside an allocation, and the
 * preload library can use it while it is replacing malloc.
 */
#ifndef OM_UTIL_H
#define OM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "objmem/common.h"

#define OM_INTERNAL     __attribute__((visibility("hidden")))
#define OM_NOINLINE     __attribute__((noinline))
#define OM_COLD         __attribute__((cold))
#define OM_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
#define OM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- assertions: OM_DEBUG 1 cheap, 2 internal, 3 expensive -----------------
 * A failed assertion is a broken invariant: one line and abort. */
#ifndef OM_DEBUG
#define OM_DEBUG 0
#endif
#define OM_ASSERT_AT(level, cond)                                                                  \
    do {                                                                                           \
        if (OM_DEBUG >= (level) && OM_UNLIKELY(!(cond)))                                           \
            om_fatal("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);                   \
    } while (0)
#define om_assert(cond)           OM_ASSERT_AT(1, cond)
#define om_assert_internal(cond)  OM_ASSERT_AT(2, cond)
#define om_assert_expensive(cond) OM_ASSERT_AT(3, cond)

/* ---- output ---------------------------------------------------------------- */
/* printf to a file descriptor through a stack buffer; never allocates.
 * Lines longer than 1 KiB are cut. */
OM_INTERNAL void om_fdprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
OM_INTERNAL void om_vfdprintf(int fd, const char *fmt, va_list ap);
/* write(2) until every byte is out; retries EINTR, stops on an error. */
OM_INTERNAL void om_write_all(int fd, const void *data, size_t len);
/* "objmem: fatal: <message>\n" on stderr, then abort.  Safe anywhere. */
OM_INTERNAL void om_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn, cold));
/* "objmem: warning: <message>\n" on stderr, when the verbose option allows. */
OM_INTERNAL void om_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* ---- errors -----------------------------------------------------------------
 * Records a message for the calling thread (read by om_error_message). */
OM_INTERNAL void om_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* ---- options ------------------------------------------------------------------
 * The table lives in util/options.def; each row becomes OM_OPT_<NAME>. */
typedef enum om_option_id {
#define OM_OPTION(NAME, name, dflt, desc) OM_OPT_##NAME,
#include "util/options.def"
#undef OM_OPTION
    OM_OPT_COUNT
} om_option_id;

/* Current value; the first call reads the environment (never allocates). */
OM_INTERNAL long om_opt(om_option_id id);
OM_INTERNAL void om_opt_set(om_option_id id, long value);

/* ---- time and randomness -------------------------------------------------------- */
OM_INTERNAL uint64_t om_now_ns(void);      /* CLOCK_MONOTONIC */
OM_INTERNAL uint64_t om_random_seed(void); /* from the OS, or time and address noise */
static inline uint64_t om_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
