/*
 * os/os.c: mmap, munmap, madvise, mprotect, counted.
 *
 * Aligned mappings: the OS only promises page alignment, so a request for
 * `size` bytes at alignment A first tries an exact mapping (often aligned
 * already when the previous mapping ended on a boundary); otherwise it maps
 * size + A bytes and unmaps the ragged ends:
 *
 *     raw  |---- head ----|========= size =========|--- tail ---|
 *                         ^ aligned start
 *
 * Numbers: one aligned request costs one mmap, or one mmap and two munmap.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

static uint64_t calls;
static size_t mapped;
static size_t decommitted;

static void count(uint64_t n)
{
    __atomic_fetch_add(&calls, n, __ATOMIC_RELAXED);
}

size_t os_page_size(void)
{
    static size_t page;
    size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (OM_UNLIKELY(p == 0)) {
        long v = sysconf(_SC_PAGESIZE);
        p = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&page, p, __ATOMIC_RELAXED);
    }
    return p;
}

static void *map_raw(size_t size)
{
    count(1);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *os_map_aligned(size_t size, size_t align)
{
    if (size == 0 || size + align < size)
        return NULL;
    uint8_t *p = map_raw(size);
    if (!p)
        return NULL;
    if (((uintptr_t)p & (align - 1)) == 0)
        goto mapped_ok;
    count(1);
    munmap(p, size);
    uint8_t *raw = map_raw(size + align);
    if (!raw)
        return NULL;
    p = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(p - raw), tail = align - head;
    if (head) {
        count(1);
        munmap(raw, head);
    }
    if (tail) {
        count(1);
        munmap(p + size, tail);
    }
mapped_ok:
    __atomic_fetch_add(&mapped, size, __ATOMIC_RELAXED);
    return p;
}

int os_unmap(void *p, size_t size)
{
    count(1);
    if (munmap(p, size) != 0)
        return -1;
    __atomic_fetch_sub(&mapped, size, __ATOMIC_RELAXED);
    return 0;
}

int os_decommit(void *p, size_t size)
{
    if (size == 0)
        return 0;
    count(1);
    if (madvise(p, size, MADV_DONTNEED) != 0)
        return -1;
    __atomic_fetch_add(&decommitted, size, __ATOMIC_RELAXED);
    return 0;
}

int os_protect(void *p, size_t size, bool accessible)
{
    count(1);
    return mprotect(p, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

void os_get_stats(os_stats *out)
{
    out->calls = __atomic_load_n(&calls, __ATOMIC_RELAXED);
    out->mapped = __atomic_load_n(&mapped, __ATOMIC_RELAXED);
    out->decommitted = __atomic_load_n(&decommitted, __ATOMIC_RELAXED);
}
