/*
 * trace/dump.c: Snapshot.dump and Snapshot.load, a versioned binary file.
 *
 *     offset  size  field
 *     0       8     magic "OMTRACE\n"
 *     8       4     version (FORMAT_VERSION)
 *     12      4     header bytes (HEADER_BYTES)
 *     16      4     traceback limit
 *     20      4     0x01020304 written natively: a file from a machine of
 *                   the other byte order is refused
 *     24      8     traces      then 8 tracebacks, 8 frames, 8 string bytes
 *     56      8     FNV-1a 64 of everything after the header
 *     64            traces     ntraces  x {u64 size, u32 traceback, u32 0}
 *                   tracebacks ntbs     x {u32 domain, nframe, total, first}
 *                   frames     nframes  x {u32 file, u32 function, u32 line,
 *                                          u32 0, u64 address}
 *                   strings    NUL-terminated, referred to by offset
 *
 * Loading reads the whole file, then checks, in order: the size against
 * the header, the magic, the version, the byte order, the counts against
 * the size, the checksum, and every index and offset against its table, so
 * a truncated or corrupt file gets a message naming what is wrong and never
 * a snapshot that points outside itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"

#define MAGIC           "OMTRACE\n"
#define FORMAT_VERSION  1u
#define HEADER_BYTES    64u
#define BYTE_ORDER_MARK 0x01020304u
#define MAX_FILE_BYTES  ((uint64_t)1 << 40) /* a sanity bound on counts */

typedef struct file_header {
    char magic[8];
    uint32_t version, header_bytes;
    int32_t traceback_limit;
    uint32_t byte_order;
    uint64_t ntraces, ntbs, nframes, strings_len;
    uint64_t checksum;
} file_header;
_Static_assert(sizeof(file_header) == HEADER_BYTES, "the header is 64 bytes");

typedef struct file_trace {
    uint64_t size;
    uint32_t tb, zero;
} file_trace;

typedef struct file_frame {
    uint32_t file, function, lineno, zero;
    uint64_t address;
} file_frame;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

#define FNV_START 0xcbf29ce484222325ull

