/*
 * trace/mem.c: the tracer's own memory, straight from the OS.
 *
 * The tracer runs inside the heap's allocation hooks, so it must not
 * allocate from objmem (it would call itself) nor from malloc (which the
 * preload library may have replaced by objmem).  Its tables are few and
 * large, so whole mappings suit them; a failed mapping only drops traces.
 */
#include <stdatomic.h>
#include <sys/mman.h>

#include "trace/trace.h"

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
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void tr_unmap(void *p, size_t bytes)
{
    if (p && bytes)
        munmap(p, bytes);
}
