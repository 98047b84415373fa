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
 * preloaded: 1.98x before, 1.53x after.  Nothing of the recorder's is tested
 * there: recording is a heap mode (HP_MODE_DETOUR, which the recorder turns
 * on with pl_active), so the one test of hp_mode that any inline path makes
 * also sends every call to the helpers while recording, and these serve it
 * with the same inline paths, that bit ignored.  And the pop leaves out the
 * heap's sampling countdown, which nothing in this library reads, and tests
 * the mode in the compare that bounds the class (class | mode).  free keeps
 * no copy of the slot for its calls out (free_lane looks it up again).  So,
 * in instructions (binary trees, depth 14, the program included): 368
 * million before, 323 million with the inline paths (malloc 30 -> 23 a
 * call, free 48 -> 41), 311 million now (malloc 21, free 39), against 252
 * million with mimalloc (16 and 26); what remains is the heap's own: the
 * registry's look at every freed pointer (foreign pointers), the check of a
 * freed block (invalid and double frees), the statistics.
 *
 *     malloc:  pop_unsampled(class | mode, pool, block)    --miss--> malloc_rest
 *     free:    registry -> slot -> owner | mode == me  push  --else--> free_lane
 *
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

/* While recording: an allocation that succeeded, reported unless sampling
 * passes it over (the fast lane: a thread-local countdown).  entry: the
 * frame of the exported function (or of malloc_rest, which malloc reaches
 * by a jump), where the recorder's unwinding starts. */
static inline void report(void *p, size_t size, const void *entry)
{
    if (pl_sampling && (pl_sample_left -= (int64_t)size) > 0)
        return; /* not sampled: the fast lane */
    pl_on_alloc(p, size, entry);
}

static inline void *record_at(void *p, size_t size, const void *entry)
{
    if (OM_UNLIKELY(__atomic_load_n(&pl_active, __ATOMIC_RELAXED)) && p)
        report(p, size, entry);
    return p;
}
#define record(p, size) record_at((p), (size), __builtin_frame_address(0))

/* While recording, before an owned block is freed or moved: reported unless
 * sampling surely did not keep it (one filter load). */
static inline void report_free(void *p)
{
    if (!pl_sampling || pl_maybe_sampled(p))
        pl_on_free(p);
}

static inline void forget(void *p)
{
    if (OM_UNLIKELY(__atomic_load_n(&pl_active, __ATOMIC_RELAXED)))
        report_free(p);
}

/* malloc's and free's common case, compiled in here from the heap's inline
 * paths (heap/fast.h) instead of a call to om_malloc / om_free: the pop from
 * the thread heap's current pool (without the sampling countdown: nothing
 * samples this library's heap), the push of a block in an arena pool's first
 * slot.  Both miss while any heap mode is on, and recording is one
 * (HP_MODE_DETOUR, set with pl_active): so the common case tests nothing of
 * the recorder's.  Everything else (a miss, a mode, recording, a large block,
 * a block of another thread's pool, a foreign pointer) goes to the
 * out-of-line helpers below, reached by a tail call, so that the common case
 * needs no frame and no saved register. */
static inline void *pop(size_t size)
{
    void *b = hp_pop(hp_tls_heap, size, false); /* misses when a heap mode is on */
    return OM_LIKELY(b) ? b : om_malloc(size);
}

static inline bool recording(void)
{
    return __atomic_load_n(&pl_active, __ATOMIC_RELAXED) != 0;
}

/* hp_mode without the recorder's bit: what the heap's inline paths must
 * still miss on while recording. */
static inline uint64_t other_modes(void)
{
    return __atomic_load_n(&hp_mode, __ATOMIC_RELAXED) & ~HP_MODE_DETOUR;
}

/* The rest of malloc: a miss, a mode, or recording (whose allocations the
 * inline pop serves here as when nothing records). */
static OM_NOINLINE void *malloc_rest(size_t size)
{
    if (!recording())
        return om_malloc(size);
    void *b = hp_pop_unsampled(hp_tls_heap, size, HP_MODE_DETOUR);
    if (OM_UNLIKELY(!b) && !(b = om_malloc(size)))
        return NULL;
    report(b, size, __builtin_frame_address(0));
    return b;
}

/* The rest of free for p in an arena pool's first slot: a mode, recording
 * (recorded, then pushed as when nothing records), a pool of another heap
 * or a block the inline checks refused (hp_free_lane names it and aborts).
 * The slot is looked up again here, so that free keeps no copy of it for
 * this call. */
