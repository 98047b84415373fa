/*
 * cli/capture_read.c: reads a capture file into a cap_capture.
 *
 * The whole file is read into memory, then walked block by block.  A block
 * whose length runs past the end of the file is the partial write of a
 * process that died: reading stops there and the capture is marked
 * truncated.  Anything else that does not parse (a bad tag, a record type we
 * do not know, a field running past its block) is corruption: an error naming
 * the byte offset.  Compressed blocks ('Z') are inflated with libzstd, loaded
 * with dlopen on first need.  Events are then sorted by time, stably, which merges the
 * threads and keeps each thread's own order (capture_format.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"

#define TEXT_OF(x)   #x
#define EXPAND(x)    TEXT_OF(x)
#define VERSION_TEXT EXPAND(CAP_VERSION)
#define MIN_TEXT     EXPAND(CAP_VERSION_MIN)
/* Distinct stacks a reader keeps apart; beyond, allocations get the empty
 * stack (id 0). */
#define MAX_STACKS (1u << 26)

typedef struct reader {
    cap_capture *c;
    unsigned version; /* of the file: CAP_VERSION_MIN .. CAP_VERSION */
    size_t cap_events, cap_frames, cap_stacks, cap_maps, cap_samples;
    uint32_t *ids; /* stack ids by hash of their frames; 0 = empty slot */
    size_t id_slots;
    char *err;
    size_t errlen;
} reader;

static void *grow(void *v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return v;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *w = realloc(v, n * elem);
    if (!w) {
        fprintf(stderr, "objmem: out of memory reading the capture\n");
        exit(1);
    }
    *cap = n;
    return w;
}

static char *read_string(const uint8_t **p, const uint8_t *end)
{
    uint64_t n;
    if (cap_get_varint(p, end, &n) < 0 || n > (uint64_t)(end - *p))
        return NULL;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n;
    return s;
}

#define GET(v)                                                                                     \
    do {                                                                                           \
        if (cap_get_varint(&p, end, &(v)) < 0)                                                     \
            return -1;                                                                             \
    } while (0)

/* ---- stacks: each distinct one gets an id, 0 being the empty stack ---------- */
static uint64_t hash_frames(const uint64_t *f, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ f[i]) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return h;
}

static bool same_stack(const cap_capture *c, uint32_t id, const uint64_t *f, uint32_t n)
{
    return c->stack_n[id] == n && !memcmp(c->frames + c->stack_at[id], f, n * sizeof *f);
}

static void put_id(reader *r, uint32_t id)
{
    const cap_capture *c = r->c;
    size_t mask = r->id_slots - 1;
    size_t i = hash_frames(c->frames + c->stack_at[id], c->stack_n[id]) & mask;
    while (r->ids[i])
        i = (i + 1) & mask;
    r->ids[i] = id;
}

static void grow_ids(reader *r)
{
    free(r->ids);
    r->id_slots = r->id_slots ? r->id_slots * 2 : 1024;
    r->ids = calloc(r->id_slots, sizeof *r->ids);
    if (!r->ids) {
        fprintf(stderr, "objmem: out of memory reading the capture\n");
        exit(1);
    }
    for (uint32_t id = 1; id < r->c->n_stacks; id++)
        put_id(r, id);
}

/* The id of the stack f[0..n) (innermost first), new if not met before. */
static uint32_t intern_stack(reader *r, const uint64_t *f, uint32_t n)
{
    cap_capture *c = r->c;
    if (n == 0 || c->n_stacks >= MAX_STACKS)
        return 0;
    if ((c->n_stacks + 1) * 2 > r->id_slots)
        grow_ids(r);
    size_t mask = r->id_slots - 1;
    size_t i = hash_frames(f, n) & mask;
    for (; r->ids[i]; i = (i + 1) & mask)
        if (same_stack(c, r->ids[i], f, n))
            return r->ids[i];
    size_t id = c->n_stacks, cap2 = r->cap_stacks;
    c->stack_at = grow(c->stack_at, &r->cap_stacks, id + 1, sizeof *c->stack_at);
    c->stack_n = grow(c->stack_n, &cap2, id + 1, sizeof *c->stack_n);
    c->frames = grow(c->frames, &r->cap_frames, c->n_frames + n, sizeof *c->frames);
    memcpy(c->frames + c->n_frames, f, n * sizeof *f);
    c->stack_at[id] = c->n_frames;
    c->stack_n[id] = n;
    c->n_frames += n;
    c->n_stacks = id + 1;
    r->ids[i] = (uint32_t)id;
    return (uint32_t)id;
}

