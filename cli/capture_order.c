/*
 * cli/capture_order.c: puts the events of different threads that share one
 * time stamp into an order that makes sense.
 *
 * Events are stamped in units of CAP_TIME_UNIT_US, so two threads' events
 * often share a stamp, and the time sort leaves them in file order, which is
 * the order their blocks were written, not the order they happened.  When
 * thread A allocates a block that thread B frees within one unit, B's free
 * may come first: the free would look unmatched and the block leaked.
 *
 * Within a group of events with one stamp, each thread's own events keep
 * their order (they are a queue); among the queues' heads, the first that
 * is consistent with the blocks live so far goes next: a free of a live
 * address, or an allocation at an address that is not live.  When no head
 * is consistent, file order decides.  A set of live addresses follows the
 * events from the start, so the test is exact.
 *
 *     stamp 7:  A: alloc p   B: free p   B: alloc q      (file order: B, B, A)
 *     order:    A alloc p (B's free p is not consistent yet), B free p, B alloc q
 *
 * Cost: O(events) with the set, plus O(g^2) for a group of g events from
 * several threads; groups larger than ORDER_GROUP_MAX keep file order.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

/* Largest group of events of one stamp that is reordered (quadratic). */
#define ORDER_GROUP_MAX 4096u

/* Open addressing, linear probing, backward-shift deletion; 0 is empty (no
 * block lives at address 0). */
typedef struct addr_set {
    uint64_t *slots;
    size_t mask, used;
} addr_set;

static size_t home(const addr_set *s, uint64_t a)
{
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdull;
    return (size_t)(a ^ (a >> 33)) & s->mask;
}

static size_t find(const addr_set *s, uint64_t a)
{
    size_t i = home(s, a);
    while (s->slots[i] && s->slots[i] != a)
        i = (i + 1) & s->mask;
    return i;
}

static bool contains(const addr_set *s, uint64_t a)
{
    return s->slots[find(s, a)] == a;
}

static void insert(addr_set *s, uint64_t a);

static void grow(addr_set *s)
{
    addr_set old = *s;
    s->mask = old.slots ? old.mask * 2 + 1 : 1023;
    s->used = 0;
    s->slots = calloc(s->mask + 1, sizeof *s->slots);
    if (!s->slots) {
        fprintf(stderr, "objmem: out of memory ordering the capture\n");
        exit(1);
    }
    for (size_t i = 0; old.slots && i <= old.mask; i++)
        if (old.slots[i])
            insert(s, old.slots[i]);
    free(old.slots);
}

static void insert(addr_set *s, uint64_t a)
{
    if ((s->used + 1) * 2 > s->mask + 1)
        grow(s);
    size_t i = find(s, a);
    if (!s->slots[i]) {
        s->slots[i] = a;
        s->used++;
    }
}

static void erase(addr_set *s, uint64_t a)
{
    size_t i = find(s, a);
    if (!s->slots[i])
        return;
    s->used--;
    for (size_t j = (i + 1) & s->mask; s->slots[j]; j = (j + 1) & s->mask) {
        size_t h = home(s, s->slots[j]);
        if (((j - h) & s->mask) >= ((j - i) & s->mask)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = 0;
}

static bool is_free(const cap_event *e)
{
    return (e->thread & CAP_EVENT_FREE) != 0;
}

static void apply(addr_set *s, const cap_event *e)
{
    if (is_free(e))
        erase(s, e->addr);
    else if (e->addr)
        insert(s, e->addr);
}

static bool consistent(const addr_set *s, const cap_event *e)
{
    return contains(s, e->addr) == is_free(e);
}

/* Orders group g[0..n) (one stamp) into out[], applying each event. */
static void order_group(addr_set *s, const cap_event *g, size_t n, cap_event *out, bool *taken)
{
    uint32_t seen[64];
    memset(taken, 0, n * sizeof *taken);
    for (size_t done = 0; done < n; done++) {
        size_t pick = n, first = n, n_seen = 0;
        for (size_t k = 0; k < n && pick == n; k++) {
            if (taken[k])
                continue;
            uint32_t th = g[k].thread & ~CAP_EVENT_FREE;
            bool head = true;
            for (size_t q = 0; q < n_seen && head; q++)
                head = seen[q] != th;
            if (!head)
                continue; /* an earlier event of this thread goes first */
            if (first == n)
                first = k;
            if (consistent(s, &g[k]))
                pick = k;
            else if (n_seen < sizeof seen / sizeof seen[0])
                seen[n_seen++] = th;
            else
                break; /* too many threads in one stamp: file order */
        }
        if (pick == n)
            pick = first;
        taken[pick] = true;
        out[done] = g[pick];
        apply(s, &g[pick]);
    }
}

static bool one_thread(const cap_event *g, size_t n)
{
    for (size_t k = 1; k < n; k++)
        if ((g[k].thread ^ g[0].thread) & ~CAP_EVENT_FREE)
            return false;
    return true;
}

void cap_order_ties(cap_capture *c)
{
    addr_set live = {0};
    grow(&live);
    cap_event *out = malloc(ORDER_GROUP_MAX * sizeof *out);
    bool *taken = malloc(ORDER_GROUP_MAX * sizeof *taken);
    if (!out || !taken) {
        fprintf(stderr, "objmem: out of memory ordering the capture\n");
        exit(1);
    }
    cap_event *e = c->events;
    for (size_t i = 0, j; i < c->n_events; i = j) {
        for (j = i + 1; j < c->n_events && e[j].time_us == e[i].time_us; j++)
            ;
        size_t n = j - i;
        if (n == 1 || n > ORDER_GROUP_MAX || one_thread(e + i, n)) {
            for (size_t k = i; k < j; k++)
                apply(&live, &e[k]);
            continue;
        }
        order_group(&live, e + i, n, out, taken);
        memcpy(e + i, out, n * sizeof *out);
    }
    free(out);
    free(taken);
    free(live.slots);
}