static int put(FILE *f, const void *p, size_t n, uint64_t *sum)
{
    *sum = fnv1a(*sum, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_body(FILE *f, const om_trace_snapshot *s, uint64_t *sum)
{
    for (size_t i = 0; i < s->ntraces; i++) {
        file_trace t = {s->traces[i].size, s->traces[i].tb, 0};
        if (put(f, &t, sizeof t, sum))
            return -1;
    }
    for (size_t i = 0; i < s->ntbs; i++)
        if (put(f, &s->tbs[i], sizeof s->tbs[i], sum))
            return -1;
    for (size_t i = 0; i < s->nframes; i++) {
        const om_trace_frame *fr = &s->frames[i];
        file_frame ff = {(uint32_t)(fr->filename - s->strings),
                         (uint32_t)(fr->function - s->strings), fr->lineno, 0, fr->address};
        if (put(f, &ff, sizeof ff, sum))
            return -1;
    }
    return put(f, s->strings, s->strings_len, sum);
}

int om_trace_snapshot_dump(const om_trace_snapshot *s, const char *path)
{
    if (!s || !path) {
        om_set_error("om_trace_snapshot_dump: no snapshot or no path");
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        om_set_error("om_trace_snapshot_dump: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    file_header h = {.version = FORMAT_VERSION,
                     .header_bytes = HEADER_BYTES,
                     .traceback_limit = s->traceback_limit,
                     .byte_order = BYTE_ORDER_MARK,
                     .ntraces = s->ntraces,
                     .ntbs = s->ntbs,
                     .nframes = s->nframes,
                     .strings_len = s->strings_len};
    memcpy(h.magic, MAGIC, 8);
    uint64_t sum = FNV_START;
    int rc = fwrite(&h, sizeof h, 1, f) == 1 ? write_body(f, s, &sum) : -1;
    h.checksum = sum;
    if (rc == 0 && (fseek(f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, f) != 1))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        om_set_error("om_trace_snapshot_dump: cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* ---- load ---------------------------------------------------------------------- */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        om_set_error("om_trace_snapshot_load: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        om_set_error("om_trace_snapshot_load: cannot read %s", path);
        return NULL;
    }
    *len = n;
    return buf;
}

static const char *check_header(const file_header *h, size_t len)
{
    if (len < HEADER_BYTES)
        return "truncated: shorter than the header";
    if (memcmp(h->magic, MAGIC, 8) != 0)
        return "not an objmem trace dump (bad magic)";
    if (h->version != FORMAT_VERSION)
        return "unsupported format version";
    if (h->header_bytes != HEADER_BYTES)
        return "corrupt: bad header size";
    if (h->byte_order != BYTE_ORDER_MARK)
        return "written on a machine of another byte order";
    if (h->ntraces > MAX_FILE_BYTES || h->ntbs > MAX_FILE_BYTES || h->nframes > MAX_FILE_BYTES ||
        h->strings_len > MAX_FILE_BYTES)
        return "corrupt: impossible counts";
    uint64_t want = HEADER_BYTES + h->ntraces * sizeof(file_trace) + h->ntbs * sizeof(tr_snap_tb) +
                    h->nframes * sizeof(file_frame) + h->strings_len;
    if (want > len)
        return "truncated: the file is shorter than its header says";
    if (want < len)
        return "corrupt: trailing bytes after the strings";
    if (h->strings_len == 0 || h->strings_len >= UINT32_MAX || h->ntbs >= UINT32_MAX ||
        h->nframes >= UINT32_MAX)
        return "corrupt: bad table sizes";
    return NULL;
}

static const char *check_tables(const om_trace_snapshot *s, const file_frame *ff)
{
    if (s->strings[s->strings_len - 1] != '\0')
        return "corrupt: strings not terminated";
    for (size_t i = 0; i < s->ntraces; i++)
        if (s->traces[i].tb >= s->ntbs)
            return "corrupt: a trace names a missing traceback";
    for (size_t i = 0; i < s->ntbs; i++)
        if ((uint64_t)s->tbs[i].first + s->tbs[i].nframe > s->nframes ||
            s->tbs[i].nframe > OM_TRACE_MAX_FRAMES)
            return "corrupt: a traceback names missing frames";
    for (size_t i = 0; i < s->nframes; i++)
        if (ff[i].file >= s->strings_len || ff[i].function >= s->strings_len)
            return "corrupt: a frame names a missing string";
    return NULL;
}

static const char *unpack(om_trace_snapshot *s, const file_header *h, const char *body)
{
    s->traceback_limit = h->traceback_limit;
    s->ntraces = h->ntraces;
    s->ntbs = h->ntbs;
    s->nframes = h->nframes;
    s->strings_len = h->strings_len;
    s->traces = malloc((s->ntraces + 1) * sizeof *s->traces);
    s->tbs = malloc((s->ntbs + 1) * sizeof *s->tbs);
    s->frames = malloc((s->nframes + 1) * sizeof *s->frames);
    s->strings = malloc(s->strings_len);
    if (!s->traces || !s->tbs || !s->frames || !s->strings)
        return "out of memory";
    const file_trace *ft = (const file_trace *)body;
    for (size_t i = 0; i < s->ntraces; i++) {
        file_trace t;
        memcpy(&t, &ft[i], sizeof t);
        s->traces[i] = (tr_snap_trace){t.size, t.tb};
    }
    body += s->ntraces * sizeof(file_trace);
    memcpy(s->tbs, body, s->ntbs * sizeof *s->tbs);
    body += s->ntbs * sizeof *s->tbs;
    const file_frame *ff = (const file_frame *)body;
    memcpy(s->strings, body + s->nframes * sizeof(file_frame), s->strings_len);
    const char *why = check_tables(s, ff);
    for (size_t i = 0; !why && i < s->nframes; i++) {
        file_frame f;
        memcpy(&f, &ff[i], sizeof f);
        s->frames[i] = (om_trace_frame){(const char *)(uintptr_t)f.file,
                                        (const char *)(uintptr_t)f.function, f.lineno, f.address};
    }
    return why;
}

om_trace_snapshot *om_trace_snapshot_load(const char *path)
{
    if (!path) {
        om_set_error("om_trace_snapshot_load: no path");
        return NULL;
    }
    size_t len;
    char *buf = read_all(path, &len);
    if (!buf)
        return NULL;
    file_header h = {0};
    memcpy(&h, buf, len < sizeof h ? len : sizeof h);
    const char *why = check_header(&h, len);
    if (!why && fnv1a(FNV_START, buf + HEADER_BYTES, len - HEADER_BYTES) != h.checksum)
        why = "corrupt: checksum mismatch";
    om_trace_snapshot *s = NULL;
    if (!why) {
        s = calloc(1, sizeof *s);
        why = s ? unpack(s, &h, buf + HEADER_BYTES) : "out of memory";
    }
    free(buf);
    if (why) {
        om_trace_snapshot_free(s);
        om_set_error("om_trace_snapshot_load: %s: %s", path, why);
        return NULL;
    }
    return tr_snapshot_assemble(s);
}
