/*
 * trace/trace.h: the tracer's internal pieces, grouped by the file that
 * defines them.  Everything here sits above the heap and calls down only.
 *
 * Glossary
 *   trace      a live traced block: address, size, traceback id; held in
 *              the blocks index (blocks.c) or else the table (store.c)
 *   traceback  (domain, frames): interned once, named by a 32-bit id
 *   frame      a uintptr_t: a call site (om_trace_site *, top bit set) or a
 *              native return address (low bit clear)
 *   snapshot   a resolved, self-contained copy of the traces (snapshot.c)
 *
 * Memory: the tracer never allocates from objmem or malloc while it holds
 * its lock or runs inside a hook; its tables come from mmap (tr_map), so it
 * cannot recurse into itself and its failures only drop traces.
 */
#ifndef OM_TRACE_TRACE_H
#define OM_TRACE_TRACE_H

#include <pthread.h>
#include <stdatomic.h>

#include "heap/special.h"
#include "objmem/trace.h"
#include "util/util.h"

/* Top bit of a frame word: a call site, not a return address (user-space
 * addresses never have it; return addresses may have any low bit). */
#define TR_FRAME_SITE ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))
#define TR_NO_TB      UINT32_MAX

/* ---- mem.c: pages from the OS for the tracer's own tables ------------------ */
OM_INTERNAL void *tr_map(size_t bytes); /* zero-filled; NULL on failure */
/* The same, never populated up front: pages become resident when touched. */
OM_INTERNAL void *tr_map_lazy(size_t bytes);
OM_INTERNAL void tr_unmap(void *p, size_t bytes);
/* Tests: the nth tr_map from now fails (0 disarms). */
OM_INTERNAL void tr_map_fail_after(uint64_t n);

/* ---- store.c: the table of traces, keyed by address -------------------------
 * 16 bytes a slot; sizes of 4 GiB and more live in a small side list.  The
 * key word holds the address shifted up by TR_DISP_BITS and, below it, how
 * far the slot lies from the address's home (Robin Hood probing). */
#define TR_DISP_BITS 8
#define TR_DISP_MAX  ((1u << TR_DISP_BITS) - 1) /* a longer probe grows the table */
#define TR_ADDR_BITS (64 - TR_DISP_BITS)        /* 56: user space with 5-level tables */
typedef struct tr_slot {
    uint64_t key;  /* addr << TR_DISP_BITS | displacement; 0: empty */
    uint32_t size; /* TR_SIZE_BIG: see the side list */
    uint32_t tb;
} tr_slot;
#define TR_SIZE_BIG UINT32_MAX
static inline uintptr_t tr_slot_addr(const tr_slot *s)
{
    return (uintptr_t)(s->key >> TR_DISP_BITS);
}

typedef struct tr_big {
    uintptr_t addr;
    size_t size;
} tr_big;

typedef struct tr_table {
    tr_slot *slots;
    size_t cap;   /* slots; 0 before the first insert */
    size_t count; /* live traces */
    tr_big *big;
    size_t nbig, capbig;
    /* slots and cap again, readable with no lock for tr_table_prefetch (a
     * stale pair only prefetches a useless line: prefetches never fault) */
    _Atomic(tr_slot *) hint_slots;
    _Atomic size_t hint_cap;
} tr_table;

OM_INTERNAL int tr_table_insert(tr_table *t, uintptr_t addr, size_t size, uint32_t tb);
/* Removes addr; true (and its size and traceback) when it was traced. */
OM_INTERNAL bool tr_table_remove(tr_table *t, uintptr_t addr, size_t *size, uint32_t *tb);
OM_INTERNAL bool tr_table_find(const tr_table *t, uintptr_t addr, size_t *size, uint32_t *tb);
OM_INTERNAL void tr_table_clear(tr_table *t);
/* Starts loading the slot where addr's trace is or would go, with no lock
 * held, so that the miss overlaps the hook's other work. */
OM_INTERNAL void tr_table_prefetch(const tr_table *t, uintptr_t addr);
/* The home slot of addr in a table of cap slots (for tests). */
OM_INTERNAL size_t tr_table_home(uintptr_t addr, size_t cap);
OM_INTERNAL size_t tr_table_bytes(const tr_table *t);
/* The size of a slot (the side list for big ones). */
OM_INTERNAL size_t tr_slot_size(const tr_table *t, const tr_slot *s);

