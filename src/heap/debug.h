/*
 * heap/debug.h: what the two files of the debug heap share: the layout of a
 * debug block (heap/debug.c) and the quarantine of freed blocks
 * (heap/debug_quarantine.c).  Nothing outside the debug heap includes it;
 * the rest of the heap sees only heap/special.h.
 *
 * A debug block, as the core hands it out (hp_alloc_block, kind DEBUG):
 *
 *   block                                    user = block + pad
 *   |                                        |
 *   [ dbg_header 56 bytes | front guard ... ][ size user bytes ][ tail guard ...... ]
 *   |<------------------- pad -------------->|                  |<- >= 16 bytes -->|
 *   |<----------------------------- block_size (the core's) ------------------------>|
 *
 * pad is the header size (64) rounded up to the user's alignment, so the
 * user pointer keeps any power-of-two alignment the block has.  Everything
 * between the header and the user's bytes, and everything after them up to
 * the end of the block, holds DBG_GUARD_FILL.
 *
 * States, told apart by the magic word (xor the block address, so a header
 * copied elsewhere does not validate):
 *
 *   live         DBG_MAGIC_LIVE   user bytes are the user's
 *   quarantined  DBG_MAGIC_FREED  freed by the user, held by the quarantine,
 *                                 user bytes all DBG_FREE_FILL
 *
 * A block leaves the quarantine back to the core (hp_free_block), after one
 * last check; from then on it is the core's, not a debug block.
 */
#ifndef OM_HEAP_DEBUG_H
#define OM_HEAP_DEBUG_H

#include <stdint.h>

#include "heap/special.h"

#define DBG_MAGIC_LIVE  0x4f4d44424c495645ull /* "OMDBLIVE" */
#define DBG_MAGIC_FREED 0x4f4d444246524545ull /* "OMDBFREE" */

#define DBG_ALLOC_FILL 0xCBu /* fresh user bytes (not for calloc, which zeroes) */
#define DBG_FREE_FILL  0xDFu /* user bytes of a quarantined block */
#define DBG_GUARD_FILL 0xFDu /* front and tail guards */

#define DBG_HEADER_BYTES 64u        /* sizeof(dbg_header) rounded to 16: the smallest pad */
#define DBG_TAIL_MIN     16u        /* tail guard bytes at least; the block's slack adds more */
#define DBG_ALIGN_MIN    16u        /* the core's least alignment */
#define DBG_ALIGN_MAX    (1u << 30) /* pad is a uint32_t: alignments up to 1 GiB */
/* Heaps with a quarantine of their own at once: the global heap and up to 63
 * private heaps; frees into more private heaps than that skip the
 * quarantine.  Small, because a lane is found by a scan. */
#define DBG_QUARANTINE_LANES 64

typedef struct dbg_header {
    uint64_t magic;          /* DBG_MAGIC_LIVE or DBG_MAGIC_FREED, xor the block address */
    size_t size;             /* bytes the user asked for */
    size_t block_size;       /* the core's size of the whole block */
    hp_heap *heap;           /* the heap it came from; NULL: the global heap */
    struct dbg_header *next; /* quarantine FIFO link (owned by the quarantine) */
    uint32_t serial;         /* allocation number, from 1 (wraps) */
    uint32_t pad;            /* user pointer - block start; >= DBG_HEADER_BYTES */
    uint32_t thread;         /* small number of the allocating thread, from 1 */
} dbg_header;

static inline uint8_t *dbg_user(const dbg_header *h)
{
    return (uint8_t *)h + h->pad;
}
static inline uint64_t dbg_magic(uint64_t state, const dbg_header *h)
{
    return state ^ (uint64_t)(uintptr_t)h;
}

/* ---- debug.c ---------------------------------------------------------------- */
/* Checks a quarantined block: header, guards, free fill.  One line and abort
 * on damage ("write after free", "write past the end", ...). */
OM_INTERNAL void dbg_check_freed(const dbg_header *h);
/* Checks a live block: header and guards. */
OM_INTERNAL void dbg_check_live(const dbg_header *h);

/* ---- debug_quarantine.c -------------------------------------------------------- */
/* Takes a freed block (already checked and filled) into its heap's lane; in
 * the global heap's lane, gives the oldest blocks back to the core while the
 * lane is over its budget (private heaps' lanes wait for dbg_quarantine_trim). */
OM_INTERNAL void dbg_quarantine_push(dbg_header *h);
/* Gives the oldest quarantined blocks of private heap h back to the core
 * until its lane fits its budget.  Called before each debug allocation of h. */
OM_INTERNAL void dbg_quarantine_trim(hp_heap *h);

#endif
