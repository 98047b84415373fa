/*
 * heap/debug.c: the debug heap's blocks: guard bytes, fill patterns and the
 * checks that turn a memory error into one line and an abort.
 *
 * Strategy.  The debug heap is not a second allocator: it asks the core for
 * a block of kind DEBUG a little larger than the request (hp_alloc_block),
 * writes a header at the block's start and guard bytes around the user's
 * bytes, and hands out a pointer inside the block.  Pools never mix kinds,
 * so the core knows in O(1) that a pointer being freed belongs here and
 * passes it to hp_debug_free.  The layout (heap/debug.h):
 *
 *   [ header | front guard ][ user bytes: 0xCB when fresh ][ tail guard to the end ]
 *   ^ block                 ^ user = block + pad            (>= 16 bytes, all 0xFD)
 *
 * Detection, each one line naming the address and size, then abort:
 *
 *   double free       the header says "freed": the block is in quarantine
 *   invalid free      a pointer inside a debug block but not its user start
 *   write past end    a tail guard byte changed (checked on free, on leaving
 *                     the quarantine, and by om_heap_check)
 *   write before      a front guard byte changed
 *   write after free  a byte of a quarantined block is not 0xDF any more
 *                     (checked when it leaves the quarantine, or by om_heap_check)
 *
 * A freed block goes to the quarantine (heap/debug_quarantine.c), filled
 * with 0xDF, so a write through a dangling pointer is caught later and a
 * second free finds the "freed" state instead of someone else's block.
 *
 * The numbers: 64 bytes of header and front guard (more when the
 * alignment asks for it: pad is 64 rounded up to the alignment), at least
 * 16 bytes of tail guard, plus the core's rounding to its size class.  A
 * 16-byte request takes a 96-byte block.  Each free costs a scan of the
 * block; the debug heap is for finding bugs, not for speed.
 *
 * Thread safety: the state change live -> freed is one compare-and-swap on
 * the magic word, so two threads freeing the same block cannot both win;
 * the quarantine has its own mutex.  Nothing here holds a lock while
 * calling into the core.
 */
#include <errno.h>
#include <string.h>

#include "heap/debug.h"

_Static_assert(sizeof(dbg_header) + 8 <= DBG_HEADER_BYTES,
               "the header leaves at least 8 bytes of front guard");
_Static_assert(DBG_HEADER_BYTES % DBG_ALIGN_MIN == 0, "user pointers keep 16-byte alignment");

static uint32_t next_serial;               /* debug allocations so far (atomic) */
static uint32_t next_thread;               /* thread numbers handed out (atomic) */
static OM_THREAD_LOCAL uint32_t my_thread; /* 0 until this thread allocates */

static uint32_t thread_number(void)
{
    if (OM_UNLIKELY(my_thread == 0))
        my_thread = __atomic_add_fetch(&next_thread, 1, __ATOMIC_RELAXED);
    return my_thread;
}

/* ---- scans ------------------------------------------------------------------- */

/* Offset of the first byte of p[0..n) that is not `fill`, or n. */
static size_t first_unlike(const uint8_t *p, size_t n, uint8_t fill)
{
    uint64_t word = 0x0101010101010101ull * fill;
    size_t i = 0;
    while (i < n && ((uintptr_t)(p + i) & 7u))
        if (p[i++] != fill)
            return i - 1;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != word)
            break;
    }
    for (; i < n; i++)
        if (p[i] != fill)
            return i;
    return n;
}

static uint64_t load_magic(const dbg_header *h)
{
    return __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
}

/* ---- checks ---------------------------------------------------------------------- */

static void check_guards(const dbg_header *h)
{
    const uint8_t *user = dbg_user(h);
    const uint8_t *front = (const uint8_t *)h + sizeof *h;
    size_t front_len = (size_t)(user - front);
    size_t at = first_unlike(front, front_len, DBG_GUARD_FILL);
    if (at < front_len)
        om_fatal("write before the start of %p (%zu bytes, debug block #%u): guard byte at "
                 "-%zu is 0x%02x, not 0x%02x",
                 (void *)user, h->size, h->serial, front_len - at, front[at], DBG_GUARD_FILL);
    const uint8_t *tail = user + h->size;
    size_t tail_len = h->block_size - h->pad - h->size;
    at = first_unlike(tail, tail_len, DBG_GUARD_FILL);
    if (at < tail_len)
        om_fatal("write past the end of %p (%zu bytes, debug block #%u): guard byte at +%zu "
                 "is 0x%02x, not 0x%02x",
                 (void *)user, h->size, h->serial, h->size + at, tail[at], DBG_GUARD_FILL);
}

/* The header of a block the core calls a debug block must be one of ours. */
static void check_header(const dbg_header *h, uint64_t magic)
{
    if (magic != dbg_magic(DBG_MAGIC_LIVE, h) && magic != dbg_magic(DBG_MAGIC_FREED, h))
        om_fatal("corrupt debug block header at %p (magic 0x%016llx)", (const void *)h,
                 (unsigned long long)magic);
    if (h->pad < DBG_HEADER_BYTES || h->block_size < (size_t)h->pad + DBG_TAIL_MIN ||
        h->size > h->block_size - h->pad - DBG_TAIL_MIN)
        om_fatal("corrupt debug block header at %p (pad %u, size %zu, block %zu bytes)",
                 (const void *)h, h->pad, h->size, h->block_size);
}

void dbg_check_live(const dbg_header *h)
{
    check_header(h, load_magic(h));
    check_guards(h);
}