/* ---- blocks.c: traces by slot and block index, no hashing --------------------
 * Holds the traces of blocks that share their 64 KiB slot with blocks of
 * one size only (every plain block of the heap); refuses the others, which
 * the table above takes. */
typedef struct tr_slot_rec tr_slot_rec;
typedef struct tr_blocks {
    struct region_node **dir; /* by address >> 32; NULL until the first trace */
    uint64_t dir_pages;       /* pages of dir touched, one bit each */
    size_t count;             /* live traces */
    char *chunk;              /* the chunk arrays and nodes are carved from */
    size_t chunk_used;
    void **chunks; /* every chunk, to give them back */
    size_t nchunks, capchunks;
    void *free_arrays[12]; /* emptied id arrays of 16 B << i */
    uintptr_t hint_slot;   /* (address >> 16) + 1 of the last slot looked up; 0: none */
    tr_slot_rec *hint_rec; /* its record */
    size_t bytes;          /* everything mapped but the directory */
} tr_blocks;

/* 0: stored (*replaced: the size of a trace it replaced, a block whose
 * free was missed, else 0); 1: refused, keep it elsewhere; -1: out of memory. */
OM_INTERNAL int tr_blocks_insert(tr_blocks *b, uintptr_t addr, size_t size, uint32_t tb,
                                 size_t *replaced);
/* Removes the trace of addr when it is held here with this size. */
OM_INTERNAL bool tr_blocks_remove(tr_blocks *b, uintptr_t addr, size_t size, uint32_t *tb);
OM_INTERNAL bool tr_blocks_find(const tr_blocks *b, uintptr_t addr, size_t *size, uint32_t *tb);
/* Calls fn for every trace held; returns how many. */
typedef void (*tr_blocks_fn)(size_t size, uint32_t tb, void *arg);
OM_INTERNAL size_t tr_blocks_each(const tr_blocks *b, tr_blocks_fn fn, void *arg);
OM_INTERNAL void tr_blocks_clear(tr_blocks *b);
OM_INTERNAL size_t tr_blocks_bytes(const tr_blocks *b);

/* ---- tracebacks.c: interned tracebacks ----------------------------------------- */
typedef struct tr_tb {
    uint64_t hash;
    uint32_t domain;
    uint16_t nframe;
    uint16_t total_nframe;
    uint64_t alloc_bytes; /* bytes allocated from here while a region was open */
    uint64_t alloc_count;
    uintptr_t frames[];
} tr_tb;

typedef struct tr_tbs {
    tr_tb **byid;    /* id -> record */
    size_t capid;    /* entries of byid */
    uint32_t count;  /* ids handed out */
    uint64_t *index; /* open addressing: hash's top 32 bits << 32 | id + 1 (0: empty) */
    size_t capindex;
    char *chunk; /* the chunk records are carved from */
    size_t chunk_used, chunk_size;
    void **chunks; /* every chunk, to give them back */
    size_t nchunks, capchunks;
    size_t bytes; /* everything mapped */
} tr_tbs;

OM_INTERNAL uint32_t tr_tbs_intern(tr_tbs *t, uint32_t domain, const uintptr_t *frames,
                                   unsigned nframe, unsigned total);
static inline tr_tb *tr_tbs_get(const tr_tbs *t, uint32_t id)
{
    return t->byid[id];
}
OM_INTERNAL void tr_tbs_clear(tr_tbs *t);

/* ---- capture.c: frames of the current call ------------------------------------ */
/* Loads the fast unwinder when there is one (once, outside any hook). */
OM_INTERNAL void tr_capture_init(void);
/* Fills frames[0..max) for an allocation whose public entry point was called
 * from `caller`; returns the frames kept and sets *total to those seen. */
OM_INTERNAL unsigned tr_capture(uintptr_t *frames, unsigned max, void *caller, unsigned *total);
/* Defined in this library (capture.c): initial-exec, one load even in the
 * shared library, where the public declaration means a __tls_get_addr call. */
extern __thread const om_trace_site *om_trace_site_tls __attribute__((tls_model("initial-exec")));
/* Frame 0 alone: the wrapped call's site, else the caller's return address. */
static inline uintptr_t tr_first_frame(void *caller)
{
    const om_trace_site *site = om_trace_site_tls;
    return site ? (uintptr_t)site | TR_FRAME_SITE : (uintptr_t)caller;
}

