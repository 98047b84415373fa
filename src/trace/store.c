/*
 * trace/store.c: the table of live traces, keyed by block address.
 *
 * Strategy.  One open-addressing table with Robin Hood linear probing
 * (Celis, 1986), 16 bytes a slot, no pointers to chase:
 *
 *     slot:  | address << 8 | displacement (8) | size (4) | traceback id (4) |
 *
 *     home(addr) = fastrange(mix(addr), cap)   any capacity, not only 2^k
 *     probe:       home, home+1, ... (wrapping); a slot's displacement is
 *                  how far it lies from its home, kept in the key word
 *     insert:      walk until a slot is empty or nearer its home than the
 *                  new trace would be; put it there and shift the rest of
 *                  the run up one slot (each displacement + 1)
 *     find:        stop at the first slot whose displacement is smaller
 *                  than the distance walked: the address is absent
 *     delete:      backward shift of the run that follows, each
 *                  displacement - 1, until an empty slot or one at home;
 *                  so there are no tombstones
 *
 * Robin Hood keeps every run short and sorted by home, so a removal (the
 * tracer's free hook) touches one or two cache lines instead of walking to
 * the end of a cluster, and a miss stops early.  The displacement lives in
 * the key word, so no step recomputes a hash.  A displacement past
 * TR_DISP_MAX (255) grows the table before anything moves; it does not
 * happen with a hash this even (the longest runs are a few dozen).
 *
 * Sizes of 4 GiB or more store TR_SIZE_BIG and live in a side list that
 * stays tiny (a program has few such blocks).
 *
 * The numbers.  The table grows by 1.6x when it is 9/10 full and shrinks
 * when it falls under 8/15 full (to 18/25), so it is always between 8/15
 * and 9/10 full: 18 to 30 bytes a live trace, which leaves room in the
 * 32-byte budget for the interned tracebacks (shared by every block
 * allocated at the same place).  The band is as wide as that budget
 * allows, because a program whose live blocks swing up and down (build a
 * tree, drop it) pays a rehash at each edge: with 4/5 and 1.5x a swing of
 * 2x moved each trace about 6 times, with 9/10 and 1.6x about 3.6 times
 * (modelled).  Robin Hood runs at 9/10 full are still short (a mean
 * displacement of about 4).  Rehashing stays amortised O(1): after a
 * shrink, 9/50 of the slots must fill before the next grow.
 * The caller holds the tracer's lock; memory comes from tr_map.
 */
#include <stdatomic.h>
#include <string.h>

#include "trace/trace.h"

#define MIN_CAP      1024 /* first table: 16 KiB; never smaller */
#define MAX_LOAD_NUM 9    /* grow past 9/10 full (Robin Hood runs stay short) ... */
#define MAX_LOAD_DEN 10
#define GROW_NUM     8 /* ... to 1.6x the slots (9/16 full, above the shrink line) */
#define GROW_DEN     5
#define MIN_LOAD_NUM 8 /* shrink under 8/15 full (30 bytes a trace) ... */
#define MIN_LOAD_DEN 15
#define SHRINK_NUM   25 /* ... to count * 25/18 slots (18/25 full) */
#define SHRINK_DEN   18
#define BIG_MIN      64

/* Fibonacci hashing of the address (Knuth, TAOCP 6.4), then Lemire's
 * multiply-shift range reduction, so any capacity works.  Consecutive
 * blocks land far apart with almost no collisions (measured: mean
 * displacement 0.2 slots at 2/3 full for 32-byte blocks in a row). */