void dbg_check_freed(const dbg_header *h)
{
    check_header(h, load_magic(h));
    check_guards(h);
    const uint8_t *user = dbg_user(h);
    size_t at = first_unlike(user, h->size, DBG_FREE_FILL);
    if (at < h->size)
        om_fatal("write after free of %p (%zu bytes, debug block #%u): byte at +%zu is 0x%02x, "
                 "not the free fill 0x%02x",
                 (void *)user, h->size, h->serial, at, user[at], DBG_FREE_FILL);
}

void hp_debug_check_block(const void *block)
{
    const dbg_header *h = block;
    if (load_magic(h) == dbg_magic(DBG_MAGIC_FREED, h))
        dbg_check_freed(h);
    else
        dbg_check_live(h);
}

/* ---- allocate -------------------------------------------------------------------- */

static size_t pad_for(size_t align)
{
    return align <= DBG_HEADER_BYTES ? DBG_HEADER_BYTES : align;
}

void *hp_debug_alloc(hp_heap *heap, size_t size, size_t align)
{
    if (align < DBG_ALIGN_MIN)
        align = DBG_ALIGN_MIN;
    if (align & (align - 1)) {
        errno = EINVAL;
        om_set_error("debug heap: alignment %zu is not a power of two", align);
        return NULL;
    }
    if (align > DBG_ALIGN_MAX) {
        errno = ENOMEM;
        om_set_error("out of memory: debug blocks align to at most %u bytes, not %zu",
                     DBG_ALIGN_MAX, align);
        return NULL;
    }
    size_t pad = pad_for(align);
    if (size > SIZE_MAX - pad - DBG_TAIL_MIN) {
        errno = ENOMEM;
        om_set_error("out of memory: cannot allocate %zu bytes (debug block)", size);
        return NULL;
    }
    dbg_quarantine_trim(heap);
    dbg_header *h = hp_alloc_block(heap, pad + size + DBG_TAIL_MIN, align, HP_KIND_DEBUG);
    if (!h)
        return NULL; /* the core set errno and the message */
    h->size = size;
    h->block_size = hp_block_size(h);
    h->heap = heap;
    h->next = NULL;
    h->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    h->pad = (uint32_t)pad;
    h->thread = thread_number();
    uint8_t *user = dbg_user(h);
    memset((uint8_t *)h + sizeof *h, DBG_GUARD_FILL, pad - sizeof *h);
    memset(user, DBG_ALLOC_FILL, size);
    memset(user + size, DBG_GUARD_FILL, h->block_size - pad - size);
    __atomic_store_n(&h->magic, dbg_magic(DBG_MAGIC_LIVE, h), __ATOMIC_RELEASE);
    return user;
}

/* ---- find the header of a user pointer -------------------------------------------- */

/* The header of the debug block whose user start is p, or one line and abort. */
static dbg_header *header_of(const void *p, const char *what)
{
    dbg_header *h = hp_block_of(p);
    if (!h)
        om_fatal("invalid %s of %p (not allocated by objmem)", what, p);
    if (hp_block_kind(h) != HP_KIND_DEBUG)
        om_fatal("invalid %s of %p (not a debug block)", what, p);
    check_header(h, load_magic(h));
    const uint8_t *user = dbg_user(h);
    if ((const uint8_t *)p != user) {
        ptrdiff_t off = (const uint8_t *)p - user;
        om_fatal("invalid %s of %p (%td bytes %s the start of %p, a debug block of %zu bytes)",
                 what, p, off < 0 ? -off : off, off < 0 ? "before" : "past", (void *)user, h->size);
    }
    return h;
}

/* ---- free ---------------------------------------------------------------------------- */

void hp_debug_free(void *p)
{
    dbg_header *h = header_of(p, "free");
    uint64_t live = dbg_magic(DBG_MAGIC_LIVE, h);
    uint64_t seen = live;
    if (!__atomic_compare_exchange_n(&h->magic, &seen, dbg_magic(DBG_MAGIC_FREED, h), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        om_fatal("double free of %p (%zu bytes, debug block #%u from thread %u)", p, h->size,
                 h->serial, h->thread);
    check_guards(h);
    memset(p, DBG_FREE_FILL, h->size);
    dbg_quarantine_push(h);
}

size_t hp_debug_usable_size(const void *p)
{
    dbg_header *h = header_of(p, "usable-size query");
    if (load_magic(h) != dbg_magic(DBG_MAGIC_LIVE, h))
        om_fatal("usable-size query of %p after it was freed (%zu bytes, debug block #%u)", p,
                 h->size, h->serial);
    return h->size;
}

void *hp_debug_user_of(void *block, size_t *user_size)
{
    dbg_header *h = block;
    uint64_t magic = load_magic(h);
    check_header(h, magic);
    if (magic != dbg_magic(DBG_MAGIC_LIVE, h))
        return NULL;
    if (user_size)
        *user_size = h->size;
    return dbg_user(h);
}

/* ---- switch -------------------------------------------------------------------------- */

void om_heap_set_debug(int on)
{
    om_opt_set(OM_OPT_DEBUG, on ? 1 : 0);
    if (on)
        hp_mode_set(HP_MODE_DEBUG);
    else
        hp_mode_clear(HP_MODE_DEBUG);
}

/* OBJMEM_DEBUG=1 turns the debug heap on before main runs. */
__attribute__((constructor)) static void read_start_option(void)
{
    if (om_opt(OM_OPT_DEBUG))
        hp_mode_set(HP_MODE_DEBUG);
}
