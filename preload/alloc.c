/*
 * preload/alloc.c: the malloc family, for any program, through LD_PRELOAD.
 *
 * Strategy.  Every entry point is a thin shell around om_*: the heap needs no
 * initialisation call (its first om_malloc sets it up), so the very first
 * malloc of the process, which ld.so or libc may make before any constructor
 * has run, is served like any other.  The shells do two things the heap does
 * not:
 *
 *   1. Foreign pointers.  A block that some other allocator handed out before
 *      this library took over (or that reached us through a path we cannot
 *      see) must never reach om_free, which would abort on it.  The heap's
 *      segment registry says in one load, never reading memory objmem does
 *      not own, whether p lies in objmem's memory; every free, realloc and
 *      malloc_usable_size asks it first and sends what lies elsewhere to
 *      glibc's own functions (__libc_free and friends, exported by
 *      glibc for exactly this; dlsym is not needed, which matters because
 *      dlsym itself may allocate during start-up).
 *
 *   2. Recording.  When `objmem run` started the program, pl_active is set by
 *      the constructor and each shell reports to the recorder: an allocation
 *      after it succeeded, a free before the block is given back (so the free
 *      is always recorded before another thread can be handed the same
 *      address).  realloc is a free followed by an allocation.
 *
 *         program --malloc--> malloc() --om_malloc--> heap
 *                                 |
 *                                 +--pl_on_alloc--> recorder --write--> capture
 *
 * Speed.  malloc and free compile the heap's own inline paths (heap/fast.h:
 * the pop from the thread heap's current pool, the push into an arena
 * pool) instead of calling om_malloc / om_free, and leave everything else
 * (a miss, a mode on, recording, a foreign pointer) to out-of-line helpers
 * reached by a tail call, so their common case has no frame, no saved
 * register and no PLT call (the library binds its own symbols:
 * -Bsymbolic-functions).  Binary trees, preloaded, against mimalloc
 * preloaded: 1.98x before, 1.53x after; the rest is the heap's own path.
 * Their frames matter to the recorder: the library is built with frame
 * pointers, and the functions that record pass theirs down (record()), where
 * the unwinder starts.
 *
 * Edge cases follow glibc: malloc(0) is a unique pointer, realloc(p, 0) frees
 * and returns NULL, memalign rounds an alignment that is not a power of two up
 * to one, aligned_alloc rejects it with EINVAL, posix_memalign returns the
 * error instead of setting errno.  cfree, gone from glibc's current symbol
 * set, is kept for old binaries: it is free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "objmem/heap.h"
#include "heap/heap.h"
#include "heap/special.h"
#include "preload.h"

#define PL_EXPORT __attribute__((visibility("default")))

/* glibc's own allocator, exported under these names. */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t size);

/* glibc's malloc_usable_size, found by process.c's constructor (dlsym may
 * allocate, so not earlier).  Until then, the chunk header glibc keeps in
 * the word before each block: the size, its low three bits flags, one more
 * word of overhead for an mmapped chunk (bit 1). */
size_t (*pl_next_usable_size)(void *p);

static size_t foreign_usable_size(void *p)
{
    if (pl_next_usable_size)
        return pl_next_usable_size(p);
    size_t head = ((const size_t *)p)[-1];
    size_t chunk = head & ~(size_t)7;
    size_t overhead = (head & 2) ? 2 * sizeof(size_t) : sizeof(size_t);
    return chunk > overhead ? chunk - overhead : 0;
}

/* p lies in memory objmem reserved (an arena or a large segment), live block
 * or not (hp_in_heap: one registry load, reading only objmem's memory).  No
 * other allocator's block can lie there, so such a pointer goes to om_*,
 * which checks that it is a live block's start and names a double or
 * invalid free itself; anything else goes to glibc.  (Asking for a live
 * block here, hp_block_of, cost a quarter of a malloc/free pair.) */
static inline bool reserved(const void *p)
{
    return hp_in_heap(p);
}

/* A pointer objmem does not own goes to glibc, which reads the word before
 * it.  When that word is not even mapped (a block objmem gave back to the OS
 * and that the program frees again), say so and stop, rather than let glibc
 * fault.  msync on an unmapped page fails with ENOMEM; one system call, on a
 * path that well-behaved programs almost never take. */
static void *check_foreign(void *p, const char *what)
{
    uintptr_t page = ((uintptr_t)p - 2 * sizeof(size_t)) & ~(uintptr_t)4095;
    int saved = errno;
    if (msync((void *)page, 1, MS_ASYNC) != 0 && errno == ENOMEM)
        om_fatal("%s(%p): not a block of objmem or glibc (freed twice?)", what, p);
    errno = saved;
    return p;
}

/* entry: the frame of the exported function (or of malloc_rest, which
 * malloc reaches by a jump), where the recorder's unwinding starts. */