static OM_NOINLINE void free_lane(void *p)
{
    hp_pool *q = hp_slot_of(p);
    if (recording()) {
        report_free(p);
        hp_heap *h = hp_tls_heap;
        if (OM_LIKELY((uintptr_t)HP_LOAD(&q->fast) == ((uintptr_t)h | other_modes()))) {
            hp_push_owned(h, q, p, false);
            return;
        }
    }
    hp_free_lane(q, p);
}

/* Any other p but NULL: a large block or a later slot of a pool (recorded,
 * then om_free), or a foreign pointer (glibc's, not recorded). */
static OM_NOINLINE void free_other(void *p)
{
    if (OM_UNLIKELY(!reserved(p))) {
        __libc_free(check_foreign(p, "free"));
        return;
    }
    forget(p);
    om_free(p);
}

PL_EXPORT void *malloc(size_t size)
{
    void *b = hp_pop_unsampled(hp_tls_heap, size, 0); /* misses on any mode, recording too */
    if (OM_LIKELY(b != NULL))
        return b;
    return malloc_rest(size);
}

/* Relaxed loads of words other threads store to (the registry, a pool's
 * fast-owner word, hp_mode), folded into the instruction that uses them.
 * GCC makes a separate load of every atomic load, and so of HP_LOAD; on
 * x86-64 these do the same load inside the compare (or the or), as
 * HP_COUNT does for its add: free is two instructions shorter.  Elsewhere
 * HP_LOAD and the plain operation. */
#if defined(__x86_64__)
static inline __attribute__((always_inline)) bool byte_is(const uint8_t *at, uint8_t v)
{
    bool eq;
    __asm__("cmpb %2, %1" : "=@ccz"(eq) : "m"(*at), "i"(v));
    return eq;
}

static inline __attribute__((always_inline)) bool word_is(hp_heap *const *at, uintptr_t v)
{
    bool eq;
    __asm__("cmpq %2, %1" : "=@ccz"(eq) : "m"(*at), "r"(v));
    return eq;
}

static inline __attribute__((always_inline)) uintptr_t with_mode(uintptr_t v)
{
    __asm__("orq %1, %0" : "+r"(v) : "m"(hp_mode));
    return v;
}
#else
static inline bool byte_is(const uint8_t *at, uint8_t v)
{
    return HP_LOAD(at) == v;
}

static inline bool word_is(hp_heap *const *at, uintptr_t v)
{
    return (uintptr_t)HP_LOAD(at) == v;
}

static inline uintptr_t with_mode(uintptr_t v)
{
    return v | (uintptr_t)HP_LOAD(&hp_mode);
}
#endif

/* hp_slot_of with the registry's byte compared in place. */
static inline __attribute__((always_inline)) hp_pool *slot_of(const void *p)
{
    uintptr_t a = (uintptr_t)p, i = a >> HP_SEGMENT_SHIFT;
    if (OM_LIKELY(i < HP_REGISTRY_SIZE && byte_is(&hp_registry[i], HP_REG_ARENA))) {
        hp_segment *s = (hp_segment *)(a & ~(uintptr_t)(HP_SEGMENT_SIZE - 1));
        return &s->pools[(a >> HP_SLOT_SHIFT) & (HP_SLOTS - 1)];
    }
    return NULL;
}

PL_EXPORT void free(void *p)
{
    hp_pool *q = slot_of(p); /* NULL for NULL: the registry has no page 0 */
    if (OM_LIKELY(q != NULL)) {
        hp_heap *h = hp_tls_heap;
        if (OM_LIKELY(word_is(&q->fast, with_mode((uintptr_t)h)) && /* hp_fast_key(h) */
                      hp_push_inexact(h, q, p))) /* no mode, our pool, a plausible block */
            return;
        free_lane(p);
        return;
    }
    if (p)
        free_other(p);
}

PL_EXPORT void cfree(void *p)
{
    free(p);
}

/* The rest of calloc: an overflow, a miss, a mode, or recording (reached
 * by a jump, so its frame is where the recorder starts, as malloc_rest's). */
static OM_NOINLINE void *calloc_rest(size_t count, size_t size)
{
    return record(om_calloc(count, size), count * size);
}

/* malloc's inline pop and a memset: half the instructions of om_calloc's
 * way (gcc's cc1, which callocs its hash tables and bitmaps). */
PL_EXPORT void *calloc(size_t count, size_t size)
{
    size_t total;
    if (OM_LIKELY(!__builtin_mul_overflow(count, size, &total))) {
        void *b = hp_pop_unsampled(hp_tls_heap, total, 0); /* misses on any mode */
        if (OM_LIKELY(b != NULL))
            return memset(b, 0, total);
    }
    return calloc_rest(count, size);
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
