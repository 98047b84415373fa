/*
 * heap/special.h: the slow lane of the heap, shared between the core
 * allocator and the debug heap.
 *
 * The fast paths of om_malloc / om_free / hp_heap_alloc / hp_heap_free test
 * one global word, hp_mode, and leave for the functions here when it is not
 * zero: the debug heap, fault injection, allocation hooks.  So these modes
 * cost one predictable branch when they are off.
 *
 * Blocks have a kind, fixed per pool: a pool serves blocks of one kind only,
 * so the kind of any block is known in O(1) from its pool.  Debug blocks
 * carry a header and guard bytes around the user's bytes; the core frees and
 * walks them through the debug heap's functions.
 */
#ifndef OM_HEAP_SPECIAL_H
#define OM_HEAP_SPECIAL_H

#include "heap/heap.h"

/* The bits lie above any byte count the sampling countdown holds (2^53 at
 * most) and above every user-space address, so that the fast paths use
 * hp_mode as it is: the pop's sample check compares the countdown with it
 * (any mode makes every pop miss), and the push compares a pool's
 * fast-owner word with heap | hp_mode, which no heap's address equals while
 * a mode is on (heap/fast.h). */
#define HP_MODE_DEBUG (1ull << 54) /* new blocks come from the debug heap */
#define HP_MODE_FAULT (1ull << 55) /* fault injection is armed */
#define HP_MODE_HOOKS (1ull << 56) /* allocation hooks are installed (tracing) */
#define HP_MODE_IDS   (1ull << 58) /* with HOOKS: the hooks keep ids beside blocks (heap/ids.c) */
/* A layer above wants every call first (the preload's recorder, while it
 * records): the inline paths miss, and the slow lanes serve as with no mode.
 * (Bit 57 is the core's own, HP_MODE_SECURE.) */
#define HP_MODE_DETOUR (1ull << 59)
/* Read with a relaxed atomic load; changed with hp_mode_set / hp_mode_clear. */
OM_INTERNAL extern uint64_t hp_mode;
OM_INTERNAL void hp_mode_set(uint64_t bits);
OM_INTERNAL void hp_mode_clear(uint64_t bits);

/* HP_KIND_SAMPLED: plain blocks that the sampling hooks were told of, in
 * pools of their own whose frees all take the slow lane (which reports
 * them), so that no ordinary pool ever leaves the inline free. */
enum hp_kind { HP_KIND_PLAIN = 0, HP_KIND_DEBUG = 1, HP_KIND_SAMPLED = 2 };

/* ---- provided by the core (src/heap) -------------------------------------- */
/* A block of the given kind from h (NULL: the calling thread's global heap),
 * aligned to `align` (a power of two >= 16).  NULL with a message on failure. */
OM_INTERNAL void *hp_alloc_block(hp_heap *h, size_t size, size_t align, enum hp_kind kind);
/* Frees a block returned by hp_alloc_block (block start, not a user pointer). */
OM_INTERNAL void hp_free_block(void *block);
/* The start of the live block that contains p, or NULL when p is not inside
 * a live block of objmem.  O(1); never touches memory objmem does not own.
 * Any thread may call it on a live block of the global heap (hp_debug_free
 * does, for frees from other threads than the allocator's): it may read a
 * pool's fields only atomically. */
OM_INTERNAL void *hp_block_of(const void *p);
OM_INTERNAL enum hp_kind hp_block_kind(const void *block);
OM_INTERNAL size_t hp_block_size(const void *block);
/* True when p lies in memory objmem reserved from the OS (an arena, or any
 * part of a large segment), whether or not a live block is there: one load
 * from the segment registry, never a read of p's memory, so any pointer at
 * all may be asked about, from any thread.  No other allocator's block can
 * lie there, so a malloc replacement sends such a pointer to objmem's free,
 * which names an invalid or double free itself.  Memory given back to the OS
 * stops being reserved.  Static inline: defined in heap/core.h, which every
 * includer of this header gets (through heap/fast.h at its end). */
static inline bool hp_in_heap(const void *p);

