/*
 * cli/capture_symbols.c: return addresses -> function names and source lines.
 *
 * The capture holds the module maps of the recorded process; they are turned
 * back into /proc/PID/maps text and handed to elfutils' libdwfl
 * (dwfl_linux_proc_maps_report), which finds each module's ELF file and its
 * debug information (the separate debug files of Debian's -dbgsym packages
 * too) and answers address -> symbol -> file:line.  The files must still be
 * where they were when the program ran.
 *
 * libdw is opened with dlopen (util/native_symbols.c), so `objmem` itself does
 * not depend on it: on a machine without it, frames print as module+offset.
 * C++ names are demangled when a C++ runtime can be loaded.
 *
 * Each distinct address is resolved once and cached (stacks share most of
 * their frames).  A return address points after the call, so lookups use
 * ip - 1, which lies inside the call instruction.
 */
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "util/native_symbols.h"

typedef struct resolved {
    uint64_t ip; /* 0: empty slot */
    char *function;
    char *where;
} resolved;

struct cap_symbols {
    const cap_capture *c;
    om_dwarf *dwarf;
    resolved *cache;
    size_t mask, used;
};

static int by_start(const void *a, const void *b)
{
    const cap_map *x = *(const cap_map *const *)a, *y = *(const cap_map *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The maps as /proc/PID/maps text, sorted, a later mapping replacing an
 * earlier one it overlaps (a library unloaded and another loaded there). */
static char *maps_text(const cap_capture *c, size_t *len)
{
    const cap_map **v = calloc(c->n_maps + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = c->n_maps; i-- > 0;) {
        const cap_map *m = &c->maps[i];
        int hidden = 0;
        for (size_t j = 0; j < n && !hidden; j++)
            hidden = m->start < v[j]->end && v[j]->start < m->end;
        if (!hidden)
            v[n++] = m;
    }
    qsort(v, n, sizeof *v, by_start);
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    for (size_t i = 0; f && i < n; i++)
        fprintf(f, "%llx-%llx r%cxp %llx 00:00 %llu %s\n", (unsigned long long)v[i]->start,
                (unsigned long long)v[i]->end, '-', (unsigned long long)v[i]->offset,
                (unsigned long long)v[i]->inode, v[i]->path);
    if (f)
        fclose(f);
    free(v);
    return text;
}

static void start_session(cap_symbols *s)
{
    size_t len = 0;
    char *text = maps_text(s->c, &len);
    FILE *f = text ? fmemopen(text, len, "r") : NULL;
    s->dwarf = f ? om_dwarf_open_maps(f) : NULL;
    if (f)
        fclose(f);
    free(text);
}

cap_symbols *cap_symbols_new(const cap_capture *c)
{
    cap_symbols *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->c = c;
    s->mask = 1023;
    s->cache = calloc(s->mask + 1, sizeof *s->cache);
    start_session(s);
    return s;
}

void cap_symbols_free(cap_symbols *s)
{
    if (!s)
        return;
    for (size_t i = 0; i <= s->mask; i++) {
        free(s->cache[i].function);
        free(s->cache[i].where);
    }
    free(s->cache);
    om_dwarf_close(s->dwarf);
    free(s);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Module and offset, from the capture's own maps. */
static char *module_offset(const cap_capture *c, uint64_t ip)
{
    char buf[512];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)ip);
    for (size_t i = c->n_maps; i-- > 0;) {
        const cap_map *m = &c->maps[i];
        if (ip >= m->start && ip < m->end) {
            snprintf(buf, sizeof buf, "%s+0x%llx", base_name(m->path),
                     (unsigned long long)(ip - m->start + m->offset));
            break;
        }
    }
    return strdup(buf);
}

static void resolve(cap_symbols *s, resolved *r)
{
    om_dwarf_frame f;
    om_dwarf_lookup(s->dwarf, r->ip - 1, &f);
    char *readable = om_readable_symbol(f.function);
    r->function = readable ? readable : strdup(f.function ? f.function : "?");
    if (f.file) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s:%d", base_name(f.file), f.line);
        r->where = strdup(buf);
    } else {
        r->where = module_offset(s->c, r->ip);
    }
}

static void grow_cache(cap_symbols *s)
{
    resolved *old = s->cache;
    size_t old_mask = s->mask;
    s->mask = s->mask * 2 + 1;
    s->cache = calloc(s->mask + 1, sizeof *s->cache);
    for (size_t i = 0; i <= old_mask; i++) {
        if (!old[i].ip)
            continue;
        size_t j = (old[i].ip * 0x9e3779b97f4a7c15ull >> 20) & s->mask;
        while (s->cache[j].ip)
            j = (j + 1) & s->mask;
        s->cache[j] = old[i];
    }
    free(old);
}

static resolved *lookup(cap_symbols *s, uint64_t ip)
{
    if (!ip)
        ip = 1;
    if ((s->used + 1) * 2 > s->mask + 1)
        grow_cache(s);
    size_t i = (ip * 0x9e3779b97f4a7c15ull >> 20) & s->mask;
    while (s->cache[i].ip && s->cache[i].ip != ip)
        i = (i + 1) & s->mask;
    resolved *r = &s->cache[i];
    if (!r->ip) {
        r->ip = ip;
        s->used++;
        resolve(s, r);
    }
    return r;
}

const char *cap_frame_function(cap_symbols *s, uint64_t ip)
{
    const char *f = lookup(s, ip)->function;
    return f ? f : "?";
}

const char *cap_frame_where(cap_symbols *s, uint64_t ip)
{
    const char *w = lookup(s, ip)->where;
    return w ? w : "?";
}