static inline void *record_at(void *p, size_t size, const void *entry)
{
    if (OM_UNLIKELY(__atomic_load_n(&pl_active, __ATOMIC_RELAXED)) && p) {
        if (pl_sampling && (pl_sample_left -= (int64_t)size) > 0)
            return p; /* not sampled: the fast lane */
        pl_on_alloc(p, size, entry);
    }
    return p;
}
#define record(p, size) record_at((p), (size), __builtin_frame_address(0))

/* Before an owned block is freed or moved. */
static inline void forget(void *p)
{
    if (OM_UNLIKELY(__atomic_load_n(&pl_active, __ATOMIC_RELAXED)) &&
        (!pl_sampling || pl_maybe_sampled(p)))
        pl_on_free(p);
}

/* malloc's and free's common case, compiled in here from the heap's inline
 * paths (heap/fast.h) instead of a call to om_malloc / om_free: the pop from
 * the thread heap's current pool, the push of a block in an arena pool's
 * first slot.  Everything else (a miss, a mode on, a large block, a block of
 * another thread's pool) goes to om_* as before, which tries again. */
static inline void *pop(size_t size)
{
    void *b = hp_pop(hp_tls_heap, size, false); /* misses when a heap mode is on */
    return OM_LIKELY(b) ? b : om_malloc(size);
}

/* The rest of malloc, out of line (as are the recorded frees below): the
 * shells' common case then needs no frame and no saved registers, and
 * reaches these by a tail call.  b: the block popped, or NULL. */
static OM_NOINLINE void *malloc_rest(void *b, size_t size)
{
    if (!b)
        b = om_malloc(size);
    return record(b, size);
}

/* p is reserved (in objmem's memory): recorded, then freed. */
static OM_NOINLINE void free_recorded(void *p)
{
    forget(p);
    hp_pool *q = hp_slot_of(p);
    if (OM_LIKELY(q)) {
        hp_push(hp_tls_heap, q, p, false);
        return;
    }
    om_free(p);
}

static OM_NOINLINE void free_foreign(void *p)
{
    if (OM_UNLIKELY(!reserved(p))) {
        __libc_free(check_foreign(p, "free"));
        return;
    }
    om_free(p); /* reserved, not in an arena pool's first slot */
}

PL_EXPORT void *malloc(size_t size)
{
    void *b = hp_pop(hp_tls_heap, size, false); /* misses when a heap mode is on */
    if (OM_LIKELY(b != NULL) & !__atomic_load_n(&pl_active, __ATOMIC_RELAXED))
        return b;
    return malloc_rest(b, size);
}

PL_EXPORT void free(void *p)
{
    if (OM_UNLIKELY(__atomic_load_n(&pl_active, __ATOMIC_RELAXED))) {
        if (p && reserved(p)) {
            free_recorded(p);
            return;
        }
    }
    hp_pool *q = hp_slot_of(p); /* NULL for NULL: the registry has no page 0 */
    if (OM_LIKELY(q)) {
        hp_push(hp_tls_heap, q, p, false);
        return;
    }
    if (p)
        free_foreign(p);
}

PL_EXPORT void cfree(void *p)
{
    free(p);
}

PL_EXPORT void *calloc(size_t count, size_t size)
{
    return record(om_calloc(count, size), count * size);
}

PL_EXPORT void *realloc(void *p, size_t size)
{
    if (!p)
        return record(pop(size), size);
    if (OM_UNLIKELY(!reserved(p)))
        return __libc_realloc(check_foreign(p, "realloc"), size);
    if (OM_LIKELY(!__atomic_load_n(&pl_active, __ATOMIC_RELAXED)))
        return om_realloc(p, size);
    forget(p);
    void *q = om_realloc(p, size);
    if (q)
        record(q, size);
    else if (size != 0)
        record(p, om_usable_size(p)); /* failed: p is still live */
    return q;
}

PL_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

#define RECORD_ALIGNED(alignment, size) record(om_aligned_alloc((alignment), (size)), (size))

static bool power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

PL_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (!power_of_two(alignment) || alignment % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = RECORD_ALIGNED(alignment, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

PL_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (!power_of_two(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return RECORD_ALIGNED(alignment, size);
}

PL_EXPORT void *memalign(size_t alignment, size_t size)
{
    if (alignment > ((size_t)1 << 62)) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = alignment < 16 ? 16 : alignment;
    while (!power_of_two(a))
        a += a & -a; /* up to the next power of two */
    return RECORD_ALIGNED(a, size);
}

static size_t page_size(void)
{
    static size_t cached;
    if (!cached)
        cached = (size_t)sysconf(_SC_PAGESIZE);
    return cached;
}

PL_EXPORT void *valloc(size_t size)
{
    return RECORD_ALIGNED(page_size(), size);
}

PL_EXPORT void *pvalloc(size_t size)
{
    size_t page = page_size();
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = size ? (size + page - 1) & ~(page - 1) : page;
    return RECORD_ALIGNED(page, rounded);
}

PL_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (OM_UNLIKELY(!reserved(p)))
        return foreign_usable_size(check_foreign(p, "malloc_usable_size"));
    return om_usable_size(p);
}
