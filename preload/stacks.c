/*
 * preload/stacks.c: native stacks, and the table that gives each distinct
 * stack a small id.
 *
 * Capture.  Two unwinders:
 *   - libunwind's unw_backtrace (default): reads the DWARF call-frame
 *     information, so it walks code built without frame pointers (all of
 *     Debian's libraries); libunwind caches what it learns per address.
 *   - frame pointers (OBJMEM_PRELOAD_UNWIND=1): follows the rbp chain, a few
 *     nanoseconds a frame, right only for code built with
 *     -fno-omit-frame-pointer.  Every step is checked to stay between the
 *     current frame and the thread's stack top, going up, so a chain broken
 *     by code without frame pointers stops instead of faulting.
 * Frames inside this library (malloc, the recorder) are left out.
 *
 * Interning.  An open-addressing table of 64-bit stack hashes, its frames
 * kept in chunks of memory from mmap; twice as many slots as stacks, grown by
 * doubling.  One mutex guards it; threads reach it only on a miss in their
 * own 512-entry cache (record.c), so a program's steady state takes no lock.
 *
 *     hash(frames) --> slot --> { hash, id, n, frames* } --> id
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"

/* First table: 4096 slots; grows while stacks < slots / 2. */
#define TABLE_FIRST_SLOTS 4096u
/* Frames are stored in chunks of this many bytes (a record never spans two). */
#define CHUNK_BYTES (1u << 20)
/* Ids stop here; beyond, allocations get the empty stack (id 0). */
#define MAX_STACKS (1u << 26)

typedef struct entry {
    uint64_t hash;
    int64_t id;
    uint32_t n;
    uintptr_t *frames;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table;
static size_t table_slots, used;
static int64_t next_id = 1; /* id 0: the empty stack */
static uint8_t *chunk;
static size_t chunk_used = CHUNK_BYTES;
static uintptr_t self_lo, self_hi; /* this library's code */

/* ---- this library's address range -------------------------------------------- */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t probe = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (probe >= lo && probe < lo + ph->p_memsz) {
            self_lo = lo;
            self_hi = lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

void pl_stacks_init(void)
{
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&pl_stacks_init);
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_GLOBAL);
}

/* ---- capture -------------------------------------------------------------------- */
static OM_NOINLINE int walk_frame_pointers(uintptr_t *out, int max, uintptr_t hi)
{
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t lo = (uintptr_t)fp;
    int n = 0;
    while (n < max && hi && (uintptr_t)fp >= lo && (uintptr_t)fp + 16 <= hi &&
           !((uintptr_t)fp & 7)) {
        uintptr_t ra = fp[1];
        if (ra < 4096)
            break;
        out[n++] = ra;
        uintptr_t *next = (uintptr_t *)fp[0];
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

int pl_stack_capture(uintptr_t *frames, int max, int unwinder, uintptr_t stack_hi)
{
    uintptr_t raw[CAP_MAX_FRAMES + 8];
    int want = max + 8 > (int)OM_ARRAY_LEN(raw) ? (int)OM_ARRAY_LEN(raw) : max + 8;
    int n = unwinder == CAP_UNWIND_FRAMEPOINTER ? walk_frame_pointers(raw, want, stack_hi)
                                                : unw_backtrace((void **)raw, want);
    int skip = 0;
    while (skip < n && raw[skip] >= self_lo && raw[skip] < self_hi)
        skip++;
    int keep = n - skip < max ? n - skip : max;
    memcpy(frames, raw + skip, (size_t)keep * sizeof *frames);
    return keep;
}

uint64_t pl_stack_hash(const uintptr_t *frames, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= frames[i];
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
    }
    return h | 1; /* never 0: 0 marks an empty cache slot */
}

/* ---- the table -------------------------------------------------------------------- */
static void *map(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static uintptr_t *store_frames(const uintptr_t *frames, int n)
{
    size_t bytes = (size_t)n * sizeof *frames;
    if (chunk_used + bytes > CHUNK_BYTES) {
        chunk = map(CHUNK_BYTES);
        if (!chunk)
            return NULL;
        chunk_used = 0;
    }
    uintptr_t *out = (uintptr_t *)(chunk + chunk_used);
    memcpy(out, frames, bytes);
    chunk_used += bytes;
    return out;
}

static int grow(void)
{
    size_t new_slots = table_slots ? table_slots * 2 : TABLE_FIRST_SLOTS;
    entry *fresh = map(new_slots * sizeof *fresh);
    if (!fresh)
        return -1;
    for (size_t i = 0; i < table_slots; i++) {
        if (!table[i].hash)
            continue;
        size_t j = table[i].hash & (new_slots - 1);
        while (fresh[j].hash)
            j = (j + 1) & (new_slots - 1);
        fresh[j] = table[i];
    }
    if (table)
        munmap(table, table_slots * sizeof *table);
    table = fresh;
    table_slots = new_slots;
    return 0;
}

static bool same(const entry *e, uint64_t hash, const uintptr_t *frames, int n)
{
    return e->hash == hash && e->n == (uint32_t)n &&
           !memcmp(e->frames, frames, (size_t)n * sizeof *frames);
}

int64_t pl_stack_intern(const uintptr_t *frames, int n, uint64_t hash, int *fresh)
{
    int64_t id = -1;
    *fresh = 0;
    pthread_mutex_lock(&lock);
    if ((used + 1) * 2 > table_slots && grow() < 0)
        goto out;
    size_t i = hash & (table_slots - 1);
    while (table[i].hash && !same(&table[i], hash, frames, n))
        i = (i + 1) & (table_slots - 1);
    if (table[i].hash) {
        id = table[i].id;
        goto out;
    }
    if (next_id >= MAX_STACKS)
        goto out;
    uintptr_t *kept = store_frames(frames, n);
    if (!kept)
        goto out;
    table[i] = (entry){.hash = hash, .id = next_id++, .n = (uint32_t)n, .frames = kept};
    used++;
    id = table[i].id;
    *fresh = 1;
out:
    pthread_mutex_unlock(&lock);
    return id;
}

void pl_stacks_reset(void)
{
    if (table)
        memset(table, 0, table_slots * sizeof *table);
    used = 0;
    next_id = 1;
    chunk_used = CHUNK_BYTES; /* the old chunks stay mapped: a forked child's leak */
}

void pl_stacks_lock(void)
{
    pthread_mutex_lock(&lock);
}
void pl_stacks_unlock(void)
{
    pthread_mutex_unlock(&lock);
}
