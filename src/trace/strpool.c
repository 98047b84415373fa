/*
 * trace/strpool.c: strings interned while a snapshot is built, so that each
 * file and function name is stored once, and a snapshot owns its strings
 * (it must outlive the code it describes, and survive a dump and a load).
 *
 * One growing buffer of NUL-terminated strings and an open-addressing
 * index of offsets (+1, 0 is empty), at most half full.  Plain malloc:
 * snapshots are built outside the hooks and the tracer's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "inspect/inspect.h"
#include "trace/trace.h"

#define MIN_INDEX 256 /* a power of two */
#define MIN_BUF   4096

static int grow_index(tr_strpool *p)
{
    size_t cap = p->capindex ? p->capindex * 2 : MIN_INDEX;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < p->capindex; i++) {
        if (!p->index[i])
            continue;
        size_t j = in_hash_str(p->buf + p->index[i] - 1) & (cap - 1);
        while (index[j])
            j = (j + 1) & (cap - 1);
        index[j] = p->index[i];
    }
    free(p->index);
    p->index = index;
    p->capindex = cap;
    return 0;
}

static int reserve(tr_strpool *p, size_t more)
{
    if (p->len + more <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : MIN_BUF;
    while (cap < p->len + more)
        cap *= 2;
    char *buf = realloc(p->buf, cap);
    if (!buf)
        return -1;
    p->buf = buf;
    p->cap = cap;
    return 0;
}

size_t tr_strpool_add(tr_strpool *p, const char *s)
{
    if (!s)
        s = "?";
    if ((p->count + 1) * 2 > p->capindex && grow_index(p) != 0)
        return SIZE_MAX;
    uint64_t h = in_hash_str(s);
    size_t i = h & (p->capindex - 1);
    for (; p->index[i]; i = (i + 1) & (p->capindex - 1))
        if (!strcmp(p->buf + p->index[i] - 1, s))
            return p->index[i] - 1;
    size_t n = strlen(s) + 1;
    if (p->len + n >= UINT32_MAX || reserve(p, n) != 0)
        return SIZE_MAX;
    memcpy(p->buf + p->len, s, n);
    p->index[i] = (uint32_t)(p->len + 1);
    p->len += n;
    p->count++;
    return p->index[i] - 1;
}

void tr_strpool_free(tr_strpool *p)
{
    free(p->buf);
    free(p->index);
    memset(p, 0, sizeof *p);
}