/* A block's running stack: the previous allocation's frames, outermost
 * first, and the last frame written (deltas start from it). */
typedef struct block_stack {
    uint32_t n;
    uint64_t last;
    uint64_t outer[CAP_MAX_FRAMES];
} block_stack;

/* An allocation's stack: shared outer frames, count, the frames below
 * (version 3: pop << 4 | fresh, [fresh], the frames below). */
static int read_stack(reader *r, block_stack *b, const uint8_t *p, const uint8_t *end,
                      const uint8_t **next, uint32_t *id)
{
    uint64_t keep, fresh, d, inner[CAP_MAX_FRAMES];
    if (r->version >= 3) {
        GET(d);
        uint64_t pop = d >> CAP_TYPE_BITS;
        fresh = d & CAP_TYPE_MASK;
        if (fresh == CAP_FRESH_ESCAPE)
            GET(fresh);
        if (pop > b->n)
            return -1;
        keep = b->n - pop;
    } else {
        GET(keep);
        GET(fresh);
    }
    if (keep > b->n || fresh > CAP_MAX_FRAMES - keep)
        return -1;
    for (uint64_t i = 0; i < fresh; i++) {
        GET(d);
        b->last += (uint64_t)cap_unzigzag(d);
        b->outer[keep + fresh - 1 - i] = b->last;
    }
    b->n = (uint32_t)(keep + fresh);
    for (uint32_t i = 0; i < b->n; i++)
        inner[i] = b->outer[b->n - 1 - i];
    *id = intern_stack(r, inner, b->n);
    *next = p;
    return 0;
}

static int read_map(reader *r, const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    cap_capture *c = r->c;
    cap_map m;
    GET(m.start);
    GET(m.end);
    GET(m.offset);
    GET(m.inode);
    if (p >= end)
        return -1;
    m.exec = *p++;
    if (!(m.path = read_string(&p, end)))
        return -1;
    c->maps = grow(c->maps, &r->cap_maps, c->n_maps + 1, sizeof *c->maps);
    c->maps[c->n_maps++] = m;
    *next = p;
    return 0;
}

static int read_info(cap_capture *c, const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    uint64_t unwinder;
    GET(c->pid);
    GET(c->ppid);
    GET(c->unix_start_us);
    GET(c->sample_bytes);
    GET(unwinder);
    c->unwinder = (unsigned)unwinder;
    free(c->exe);
    free(c->cmdline);
    c->exe = read_string(&p, end);
    c->cmdline = read_string(&p, end);
    if (!c->exe || !c->cmdline)
        return -1;
    *next = p;
    return 0;
}

/* Version 3: the type and time delta packed in a record's first byte (the
 * delta may follow as a varint).  *dt is 0 for a record that has none. */
static int read_head(uint8_t *type, uint64_t *dt, const uint8_t **p, const uint8_t *end)
{
    uint8_t b = *type;
    *type = b & CAP_TYPE_MASK;
    *dt = b >> CAP_TYPE_BITS;
    if (*dt == CAP_DT_ESCAPE && cap_get_varint(p, end, dt) < 0)
        return -1;
    return 0;
}

/* A record's time delta: in version 3, read with its first byte already. */
#define GET_DT(v)                                                                                  \
    do {                                                                                           \
        if (r->version < 3)                                                                        \
            GET(v);                                                                                \
    } while (0)