/* ---- sample.c: sampling's weights ------------------------------------------------ */
/* The bytes a sampled block of `size` bytes stands for when the mean gap is
 * `mean`: size / (1 - exp(-size/mean)), at least size. */
OM_INTERNAL size_t tr_sample_weight(size_t size, size_t mean);
/* The tracer's own countdown (per thread), for blocks the heap does not
 * sample (the debug heap's): 0 when this block is not sampled, else its weight. */
OM_INTERNAL size_t tr_sample_own(size_t size, size_t mean);

/* ---- counts.c: traced bytes and traces, counted by each thread ---------------------
 * A thread counts what it allocates and frees (traced bytes and traces) in
 * a record of its own, so the common case needs no lock and no shared
 * line: current = the sum of the records (+ what threads that are gone
 * counted).  The peak: one thread at a time, the owner, counts with no
 * lock at all and keeps the highest of its own bytes since it became the
 * owner (hi); everyone else's bytes stay put meanwhile (base), because any
 * other thread's count takes the lock and first folds base + owner's hi
 * into the peak.  So the peak is exact whenever one thread counts at a
 * time; threads that count at once take the lock (and ownership) in turn,
 * and one count racing with a change of owner may be missing from the
 * peak (never from current).  The counts themselves live in the heap's
 * per-thread hp_ids_local (heap/special.h), whose id lanes count inline
 * for the owner (hp_ids_owner); the records here find them. */
typedef struct tr_thread {
    hp_ids_local *c;         /* its thread's counts and site cache */
    uint64_t epoch;          /* tr_state.epoch + 1 of the counts; 0: free for reuse */
    struct tr_thread *next;  /* every record (under the lock) */
    struct tr_thread *spare; /* records of threads gone, for reuse (under the lock) */
} tr_thread;
/* The calling thread's record, NULL before its first count. */
OM_INTERNAL extern OM_THREAD_LOCAL tr_thread *tr_self;

/* ---- tracer.c: the state, the hooks ---------------------------------------------- */
#define TR_MAX_REGIONS 16 /* regions open at once (bits of a mask) */

typedef struct tr_state {
    _Atomic int lock; /* guards everything below: tr_lock / tr_unlock */
    bool tracing;
    int nframe;
    size_t mean_bytes; /* 0: exact */
    tr_table table;    /* traces the blocks index refuses */
    tr_blocks blocks;  /* the other traces: most of them */
    tr_tbs tbs;        /* (the heap keeps the ids of most traces: hp_ids_*) */
    /* counts.c: the per-thread counts and the peak */
    tr_thread *threads; /* every record */
    int64_t base;       /* bytes of everyone but hp_ids_owner (all, without one) */
    int64_t gone_bytes, gone_count, gone_allocs; /* of records gone or missing */
    size_t peak;
    uint64_t lost;
    uint64_t alloc_bytes, free_bytes;   /* traced bytes allocated and freed since start, */
    uint64_t alloc_count, free_count;   /* counted while a region is open (their only readers) */
    uint64_t epoch;                     /* +1 each time the traces are forgotten */
    uint32_t region_mask;               /* regions open now */
    size_t region_peak[TR_MAX_REGIONS]; /* most `current` seen while each is open */
} tr_state;
OM_INTERNAL extern tr_state tr_global;

/* The tracer's lock: a test-and-test-and-set spin lock that yields the CPU
 * after SPINS tries.  Held for a table operation (tens of nanoseconds), so
 * an uncontended acquire and release (one exchange, one store) beats a
 * mutex; it is never held across a call that could block. */
#define TR_SPINS 64
OM_INTERNAL void tr_lock_slow(tr_state *g);
static inline void tr_lock(tr_state *g)
{
    if (OM_UNLIKELY(atomic_exchange_explicit(&g->lock, 1, memory_order_acquire)))
        tr_lock_slow(g);
}
static inline void tr_unlock(tr_state *g)
{
    atomic_store_explicit(&g->lock, 0, memory_order_release);
}
/* The domain of a private heap (0 for NULL, the global heap).  Lock held. */
OM_INTERNAL uint32_t tr_domain_of_heap(const void *heap);

