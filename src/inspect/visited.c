/*
 * inspect/visited.c: a set of addresses for the walks that must see each
 * object once (deep size, the DOT export): open addressing, linear probing,
 * a power-of-two table kept at most half full.  Address 0 is never stored.
 * Also the string hash the name tables of inspect and trace share.
 */
#include <stdlib.h>

#include "inspect/inspect.h"

#define MIN_CAP 64

static inline size_t slot_of(uintptr_t key, size_t cap)
{
    return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static int grow(in_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : MIN_CAP;
    uintptr_t *keys = calloc(cap, sizeof *keys);
    if (!keys)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->keys[i])
            continue;
        size_t j = slot_of(s->keys[i], cap);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = s->keys[i];
    }
    free(s->keys);
    s->keys = keys;
    s->cap = cap;
    return 0;
}

bool in_set_has(const in_set *s, const void *p)
{
    if (!s->cap)
        return false;
    for (size_t j = slot_of((uintptr_t)p, s->cap); s->keys[j]; j = (j + 1) & (s->cap - 1))
        if (s->keys[j] == (uintptr_t)p)
            return true;
    return false;
}

int in_set_add(in_set *s, const void *p)
{
    if ((s->n + 1) * 2 > s->cap && grow(s) != 0)
        return -1;
    size_t j = slot_of((uintptr_t)p, s->cap);
    for (; s->keys[j]; j = (j + 1) & (s->cap - 1))
        if (s->keys[j] == (uintptr_t)p)
            return 0;
    s->keys[j] = (uintptr_t)p;
    s->n++;
    return 1;
}

uint64_t in_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void in_set_free(in_set *s)
{
    free(s->keys);
    s->keys = NULL;
    s->cap = s->n = 0;
}
