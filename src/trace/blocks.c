/*
 * trace/blocks.c: the traces of heap blocks, found from their address by
 * arithmetic instead of hashing.
 *
 * Which blocks.  Exact tracing keeps the ids of private heaps' plain
 * blocks in the heap itself (heap/ids.c); this index holds the rest: the
 * thread heaps' blocks (om_malloc), the debug heap's, and any block whose
 * pool could not get an id array.
 *
 * Strategy.  The heap carves each 64 KiB slot of an arena into blocks of
 * one size (a pool may span several slots, but every block that starts in
 * a slot has the same size, and the starts lie `size` apart).  So the
 * traces whose addresses fall in one slot fit an array indexed by block:
 * index = offset in the slot / size (a multiply by a 40-bit reciprocal,
 * exact for offsets below 1 MiB), holding the traceback id + 1 (0: none).
 * Neighbouring blocks have neighbouring entries: a tree built from one
 * pool writes one line of ids for every 16 nodes, where a hash table of
 * traces (store.c) misses the cache on nearly every insert and remove.
 *
 *     address  | region: 15 bits | segment: 10 | slot: 6 | offset: 16 |
 *     dir[region] -> region node (1024 segment nodes) -> segment node
 *     (64 slot records) -> record {ids, size, phase, live}
 *     ids[(offset * recip) >> 40] = traceback id + 1
 *
 * A record takes the size (and the phase: offset mod size) of the first
 * trace that starts in its slot and keeps them while it holds a trace;
 * when its last trace goes the next one may set them anew (the slot went
 * to another pool).  A block that does not fit (another size or phase in a
 * slot still holding traces: the debug heap's user pointers, whose usable
 * sizes vary; an address above 47 bits) is refused, and the caller keeps
 * it in the hash table instead.  A trace is removed here only when the
 * size the heap reports for the free matches the record's, so a block the
 * table holds is never mistaken for one of these.
 *
 * Memory: id arrays of 16 B to 16 KiB (a power of two at least 4 bytes an
 * entry; 4 bytes a 32-byte block), segment and region nodes, all carved
 * from 64 KiB mappings; an emptied array stays with its record (all zero)
 * until the record changes size, then goes to a free list of its size.
 * Sparse slots cost more (one 16-byte trace alone in its slot: 16 KiB), so
 * past 1 MiB a new array is carved only while the index stays within 32
 * bytes a trace; the table takes the traces it refuses then.
 * The directory is one lazy mapping of 256 KiB; only its touched pages
 * count.  Everything is given back at once by tr_blocks_clear.  The
 * caller holds the tracer's lock for every function here.
 */
#include <string.h>

#include "trace/trace.h"

#define REGION_SHIFT  32
#define REGIONS       ((size_t)1 << (47 - REGION_SHIFT)) /* 47-bit user space */
#define SEGMENT_SHIFT 22
#define SEGMENTS      ((size_t)1 << (REGION_SHIFT - SEGMENT_SHIFT)) /* 1024 a region */
#define SLOT_SHIFT    16
#define SLOTS         ((size_t)1 << (SEGMENT_SHIFT - SLOT_SHIFT)) /* 64 a segment */
#define CHUNK_BYTES   (64 * 1024) /* carved into arrays and nodes; above the largest */
#define MIN_ARRAY     16          /* bytes: 4 entries */
#define DIR_BYTES     (REGIONS * sizeof(void *))
#define DIR_PAGE      4096 /* DIR_BYTES / DIR_PAGE must be at most 64: one mask */
/* Past BUDGET_FREE bytes, a new array is carved only while the index costs
 * at most BUDGET_PER_TRACE bytes a trace; else the trace goes to the table
 * (sparse slots: tracing started in an old heap, whose free blocks lie
 * scattered over many pools, would cost up to 16 KiB a trace). */
#define BUDGET_FREE      ((size_t)1 << 20)
#define BUDGET_PER_TRACE 32

struct tr_slot_rec {
    uint32_t *ids;  /* NULL until the first trace */
    uint64_t recip; /* ceil(2^40 / size) */
    size_t size;    /* of every trace here */
    uint32_t phase; /* offset of each block start, mod size */
    uint32_t cap;   /* bytes of ids (a power of two) */
    uint32_t live;  /* traces here */
};

typedef struct seg_node {
    tr_slot_rec slots[SLOTS];
} seg_node;

typedef struct region_node {
    seg_node *segs[SEGMENTS];
} region_node;

