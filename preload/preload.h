/*
 * preload/preload.h: the parts of the LD_PRELOAD library and what each
 * offers the others.
 *
 *     alloc.c     the malloc family, exported; forwards to om_*; pointers
 *                 objmem does not own go to glibc's own functions
 *     record.c    the recorder: per-thread buffers of events, blocks handed to
 *                 write(2), memory samples, fork and thread exit
 *     libs.c      libunwind and libzstd, opened when a capture starts (the
 *                 library does not depend on them: libs.h)
 *     stacks.c    native stacks (libunwind or frame pointers)
 *     unwind.c    the cached unwinder: rules learned from libunwind, and
 *                 the outer frames shared with the previous stack
 *     clock.c     the recorder's clock (time-stamp counter, scaled)
 *     ticker.c    a helper thread's tick: "has time moved?" in one load
 *     process.c   the capture file's name, module maps, dlopen / exec / _exit
 *                 interposers, the start-up constructor
 *
 * Who owns what: the recorder's global state (file, generation, options) is
 * in record.c; a thread's buffer and previous stack belong to that thread
 * alone.
 */
#ifndef OM_PRELOAD_H
#define OM_PRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "capture_format.h"

/* ---- record.c --------------------------------------------------------------- */
/* Non-zero while a capture is being written: the malloc family calls the
 * pl_on_* functions only then.  Read with a relaxed load on every call. */
OM_INTERNAL extern int pl_active;
/* glibc's malloc_usable_size for foreign blocks (set once dlsym is safe). */
OM_INTERNAL extern size_t (*pl_next_usable_size)(void *p);

/* Sampling's fast lane, read inline by alloc.c so that the allocations and
 * frees that are not sampled cost a decrement and a load.  pl_sampling: the
 * capture samples.  pl_sample_left: bytes until the calling thread's next
 * sampled allocation (pl_on_alloc is called when it drops to 0 or below).
 * pl_sample_filter: a counter per hash of sampled live blocks; 0 means the
 * block being freed was surely not sampled. */
OM_INTERNAL extern int pl_sampling;
extern OM_THREAD_LOCAL int64_t pl_sample_left;
OM_INTERNAL extern uint8_t *pl_sample_filter;
/* 2^16 counters (the top 16 bits of pl_mix): 64 KiB, so the load every free
 * makes stays in the L2 cache (2^20 missed it, and cost sampling a tenth);
 * with k sampled blocks live, a free takes the lock with odds k / 2^16. */
#define PL_FILTER_SHIFT 48

static inline uint64_t pl_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static inline bool pl_maybe_sampled(const void *p)
{
    return __atomic_load_n(&pl_sample_filter[pl_mix((uintptr_t)p) >> PL_FILTER_SHIFT],
                           __ATOMIC_RELAXED) != 0;
}

/* A thread's recorder state.  Lives in memory from mmap, never the heap. */
typedef struct pl_thread pl_thread;

/* entry: the frame of the malloc family's function that the program called
 * (this library is built with frame pointers): the stack's walk starts at
 * its return address. */
OM_INTERNAL void pl_on_alloc(void *p, size_t size, const void *entry);
OM_INTERNAL void pl_on_free(void *p);

/* Starts recording into the file named by the environment (process.c calls
 * it from the constructor).  Returns -1 with a message on stderr. */
OM_INTERNAL int pl_record_start(const char *path);
/* Writes the calling thread's buffer to the file (exec, _exit, exit). */
OM_INTERNAL void pl_record_flush_self(void);
/* Writes a memory sample and the CAP_END record and flushes the calling
 * thread; stop != 0 also ends recording (exit), 0 keeps it (exec, which may
 * fail). */
OM_INTERNAL void pl_record_finish(int stop);
/* Appends a snapshot of the module maps (after dlopen). */
OM_INTERNAL void pl_record_maps(void);
/* The calling thread's allocations are never recorded (the ticker's). */
OM_INTERNAL void pl_record_ignore_thread(void);

/* ---- clock.c ------------------------------------------------------------------ */
/* Microseconds since the capture started: the CPU's time-stamp counter scaled
 * when the kernel keeps time with it, else CLOCK_MONOTONIC.  pl_clock_tsc:
 * the counter is used; mult: microseconds per tick << PL_CLOCK_SHIFT. */
#define PL_CLOCK_SHIFT 40
#if defined(__x86_64__)
#define PL_HAVE_TSC 1
static inline uint64_t pl_read_tsc(void)
{
    return __builtin_ia32_rdtsc();
}
#else
#define PL_HAVE_TSC 0
static inline uint64_t pl_read_tsc(void)
{
    return 0;
}
#endif
OM_INTERNAL extern int pl_clock_tsc;
OM_INTERNAL extern uint64_t pl_clock_tsc0, pl_clock_mult, pl_clock_ns0;
/* Sets time 0 to now (the capture's start, or a forked child's); the first
 * call measures the counter's rate (a 0.2 ms spin). */
OM_INTERNAL void pl_clock_start(void);
/* Measures the rate again over the whole run (from the memory sampler). */
OM_INTERNAL void pl_clock_recalibrate(void);

static inline uint64_t pl_now_us(void)
{
    if (OM_LIKELY(pl_clock_tsc)) {
        uint64_t ticks = pl_read_tsc() - pl_clock_tsc0;
        uint64_t mult = __atomic_load_n(&pl_clock_mult, __ATOMIC_RELAXED);
        return (uint64_t)(((unsigned __int128)ticks * mult) >> PL_CLOCK_SHIFT);
    }
    return (om_now_ns() - pl_clock_ns0) / 1000u;
}

/* ---- ticker.c ---------------------------------------------------------------- */
/* pl_tick: bumped every few milliseconds by the helper thread while
 * pl_ticker_on (see ticker.c).  Both read with relaxed loads. */
