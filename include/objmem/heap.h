/*
 * objmem/heap.h: the raw heap.  Global and thread-safe: any thread may free
 * what any other thread allocated.  Small requests (up to 512 bytes, in
 * 16-byte size classes) come from pools inside arenas; larger ones from
 * bigger classes and, past a threshold, straight from the OS.  Every block is
 * 16-byte aligned.
 *
 * Behaviour at the edges follows the C standard and glibc: om_malloc(0)
 * returns a unique pointer that can be freed; om_free(NULL) does nothing;
 * om_realloc(NULL, n) is om_malloc(n); om_realloc(p, 0) frees p and returns
 * NULL; sizes that cannot be served return NULL with errno = ENOMEM and a
 * message.  om_free of a pointer objmem never gave out is detected: one line
 * on stderr naming the address, then abort.
 */
#ifndef OBJMEM_HEAP_H
#define OBJMEM_HEAP_H

#include "objmem/common.h"

#ifdef __cplusplus
extern "C" {
#endif

OM_API void *om_malloc(size_t size) __attribute__((malloc, alloc_size(1)));
OM_API void *om_calloc(size_t count, size_t size) __attribute__((malloc, alloc_size(1, 2)));
OM_API void *om_realloc(void *p, size_t size) __attribute__((alloc_size(2)));
OM_API void om_free(void *p);
/* alignment: any power of two; size need not be a multiple of it. */
OM_API void *om_aligned_alloc(size_t alignment, size_t size)
    __attribute__((malloc, alloc_size(2), alloc_align(1)));
OM_API size_t om_usable_size(const void *p);

/* Returns to the OS every page the heap can give back now (free pools, empty
 * arenas, cached large blocks).  Returns the number of bytes given back. */
OM_API size_t om_release(void);

/* Walks the whole heap and verifies every invariant.  Returns the number of
 * live blocks seen; a broken invariant prints one line and aborts. */
OM_API size_t om_heap_check(void);

/* ---- fault injection and the debug heap ------------------------------------
 * om_heap_fail_after(n): the nth allocation from now (counting every
 * allocation of every heap, objects included) fails once, as if memory ran
 * out; 0 disarms.  Also set by OBJMEM_FAIL_AT=n at start-up.
 * om_heap_failures(): how many allocations have been failed on purpose. */
OM_API void om_heap_fail_after(uint64_t n);
OM_API uint64_t om_heap_failures(void);
/* om_heap_set_debug(1): blocks allocated from now on (every heap) are debug
 * blocks: guard bytes, fill patterns, a quarantine of freed blocks; a double
 * free, an invalid free or a write past the end prints one line and aborts.
 * 0 turns it off for new blocks; debug blocks stay debug blocks until freed.
 * Also set by OBJMEM_DEBUG=1 at start-up. */
OM_API void om_heap_set_debug(int on);

/* ---- statistics: always on, read as a plain record ------------------------ */
#define OM_HEAP_MAX_CLASSES 64

typedef struct om_class_stats {
    size_t block_size;    /* bytes per block of this class */
    size_t blocks_in_use; /* live blocks */
    size_t blocks_peak;   /* most live blocks at once (approximate across threads) */
    size_t pools;         /* pools currently holding this class */
    uint64_t allocs;      /* blocks ever handed out */
    uint64_t frees;       /* blocks ever given back */
} om_class_stats;

typedef struct om_heap_stats {
    size_t bytes_in_use; /* bytes in live blocks (block sizes, not requests) */
    size_t bytes_peak;   /* most bytes_in_use at once */
    size_t blocks_in_use;
    size_t blocks_peak;
    uint64_t allocs; /* every allocation ever, all sizes */
    uint64_t frees;
    size_t large_in_use; /* blocks served straight from the OS */
    size_t large_bytes;
    size_t arenas; /* arenas now reserved */
    size_t arenas_peak;
    size_t pools_in_use; /* pools holding at least one live block */
    size_t pools_empty;  /* pools with no live block, still committed */
    size_t reserved;     /* address space reserved from the OS */
    size_t committed;    /* bytes backed by memory now */
    size_t committed_peak;
    size_t returned;      /* bytes given back to the OS, all time */
    uint64_t os_calls;    /* calls into the OS for memory (mmap, munmap, madvise) */
    double fragmentation; /* 1 - bytes_in_use / committed, 0 when nothing is committed */
    unsigned n_classes;   /* entries used in classes[] */
    om_class_stats classes[OM_HEAP_MAX_CLASSES];
} om_heap_stats;

OM_API void om_heap_get_stats(om_heap_stats *out);
/* Writes a human-readable summary of the statistics to fd. */
OM_API void om_heap_print_stats(int fd);

#ifdef __cplusplus
}
#endif
#endif
