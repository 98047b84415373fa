/*
 * fuzz/heap_ops.h: an interpreter that turns bytes into a sequence of heap
 * operations and checks every byte it wrote.  Shared by the libFuzzer
 * target (fuzz/fuzz_heap.c), its plain driver (fuzz/driver.c) and the
 * corpus test (tests/heap/test_edges_fuzz.c); header-only so each can
 * include it without a library of its own.
 *
 * Input:
 *
 *   byte 0       mode: bit 0 debug heap, bit 1 arm fault injection,
 *                bit 2 run om_heap_check after every operation,
 *                bit 3 malloc, calloc and realloc go to a private heap
 *                (hp_heap) and op 5 also walks it
 *   byte 1       with bit 1: om_heap_fail_after(byte 1 + 1)
 *   then ops     3 bytes each: op, s, t
 *                  op % 8          what (below); op / 8 % HEAP_OPS_SLOTS: which slot
 *                  s >> 6          size tier: 0: s & 63             (0..63)
 *                                             1: (s & 63) * 16 + t  (0..1263)
 *                                             2: ((s & 63) << 8 | t) * 4   (< 64 KiB)
 *                                             3: ((s & 63) << 8 | t) * 64  (< 1 MiB)
 *   what: 0 malloc, 1 free, 2 realloc, 3 calloc (1 + t % 8 elements), 4 aligned_alloc
 *         (alignment 1 << t % 16), 5 check contents (and walk), 6 rewrite contents,
 *         7 usable size
 *
 * Every live slot holds a pattern derived from its seed; it is checked
 * before each free and realloc (the kept prefix) and by op 5.  A walk of
 * the private heap must visit exactly the live slots it holds.  An
 * allocation may fail only while fault injection is armed.  At the end
 * everything is freed, the heap checked and the debug heap's quarantine
 * emptied, so no input depends on those before it.  A broken rule prints
 * one line and aborts, which libFuzzer reports as a crash.
 */
#ifndef OM_FUZZ_HEAP_OPS_H
#define OM_FUZZ_HEAP_OPS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objmem.h"
#include "heap/heap.h"    /* the private heap */
#include "heap/special.h" /* hp_debug_flush: each input starts on an empty quarantine */

#define HEAP_OPS_SLOTS 32 /* op / 8 ranges over 0..31 */

typedef struct heap_ops_slot {
    unsigned char *p;
    hp_heap *heap; /* where p came from; NULL: the global heap */
    size_t size;
    unsigned char seed;
    unsigned char zero; /* 1: calloc'd, not yet rewritten */
} heap_ops_slot;

typedef struct heap_ops {
    heap_ops_slot slots[HEAP_OPS_SLOTS];
    hp_heap *heap; /* mode bit 3: the private heap, else NULL */
    int armed;     /* fault injection armed: allocations may fail */
} heap_ops;

static void heap_ops_fail(const char *what, size_t slot, size_t size)
{
    fprintf(stderr, "heap_ops: %s (slot %zu, %zu bytes)\n", what, slot, size);
    abort();
}

/* The pattern, 8 bytes at a time: word w of a slot's bytes. */
static uint64_t heap_ops_word(const heap_ops_slot *s, size_t w)
{
    if (s->zero)
        return 0;
    return (0x0101010101010101ull * s->seed) ^ ((w + 1) * 0x9e3779b97f4a7c15ull);
}

static void heap_ops_write(heap_ops_slot *s, unsigned char seed)
{
    s->seed = seed;
    s->zero = 0;
    size_t w = 0;
    for (; (w + 1) * 8 <= s->size; w++) {
        uint64_t v = heap_ops_word(s, w);
        memcpy(s->p + w * 8, &v, 8);
    }
    uint64_t last = heap_ops_word(s, w);
    for (size_t i = w * 8; i < s->size; i++)
        s->p[i] = (unsigned char)(last >> (8 * (i % 8)));
}

/* Checks the first n bytes of slot s against its pattern. */
static void heap_ops_check(const heap_ops_slot *s, size_t n, size_t slot)
{
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v;
        memcpy(&v, s->p + w * 8, 8);
        if (v != heap_ops_word(s, w))
            heap_ops_fail("content changed", slot, s->size);
    }
    uint64_t last = heap_ops_word(s, w);
    for (size_t i = w * 8; i < n; i++)
        if (s->p[i] != (unsigned char)(last >> (8 * (i % 8))))
            heap_ops_fail("content changed", slot, s->size);
}

static size_t heap_ops_size(unsigned s, unsigned t)
{
    switch (s >> 6) {
    case 0:
        return s & 63;
    case 1:
        return (s & 63) * 16 + t;
    case 2:
        return ((s & 63) << 8 | t) * 4;
    default:
        return ((s & 63) << 8 | t) * 64;
    }
}

/* A NULL result is allowed only when fault injection may have fired. */
static void heap_ops_got(const heap_ops *o, void *p, size_t slot, size_t size)
{
    if (p)
        return;
    if (!o->armed || errno != ENOMEM)
        heap_ops_fail("allocation failed", slot, size);
}

static void heap_ops_release(heap_ops_slot *s, size_t slot)
{
    if (!s->p)
        return;
    heap_ops_check(s, s->size, slot);
    if (s->heap)
        hp_heap_free(s->heap, s->p);
    else
        om_free(s->p);
    s->p = NULL;
    s->size = 0;
}

/* Puts a new block (or NULL) into the empty slot s. */
static void heap_ops_take(heap_ops_slot *s, void *p, hp_heap *heap, size_t size)
{
    s->p = p;
    s->heap = heap;
    s->size = p ? size : 0;
}

