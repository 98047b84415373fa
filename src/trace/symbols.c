/*
 * trace/symbols.c: native return addresses -> function, source file, line,
 * in this process, for snapshots and reports (never inside a hook).
 *
 *   first use   libdw (elfutils) is opened with dlopen, so objmem does not
 *               depend on it; a Dwfl session reports this process's modules
 *               (dwfl_linux_proc_report) once, with their symbol tables and
 *               DWARF line tables (separate debug files too);
 *   each word   dwfl_addrmodule, dwfl_module_addrname (the ELF symbol table:
 *               static functions of executables included, which dladdr
 *               cannot name) and dwfl_module_getsrc for file:line;
 *   fallback    dladdr: the function when exported, the object file, line 0;
 *               also for modules loaded after the first use.
 *
 * The session is never ended or re-reported, so the strings it returns stay
 * valid for the life of the process; one mutex serialises libdwfl (it is
 * not thread-safe).  Lookups use address - 1: a return address points after
 * the call, possibly into the next function.
 */
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include "trace/trace.h"

static struct {
    __typeof__(dwfl_begin) *begin;
    __typeof__(dwfl_report_begin) *report_begin;
    __typeof__(dwfl_report_end) *report_end;
    __typeof__(dwfl_linux_proc_report) *proc_report;
    __typeof__(dwfl_linux_proc_find_elf) *find_elf;
    __typeof__(dwfl_standard_find_debuginfo) *find_debuginfo;
    __typeof__(dwfl_addrmodule) *addrmodule;
    __typeof__(dwfl_module_addrname) *addrname;
    __typeof__(dwfl_module_getsrc) *getsrc;
    __typeof__(dwfl_lineinfo) *lineinfo;
} dw;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static Dwfl *session;

static bool load(void *lib)
{
#define LOAD(field, name)                                                                          \
    if (!(*(void **)&dw.field = dlsym(lib, #name)))                                                \
        return false;
    LOAD(begin, dwfl_begin)
    LOAD(report_begin, dwfl_report_begin)
    LOAD(report_end, dwfl_report_end)
    LOAD(proc_report, dwfl_linux_proc_report)
    LOAD(find_elf, dwfl_linux_proc_find_elf)
    LOAD(find_debuginfo, dwfl_standard_find_debuginfo)
    LOAD(addrmodule, dwfl_addrmodule)
    LOAD(addrname, dwfl_module_addrname)
    LOAD(getsrc, dwfl_module_getsrc)
    LOAD(lineinfo, dwfl_lineinfo)
#undef LOAD
    return true;
}

static void open_session(void)
{
    static char *debuginfo_path = NULL;
    static Dwfl_Callbacks callbacks;
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib || !load(lib))
        return;
    callbacks.find_elf = dw.find_elf;
    callbacks.find_debuginfo = dw.find_debuginfo;
    callbacks.debuginfo_path = &debuginfo_path;
    Dwfl *d = dw.begin(&callbacks);
    if (!d)
        return;
    dw.report_begin(d);
    int rc = dw.proc_report(d, getpid());
    dw.report_end(d, NULL, NULL);
    if (rc == 0)
        session = d; /* kept for the life of the process: see above */
}

/* Fills what libdw knows of pc; false when it knows nothing. */
static bool from_libdw(uintptr_t pc, const char **file, const char **func, unsigned *lineno)
{
    pthread_once(&once, open_session);
    if (!session)
        return false;
    pthread_mutex_lock(&lock);
    Dwfl_Module *mod = dw.addrmodule(session, pc);
    const char *name = mod ? dw.addrname(mod, pc) : NULL;
    Dwfl_Line *line = mod ? dw.getsrc(mod, pc) : NULL;
    int n = 0;
    const char *src = line ? dw.lineinfo(line, NULL, &n, NULL, NULL, NULL) : NULL;
    pthread_mutex_unlock(&lock);
    if (!name && !src)
        return false;
    if (name)
        *func = name;
    if (src) {
        *file = src;
        *lineno = n > 0 ? (unsigned)n : 0;
    }
    return true;
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
}