/* One block's payload.  Returns -1 on corruption. */
static int read_block(reader *r, const uint8_t *p, const uint8_t *end)
{
    cap_capture *c = r->c;
    uint64_t thread, now, addr = 0, dt = 0, v;
    block_stack stack = {.n = 0};
    GET(thread);
    GET(now);
    uint64_t tick = now >> CAP_TIME_SHIFT; /* the block's clock, in time units */
    if (thread >= (1u << 24))
        return -1;
    if (thread + 1 > c->n_threads)
        c->n_threads = thread + 1;
    while (p < end) {
        uint8_t type = *p++;
        cap_event *e;
        dt = 0;
        if (r->version >= 3 && read_head(&type, &dt, &p, end) < 0)
            return -1;
        switch (type) {
        case CAP_ALLOC:
        case CAP_FREE:
            c->events = grow(c->events, &r->cap_events, c->n_events + 1, sizeof *c->events);
            e = &c->events[c->n_events];
            GET_DT(dt);
            now = (tick += dt) << CAP_TIME_SHIFT;
            e->time_us = now;
            e->size = 0;
            e->stack = 0;
            e->thread = (uint32_t)thread;
            if (type == CAP_ALLOC) {
                GET(e->size);
                if (read_stack(r, &stack, p, end, &p, &e->stack) < 0)
                    return -1;
            } else {
                e->thread |= CAP_EVENT_FREE;
            }
            GET(v);
            addr += (uint64_t)cap_unzigzag(v);
            e->addr = addr << 4;
            c->n_events++;
            break;
        case CAP_THREAD:
            GET_DT(dt);
            now = (tick += dt) << CAP_TIME_SHIFT;
            GET(v);
            break;
        case CAP_MEMORY:
            c->samples = grow(c->samples, &r->cap_samples, c->n_samples + 1, sizeof *c->samples);
            GET_DT(dt);
            now = (tick += dt) << CAP_TIME_SHIFT;
            c->samples[c->n_samples].time_us = now;
            GET(c->samples[c->n_samples].rss);
            GET(c->samples[c->n_samples].committed);
            c->n_samples++;
            break;
        case CAP_MAP:
            if (dt || read_map(r, p, end, &p) < 0)
                return -1;
            break;
        case CAP_INFO:
            if (dt || read_info(c, p, end, &p) < 0)
                return -1;
            break;
        case CAP_END:
        case CAP_MAPS:
            GET_DT(dt);
            now = (tick += dt) << CAP_TIME_SHIFT;
            if (type == CAP_END)
                c->ended = 1;
            break;
        default:
            return -1;
        }
        if (now > c->end_us)
            c->end_us = now;
    }
    return 0;
}

static int fail(reader *r, const char *fmt, const char *a, size_t b)
{
    snprintf(r->err, r->errlen, fmt, a, b);
    return -1;
}

static int cmp_event(const void *a, const void *b)
{
    const cap_event *x = a, *y = b;
    if (x->time_us != y->time_us)
        return x->time_us < y->time_us ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: keeps file order within a tick */
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    uint8_t *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        buf = malloc((size_t)st.st_size + 1);
        if (buf)
            *len = fread(buf, 1, (size_t)st.st_size, f);
    } else {
        errno = EINVAL;
    }
    fclose(f);
    return buf;
}

/* ZSTD_decompress and ZSTD_isError from libzstd, or NULL. */
typedef size_t (*zstd_decompress_fn)(void *, size_t, const void *, size_t);
typedef unsigned (*zstd_is_error_fn)(size_t);

static zstd_decompress_fn load_zstd(zstd_is_error_fn *is_error)
{
    static void *lib;
    if (!lib)
        lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return NULL;
    *(void **)is_error = dlsym(lib, "ZSTD_isError");
    zstd_decompress_fn f;
    *(void **)&f = dlsym(lib, "ZSTD_decompress");
    return *is_error ? f : NULL;
}