/* ---- memory ------------------------------------------------------------------- */
static void *carve(tr_blocks *b, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (b->chunk_used + bytes > CHUNK_BYTES || !b->chunk) {
        if (b->nchunks == b->capchunks) {
            size_t cap = b->capchunks ? b->capchunks * 2 : 64;
            void **list = tr_map(cap * sizeof *list);
            if (!list)
                return NULL;
            if (b->chunks)
                memcpy(list, b->chunks, b->nchunks * sizeof *list);
            tr_unmap(b->chunks, b->capchunks * sizeof *list);
            b->bytes += (cap - b->capchunks) * sizeof *list;
            b->chunks = list;
            b->capchunks = cap;
        }
        char *c = tr_map(CHUNK_BYTES);
        if (!c)
            return NULL;
        b->chunks[b->nchunks++] = c;
        b->bytes += CHUNK_BYTES;
        b->chunk = c;
        b->chunk_used = 0;
    }
    void *p = b->chunk + b->chunk_used;
    b->chunk_used += bytes;
    return p;
}

static unsigned bucket_of(size_t bytes) /* bytes: a power of two >= MIN_ARRAY */
{
    return (unsigned)__builtin_ctzll(bytes) - 4;
}

/* An all-zero array of `bytes` (a power of two). */
static uint32_t *array_take(tr_blocks *b, size_t bytes)
{
    void **head = &b->free_arrays[bucket_of(bytes)];
    if (*head) {
        void **p = *head;
        *head = *p;
        *p = NULL;
        return (uint32_t *)p;
    }
    return carve(b, bytes);
}

static void array_give(tr_blocks *b, uint32_t *ids, size_t bytes) /* ids is all zero */
{
    void **p = (void **)ids;
    *p = b->free_arrays[bucket_of(bytes)];
    b->free_arrays[bucket_of(bytes)] = p;
}

/* ---- lookup -------------------------------------------------------------------- */
static tr_slot_rec *rec_of(const tr_blocks *b, uintptr_t a)
{
    if (b->hint_slot == (a >> SLOT_SHIFT) + 1)
        return b->hint_rec;
    if ((a >> 47) || !b->dir)
        return NULL;
    region_node *r = b->dir[a >> REGION_SHIFT];
    if (!r)
        return NULL;
    seg_node *s = r->segs[(a >> SEGMENT_SHIFT) & (SEGMENTS - 1)];
    return s ? &s->slots[(a >> SLOT_SHIFT) & (SLOTS - 1)] : NULL;
}

static tr_slot_rec *rec_make(tr_blocks *b, uintptr_t a)
{
    if (b->hint_slot == (a >> SLOT_SHIFT) + 1) /* the slot of the last insert */
        return b->hint_rec;
    if (a >> 47)
        return NULL;
    if (!b->dir) {
        b->dir = tr_map_lazy(DIR_BYTES);
        if (!b->dir)
            return NULL;
    }
    region_node **rp = &b->dir[a >> REGION_SHIFT];
    if (!*rp) {
        if (!(*rp = carve(b, sizeof **rp)))
            return NULL;
        memset(*rp, 0, sizeof **rp);
        b->dir_pages |= 1ull << ((a >> REGION_SHIFT) * sizeof(void *) / DIR_PAGE);
    }
    seg_node **sp = &(*rp)->segs[(a >> SEGMENT_SHIFT) & (SEGMENTS - 1)];
    if (!*sp) {
        if (!(*sp = carve(b, sizeof **sp)))
            return NULL;
        memset(*sp, 0, sizeof **sp);
    }
    b->hint_slot = (a >> SLOT_SHIFT) + 1;
    b->hint_rec = &(*sp)->slots[(a >> SLOT_SHIFT) & (SLOTS - 1)];
    return b->hint_rec;
}

/* Index of the block at offset off of r's slot, or -1 when off is not a
 * block start of r's size and phase. */
static inline long index_of(const tr_slot_rec *r, uint32_t off)
{
    uint64_t i = ((uint64_t)off * r->recip) >> 40;
    if (i * r->size + r->phase != off)
        return -1;
    return (long)i;
}

static bool over_budget(const tr_blocks *b, size_t bytes)
{
    return !b->free_arrays[bucket_of(bytes)] && b->bytes > BUDGET_FREE &&
           b->bytes > BUDGET_PER_TRACE * b->count;
}

/* Sets up an empty record for blocks of `size` at offset off (mod size):
 * 0, 1 when the memory budget says no, -1 out of memory. */
static int rec_shape(tr_blocks *b, tr_slot_rec *r, size_t size, uint32_t off)
{
    uint32_t phase = (uint32_t)(off % size);
    size_t n = ((((size_t)1 << SLOT_SHIFT) - 1 - phase) / size) + 1;
    size_t bytes = MIN_ARRAY;
    while (bytes < n * sizeof(uint32_t))
        bytes *= 2;
    if (r->ids && r->cap != bytes) {
        array_give(b, r->ids, r->cap);
        r->ids = NULL;
    }
    if (!r->ids && over_budget(b, bytes))
        return 1;
    if (!r->ids) {
        r->ids = array_take(b, bytes);
        if (!r->ids)
            return -1;
        r->cap = (uint32_t)bytes;
    }
    r->size = size;
    r->phase = phase;
    r->recip = (((uint64_t)1 << 40) + size - 1) / size;
    return 0;
}