/* Allocation hooks (HP_MODE_HOOKS), installed by the tracer.  Called on every
 * heap, global and private: on_alloc after a successful allocation with the
 * user pointer, its usable size, the heap (NULL for the global heap) and the
 * return address of the public entry point's caller; on_free before a block is
 * freed.  realloc reports a free and an alloc.  The core keeps a per-thread
 * guard so that allocations made inside a hook do not call the hooks again. */
typedef struct hp_hooks {
    void (*on_alloc)(void *p, size_t size, hp_heap *heap, void *caller);
    void (*on_free)(void *p, size_t size, hp_heap *heap);
    /* 0: every allocation and free is reported (the slow lane takes them
     * all).  Otherwise the heap samples: each heap counts down the bytes it
     * hands out on its fast path, and only the allocation that crosses zero
     * is reported (gaps drawn from an exponential distribution of this mean,
     * so a block of s bytes is sampled with probability 1 - exp(-s/mean));
     * a sampled block comes from a pool of kind HP_KIND_SAMPLED, and on_free
     * is called for every block of such pools (also for blocks sampled
     * under earlier hooks: ignore unknown ones).  Allocations the debug
     * heap serves are not sampled. */
    size_t sample_bytes;
    /* Per-block ids, for exact hooks (NULL: none).  With them the blocks of
     * private heaps' plain small and medium pools are not reported to
     * on_alloc / on_free: for each one the heap calls id_alloc, which
     * stores the block's id (0: none) into *slot with a relaxed atomic
     * store and returns block (the heap tail-calls it); size is the usable
     * size.  The slot lies beside the block, in an array of its pool
     * (heap/ids.c).  The free of a block with an id calls id_free(size, 1,
     * heap), and deleting a heap calls id_free(size, n, heap) for its n
     * live blocks of that size with an id.  Blocks without an id (allocated
     * before, or in a pool that could not get an array) are reported to
     * on_alloc / on_free as usual.  The heap's guard against a hook's own
     * allocations is only tested around these two, not set: they must not
     * allocate.  hp_ids_forget drops every id at once; hp_ids_each and
     * hp_ids_of read them back.  The common case calls neither hook: see
     * hp_ids_local below. */
    void *(*id_alloc)(void *block, uint32_t *slot, size_t size, hp_heap *heap, void *caller);
    void (*id_free)(size_t size, size_t count, hp_heap *heap);
} hp_hooks;
/* hooks == NULL removes them.  The record must outlive its installation. */
OM_INTERNAL void hp_hooks_install(const hp_hooks *hooks);

/* ---- block ids (heap/ids.c) ---------------------------------------------------
 * The id hooks' common case, done inline by the heap's id lanes with no
 * call: each thread has an hp_ids_local, whose meaning the hooks' owner
 * (the tracer) defines and whose place the heap keeps.  When hp_ids_owner
 * is the calling thread's record (its `lane` says so, and of which heap
 * its cache is, with one compare), an allocation whose (key, heap) is in
 * its cache takes the cached id, and it and every free of a block with an
 * id are counted in the record (bytes, hi = most bytes, allocs, frees;
 * the traces it holds are allocs - frees, one add on each side), all with
 * relaxed stores or single adds to memory (only the record's thread
 * writes them; readers load them whole); otherwise the hooks are called.
 * The key is the call site the macros of objmem/trace.h set, else the
 * caller's return address.  Only the owner of a record writes its cache. */
#define HP_IDS_CACHE 32 /* entries a thread; a power of two */
typedef struct hp_ids_local {
    int64_t bytes, hi;      /* atomic: other threads read them */
    uint64_t allocs, frees; /* atomic: blocks with an id counted in and out */
    uint64_t epoch;         /* for the hooks' owner: which session the cache is of */
    const hp_heap *heap;    /* the heap every entry of the cache is of (NULL: none) */
    const hp_heap *lane;    /* atomic: `heap` while this record is hp_ids_owner, else NULL */
    struct hp_ids_entry {
        uintptr_t key;
        uint32_t id;
    } cache[HP_IDS_CACHE];
} hp_ids_local;
OM_INTERNAL extern OM_THREAD_LOCAL hp_ids_local hp_ids_me;
OM_INTERNAL extern hp_ids_local *hp_ids_owner; /* atomic; NULL: none */
/* The cache entry of key: direct-mapped, one compare (sites are records of
 * at least 24 bytes, return addresses a few bytes apart: a shift spreads
 * both).  The entries are of one heap at a time, `heap`: an allocation
 * from another heap misses, and its fill empties the cache first. */
