/*
 * trace/tracebacks.c: every distinct traceback, stored once.
 *
 * Most programs allocate from a few thousand places, each many times, so a
 * trace names its traceback by a 32-bit id and the frames are kept once:
 *
 *     index (open addressing, 2^k slots of tag << 32 | id + 1)
 *        |
 *        v
 *     byid[id] ---> record in a chunk: hash, domain, nframe, counters, frames[]
 *
 * Records never move (they are carved from CHUNK-byte mappings), so a
 * pointer to one stays valid until tr_tbs_clear.  The index is kept at most
 * half full; ids are dense, so byid grows by doubling.  An index slot keeps
 * the top half of its record's hash beside the id, so a probe that meets
 * another traceback rejects it without loading the record (a cache miss
 * each: with deep native stacks nearly every allocation has a traceback of
 * its own, and the index holds hundreds of thousands).  The caller holds the
 * tracer's lock.
 */
#include <string.h>

#include "trace/trace.h"

#define CHUNK     (16 * 1024) /* records are carved from mappings this big */
#define MIN_INDEX 256         /* must be a power of two */
#define MIN_IDS   256

static uint64_t hash_frames(uint32_t domain, const uintptr_t *frames, unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ domain;
    for (unsigned i = 0; i < n; i++) {
        h ^= (uint64_t)frames[i];
        h *= 0x100000001b3ull;
        h ^= h >> 32;
    }
    return h ^ n;
}

static bool same(const tr_tb *r, uint64_t h, uint32_t domain, const uintptr_t *frames, unsigned n,
                 unsigned total)
{
    return r->hash == h && r->domain == domain && r->nframe == n && r->total_nframe == total &&
           memcmp(r->frames, frames, n * sizeof *frames) == 0;
}

#define TAG_MASK 0xffffffff00000000ull

static inline uint64_t entry_of(uint64_t hash, uint32_t id)
{
    return (hash & TAG_MASK) | ((uint64_t)id + 1);
}

static int grow_index(tr_tbs *t)
{
    size_t cap = t->capindex ? t->capindex * 2 : MIN_INDEX;
    uint64_t *index = tr_map(cap * sizeof *index);
    if (!index)
        return -1;
    for (uint32_t id = 0; id < t->count; id++) {
        uint64_t h = t->byid[id]->hash;
        size_t i = h & (cap - 1);
        while (index[i])
            i = (i + 1) & (cap - 1);
        index[i] = entry_of(h, id);
    }
    tr_unmap(t->index, t->capindex * sizeof *t->index);
    t->bytes += (cap - t->capindex) * sizeof *index;
    t->index = index;
    t->capindex = cap;
    return 0;
}

static int grow_ids(tr_tbs *t)
{
    size_t cap = t->capid ? t->capid * 2 : MIN_IDS;
    tr_tb **byid = tr_map(cap * sizeof *byid);
    if (!byid)
        return -1;
    if (t->count)
        memcpy(byid, t->byid, t->count * sizeof *byid);
    tr_unmap(t->byid, t->capid * sizeof *t->byid);
    t->bytes += (cap - t->capid) * sizeof *byid;
    t->byid = byid;
    t->capid = cap;
    return 0;
}

static void *carve(tr_tbs *t, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (t->chunk_used + bytes > t->chunk_size) {
        if (t->nchunks == t->capchunks) {
            size_t cap = t->capchunks ? t->capchunks * 2 : 64;
            void **chunks = tr_map(cap * sizeof *chunks);
            if (!chunks)
                return NULL;
            if (t->nchunks)
                memcpy(chunks, t->chunks, t->nchunks * sizeof *chunks);
            tr_unmap(t->chunks, t->capchunks * sizeof *t->chunks);
            t->bytes += (cap - t->capchunks) * sizeof *chunks;
            t->chunks = chunks;
            t->capchunks = cap;
        }
        char *chunk = tr_map(CHUNK);
        if (!chunk)
            return NULL;
        t->chunks[t->nchunks++] = chunk;
        t->bytes += CHUNK;
        t->chunk = chunk;
        t->chunk_used = 0;
        t->chunk_size = CHUNK;
    }
    void *p = t->chunk + t->chunk_used;
    t->chunk_used += bytes;
    return p;
}

uint32_t tr_tbs_intern(tr_tbs *t, uint32_t domain, const uintptr_t *frames, unsigned n,
                       unsigned total)
{
    if (total > UINT16_MAX)
        total = UINT16_MAX;
    uint64_t h = hash_frames(domain, frames, n);
    if (t->capindex) {
        for (size_t i = h & (t->capindex - 1); t->index[i]; i = (i + 1) & (t->capindex - 1)) {
            uint64_t e = t->index[i];
            if ((e ^ h) & TAG_MASK)
                continue;
            uint32_t id = (uint32_t)e - 1;
            if (same(t->byid[id], h, domain, frames, n, total))
                return id;
        }
    }
    if ((t->count + 1) * 2 > t->capindex && grow_index(t) != 0)
        return TR_NO_TB;
    if (t->count == t->capid && grow_ids(t) != 0)
        return TR_NO_TB;
    if (t->count == TR_NO_TB - 1)
        return TR_NO_TB;
    tr_tb *r = carve(t, sizeof *r + n * sizeof *frames);
    if (!r)
        return TR_NO_TB;
    r->hash = h;
    r->domain = domain;
    r->nframe = (uint16_t)n;
    r->total_nframe = (uint16_t)(total > UINT16_MAX ? UINT16_MAX : total);
    r->alloc_bytes = 0;
    r->alloc_count = 0;
    memcpy(r->frames, frames, n * sizeof *frames);
    uint32_t id = t->count++;
    t->byid[id] = r;
    size_t i = h & (t->capindex - 1);
    while (t->index[i])
        i = (i + 1) & (t->capindex - 1);
    t->index[i] = entry_of(h, id);
    return id;
}

void tr_tbs_clear(tr_tbs *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        tr_unmap(t->chunks[i], CHUNK);
    tr_unmap(t->chunks, t->capchunks * sizeof *t->chunks);
    tr_unmap(t->byid, t->capid * sizeof *t->byid);
    tr_unmap(t->index, t->capindex * sizeof *t->index);
    memset(t, 0, sizeof *t);
}
