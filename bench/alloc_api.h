/*
 * bench/alloc_api.h: the one seam between an allocator benchmark and the
 * allocator it measures.
 *
 * Every allocator benchmark is written once against BENCH_MALLOC and
 * BENCH_FREE, and compiled up to three times (bench/CMakeLists.txt decides
 * which, from the peers listed in bench/benchmarks.list):
 *
 *     variant   defined          calls                      run as
 *     om        BENCH_OBJMEM     om_malloc / om_free        itself (objmem's static library)
 *     sys       BENCH_SYSTEM     malloc / free              itself (glibc), and under
 *                                                           LD_PRELOAD of mimalloc, jemalloc,
 *                                                           tcmalloc
 *     gc        BENCH_BOEHM      GC_MALLOC, free does       itself (linked with -lgc)
 *                                nothing
 *
 * So every peer runs the same machine code around its allocator, and the
 * preloaded peers even run the very same binary as glibc.
 *
 * bench_alloc_start() must be the first call of main: it initialises the
 * allocator where that is needed (Boehm) and prints which allocator really
 * serves the program ("info allocator NAME").  The runner compares that name
 * with the peer it meant to run, so a preload that silently failed to load
 * is caught instead of being reported as glibc under another name.
 */
#ifndef BENCH_ALLOC_API_H
#define BENCH_ALLOC_API_H

#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#if defined(BENCH_OBJMEM)

#include "objmem.h"
#define BENCH_MALLOC(n) om_malloc(n)
#define BENCH_FREE(p)   om_free(p)
#define BENCH_HAS_FREE  1
static inline const char *bench_allocator(void)
{
    return "objmem";
}
static inline void bench_allocator_init(void) {}

#elif defined(BENCH_BOEHM)

#include <gc.h>
#define BENCH_MALLOC(n) GC_MALLOC(n)
#define BENCH_FREE(p)   ((void)(p))
#define BENCH_HAS_FREE  0
static inline const char *bench_allocator(void)
{
    return "boehm";
}
static inline void bench_allocator_init(void)
{
    GC_INIT();
}

#elif defined(BENCH_SYSTEM)

#include <dlfcn.h>
#define BENCH_MALLOC(n) malloc(n)
#define BENCH_FREE(p)   free(p)
#define BENCH_HAS_FREE  1
/* Which malloc won symbol resolution: each preloadable peer exports a
 * function of its own that glibc lacks. */
static inline const char *bench_allocator(void)
{
    if (dlsym(RTLD_DEFAULT, "mi_malloc"))
        return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "mallctl"))
        return "jemalloc";
    if (dlsym(RTLD_DEFAULT, "tc_malloc"))
        return "tcmalloc";
    return "glibc";
}
static inline void bench_allocator_init(void) {}

#else
#error "define one of BENCH_OBJMEM, BENCH_SYSTEM, BENCH_BOEHM (see bench/CMakeLists.txt)"
#endif

static inline void bench_alloc_start(void)
{
    bench_allocator_init();
    printf("info allocator %s\n", bench_allocator());
}

/* A block the benchmark allocated is "used": the compiler may not drop a
 * malloc/free pair it can see through (GCC does for malloc and free). */
#define BENCH_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* ---- marked blocks ------------------------------------------------------------
 * A block of a random size 16..512 that records its size in its first two
 * bytes and a tag in its last.  bench_unmark checks both before the block is
 * freed, so an allocator that hands out overlapping blocks fails the run. */
static inline unsigned char bench_tag(size_t size)
{
    return (unsigned char)(size ^ 0xa5);
}

static inline unsigned char *bench_marked_block(bench_rng *rng)
{
    size_t size = bench_between(bench_rand(rng), BENCH_SMALL_MIN, BENCH_SMALL_MAX);
    unsigned char *p = BENCH_MALLOC(size);
    if (!p)
        bench_fail("allocation of %zu bytes failed", size);
    p[0] = (unsigned char)size;
    p[1] = (unsigned char)(size >> 8);
    p[size - 1] = bench_tag(size);
    return p;
}

static inline void bench_unmark(const unsigned char *p)
{
    size_t size = (size_t)p[0] | (size_t)p[1] << 8;
    if (size < BENCH_SMALL_MIN || size > BENCH_SMALL_MAX || p[size - 1] != bench_tag(size))
        bench_fail("a block lost its marks: overlapping blocks?");
}

#endif