static void heap_ops_realloc(heap_ops *o, size_t slot, size_t size, unsigned seed)
{
    heap_ops_slot *s = &o->slots[slot];
    if (!s->p)
        s->heap = o->heap;
    unsigned char *q = s->heap ? hp_heap_realloc(s->heap, s->p, size) : om_realloc(s->p, size);
    if (size == 0 && s->p) { /* glibc: frees, returns NULL */
        if (q)
            heap_ops_fail("realloc to 0 returned a block", slot, size);
        s->p = NULL;
        s->size = 0;
        return;
    }
    if (!q) {
        heap_ops_got(o, q, slot, size);
        heap_ops_check(s, s->size, slot); /* the old block is intact */
        return;
    }
    s->p = q;
    heap_ops_check(s, s->size < size ? s->size : size, slot);
    size_t old = s->size;
    s->size = size;
    if (s->zero || old < size) /* the new tail is undefined: write it all again */
        heap_ops_write(s, (unsigned char)seed);
}

static int heap_ops_visit(void *block, size_t size, void *arg)
{
    heap_ops *o = arg;
    for (size_t i = 0; i < HEAP_OPS_SLOTS; i++)
        if (o->slots[i].p == block && o->slots[i].heap == o->heap) {
            if (size < o->slots[i].size)
                heap_ops_fail("walk reports a block smaller than its request", i, size);
            return 0;
        }
    heap_ops_fail("walk visits a block no slot holds", HEAP_OPS_SLOTS, size);
    return 1;
}

/* Walks the private heap: it must visit exactly the live slots it holds. */
static void heap_ops_walk(heap_ops *o)
{
    size_t want = 0, seen = 0, bytes = 0;
    for (size_t i = 0; i < HEAP_OPS_SLOTS; i++)
        want += o->slots[i].p && o->slots[i].heap == o->heap;
    hp_heap_walk(o->heap, heap_ops_visit, o);
    hp_heap_usage(o->heap, &seen, &bytes);
    if (seen < want)
        heap_ops_fail("heap usage below the live slots", HEAP_OPS_SLOTS, seen);
    seen = 0;
    for (size_t i = 0; i < HEAP_OPS_SLOTS; i++)
        seen += o->slots[i].p && o->slots[i].heap == o->heap;
    if (seen != want)
        heap_ops_fail("walk changed the slots", HEAP_OPS_SLOTS, seen);
}

static void heap_ops_one(heap_ops *o, const uint8_t *op)
{
    size_t slot = (size_t)(op[0] / 8) % HEAP_OPS_SLOTS;
    heap_ops_slot *s = &o->slots[slot];
    size_t size = heap_ops_size(op[1], op[2]);
    errno = 0;
    switch (op[0] % 8) {
    case 0:
        heap_ops_release(s, slot);
        heap_ops_take(s, o->heap ? hp_heap_alloc(o->heap, size) : om_malloc(size), o->heap, size);
        heap_ops_got(o, s->p, slot, size);
        if (s->p)
            heap_ops_write(s, op[2]);
        break;
    case 1:
        heap_ops_release(s, slot);
        break;
    case 2:
        heap_ops_realloc(o, slot, size, op[2]);
        break;
    case 3: {
        heap_ops_release(s, slot);
        size_t count = 1 + op[2] % 8u, each = size / count;
        void *p = o->heap ? hp_heap_calloc(o->heap, count * each) : om_calloc(count, each);
        heap_ops_take(s, p, o->heap, count * each);
        heap_ops_got(o, s->p, slot, size);
        s->zero = 1;
        heap_ops_check(s, s->size, slot);
        break;
    }
    case 4: {
        heap_ops_release(s, slot);
        size_t align = (size_t)1 << (op[2] % 16u);
        heap_ops_take(s, om_aligned_alloc(align, size), NULL, size);
        heap_ops_got(o, s->p, slot, size);
        if (s->p && ((uintptr_t)s->p & (align - 1)))
            heap_ops_fail("misaligned", slot, size);
        if (s->p)
            heap_ops_write(s, op[1]);
        break;
    }
    case 5:
        if (s->p)
            heap_ops_check(s, s->size, slot);
        if (o->heap)
            heap_ops_walk(o);
        break;
    case 6:
        if (s->p)
            heap_ops_write(s, op[2]);
        break;
    default:
        if (s->p && om_usable_size(s->p) < s->size)
            heap_ops_fail("usable size below the request", slot, s->size);
        break;
    }
}

/* Runs one input; aborts on a broken rule.  Always returns 0 (libFuzzer's
 * convention). */
static int heap_ops_run(const uint8_t *data, size_t len)
{
    heap_ops o;
    memset(&o, 0, sizeof o);
    if (len < 2)
        return 0;
    int mode = data[0];
    om_heap_set_debug(mode & 1);
    if (mode & 8) {
        o.heap = hp_heap_new(NULL);
        if (!o.heap)
            heap_ops_fail("no private heap", 0, 0);
    }
    o.armed = (mode & 2) != 0;
    if (o.armed)
        om_heap_fail_after((uint64_t)data[1] + 1);
    for (size_t i = 2; i + 3 <= len; i += 3) {
        heap_ops_one(&o, data + i);
        if (mode & 4)
            om_heap_check();
    }
    om_heap_fail_after(0);
    for (size_t i = 0; i < HEAP_OPS_SLOTS; i++)
        heap_ops_release(&o.slots[i], i);
    if (o.heap) {
        heap_ops_walk(&o); /* nothing left to visit */
        hp_heap_delete(o.heap);
    }
    om_heap_check();
    hp_debug_flush(NULL); /* so that no input depends on the ones before it */
    om_heap_set_debug(0);
    return 0;
}

#endif
