/*
 * trace/capture.c: the frames of the allocation being traced.
 *
 * Frame 0 is the call site when the caller's code went through the macros
 * of objmem/trace.h (a static om_trace_site in the caller's binary: file,
 * function and line, exact and free to capture), else the return address
 * of the public entry point's caller, which the heap hands to the hook.
 *
 * With more than one frame, the native stack is unwound and cut just above
 * the heap: the frames before the caller's return address are objmem's own
 * (hook, slow lane, entry point) and are dropped.  The unwinder is
 * libunwind's unw_backtrace with a per-thread cache of unwind information,
 * loaded with dlopen when the tracer first starts (about 10x faster than
 * glibc's backtrace(3) on deep stacks, which re-reads the unwind tables for
 * every frame); without libunwind, backtrace(3).
 *
 *     backtrace:  [tr hook] [heap slow lane] [om_malloc] [caller] [its caller] ...
 *                                                         ^ frame 0 (or the site)
 */
#include <dlfcn.h>
#include <execinfo.h>

#include "trace/trace.h"

#define UNWIND_LIBRARY       "libunwind.so.8"
#define UNW_CACHE_PER_THREAD 2 /* libunwind's unw_caching_policy_t */

typedef int (*unwind_fn)(void **buffer, int size);
static unwind_fn unwind = backtrace;

void tr_capture_init(void)
{
    /* Not under sanitizers: libunwind frees its per-thread cache at thread
     * exit, where ThreadSanitizer no longer follows its locks. */
#ifndef OM_SANITIZED
    void *lib = dlopen(UNWIND_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    unwind_fn fast = (unwind_fn)dlsym(lib, "unw_backtrace");
    void **space = dlsym(lib, "_ULx86_64_local_addr_space");
    int (*set_caching)(void *, int) =
        (int (*)(void *, int))dlsym(lib, "_ULx86_64_set_caching_policy");
    if (!fast || !space || !set_caching)
        return;
    set_caching(*space, UNW_CACHE_PER_THREAD);
    void *warm[4];
    fast(warm, 4);
    unwind = fast;
#endif
}

#define UNWIND_MAX (OM_TRACE_MAX_FRAMES + 16) /* room for objmem's own frames */
#define OWN_FRAMES 3                          /* frames to drop when the caller is not found */

unsigned tr_capture(uintptr_t *frames, unsigned max, void *caller, unsigned *total)
{
    frames[0] = tr_first_frame(caller);
    *total = 1;
    if (max <= 1)
        return 1;
    void *stack[UNWIND_MAX];
    int n = unwind(stack, (int)OM_ARRAY_LEN(stack));
    int k = 0;
    while (k < n && stack[k] != caller)
        k++;
    if (k == n)
        k = n > OWN_FRAMES ? OWN_FRAMES : 0;
    unsigned kept = 1;
    for (int i = k + 1; i < n && kept < max; i++)
        frames[kept++] = (uintptr_t)stack[i];
    *total = (unsigned)(n - k);
    if (n == (int)OM_ARRAY_LEN(stack))
        (*total)++; /* the stack went on past what we unwound */
    return kept;
}

__thread const om_trace_site *om_trace_site_tls;
__thread unsigned om_trace_site_depth;
