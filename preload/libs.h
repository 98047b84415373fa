/*
 * preload/libs.h: libunwind and libzstd through a table that the recorder
 * fills when it starts (libs.c), for the files that call them.
 *
 * Include it in place of <libunwind.h> (and <zstd.h>): it declares the
 * table, then points libunwind's names (unw_step, ...) and the ZSTD_
 * functions the recorder uses at its entries, so the callers read as plain
 * libunwind and zstd code.  No call may run before pl_libs_open succeeded:
 * only the recorder calls them, and it starts only after opening them.
 */
#ifndef OM_PRELOAD_LIBS_H
#define OM_PRELOAD_LIBS_H

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#ifdef OM_PRELOAD_ZSTD
#include <zstd.h>
#endif

#include "util/util.h"

typedef struct pl_libs_table {
    __typeof__(unw_init_local) *init_local;
    __typeof__(unw_step) *step;
    __typeof__(unw_get_reg) *get_reg;
    __typeof__(unw_get_save_loc) *get_save_loc;
    __typeof__(unw_is_signal_frame) *is_signal_frame;
    __typeof__(unw_set_caching_policy) *set_caching_policy;
    __typeof__(unw_backtrace) *backtrace;
#if defined(__x86_64__)
    __typeof__(unw_tdep_getcontext) *getcontext; /* a function on x86-64 only */
#endif
    unw_addr_space_t local_addr_space;
#ifdef OM_PRELOAD_ZSTD
    /* NULL when libzstd cannot be opened: blocks go out uncompressed */
    __typeof__(ZSTD_createCCtx) *create_cctx;
    __typeof__(ZSTD_compressCCtx) *compress_cctx;
    __typeof__(ZSTD_isError) *is_error;
    __typeof__(ZSTD_freeCCtx) *free_cctx;
#endif
} pl_libs_table;

OM_INTERNAL extern pl_libs_table pl_libs;

/* Opens libunwind (and libzstd when the library was built with it) and
 * fills pl_libs; 0, or -1 with a line on stderr when libunwind cannot be
 * opened (then the process records nothing).  Idempotent. */
OM_INTERNAL int pl_libs_open(void);

#ifndef PL_LIBS_DEFINE /* libs.c names the real symbols */
#undef unw_init_local
#define unw_init_local pl_libs.init_local
#undef unw_step
#define unw_step pl_libs.step
#undef unw_get_reg
#define unw_get_reg pl_libs.get_reg
#undef unw_get_save_loc
#define unw_get_save_loc pl_libs.get_save_loc
#undef unw_is_signal_frame
#define unw_is_signal_frame pl_libs.is_signal_frame
#undef unw_set_caching_policy
#define unw_set_caching_policy pl_libs.set_caching_policy
#undef unw_backtrace
#define unw_backtrace pl_libs.backtrace
#undef unw_local_addr_space
#define unw_local_addr_space pl_libs.local_addr_space
#if defined(__x86_64__)
#undef unw_getcontext
#define unw_getcontext(uc) pl_libs.getcontext(uc)
#endif
#ifdef OM_PRELOAD_ZSTD
#define ZSTD_createCCtx   pl_libs.create_cctx
#define ZSTD_compressCCtx pl_libs.compress_cctx
#define ZSTD_isError      pl_libs.is_error
#define ZSTD_freeCCtx     pl_libs.free_cctx
#endif
#endif

#endif
