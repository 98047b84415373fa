/*
 * util/native_symbols.c: libdwfl sessions and C++ demangling, loaded on
 * demand so objmem depends on neither.
 *
 *   libdw.so.1    opened with dlopen the first time any session is asked
 *                 for, its entry points kept in one table for the life of
 *                 the process (never closed: sessions of several callers
 *                 may be open at once);
 *   a session     dwfl_begin with the standard callbacks (the ELF file of
 *                 each module from its path, debug information from the
 *                 file itself or a separate debug file, so Debian's -dbgsym
 *                 packages count), then the modules reported either from
 *                 this process (dwfl_linux_proc_report) or from maps text;
 *   a lookup      dwfl_addrmodule, dwfl_module_addrname (the ELF symbol
 *                 table, which names static functions that dladdr cannot),
 *                 dwfl_module_getsrc and dwfl_lineinfo for file:line;
 *   demangling    __cxa_demangle, the C++ runtime's own demangler (the
 *                 Itanium C++ ABI names it), found in the process when a
 *                 C++ program has the runtime loaded, otherwise dlopen'ed
 *                 from libstdc++.so.6 once a mangled name ("_Z...") shows
 *                 up; a C program never loads it; an ELF symbol version
 *                 ("@@GLIBC_2.34") is cut from the name.
 *
 * Without libdw there is no session (callers fall back to dladdr or to
 * module+offset); without a C++ runtime names stay mangled.
 */
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/native_symbols.h"

struct om_dwarf {
    Dwfl *dwfl;
};

static struct {
    __typeof__(dwfl_begin) *begin;
    __typeof__(dwfl_end) *end;
    __typeof__(dwfl_report_begin) *report_begin;
    __typeof__(dwfl_report_end) *report_end;
    __typeof__(dwfl_linux_proc_report) *proc_report;
    __typeof__(dwfl_linux_proc_maps_report) *maps_report;
    __typeof__(dwfl_linux_proc_find_elf) *find_elf;
    __typeof__(dwfl_standard_find_debuginfo) *find_debuginfo;
    __typeof__(dwfl_addrmodule) *addrmodule;
    __typeof__(dwfl_module_addrname) *addrname;
    __typeof__(dwfl_module_getsrc) *getsrc;
    __typeof__(dwfl_lineinfo) *lineinfo;
} dw;
static bool dw_loaded;
static pthread_once_t dw_once = PTHREAD_ONCE_INIT;
static char *debuginfo_path;
static Dwfl_Callbacks callbacks;

static bool load_entries(void *lib)
{
#define LOAD(field, name)                                                                          \
    if (!(*(void **)&dw.field = dlsym(lib, #name)))                                                \
        return false;
    LOAD(begin, dwfl_begin)
    LOAD(end, dwfl_end)
    LOAD(report_begin, dwfl_report_begin)
    LOAD(report_end, dwfl_report_end)
    LOAD(proc_report, dwfl_linux_proc_report)
    LOAD(maps_report, dwfl_linux_proc_maps_report)
    LOAD(find_elf, dwfl_linux_proc_find_elf)
    LOAD(find_debuginfo, dwfl_standard_find_debuginfo)
    LOAD(addrmodule, dwfl_addrmodule)
    LOAD(addrname, dwfl_module_addrname)
    LOAD(getsrc, dwfl_module_getsrc)
    LOAD(lineinfo, dwfl_lineinfo)
#undef LOAD
    return true;
}

static void load_libdw(void)
{
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    dw_loaded = lib && load_entries(lib);
    if (dw_loaded) {
        callbacks.find_elf = dw.find_elf;
        callbacks.find_debuginfo = dw.find_debuginfo;
        callbacks.debuginfo_path = &debuginfo_path;
    }
}

/* A session with no modules yet; NULL without libdw. */
static om_dwarf *begin_session(void)
{
    pthread_once(&dw_once, load_libdw);
    if (!dw_loaded)
        return NULL;
    om_dwarf *d = calloc(1, sizeof *d);
    if (d && !(d->dwfl = dw.begin(&callbacks))) {
        free(d);
        d = NULL;
    }
    if (d)
        dw.report_begin(d->dwfl);
    return d;
}

static om_dwarf *end_report(om_dwarf *d, int rc)
{
    dw.report_end(d->dwfl, NULL, NULL);
    if (rc != 0) {
        om_dwarf_close(d);
        return NULL;
    }
    return d;
}

om_dwarf *om_dwarf_open_self(void)
{
    om_dwarf *d = begin_session();
    return d ? end_report(d, dw.proc_report(d->dwfl, getpid())) : NULL;
}

om_dwarf *om_dwarf_open_maps(FILE *maps)
{
    om_dwarf *d = begin_session();
    if (d && maps)
        dw.maps_report(d->dwfl, maps); /* modules it could not open are skipped */
    return d ? end_report(d, 0) : NULL;
}

void om_dwarf_close(om_dwarf *d)
{
    if (!d)
        return;
    dw.end(d->dwfl);
    free(d);
}

bool om_dwarf_lookup(om_dwarf *d, uintptr_t pc, om_dwarf_frame *out)
{
    *out = (om_dwarf_frame){NULL, NULL, 0};
    Dwfl_Module *mod = d ? dw.addrmodule(d->dwfl, pc) : NULL;
    if (!mod)
        return false;
    out->function = dw.addrname(mod, pc);
    Dwfl_Line *line = dw.getsrc(mod, pc);
    int n = 0;
    out->file = line ? dw.lineinfo(line, NULL, &n, NULL, NULL, NULL) : NULL;
    out->line = out->file && n > 0 ? n : 0;
    return out->function || out->file;
}

/* ---- demangling ----------------------------------------------------------- */

typedef char *demangle_fn(const char *mangled, char *buf, size_t *len, int *status);
static demangle_fn *demangler;
static pthread_once_t demangler_once = PTHREAD_ONCE_INIT;

static void find_demangler(void)
{
    *(void **)&demangler = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (demangler)
        return;
    void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
    if (lib)
        *(void **)&demangler = dlsym(lib, "__cxa_demangle");
}

/* symbol demangled, or NULL */
static char *demangle(const char *symbol)
{
    if (symbol[0] != '_' || symbol[1] != 'Z')
        return NULL;
    pthread_once(&demangler_once, find_demangler);
    if (!demangler)
        return NULL;
    int status = -1;
    char *readable = demangler(symbol, NULL, NULL, &status);
    if (status != 0) {
        free(readable);
        return NULL;
    }
    return readable;
}

char *om_readable_symbol(const char *symbol)
{
    if (!symbol)
        return NULL;
    size_t len = strcspn(symbol, "@"); /* "name@VERSION" or "name@@VERSION" */
    if (!symbol[len])
        return demangle(symbol);
    char *bare = strndup(symbol, len);
    char *readable = bare ? demangle(bare) : NULL;
    if (readable) {
        free(bare);
        return readable;
    }
    return bare;
}