static inline unsigned hp_ids_cache_slot(uintptr_t key)
{
    return (unsigned)(key >> 3) & (HP_IDS_CACHE - 1);
}
/* &c->cache[hp_ids_cache_slot(key)], with the slot's byte offset taken
 * from the key at once ((key >> 3) * 16 is key << 1, masked): two
 * instructions fewer than the index on the id lane. */
_Static_assert(sizeof(struct hp_ids_entry) == 16, "an entry is 16 bytes: its offset is key << 1");
static inline const struct hp_ids_entry *hp_ids_entry_of(const hp_ids_local *c, uintptr_t key)
{
    uintptr_t off = (key << 1) & ((HP_IDS_CACHE - 1) * sizeof(struct hp_ids_entry));
    return (const struct hp_ids_entry *)((const char *)c->cache + off);
}
/* Forgets every id kept so far (each pool notices at its next allocation);
 * their blocks' frees are then reported to on_free like any unknown block. */
OM_INTERNAL void hp_ids_forget(void);
/* The id kept for live block p (any thread's; p must stay live), 0 if none. */
OM_INTERNAL uint32_t hp_ids_of(const void *p);
/* Calls fn for every live block with an id (under the heap's global lock:
 * never call it while holding a lock that id_free takes); returns how many.
 * Blocks that other threads allocate or free meanwhile may be seen or not. */
typedef void (*hp_ids_fn)(uint32_t id, size_t size, void *arg);
OM_INTERNAL size_t hp_ids_each(hp_ids_fn fn, void *arg);
/* Bytes mapped for the id arrays (in use or kept for reuse). */
OM_INTERNAL size_t hp_ids_bytes(void);

/* ---- provided by the debug heap (src/heap/debug.c, src/heap/fault.c) -------- */
/* The user pointer of a new debug block of `size` user bytes. */
OM_INTERNAL void *hp_debug_alloc(hp_heap *h, size_t size, size_t align);
/* Checks and frees a debug block given its user pointer: a double free, an
 * invalid free or a write past the end prints one line and aborts. */
OM_INTERNAL void hp_debug_free(void *user);
OM_INTERNAL size_t hp_debug_usable_size(const void *user);
/* The user pointer and user size of a debug block (for heap walks); NULL for
 * a block the user has freed and the quarantine still holds: walks skip it. */
OM_INTERNAL void *hp_debug_user_of(void *block, size_t *user_size);
/* Fault injection: true when this allocation must fail (counts it).  When it
 * returns true it has set errno = ENOMEM and the message; the caller returns
 * NULL and touches neither. */
OM_INTERNAL bool hp_fault_should_fail(void);
/* For om_heap_check: checks every block in quarantine (guards, free fill;
 * one line and abort on damage) and returns how many there are. */
OM_INTERNAL size_t hp_debug_check(void);
/* For heap walks that meet a debug block: checks its header and guards (and
 * its free fill when it is quarantined).  One line and abort on damage. */
OM_INTERNAL void hp_debug_check_block(const void *block);
/* hp_heap_delete(h) calls this first: the quarantine checks and forgets the
 * blocks of h it holds (they stay live blocks of h, which the core frees). */
OM_INTERNAL void hp_debug_heap_deleted(hp_heap *h);
/* Gives every quarantined block of h (NULL: the global heap) back to the
 * core now; returns how many.  For om_release and tests.  A private heap's
 * blocks only from the thread using that heap. */
OM_INTERNAL size_t hp_debug_flush(hp_heap *h);
/* Blocks of h (NULL: the global heap) the quarantine holds now, and their
 * bytes (block sizes): live for the core, freed for the user.  For usage
 * counts that should show the user's view (subtract them). */
OM_INTERNAL void hp_debug_held(hp_heap *h, size_t *blocks, size_t *bytes);

#endif

/* Outside the guard, as in heap/heap.h: the inline paths of the heap. */
#ifndef OM_HEAP_CORE_H
#include "heap/fast.h"
#endif
