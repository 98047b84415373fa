/*
 * trace/store.c: the table of live traces, keyed by block address.
 *
 * Strategy.  One open-addressing table with linear probing, 16 bytes a
 * slot, no pointers to chase:
 *
 *     slot:  | address (8) | size (4) | traceback id (4) |
 *
 *     home(addr) = fastrange(mix(addr), cap)   any capacity, not only 2^k
 *     probe:       home, home+1, ... (wrapping)
 *     delete:      backward shift, so there are no tombstones
 *
 * Sizes of 4 GiB or more store TR_SIZE_BIG and live in a side list that
 * stays tiny (a program has few such blocks).
 *
 * The numbers.  The table grows by 1.5x when it is 4/5 full and shrinks
 * when it falls under 8/15 full (to 16/25), so it is always between 8/15
 * and 4/5 full: 20 to 30 bytes a live trace, which leaves room in the
 * 32-byte budget for the interned tracebacks (shared by every block
 * allocated at the same place).  Rehashing stays amortised O(1): after a
 * shrink, 4/25 of the slots must fill before the next grow.  Under the
 * uniform model linear probing at 4/5 full looks at 3 slots to find a
 * trace and 13 to place one (Knuth's (1 + 1/(1-a))/2 and
 * (1 + 1/(1-a)^2)/2); addresses hash far better than uniformly (see
 * home_of), and a cache line holds four slots.
 * The caller holds the tracer's lock; memory comes from tr_map.
 */
#include <string.h>

#include "trace/trace.h"

#define MIN_CAP      1024 /* first table: 16 KiB; never smaller */
#define MAX_LOAD_NUM 4    /* grow past 4/5 full ... */
#define MAX_LOAD_DEN 5
#define GROW_NUM     3 /* ... to 1.5x the slots (8/15 full) */
#define GROW_DEN     2
#define MIN_LOAD_NUM 8 /* shrink under 8/15 full ... */
#define MIN_LOAD_DEN 15
#define SHRINK_NUM   25 /* ... to count * 25/16 slots (16/25 full) */
#define SHRINK_DEN   16
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

static inline size_t next_slot(size_t i, size_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

static void put(tr_slot *slots, size_t cap, tr_slot s)
{
    size_t i = home_of(s.addr, cap);
    while (slots[i].addr)
        i = next_slot(i, cap);
    slots[i] = s;
}

static int resize(tr_table *t, size_t cap)
{
    tr_slot *slots = tr_map(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].addr)
            put(slots, cap, t->slots[i]);
    tr_unmap(t->slots, t->cap * sizeof *t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
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
    if ((t->count + 1) * MAX_LOAD_DEN > t->cap * MAX_LOAD_NUM && grow(t) != 0)
        return -1;
    bool big = size >= TR_SIZE_BIG;
    if (big && big_add(t, addr, size) != 0)
        return -1;
    size_t i = home_of(addr, t->cap);
    while (t->slots[i].addr && t->slots[i].addr != addr)
        i = next_slot(i, t->cap);
    if (t->slots[i].addr == addr) { /* a block we missed the free of */
        if (t->slots[i].size == TR_SIZE_BIG)
            big_take(t, addr, true);
        t->count--;
    }
    t->slots[i] = (tr_slot){addr, big ? TR_SIZE_BIG : (uint32_t)size, tb};
    t->count++;
    return 0;
}

static size_t find_index(const tr_table *t, uintptr_t addr)
{
    if (!t->cap)
        return SIZE_MAX;
    size_t i = home_of(addr, t->cap);
    while (t->slots[i].addr) {
        if (t->slots[i].addr == addr)
            return i;
        i = next_slot(i, t->cap);
    }
    return SIZE_MAX;
}

size_t tr_slot_size(const tr_table *t, const tr_slot *s)
{
    return s->size == TR_SIZE_BIG ? big_take((tr_table *)t, s->addr, false) : s->size;
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

/* Backward-shift deletion: pull later members of the probe run into the
 * hole whenever their home does not lie cyclically between hole and them. */
static void delete_at(tr_table *t, size_t hole)
{
    size_t j = hole;
    for (;;) {
        j = next_slot(j, t->cap);
        if (!t->slots[j].addr)
            break;
        size_t home = home_of(t->slots[j].addr, t->cap);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        t->slots[hole] = t->slots[j];
        hole = j;
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

void tr_table_clear(tr_table *t)
{
    tr_unmap(t->slots, t->cap * sizeof *t->slots);
    tr_unmap(t->big, t->capbig * sizeof *t->big);
    memset(t, 0, sizeof *t);
}

size_t tr_table_bytes(const tr_table *t)
{
    return t->cap * sizeof(tr_slot) + t->capbig * sizeof(tr_big);
}
