/*
 * cli/capture_format.h: the capture file written by the preload library and
 * read by `objmem report` / `objmem diff`.  The one definition of the format;
 * both sides include this header.
 *
 * A capture is a magic, a version, then blocks:
 *
 *     "OBJMEMCP" u8 version
 *     block*     u8 'B'  varint payload_bytes  payload
 *              | u8 'Z'  varint bytes  varint payload_bytes  zstd(payload)
 *
 *     payload    varint thread  varint base_us  record*
 *     record     u8 type  fields (varints, zigzag varints, strings)
 *
 * Each thread fills a private buffer and hands whole blocks to write(2) on a
 * file opened O_APPEND, so blocks never interleave and the file is always a
 * sequence of whole blocks followed, if the process died in a write, by one
 * partial block.  A reader therefore stops at the first block that does not
 * fit in the file and reports everything before it: a crashed or killed
 * program leaves a readable capture.
 *
 * Within a block, times are deltas in time units of CAP_TIME_UNIT_US from
 * base_us (the time of the block's first event, microseconds since the
 * process started; the block's clock starts at base_us / unit), and
 * addresses are zigzag deltas from the previous address in the block, in
 * units of 16 bytes (every block objmem hands out is 16-byte aligned).  An
 * allocation costs 4 to 8 bytes before compression and a free 2 to 3
 * (version 3); zstd takes a steady program's capture to about a twentieth
 * of a byte an event.
 *
 * Stacks (version 2) are written with each allocation, as the difference
 * from the previous allocation's stack in the same block: how many outer
 * frames the two share, then the frames below those, innermost first, as
 * zigzag deltas from the previous frame written in the block.  A block
 * starts from the empty stack, so every block reads alone.  Consecutive
 * allocations of a thread mostly share all but one or two frames: a stack
 * costs two to five bytes, and the writer keeps no table and takes no lock.
 * Readers give each distinct stack an id.
 *
 * Version 3 packs the two fields almost every event spends a byte on: a
 * record's first byte holds its type in the low 4 bits and its time delta
 * in the high 4 (15: the delta follows as a varint; 0 for records without
 * one), and an allocation's stack starts with one varint, pop << 4 | fresh
 * (pop: the previous stack's inner frames that are not shared; fresh: the
 * frames written below the shared ones, 15: the count follows as a
 * varint).  On binary trees: 8.4 bytes for an allocation and its free
 * before compression, against 11.4 in version 2, which readers still read.
 *
 * Order across threads is by time (time units); within a thread, by
 * position.  A reader sorts events by time, stably, which keeps each thread's
 * own order, then orders the threads' events within one stamp so that each
 * free follows its allocation (cli/capture_order.c).
 */
#ifndef OM_CLI_CAPTURE_FORMAT_H
#define OM_CLI_CAPTURE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define CAP_MAGIC     "OBJMEMCP"
#define CAP_MAGIC_LEN 8
#define CAP_VERSION   3
/* The oldest version readers still read. */
#define CAP_VERSION_MIN 2
#define CAP_BLOCK_TAG   'B'
/* The same block compressed with zstd (a writer built with libzstd uses it
 * whenever it saves space; a reader loads libzstd to read it). */
#define CAP_PACKED_TAG 'Z'
/* Events are stamped in units of 2^CAP_TIME_SHIFT microseconds.  A 16 us
 * unit makes an event's time delta almost always 0, which zstd then all but
 * removes: with 1 us stamps, time was three quarters of a capture.  The cost:
 * two threads' events less than a unit apart are ordered by the reader, not
 * by the clock.  At most 2^8 (a timeline still has 4 ms resolution). */
#define CAP_TIME_SHIFT   4
#define CAP_TIME_UNIT_US (1u << CAP_TIME_SHIFT)
/* Largest block payload a reader accepts; a writer's buffer is smaller. */
#define CAP_BLOCK_MAX (1u << 20)
/* Deepest stack a writer records and a reader accepts. */
#define CAP_MAX_FRAMES 128

enum cap_record {
    CAP_ALLOC = 1,  /* dt, size, shared outer frames, n, n frames (deltas), addr delta;
                     * version 3: dt, size, pop << 4 | fresh, frames, addr delta */
    CAP_FREE = 2,   /* dt, addr delta */
    CAP_STACK = 3,  /* version 1 only: id, n, n frames (zigzag deltas) */
    CAP_THREAD = 4, /* dt, os thread id */
    CAP_MEMORY = 5, /* dt, rss bytes, heap committed bytes */
    CAP_MAP = 6,    /* start, end, file offset, path string: one mapped file */
    CAP_INFO = 7,   /* pid, ppid, unix start us, sample bytes, unwinder, exe, command line */
    CAP_END = 8,    /* dt: the process reached exit normally */
    CAP_MAPS = 9,   /* dt: a new snapshot of the module maps starts (CAP_MAP records follow) */
};

enum cap_unwinder { CAP_UNWIND_LIBUNWIND = 0, CAP_UNWIND_FRAMEPOINTER = 1 };

/* Version 3's first byte of a record: type | dt << CAP_TYPE_BITS, with
 * CAP_DT_ESCAPE meaning "dt follows as a varint"; a stack's count of fresh
 * frames likewise, below CAP_FRESH_ESCAPE in the low bits of its varint. */
#define CAP_TYPE_BITS    4
#define CAP_TYPE_MASK    0x0fu
#define CAP_DT_ESCAPE    15u
#define CAP_FRESH_ESCAPE 15u

/* ---- varints: 7 bits a byte, low first, top bit = more --------------------- */
#define CAP_VARINT_MAX 10

static inline uint8_t *cap_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* A version 3 record's first byte (and the time delta after it when it does
 * not fit in the byte). */
static inline uint8_t *cap_put_head(uint8_t *p, unsigned type, uint64_t dt)
{
    if (dt < CAP_DT_ESCAPE) {
        *p++ = (uint8_t)(type | dt << CAP_TYPE_BITS);
        return p;
    }
    *p++ = (uint8_t)(type | CAP_DT_ESCAPE << CAP_TYPE_BITS);
    return cap_put_varint(p, dt);
}

static inline uint64_t cap_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t cap_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads a varint from [*p, end); returns -1 when it runs past end or is
 * longer than 10 bytes. */
static inline int cap_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

#endif
