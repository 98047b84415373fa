/*
 * preload/stacks.c: native stacks, and how they are written.
 *
 * Capture.  Two unwinders:
 *   - the DWARF call-frame information (default), for code built without
 *     frame pointers (all of Debian's libraries): libunwind reads it, and
 *     unwind.c turns what it learns into per-address rules that it applies
 *     itself, reusing the outer frames that the previous stack shares.
 *   - frame pointers (OBJMEM_PRELOAD_UNWIND=1): follows the rbp chain, a few
 *     nanoseconds a frame, right only for code built with
 *     -fno-omit-frame-pointer.  Every step is checked to stay between the
 *     current frame and the thread's stack top, going up, so a chain broken
 *     by code without frame pointers stops instead of faulting.
 * Frames inside this library (malloc, the recorder) are left out.
 *
 * Encoding (record.c): each thread remembers its previous stack, and an
 * allocation writes only how many outer frames it shares with it and the
 * frames below those.  A recursive program's thousands of distinct stacks
 * differ in their innermost frames, so an event costs a compare of a few
 * words and one or two frames, with no table and no lock anywhere (a
 * table of stacks or of call-tree nodes, as heaptrack keeps, misses the
 * cache on every event of such a program).  The reader interns stacks.
 */
#include <link.h>
#include <string.h>

#include "libs.h"
#include "preload.h"

uintptr_t pl_self_lo, pl_self_hi; /* this library's code */

/* ---- this library's address range -------------------------------------------- */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t probe = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (probe >= lo && probe < lo + ph->p_memsz) {
            pl_self_lo = lo;
            pl_self_hi = lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

void pl_stacks_init(void)
{
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&pl_stacks_init);
    /* Per-thread caches: no lock on a hit (the global cache takes one on
     * every frame).  unw_set_cache_size(.., 1024, 0) is accepted too, but
     * made no difference on binary trees (few distinct return addresses), so
     * the size stays libunwind's default. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

/* ---- capture -------------------------------------------------------------------- */
static OM_NOINLINE int walk_frame_pointers(uintptr_t *out, int max, uintptr_t hi)
{
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t lo = (uintptr_t)fp;
    int n = 0;
    while (n < max && hi && (uintptr_t)fp >= lo && (uintptr_t)fp + 16 <= hi &&
           !((uintptr_t)fp & 7)) {
        uintptr_t ra = fp[1];
        if (ra < 4096)
            break;
        out[n++] = ra;
        uintptr_t *next = (uintptr_t *)fp[0];
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

int pl_stack_capture(uintptr_t *frames, int max, int unwinder, pl_unwind *u, int *shared,
                     const void *entry, bool inner_only)
{
    if (unwinder != CAP_UNWIND_FRAMEPOINTER)
        return pl_unwind_capture(u, frames, max, shared, entry, inner_only);
    *shared = -1;
    uintptr_t raw[CAP_MAX_FRAMES + 8];
    int want = max + 8 > (int)OM_ARRAY_LEN(raw) ? (int)OM_ARRAY_LEN(raw) : max + 8;
    int n = walk_frame_pointers(raw, want, u->stack_hi);
    int skip = 0;
    while (skip < n && pl_in_self(raw[skip]))
        skip++;
    int keep = n - skip < max ? n - skip : max;
    memcpy(frames, raw + skip, (size_t)keep * sizeof *frames);
    return keep;
}
