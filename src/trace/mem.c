/*
 * trace/mem.c: the tracer's own memory, straight from the OS.
 *
 * The tracer runs inside the heap's allocation hooks, so it must not
 * allocate from objmem (it would call itself) nor from malloc (which the
 * preload library may have replaced by objmem).  Its tables are few and
 * large, so whole mappings suit them; a failed mapping only drops traces.
 * Big mappings are populated up front and backed by huge pages where the
 * system allows (see the constants below).
 */
#include <stdatomic.h>
#include <sys/mman.h>

#include "trace/trace.h"

/* Mappings this big are faulted in by the kernel in one go (MAP_POPULATE):
 * a table that grows is written all over at once by the rehash, and one
 * populate is several times cheaper than a fault a page. */
#define POPULATE_MIN (64 * 1024)
/* Mappings this big ask for transparent huge pages: the trace table is
 * probed at random, and with 4 KiB pages nearly every probe of a table of
 * a few MiB also misses the TLB.  At least one huge page (2 MiB on x86-64). */
#define HUGE_MIN (2 * 1024 * 1024)

static _Atomic uint64_t fail_countdown;

void tr_map_fail_after(uint64_t n)
{
    atomic_store_explicit(&fail_countdown, n, memory_order_relaxed);
}

static bool should_fail(void)
{
    uint64_t n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return false;
}

void *tr_map(size_t bytes)
{
    if (bytes == 0 || should_fail())
        return NULL;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (bytes >= POPULATE_MIN ? MAP_POPULATE : 0);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_MIN)
        madvise(p, bytes, MADV_HUGEPAGE); /* advice only: its failure changes nothing */
#endif
    return p;
}

void *tr_map_lazy(size_t bytes)
{
    if (bytes == 0 || should_fail())
        return NULL;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void tr_unmap(void *p, size_t bytes)
{
    if (p && bytes)
        munmap(p, bytes);
}