/* A compressed block's contents: varint raw length, zstd frame.  0, or -1
 * with the reason in r->err. */
static int read_packed(reader *r, const uint8_t *p, const uint8_t *end, size_t at)
{
    static uint8_t raw[CAP_BLOCK_MAX];
    uint64_t n;
    zstd_is_error_fn is_error;
    zstd_decompress_fn inflate = load_zstd(&is_error);
    if (!inflate)
        return fail(r,
                    "%s: the capture is compressed and libzstd.so.1 cannot be loaded (block "
                    "at byte %zu)",
                    r->c->path, at);
    if (cap_get_varint(&p, end, &n) < 0 || n > CAP_BLOCK_MAX)
        return fail(r, "%s: corrupt capture: bad length in the block at byte %zu", r->c->path, at);
    size_t got = inflate(raw, (size_t)n, p, (size_t)(end - p));
    if (is_error(got) || got != n || read_block(r, raw, raw + n) < 0)
        return fail(r, "%s: corrupt capture: bad record in the block at byte %zu", r->c->path, at);
    return 0;
}

static int parse(reader *r, const uint8_t *buf, size_t len)
{
    const char *path = r->c->path;
    if (len < CAP_MAGIC_LEN + 1 || memcmp(buf, CAP_MAGIC, CAP_MAGIC_LEN) != 0)
        return fail(r, "%s: not an objmem capture (no %zu-byte magic at the start)", path,
                    CAP_MAGIC_LEN);
    if (buf[CAP_MAGIC_LEN] < CAP_VERSION_MIN || buf[CAP_MAGIC_LEN] > CAP_VERSION)
        return fail(r,
                    "%s: capture format version %zu; this objmem reads versions " MIN_TEXT
                    " to " VERSION_TEXT,
                    path, buf[CAP_MAGIC_LEN]);
    r->version = buf[CAP_MAGIC_LEN];
    const uint8_t *p = buf + CAP_MAGIC_LEN + 1, *end = buf + len;
    while (p < end) {
        size_t at = (size_t)(p - buf);
        uint64_t n;
        uint8_t tag = *p;
        if (tag != CAP_BLOCK_TAG && tag != CAP_PACKED_TAG)
            return fail(r, "%s: corrupt capture: no block starts at byte %zu", path, at);
        p++;
        if (cap_get_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p)) {
            r->c->truncated = 1; /* the last write was cut short */
            break;
        }
        if (tag == CAP_PACKED_TAG) {
            if (read_packed(r, p, p + n, at) < 0)
                return -1;
        } else if (n > CAP_BLOCK_MAX || read_block(r, p, p + n) < 0) {
            return fail(r, "%s: corrupt capture: bad record in the block at byte %zu", path, at);
        }
        p += n;
        cap_progress("reading", (size_t)(p - buf), len);
    }
    return 0;
}

int cap_read(const char *path, cap_capture *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->path = strdup(path);
    reader r = {.c = c, .err = err, .errlen = errlen};
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    if (!buf) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    c->stack_at = grow(c->stack_at, &r.cap_stacks, 1, sizeof *c->stack_at);
    c->stack_n = calloc(r.cap_stacks, sizeof *c->stack_n);
    c->n_stacks = 1; /* id 0: the empty stack */
    int rc = c->stack_n ? parse(&r, buf, len) : -1;
    free(buf);
    free(r.ids);
    c->file_bytes = len;
    if (rc == 0 && c->n_events > 1) {
        qsort(c->events, c->n_events, sizeof *c->events, cmp_event);
        cap_order_ties(c);
    }
    cap_progress_done();
    return rc;
}

void cap_free(cap_capture *c)
{
    for (size_t i = 0; i < c->n_maps; i++)
        free(c->maps[i].path);
    free(c->maps);
    free(c->events);
    free(c->frames);
    free(c->stack_at);
    free(c->stack_n);
    free(c->samples);
    free(c->exe);
    free(c->cmdline);
    free(c->path);
    memset(c, 0, sizeof *c);
}
