/*
 * trace/symbols.c: native return addresses -> function, source file, line,
 * in this process, for snapshots and reports (never inside a hook).
 *
 *   first use   a libdwfl session over this process's modules
 *               (util/native_symbols.c), opened once: symbol tables (static
 *               functions of executables included, which dladdr cannot
 *               name) and DWARF line tables, separate debug files too;
 *   fallback    dladdr: the function when exported, the object file, line 0;
 *               also for modules loaded after the first use;
 *   C++ names   demangled (and symbol versions cut, "@@GLIBC_2.34") once
 *               each and kept in a small table keyed by the
 *               symbol's own string, so every name handed out lives as long
 *               as the process, like the session's strings.
 *
 * The session is never ended or re-reported; one mutex serialises libdwfl
 * (it is not thread-safe) and the name table.  Lookups use address - 1: a
 * return address points after the call, possibly into the next function.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "util/native_symbols.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static om_dwarf *session;

/* mangled symbol (by address: the session's strings are stable) -> readable */
static struct {
    const char **mangled;
    char **readable;
    size_t mask, used;
} names;

static void open_session(void)
{
    session = om_dwarf_open_self(); /* kept for the life of the process */
}

static bool grow_names(void)
{
    size_t cap = names.mask ? (names.mask + 1) * 2 : 256;
    const char **keys = calloc(cap, sizeof *keys);
    char **values = calloc(cap, sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return false;
    }
    for (size_t i = 0; names.mask && i <= names.mask; i++) {
        if (!names.mangled[i])
            continue;
        size_t j = ((uintptr_t)names.mangled[i] >> 4) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = names.mangled[i];
        values[j] = names.readable[i];
    }
    free(names.mangled);
    free(names.readable);
    names.mangled = keys;
    names.readable = values;
    names.mask = cap - 1;
    return true;
}

/* The readable name of a mangled or versioned symbol, made once; the symbol
 * itself when it reads well already.  Called under lock. */
static const char *readable_name(const char *symbol)
{
    if ((names.used + 1) * 2 > names.mask + 1 && !grow_names())
        return symbol;
    size_t i = ((uintptr_t)symbol >> 4) & names.mask;
    while (names.mangled[i] && names.mangled[i] != symbol)
        i = (i + 1) & names.mask;
    if (!names.mangled[i]) {
        names.mangled[i] = symbol;
        names.readable[i] = om_readable_symbol(symbol);
        names.used++;
    }
    return names.readable[i] ? names.readable[i] : symbol;
}

/* Fills what libdw knows of pc; false when it knows nothing. */
static bool from_libdw(uintptr_t pc, const char **file, const char **func, unsigned *lineno)
{
    pthread_once(&once, open_session);
    if (!session)
        return false;
    om_dwarf_frame f;
    pthread_mutex_lock(&lock);
    bool known = om_dwarf_lookup(session, pc, &f);
    pthread_mutex_unlock(&lock);
    if (f.function)
        *func = f.function;
    if (f.file) {
        *file = f.file;
        *lineno = (unsigned)f.line;
    }
    return known;
}

void tr_symbolize(uintptr_t address, const char **file, const char **func, unsigned *lineno)
{
    Dl_info info;
    *file = "?";
    *func = "?";
    *lineno = 0;
    if (!address)
        return;
    if (dladdr((void *)(address - 1), &info)) {
        if (info.dli_fname)
            *file = info.dli_fname;
        if (info.dli_sname)
            *func = info.dli_sname;
    }
    from_libdw(address - 1, file, func, lineno);
    if (((*func)[0] == '_' && (*func)[1] == 'Z') || strchr(*func, '@')) {
        pthread_mutex_lock(&lock);
        *func = readable_name(*func);
        pthread_mutex_unlock(&lock);
    }
}