OM_INTERNAL extern uint64_t pl_tick;
OM_INTERNAL extern int pl_ticker_on;
/* Starts the helper, once per process (a failure leaves pl_ticker_on 0). */
OM_INTERNAL void pl_ticker_start(void);
/* A forked child: no helper runs; the next pl_ticker_start makes one. */
OM_INTERNAL void pl_ticker_forget(void);
/* Events of one thread before it starts the helper: below 2^32 (a 32-bit
 * count); large enough that a shell's short command never gets a second
 * thread, and small beside an allocation-heavy run (binary trees: 6.4
 * million events).  Until then each event reads the coarse clock (13 ns
 * here): 2^20 of them were 13 ms of a 0.19 s run of binary trees, 2^16 are
 * under 1 ms. */
#define PL_TICKER_AFTER (1u << 16)

/* ---- unwind.c: the cached unwinder --------------------------------------------- */
/* How to find the caller of a frame whose pc is `ip`, learned once from
 * libunwind (see unwind.c).  kind: PL_RULE_*; cfa: the caller's stack
 * pointer minus this frame's (PL_RULE_SP); rbp: where the caller's rbp is
 * saved, relative to that (0: not saved, rbp is unchanged). */
enum { PL_RULE_SP = 1, PL_RULE_FP = 2, PL_RULE_END = 3, PL_RULE_SLOW = 4 };
typedef struct pl_rule {
    uintptr_t ip; /* 0: an empty slot */
    int32_t cfa;
    int16_t rbp;
    uint8_t kind;
} pl_rule;
/* Rules a thread keeps (a power of two); past three quarters full the table
 * starts again empty.  16 bytes each: 256 KiB a thread (of address space;
 * pages are touched as rules land on them).  gcc compiling a 300-function
 * file meets a few thousand return addresses. */
#define PL_RULE_BITS  14
#define PL_RULE_SLOTS (1u << PL_RULE_BITS)
/* One frame of the previous stack: its pc, stack pointer and rbp, and the
 * slot its caller's rbp was read from (0: none, rbp unchanged).  uses_bp:
 * the step to its caller reads rbp (a frame-pointer rule, or libunwind's);
 * bp_matters: this step or one further out does, so rbp values from here
 * out must be checked (else only the return addresses decide the frames). */
typedef struct pl_frame {
    uintptr_t ip, sp, bp, bp_slot;
    bool uses_bp, bp_matters;
} pl_frame;
#define PL_FRAMES_CAP (CAP_MAX_FRAMES + 8)
/* A thread's unwinder: its rules and its previous stack, outermost frame
 * first (prev[0]).  Owned by the thread; lives in its pl_thread. */
typedef struct pl_unwind {
    uintptr_t stack_lo, stack_hi; /* the thread's stack; hi 0: unknown */
    uint32_t epoch;               /* pl_unwind_epoch when the rules were learned */
    uint32_t rules_used;
    int prev_n;         /* frames in prev */
    bool prev_complete; /* prev reaches the outermost frame (not cut at max) */
    /* statistics (for a debugger; the common capture counts nothing): rules
     * learned (one libunwind step each), whole walks by libunwind */
    uint64_t learned, slow_walks;
    pl_frame prev[PL_FRAMES_CAP];
    pl_rule rules[PL_RULE_SLOTS];
} pl_unwind;
/* Bumped when code may have been mapped or unmapped (dlopen): every thread
 * forgets its rules at its next capture. */
OM_INTERNAL extern uint32_t pl_unwind_epoch;
/* The return addresses of the caller's stack outside this library, innermost
 * first, at most max of them, into frames[].  Returns how many.  *shared:
 * how many outermost of them are known to be those of the thread's previous
 * capture (0 when unknown).  entry: a frame of this library on the way from
 * the program's call (pl_on_alloc's), where the walk starts.  inner_only:
 * the caller needs only the frames that are not shared (frames[0 .. n -
 * *shared)); the others are left unwritten. */
OM_INTERNAL int pl_unwind_capture(pl_unwind *u, uintptr_t *frames, int max, int *shared,
                                  const void *entry, bool inner_only);

/* ---- stacks.c --------------------------------------------------------------- */
/* Fills frames[] with the return addresses of the caller's stack, leaving out
 * the frames inside this library.  Returns how many.  u: the thread's
 * unwinder state (its stack bounds, for both unwinders).  *shared, entry and
 * inner_only: as for pl_unwind_capture (*shared -1: the unwinder cannot
 * tell, and every frame is written). */
OM_INTERNAL int pl_stack_capture(uintptr_t *frames, int max, int unwinder, pl_unwind *u,
                                 int *shared, const void *entry, bool inner_only);
/* Records the address range of this library's code (called once at start). */
OM_INTERNAL void pl_stacks_init(void);
/* This library's code: [pl_self_lo, pl_self_hi). */
OM_INTERNAL extern uintptr_t pl_self_lo, pl_self_hi;
static inline bool pl_in_self(uintptr_t pc)
{
    return pc >= pl_self_lo && pc < pl_self_hi;
}

/* ---- process.c -------------------------------------------------------------- */
/* Opens this process's capture file (O_APPEND), moving aside an older file of
 * the same name.  Returns the descriptor or -1. */
OM_INTERNAL int pl_open_capture(const char *base);
/* Writes the module maps as CAP_MAP records through `emit` (one call per
 * record, at most 4 KiB each). */
OM_INTERNAL void pl_read_maps(void (*emit)(const uint8_t *rec, size_t len, void *arg), void *arg);
/* Forgets which mappings were written (a new capture file starts). */
OM_INTERNAL void pl_maps_forget(void);

#endif
