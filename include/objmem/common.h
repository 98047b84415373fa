/*
 * objmem/common.h: what every part of objmem shares: export macros, the
 * error message of the calling thread, the option table, the version.
 */
#ifndef OBJMEM_COMMON_H
#define OBJMEM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OM_API         __attribute__((visibility("default")))
#define OM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define OM_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define OM_VERSION_MAJOR 0
#define OM_VERSION_MINOR 1
#define OM_VERSION_PATCH 0
OM_API const char *om_version(void);

/* ---- errors ---------------------------------------------------------------
 * A function that fails returns NULL or -1 and records a message for the
 * calling thread.  The message stays until the next failure or
 * om_error_clear().  Never NULL: "" when there is no error. */
OM_API const char *om_error_message(void);
OM_API void om_error_clear(void);

/* ---- options --------------------------------------------------------------
 * One table of options (see `objmem options` or om_option_print()).  Each is
 * an integer, read once from the environment variable OBJMEM_<NAME> (NAME in
 * upper case) and settable in code by its lower-case name.  Returns -1 with a
 * message for an unknown name. */
OM_API int om_option_set(const char *name, long value);
OM_API int om_option_get(const char *name, long *value);
/* Writes the table (name, value, default, variable, description) to fd. */
OM_API void om_option_print(int fd);

#ifdef __cplusplus
}
#endif
#endif