static inline size_t home_of(uintptr_t addr, size_t cap)
{
    uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

size_t tr_table_home(uintptr_t addr, size_t cap)
{
    return home_of(addr, cap);
}

static inline size_t next_slot(size_t i, size_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

static inline size_t prev_slot(size_t i, size_t cap)
{
    return i ? i - 1 : cap - 1;
}

static inline unsigned disp_of(uint64_t key)
{
    return (unsigned)(key & TR_DISP_MAX);
}

/* Where a probe for addr stops: *at is the slot holding addr (true), or the
 * slot a new trace for addr goes to, at displacement *disp (false).  The
 * table must have an empty slot. */
static bool probe(const tr_slot *slots, size_t cap, uintptr_t addr, size_t *at, unsigned *disp)
{
    uint64_t want = (uint64_t)addr << TR_DISP_BITS;
    size_t i = home_of(addr, cap);
    unsigned d = 0;
    for (; d <= TR_DISP_MAX; d++, i = next_slot(i, cap)) {
        uint64_t k = slots[i].key;
        if (k == (want | d)) {
            *at = i;
            return true;
        }
        if (!k || disp_of(k) < d)
            break;
    }
    *at = i; /* past TR_DISP_MAX: absent, and no room (place refuses it) */
    *disp = d;
    return false;
}

/* Puts s (absent from the table) at slot i with displacement d, shifting
 * the run from i up to its first empty slot one place on.  -1, with nothing
 * moved, when a displacement would pass TR_DISP_MAX. */
static int place(tr_slot *slots, size_t cap, size_t i, unsigned d, tr_slot s)
{
    if (d > TR_DISP_MAX)
        return -1;
    size_t end = i;
    while (slots[end].key) {
        if (disp_of(slots[end].key) == TR_DISP_MAX)
            return -1;
        end = next_slot(end, cap);
    }
    for (size_t j = end; j != i; j = prev_slot(j, cap)) {
        slots[j] = slots[prev_slot(j, cap)];
        slots[j].key++;
    }
    s.key = (s.key & ~(uint64_t)TR_DISP_MAX) | d;
    slots[i] = s;
    return 0;
}

static int put(tr_slot *slots, size_t cap, tr_slot s)
{
    size_t i;
    unsigned d;
    if (probe(slots, cap, tr_slot_addr(&s), &i, &d))
        return -1; /* cannot happen: each address is in the table once */
    return place(slots, cap, i, d, s);
}

#define RESIZE_TRIES 4 /* a table that overflows a displacement doubles, this often */

static int resize(tr_table *t, size_t cap)
{
    for (int try = 0; try < RESIZE_TRIES; try++, cap *= 2) {
        tr_slot *slots = tr_map(cap * sizeof *slots);
        if (!slots)
            return -1;
        size_t i = 0;
        while (i < t->cap && (!t->slots[i].key || put(slots, cap, t->slots[i]) == 0))
            i++;
        if (i < t->cap) {
            tr_unmap(slots, cap * sizeof *slots);
            continue;
        }
        tr_unmap(t->slots, t->cap * sizeof *t->slots);
        t->slots = slots;
        t->cap = cap;
        atomic_store_explicit(&t->hint_cap, 0, memory_order_relaxed);
        atomic_store_explicit(&t->hint_slots, slots, memory_order_relaxed);
        atomic_store_explicit(&t->hint_cap, cap, memory_order_relaxed);
        return 0;
    }
    return -1;
}

static int grow(tr_table *t)
{
    return resize(t, t->cap ? t->cap / GROW_DEN * GROW_NUM : MIN_CAP);
}

/* Called after a removal; a failed shrink leaves the table as it was. */
static void maybe_shrink(tr_table *t)
{
    if (t->cap > MIN_CAP && t->count * MIN_LOAD_DEN < t->cap * MIN_LOAD_NUM) {
        size_t cap = t->count / SHRINK_DEN * SHRINK_NUM;
        resize(t, cap < MIN_CAP ? MIN_CAP : cap);
    }
}

static int big_add(tr_table *t, uintptr_t addr, size_t size)
{
    if (t->nbig == t->capbig) {
        size_t cap = t->capbig ? t->capbig * 2 : BIG_MIN;
        tr_big *big = tr_map(cap * sizeof *big);
        if (!big)
            return -1;
        if (t->nbig)
            memcpy(big, t->big, t->nbig * sizeof *big);
        tr_unmap(t->big, t->capbig * sizeof *t->big);
        t->big = big;
        t->capbig = cap;
    }
    t->big[t->nbig++] = (tr_big){addr, size};
    return 0;
}

static size_t big_take(tr_table *t, uintptr_t addr, bool remove)
{
    for (size_t i = 0; i < t->nbig; i++) {
        if (t->big[i].addr != addr)
            continue;
        size_t size = t->big[i].size;
        if (remove)
            t->big[i] = t->big[--t->nbig];
        return size;
    }
    om_fatal("trace table: big block %p has no size record", (void *)addr);
}

int tr_table_insert(tr_table *t, uintptr_t addr, size_t size, uint32_t tb)
{
    if (addr >> TR_ADDR_BITS)
        return -1; /* no room in the key word: never a user-space address */
    if ((t->count + 1) * MAX_LOAD_DEN > t->cap * MAX_LOAD_NUM && grow(t) != 0)
        return -1;
    bool big = size >= TR_SIZE_BIG;
    size_t i;
    unsigned d;
    if (probe(t->slots, t->cap, addr, &i, &d)) { /* a block we missed the free of */
        if (big && big_add(t, addr, size) != 0)
            return -1;
        if (t->slots[i].size == TR_SIZE_BIG)
            big_take(t, addr, true);
        t->slots[i].size = big ? TR_SIZE_BIG : (uint32_t)size;
        t->slots[i].tb = tb;
        return 0;
    }
    if (big && big_add(t, addr, size) != 0)
        return -1;
    tr_slot s = {(uint64_t)addr << TR_DISP_BITS, big ? TR_SIZE_BIG : (uint32_t)size, tb};
    while (place(t->slots, t->cap, i, d, s) != 0) { /* a run too long: grow first */
        if (resize(t, t->cap * 2) != 0) {
            if (big)
                big_take(t, addr, true);
            return -1;
        }
        probe(t->slots, t->cap, addr, &i, &d);
    }
    t->count++;
    return 0;
}

static size_t find_index(const tr_table *t, uintptr_t addr)
{
    size_t i;
    unsigned d;
    if (!t->cap || addr >> TR_ADDR_BITS || !probe(t->slots, t->cap, addr, &i, &d))
        return SIZE_MAX;
    return i;
}

size_t tr_slot_size(const tr_table *t, const tr_slot *s)
{
    return s->size == TR_SIZE_BIG ? big_take((tr_table *)t, tr_slot_addr(s), false) : s->size;
}

bool tr_table_find(const tr_table *t, uintptr_t addr, size_t *size, uint32_t *tb)
{
    size_t i = find_index(t, addr);
    if (i == SIZE_MAX)
        return false;
    *size = tr_slot_size(t, &t->slots[i]);
    *tb = t->slots[i].tb;
    return true;
}

/* Backward-shift deletion: each later member of the run that is not at its
 * home moves one slot back, nearer it. */
static void delete_at(tr_table *t, size_t hole)
{
    for (size_t j = next_slot(hole, t->cap); disp_of(t->slots[j].key) > 0;
         hole = j, j = next_slot(j, t->cap)) {
        t->slots[hole] = t->slots[j];
        t->slots[hole].key--;
    }
    t->slots[hole] = (tr_slot){0, 0, 0};
}

bool tr_table_remove(tr_table *t, uintptr_t addr, size_t *size, uint32_t *tb)
{
    size_t i = find_index(t, addr);
    if (i == SIZE_MAX)
        return false;
    tr_slot *s = &t->slots[i];
    *size = s->size == TR_SIZE_BIG ? big_take(t, addr, true) : s->size;
    *tb = s->tb;
    delete_at(t, i);
    t->count--;
    maybe_shrink(t);
    return true;
}

void tr_table_prefetch(const tr_table *t, uintptr_t addr)
{
    tr_slot *slots = atomic_load_explicit(&t->hint_slots, memory_order_relaxed);
    size_t cap = atomic_load_explicit(&t->hint_cap, memory_order_relaxed);
    if (slots && cap) /* an address, not an element: the pair may be torn */
        __builtin_prefetch((const void *)((uintptr_t)slots + home_of(addr, cap) * sizeof *slots),
                           1);
}

void tr_table_clear(tr_table *t)
{
    tr_unmap(t->slots, t->cap * sizeof *t->slots);
    tr_unmap(t->big, t->capbig * sizeof *t->big);
    atomic_store_explicit(&t->hint_slots, NULL, memory_order_relaxed);
    atomic_store_explicit(&t->hint_cap, 0, memory_order_relaxed);
    t->slots = NULL;
    t->big = NULL;
    t->cap = t->count = t->nbig = t->capbig = 0;
}

size_t tr_table_bytes(const tr_table *t)
{
    return t->cap * sizeof(tr_slot) + t->capbig * sizeof(tr_big);
}