/* ---- the interface ------------------------------------------------------------------ */
/* Writes id tb + 1 at index i of r. */
static inline int put(tr_blocks *b, tr_slot_rec *r, long i, size_t size, uint32_t tb,
                      size_t *replaced)
{
    if (OM_UNLIKELY(r->ids[i])) /* a block whose free we missed: replace its trace */
        *replaced = size;
    else {
        r->live++;
        b->count++;
    }
    r->ids[i] = tb + 1;
    return 0;
}

/* Everything but a trace into the slot looked up last, in its shape. */
static OM_NOINLINE int insert_slow(tr_blocks *b, uintptr_t addr, size_t size, uint32_t tb,
                                   size_t *replaced)
{
    tr_slot_rec *r = rec_make(b, addr);
    if (!r)
        return addr >> 47 ? 1 : -1;
    uint32_t off = (uint32_t)(addr & (((uintptr_t)1 << SLOT_SHIFT) - 1));
    long i = r->size == size && r->ids ? index_of(r, off) : -1;
    if (i < 0) {
        if (r->live)
            return 1; /* another size or phase holds this slot: the table takes it */
        int rc = rec_shape(b, r, size, off);
        if (rc != 0)
            return rc;
        i = index_of(r, off);
    }
    return put(b, r, i, size, tb, replaced);
}

int tr_blocks_insert(tr_blocks *b, uintptr_t addr, size_t size, uint32_t tb, size_t *replaced)
{
    *replaced = 0;
    if (OM_LIKELY(b->hint_slot == (addr >> SLOT_SHIFT) + 1)) {
        tr_slot_rec *r = b->hint_rec;
        long i = index_of(r, (uint32_t)(addr & (((uintptr_t)1 << SLOT_SHIFT) - 1)));
        if (OM_LIKELY(r->size == size && r->ids && i >= 0))
            return put(b, r, i, size, tb, replaced);
    }
    return insert_slow(b, addr, size, tb, replaced);
}

bool tr_blocks_remove(tr_blocks *b, uintptr_t addr, size_t size, uint32_t *tb)
{
    tr_slot_rec *r = b->hint_rec;
    if (OM_UNLIKELY(b->hint_slot != (addr >> SLOT_SHIFT) + 1)) {
        if (!(r = rec_of(b, addr)))
            return false;
        b->hint_slot = (addr >> SLOT_SHIFT) + 1; /* frees come in runs too */
        b->hint_rec = r;
    }
    if (r->size != size || !r->live)
        return false;
    long i = index_of(r, (uint32_t)(addr & (((uintptr_t)1 << SLOT_SHIFT) - 1)));
    if (i < 0 || !r->ids[i])
        return false;
    *tb = r->ids[i] - 1;
    r->ids[i] = 0;
    r->live--;
    b->count--;
    return true;
}

bool tr_blocks_find(const tr_blocks *b, uintptr_t addr, size_t *size, uint32_t *tb)
{
    const tr_slot_rec *r = rec_of(b, addr);
    if (!r || !r->live)
        return false;
    long i = index_of(r, (uint32_t)(addr & (((uintptr_t)1 << SLOT_SHIFT) - 1)));
    if (i < 0 || !r->ids[i])
        return false;
    *size = r->size;
    *tb = r->ids[i] - 1;
    return true;
}

static size_t each_in_segment(const seg_node *sn, tr_blocks_fn fn, void *arg)
{
    size_t n = 0;
    for (size_t k = 0; k < SLOTS; k++) {
        const tr_slot_rec *r = &sn->slots[k];
        size_t entries = r->cap / sizeof *r->ids, seen = 0;
        for (size_t i = 0; seen < r->live && i < entries; i++)
            if (r->ids[i]) {
                fn(r->size, r->ids[i] - 1, arg);
                seen++;
            }
        n += seen;
    }
    return n;
}

size_t tr_blocks_each(const tr_blocks *b, tr_blocks_fn fn, void *arg)
{
    size_t n = 0;
    for (size_t g = 0; b->dir && g < REGIONS; g++)
        for (size_t s = 0; b->dir[g] && s < SEGMENTS; s++)
            if (b->dir[g]->segs[s])
                n += each_in_segment(b->dir[g]->segs[s], fn, arg);
    return n;
}

void tr_blocks_clear(tr_blocks *b)
{
    for (size_t i = 0; i < b->nchunks; i++)
        tr_unmap(b->chunks[i], CHUNK_BYTES);
    tr_unmap(b->chunks, b->capchunks * sizeof *b->chunks);
    tr_unmap(b->dir, DIR_BYTES);
    memset(b, 0, sizeof *b);
}

size_t tr_blocks_bytes(const tr_blocks *b)
{
    return b->bytes + (size_t)__builtin_popcountll(b->dir_pages) * DIR_PAGE;
}
