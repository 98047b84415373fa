/*
 * preload/libs.c: libunwind and libzstd, opened when the recorder starts.
 *
 * Every process the library is preloaded into loads what the library
 * depends on: ld.so maps each library and binds its symbols, which for
 * libunwind, libzstd and liblzma (libunwind's) cost about 85 thousand
 * instructions, a dozen mappings and as many page faults per process (a
 * process that prints one line and exits: 403 thousand instructions with
 * them, 269 thousand with mimalloc preloaded).  Only the recorder uses
 * them, so the library does not depend on them: pl_libs_open opens them by
 * their sonames (PL_UNWIND_SONAME, PL_ZSTD_SONAME, found by the build)
 * when a capture starts, and the recorder calls through pl_libs (libs.h).
 * The drop-in allocator alone, `objmem run`'s children that record too,
 * and a build without libzstd all work the same:
 *
 *     process start ---- no capture ------------------> malloc family only
 *          \---- OBJMEM_CAPTURE ---> pl_libs_open ----> recorder (pl_libs.*)
 *
 * They open before the capture does, so its first module map lists them.
 */
#include <dlfcn.h>
#include <string.h>

#define PL_LIBS_DEFINE
#include "libs.h"
#include "preload.h"

pl_libs_table pl_libs;

#define PL_NAME2(x) #x
#define PL_NAME(x)  PL_NAME2(x) /* the symbol behind a libunwind macro */

static int opened; /* 1 once pl_libs is filled, -1 when libunwind failed */

/* *slot = the address of name in lib (a function pointer or, for a
 * variable, a pointer to it); false when lib lacks it. */
static bool fill(void *lib, void *slot, const char *name)
{
    void *sym = dlsym(lib, name);
    memcpy(slot, &sym, sizeof sym);
    return sym != NULL;
}

static int open_unwind(void)
{
    void *lib = dlopen(PL_UNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        om_fdprintf(2, "objmem: preload: cannot open %s: %s\n", PL_UNWIND_SONAME, dlerror());
        return -1;
    }
    unw_addr_space_t *space = NULL;
    bool ok = fill(lib, &pl_libs.init_local, PL_NAME(unw_init_local)) &&
              fill(lib, &pl_libs.step, PL_NAME(unw_step)) &&
              fill(lib, &pl_libs.get_reg, PL_NAME(unw_get_reg)) &&
              fill(lib, &pl_libs.get_save_loc, PL_NAME(unw_get_save_loc)) &&
              fill(lib, &pl_libs.is_signal_frame, PL_NAME(unw_is_signal_frame)) &&
              fill(lib, &pl_libs.set_caching_policy, PL_NAME(unw_set_caching_policy)) &&
              fill(lib, &pl_libs.backtrace, PL_NAME(unw_backtrace)) &&
#if defined(__x86_64__)
              fill(lib, &pl_libs.getcontext, PL_NAME(unw_tdep_getcontext)) &&
#endif
              fill(lib, &space, PL_NAME(unw_local_addr_space));
    if (!ok) {
        om_fdprintf(2, "objmem: preload: %s lacks a function the recorder calls\n",
                    PL_UNWIND_SONAME);
        return -1;
    }
    pl_libs.local_addr_space = *space;
    return 0;
}

#ifdef OM_PRELOAD_ZSTD
static void open_zstd(void)
{
    void *lib = dlopen(PL_ZSTD_SONAME, RTLD_NOW | RTLD_LOCAL);
    pl_libs_table t = pl_libs;
    if (!lib || !fill(lib, &t.create_cctx, "ZSTD_createCCtx") ||
        !fill(lib, &t.compress_cctx, "ZSTD_compressCCtx") ||
        !fill(lib, &t.is_error, "ZSTD_isError") || !fill(lib, &t.free_cctx, "ZSTD_freeCCtx"))
        return; /* pl_libs.create_cctx stays NULL: uncompressed blocks */
    pl_libs = t;
}
#endif

int pl_libs_open(void)
{
    if (opened)
        return opened > 0 ? 0 : -1;
    opened = open_unwind() == 0 ? 1 : -1;
#ifdef OM_PRELOAD_ZSTD
    if (opened > 0)
        open_zstd();
#endif
    return opened > 0 ? 0 : -1;
}
