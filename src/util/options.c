/*
 * util/options.c: the one table of options.
 *
 * Rows come from util/options.def.  A value is read from OBJMEM_<NAME> the
 * first time any option is read, with getenv and strtol only (no
 * allocation), so the heap may read options while it is starting up.  Code
 * can override a value at any time with om_option_set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

typedef struct option_row {
    const char *env;
    const char *name;
    long dflt;
    const char *desc;
} option_row;

static const option_row rows[OM_OPT_COUNT] = {
#define OM_OPTION(NAME, name, dflt, desc) {"OBJMEM_" #NAME, #name, dflt, desc},
#include "util/options.def"
#undef OM_OPTION
};

static long values[OM_OPT_COUNT];
static volatile int loaded; /* 0 not yet, 1 loading, 2 loaded */

static void load_from_environment(void)
{
    for (int i = 0; i < OM_OPT_COUNT; i++) {
        long v = rows[i].dflt;
        const char *s = getenv(rows[i].env);
        if (s && *s) {
            char *end;
            errno = 0;
            long parsed = strtol(s, &end, 0);
            if (errno == 0 && end != s && *end == '\0')
                v = parsed;
            else if (!strcasecmp(s, "on") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
                v = 1;
            else if (!strcasecmp(s, "off") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
                v = 0;
            else
                om_fdprintf(2, "objmem: warning: %s=%s is not a number; using %ld\n", rows[i].env,
                            s, v);
        }
        values[i] = v;
    }
}

static void ensure_loaded(void)
{
    if (OM_LIKELY(__atomic_load_n(&loaded, __ATOMIC_ACQUIRE) == 2))
        return;
    int expected = 0;
    if (__atomic_compare_exchange_n(&loaded, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        load_from_environment();
        __atomic_store_n(&loaded, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE) != 2)
        ; /* another thread is reading the environment: a few microseconds */
}

long om_opt(om_option_id id)
{
    ensure_loaded();
    return __atomic_load_n(&values[id], __ATOMIC_RELAXED);
}

void om_opt_set(om_option_id id, long value)
{
    ensure_loaded();
    __atomic_store_n(&values[id], value, __ATOMIC_RELAXED);
}

static int find(const char *name)
{
    if (!name) {
        om_set_error("option name is NULL");
        return -1;
    }
    for (int i = 0; i < OM_OPT_COUNT; i++)
        if (!strcasecmp(rows[i].name, name) || !strcasecmp(rows[i].env, name))
            return i;
    om_set_error("unknown option '%s' (see om_option_print)", name);
    return -1;
}

int om_option_set(const char *name, long value)
{
    int i = find(name);
    if (i < 0)
        return -1;
    om_opt_set((om_option_id)i, value);
    return 0;
}

int om_option_get(const char *name, long *value)
{
    int i = find(name);
    if (i < 0)
        return -1;
    if (value)
        *value = om_opt((om_option_id)i);
    return 0;
}

void om_option_print(int fd)
{
    om_fdprintf(fd, "%-20s %10s %10s  %-28s %s\n", "option", "value", "default", "variable",
                "description");
    for (int i = 0; i < OM_OPT_COUNT; i++)
        om_fdprintf(fd, "%-20s %10ld %10ld  %-28s %s\n", rows[i].name, om_opt((om_option_id)i),
                    rows[i].dflt, rows[i].env, rows[i].desc);
}
