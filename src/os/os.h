/*
 * os/os.h: pages from the operating system, and giving them back.
 *
 * The heap asks this layer for address space in large aligned pieces
 * (arenas, large blocks) and tells it when a range of pages is no longer
 * needed.  Memory is mapped readable and writable at once: Linux backs a
 * page only when it is first touched, so "reserve" and "commit" are the same
 * call here, and "decommit" is madvise(MADV_DONTNEED), after which the pages
 * read as zero and cost nothing until touched again.
 *
 * Every call counts itself (os_stats), so the heap's statistics can say how
 * often it went to the OS.  Nothing here allocates from the heap.
 */
#ifndef OM_OS_OS_H
#define OM_OS_OS_H

#include <stddef.h>
#include "util/util.h"

/* Bytes in a page of the OS (4096 on the machines objmem targets). */
OM_INTERNAL size_t os_page_size(void);

/* A fresh mapping of `size` bytes whose start is a multiple of `align` (a
 * power of two, at least the page size), zero-filled.  NULL when the OS
 * refuses (errno from mmap). */
OM_INTERNAL void *os_map_aligned(size_t size, size_t align);
/* Unmaps [p, p + size).  Returns 0, or -1 when the OS refused. */
OM_INTERNAL int os_unmap(void *p, size_t size);
/* Gives the pages of [p, p + size) back; the range stays mapped and reads
 * as zero afterwards.  p and size must be page-aligned. */
OM_INTERNAL int os_decommit(void *p, size_t size);
/* Makes [p, p + size) inaccessible (a guard) or accessible again. */
OM_INTERNAL int os_protect(void *p, size_t size, bool accessible);

/* Calls made to the OS for memory, and bytes mapped now. */
typedef struct os_stats {
    uint64_t calls;
    size_t mapped;
    size_t decommitted; /* bytes given back with os_decommit, all time */
} os_stats;
OM_INTERNAL void os_get_stats(os_stats *out);

#endif