/* The raw copy of the traces a snapshot starts from, made under the lock
 * (and the heap's ids, read right after it). */
typedef struct tr_raw {
    int nframe;
    size_t ntraces;
    struct tr_raw_trace {
        size_t size;
        uint32_t tb;
    } * traces;
    size_t ntbs;
    tr_tb **tbs; /* copies, one mapping */
    void *map;
    size_t map_bytes;
} tr_raw;
/* -1 with a message when tracing is off or memory ran out. */
OM_INTERNAL int tr_raw_take(tr_raw *raw);
OM_INTERNAL void tr_raw_free(tr_raw *raw);
/* The traceback of one traced address, copied (false if untraced). */
OM_INTERNAL bool tr_find_traceback(uintptr_t addr, uintptr_t *frames, unsigned *nframe,
                                   unsigned *total, unsigned *domain);

/* counts.c, all with the lock held.  The calling thread's record for this
 * session (made or reset on first use), NULL when memory ran out. */
OM_INTERNAL tr_thread *tr_thread_get(tr_state *g);
/* Counts a change of bytes and traces (and allocs, traces allocated) for
 * thread t (NULL: no record); own: t may become the owner. */
OM_INTERNAL void tr_count(tr_state *g, tr_thread *t, int64_t bytes, int64_t count, int64_t allocs,
                          bool own);
/* No owner from now on (a region opens, the peak is reset). */
OM_INTERNAL void tr_counts_revoke(tr_state *g);
/* c's cache (the calling thread's) is now of heap (NULL: none); its lane
 * follows while c owns the counts.  Under the lock. */
OM_INTERNAL void tr_counts_cache_of(hp_ids_local *c, const void *heap);
OM_INTERNAL size_t tr_current(tr_state *g);
OM_INTERNAL size_t tr_peak(tr_state *g);
OM_INTERNAL void tr_reset_peak(tr_state *g);
OM_INTERNAL size_t tr_live_traces(tr_state *g);
OM_INTERNAL uint64_t tr_allocs(tr_state *g);
/* Every count forgotten (a new session). */
OM_INTERNAL void tr_counts_forget(tr_state *g);
/* Once, before the first count: a thread's record is given back at its exit. */
OM_INTERNAL void tr_counts_init(void);
/* ---- snapshot.c ---------------------------------------------------------------- */
typedef struct tr_snap_tb {
    uint32_t domain, nframe, total_nframe, first; /* frames[first .. first + nframe) */
} tr_snap_tb;

typedef struct tr_snap_trace {
    uint64_t size;
    uint32_t tb;
} tr_snap_trace;

struct om_trace_snapshot {
    int traceback_limit;
    size_t ntraces, ntbs, nframes;
    tr_snap_trace *traces;
    tr_snap_tb *tbs;
    om_trace_frame *frames; /* strings point into `strings` */
    char *strings;
    size_t strings_len;
};

/* Builds a snapshot from its parts (it takes ownership of all of them; the
 * frames' string pointers are offsets into strings until fixed here). */
OM_INTERNAL om_trace_snapshot *tr_snapshot_assemble(om_trace_snapshot *s);
OM_INTERNAL om_trace_traceback tr_snapshot_traceback(const om_trace_snapshot *s, uint32_t tb);
/* Resolves one frame word into file, function, line (strings owned by the
 * loader or the call site: copy them). */
OM_INTERNAL void tr_resolve(uintptr_t word, const char **file, const char **func, unsigned *lineno,
                            uintptr_t *address);

/* ---- symbols.c: native addresses, resolved (never inside a hook) -------------------- */
/* Function, file and line of a return address (libdw, else dladdr; "?" and 0
 * for what is unknown).  The strings stay valid for the life of the process. */
OM_INTERNAL void tr_symbolize(uintptr_t address, const char **file, const char **func,
                              unsigned *lineno);

/* ---- strpool.c: interned strings while building a snapshot ------------------------ */
typedef struct tr_strpool {
    char *buf;
    size_t len, cap;
    uint32_t *index; /* offset + 1, 0: empty */
    size_t capindex, count;
} tr_strpool;
/* Offset of s in the pool; SIZE_MAX when memory ran out. */
OM_INTERNAL size_t tr_strpool_add(tr_strpool *p, const char *s);
OM_INTERNAL void tr_strpool_free(tr_strpool *p);

#endif
