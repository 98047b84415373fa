/*
 * preload/record.c: the recorder behind `objmem run`.
 *
 * Strategy.  Each thread owns a pl_thread: a 128 KiB buffer in memory from
 * mmap (never from the heap it is watching) into which it encodes its events
 * as varints.  When the buffer is nearly full, or its first event is more
 * than a second old, the thread wraps it as one block and hands it to
 * write(2) on the capture, opened O_APPEND: one system call per ~35,000
 * events (binary trees: 4.5 bytes an allocation, 2.5 a free), no lock, and
 * the file always ends on a whole block (see cli/capture_format.h).
 *
 *     thread 1: [ev ev ev ev ...]--write-->+
 *     thread 2: [ev ev ...]------write---->+--> capture: hdr B B B B B ...
 *     thread 3: [ev ...]-------------------+
 *
 * An allocation event is its time, size, address and stack; the stack is
 * written as its difference from the thread's previous one (stacks.c), so
 * the recorder keeps no table of stacks and takes no lock.  The default
 * unwinder (unwind.c) already knows how many outer frames the stack shares
 * with the previous one, and hands over only the others.
 * A free is its time and address.
 *
 * Sampling (OBJMEM_PRELOAD_SAMPLE = N > 0) keeps one allocation per N bytes
 * on average: each thread counts bytes down to an exponentially distributed
 * mark, so an allocation of s bytes is kept with probability 1 - exp(-s/N),
 * and the reader weighs it by the inverse of that to keep totals unbiased
 * (the Poisson sampling of tcmalloc's heap profiler).  Frees are recorded
 * only for the sampled blocks, found in a small set guarded by a filter of
 * counters that a free reads without a lock.  The countdown and the filter
 * are read inline by alloc.c (preload.h), so an allocation or free that is
 * not sampled costs a decrement or a load and never calls in here.
 *
 * Re-entry: anything the recorder calls that allocates (pthread functions,
 * libunwind's first use) comes back into malloc; a per-thread `busy` flag
 * makes those inner calls plain allocations, unrecorded.
 *
 * Time: the clock of clock.c, written in units of CAP_TIME_UNIT_US, each
 * thread's times never going backwards; while the capture has one thread,
 * not read at every event (event_now, with ticker.c's word saying when
 * time has moved on).
 *
 * Fork: the prepare handler takes the recorder's lock; the child bumps the
 * generation, which makes its one thread start a fresh buffer (and so a fresh
 * previous stack), forgets every sampled block, and opens its own capture
 * (base.PID).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "objmem/heap.h"
#include "heap/special.h"
#include "libs.h"
#include "preload.h"

#ifdef OM_PRELOAD_ZSTD
/* zstd level 1: on binary trees' events (version 3), twice level 3's speed
 * (about 1.5 GB/s against 0.8) for captures 2% larger; with the unwinding
 * cheap (unwind.c), level 3 had become a fifth of the recorder's time. */
#define PL_ZSTD_LEVEL 1
#endif

/* Buffer of one thread; a block must fit under CAP_BLOCK_MAX.  Each block is
 * compressed alone, so larger blocks give zstd more to match: binary trees
 * (depth 14, version 2) made a 0.61 MB capture with 64 KiB, 0.40 MB with
 * 128 KiB, 0.32 MB with 256 KiB (version 3: 0.27 MB with 128 KiB, 0.20 MB
 * with 256 KiB).  But a killed program loses its threads' unwritten
 * buffers: 128 KiB (about 35,000 events) is the compromise. */
#define PL_BUF_BYTES (128u * 1024)
/* Room in front of the payload for the tag and the length varint. */
#define PL_HEAD 16u
/* The largest record: a stack of CAP_MAX_FRAMES frames, or a map line. */
#define PL_RECORD_MAX (4096u + 64u)
/* A block older than this is written at the next event (streaming). */
#define PL_BLOCK_AGE_US 1000000u
/* Sampled blocks live at once: at most half of the set's slots. */
#define PL_SAMPLED_SLOTS (1u << 16)
#define PL_FILTER_SLOTS  (1u << (64 - PL_FILTER_SHIFT))

struct pl_thread {
#ifdef OM_PRELOAD_ZSTD
    ZSTD_CCtx *zstd;                     /* the thread's compressor, made on first use */
    uint8_t packed[PL_BUF_BYTES + 1024]; /* a compressed block: tag, lengths, data */
#endif
    uint32_t generation; /* cap_generation when this state was set up */
    uint32_t index;      /* the thread's number in the capture */
    uint64_t base_us;    /* time of the open block's first event */
    uint64_t last_tick;  /* time of the thread's previous event, in time units */
    uint64_t last_addr;  /* previous address in the block, in 16-byte units */
    uint64_t last_frame; /* previous frame written in the block */
    size_t len;          /* payload bytes in the open block; 0 = no block open */
    uint64_t rng;
    uint64_t clock_us;     /* the last exact reading of the clock (event_now) */
    uint64_t clock_coarse; /* the coarse clock then */
    uint32_t clock_left;   /* events that may still reuse clock_us */
    uint32_t clock_every;  /* events between exact readings */
    uint32_t events;       /* events until PL_TICKER_AFTER (event_now) */
    /* The previous allocation's stack in the block, outermost frame first:
     * an allocation writes only the frames below those it shares with it.
     * (prev_frames only for the frame-pointer unwinder; unwind.c keeps its
     * own.) */
    int prev_n;
    uintptr_t prev_frames[CAP_MAX_FRAMES];
    pl_unwind unwind; /* the unwinder's rules and previous stack; its stack bounds */
    uint8_t buf[PL_BUF_BYTES];
};

int pl_active;

/* pl_active and the heap's mode bit that sends every malloc and free of
 * alloc.c off its inline path while recording (HP_MODE_DETOUR), together. */
static void set_active(int on)
{
    __atomic_store_n(&pl_active, on, __ATOMIC_RELEASE);
    if (on)
        hp_mode_set(HP_MODE_DETOUR);
    else
        hp_mode_clear(HP_MODE_DETOUR);
}

static int cap_fd = -1;
static uint32_t cap_generation = 1;
static uint32_t next_thread_index;
static uint64_t next_memory_us;
static char base_path[1024];
static long opt_sample, opt_unwinder, opt_depth, opt_interval_us;
static int reopen_pending; /* a forked child opens its capture at its first event */
/* cap_generation while the capture has one thread, the ticker runs and
 * nothing is sampled, else 0 (generations start at 1): the common event
 * tests those three with one load and one compare against its thread's
 * generation (see set_lone). */
static uint32_t lone_generation;
static pthread_key_t thread_key;
static OM_THREAD_LOCAL pl_thread *self;
static OM_THREAD_LOCAL int busy;

/* ---- blocks ----------------------------------------------------------------- */
#ifdef OM_PRELOAD_ZSTD
/* Writes the open block compressed ('Z' len raw_len data); false when zstd
 * fails or does not help, and the block goes out as it is. */
static bool flush_packed(pl_thread *t)
{
    if (!t->zstd && (!ZSTD_createCCtx || !(t->zstd = ZSTD_createCCtx())))
        return false; /* no libzstd (libs.c), or no memory */
    uint8_t *p = t->packed + 1 + 2 * CAP_VARINT_MAX;
    size_t room = sizeof t->packed - (size_t)(p - t->packed);
    size_t n = ZSTD_compressCCtx(t->zstd, p, room, t->buf + PL_HEAD, t->len, PL_ZSTD_LEVEL);
    if (ZSTD_isError(n) || n + 16 >= t->len)
        return false;
    uint8_t head[1 + 2 * CAP_VARINT_MAX], raw[CAP_VARINT_MAX];
    size_t raw_len = (size_t)(cap_put_varint(raw, t->len) - raw);
    head[0] = CAP_PACKED_TAG;
    size_t k = (size_t)(cap_put_varint(head + 1, raw_len + n) - head);
    uint8_t *start = p - raw_len - k;
    memcpy(start, head, k);
    memcpy(start + k, raw, raw_len);
    if (cap_fd >= 0)
        om_write_all(cap_fd, start, k + raw_len + n);
    t->len = 0;
    return true;
}
#endif

static void flush(pl_thread *t)
{
    if (t->len == 0)
        return;
#ifdef OM_PRELOAD_ZSTD
    if (flush_packed(t))
        return;
#endif
    uint8_t head[CAP_VARINT_MAX + 1];
    head[0] = CAP_BLOCK_TAG;
    size_t k = (size_t)(cap_put_varint(head + 1, t->len) - head);
    uint8_t *start = t->buf + PL_HEAD - k;
    memcpy(start, head, k);
    if (cap_fd >= 0)
        om_write_all(cap_fd, start, k + t->len);
    t->len = 0;
}

/* A block starts no earlier than the thread's previous event: the clock's
 * rate is corrected as the run goes (clock.c), and the reader must never
 * see a thread's time go backwards from one block to the next. */
static void begin_block(pl_thread *t, uint64_t now)
{
    if (now < t->last_tick << CAP_TIME_SHIFT)
        now = t->last_tick << CAP_TIME_SHIFT;
    uint8_t *p = t->buf + PL_HEAD;
    p = cap_put_varint(p, t->index);
    p = cap_put_varint(p, now);
    t->len = (size_t)(p - (t->buf + PL_HEAD));
    t->base_us = now;
    t->last_tick = now >> CAP_TIME_SHIFT;
    t->last_addr = t->last_frame = 0;
    t->prev_n = 0;
}

static OM_NOINLINE uint8_t *reserve_block(pl_thread *t, size_t need, uint64_t now)
{
    if (t->len && (PL_HEAD + t->len + need > PL_BUF_BYTES || now - t->base_us > PL_BLOCK_AGE_US))
        flush(t);
    if (t->len == 0)
        begin_block(t, now);
    return t->buf + PL_HEAD + t->len;
}

/* Room for one record of at most `need` bytes at time `now`: in the open
 * block, or in a new one when it is full or old. */
static inline uint8_t *reserve(pl_thread *t, size_t need, uint64_t now)
{
    if (OM_LIKELY(t->len && PL_HEAD + t->len + need <= PL_BUF_BYTES &&
                  now - t->base_us <= PL_BLOCK_AGE_US))
        return t->buf + PL_HEAD + t->len;
    return reserve_block(t, need, now);
}

static void commit(pl_thread *t, uint8_t *end)
{
    t->len = (size_t)(end - (t->buf + PL_HEAD));
}

/* A record's first byte: its type and its time delta (capture_format.h). */
static uint8_t *put_head(pl_thread *t, uint8_t *p, unsigned type, uint64_t now)
{
    uint64_t tick = now >> CAP_TIME_SHIFT;
    uint64_t dt = tick > t->last_tick ? tick - t->last_tick : 0;
    t->last_tick = tick > t->last_tick ? tick : t->last_tick;
    return cap_put_head(p, type, dt);
}

static uint8_t *put_addr(pl_thread *t, uint8_t *p, const void *addr)
{
    uint64_t a = (uint64_t)(uintptr_t)addr >> 4;
    p = cap_put_varint(p, cap_zigzag((int64_t)(a - t->last_addr)));
    t->last_addr = a;
    return p;
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    p = cap_put_varint(p, n);
    memcpy(p, s, n);
    return p + n;
}

/* ---- event times ----------------------------------------------------------------- */
/* Reading the time-stamp counter costs a fifth to a third of recording an
 * event on a virtual machine (30 to 50 ns there).  While the capture has one
 * thread, where the file's order is the order of events and times only place
 * them on the timeline, an event may take the thread's last reading instead,
 * as long as time has not moved on (the ticker's word, ticker.c; before the
 * ticker runs, the kernel's coarse clock, read from the vDSO without the
 * counter) and fewer than clock_every events went by.  clock_every adapts
 * so that that many events take about PL_CLOCK_STALE_US: times are then
 * late by at most that in a steady stream, and by at most one tick (2 ms
 * for the ticker, 1 to 4 for the coarse clock) when a burst of events gives
 * way to a slow trickle.  With two threads or more, every event reads the
 * counter (their order across threads comes from the times).  Binary trees
 * (depth 14, full stacks, a loaded 2-core machine): 0.56 s with a reading
 * at every event, 0.28 to 0.32 s with the coarse clock; its 10 ns a read
 * were then 0.05 s of CPU, which the ticker's load saves.  The staleness
 * allowed is half the capture's time unit (times are written in 16 us
 * units, so it shows nowhere): at 2 us and 64 events, binary trees read the
 * counter at one event in 47 (137,000 readings, 6 ms at 45 ns); at 8 us and
 * 256, 27,000. */
#define PL_CLOCK_STALE_US  (CAP_TIME_UNIT_US / 2)
#define PL_CLOCK_EVERY_MAX 256u

static uint64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static OM_NOINLINE uint64_t event_now_exact(pl_thread *t, uint64_t coarse)
{
    uint64_t now = pl_now_us(), span = now - t->clock_us;
    uint32_t k = t->clock_every ? t->clock_every : 1;
    if (span < PL_CLOCK_STALE_US)
        k = k * 2 > PL_CLOCK_EVERY_MAX ? PL_CLOCK_EVERY_MAX : k * 2;
    else if (span > 2 * PL_CLOCK_STALE_US)
        k = k / 2 ? k / 2 : 1;
    t->clock_every = k;
    t->clock_left = k - 1;
    t->clock_us = now;
    t->clock_coarse = coarse;
    return now;
}

/* lone_generation: set when the ticker starts (coarse_or_start), cleared when
 * a second thread joins (reset_thread) and by a fork.  Both sides store and
 * then read the other's word in one total order (seq_cst), so a second
 * thread that joins while the ticker starts always leaves it cleared. */
static void set_lone(void)
{
    if (opt_sample > 0 || !__atomic_load_n(&pl_ticker_on, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(&lone_generation, __atomic_load_n(&cap_generation, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&next_thread_index, __ATOMIC_SEQ_CST) > 1)
        __atomic_store_n(&lone_generation, 0, __ATOMIC_SEQ_CST);
}

/* "Has time moved?" without the ticker: the coarse clock, counting the
 * thread's events towards starting the ticker. */
static OM_NOINLINE uint64_t coarse_or_start(pl_thread *t)
{
    if (++t->events >= PL_TICKER_AFTER) {
        t->events = 0;
        pl_ticker_start();
        set_lone();
        if (__atomic_load_n(&pl_ticker_on, __ATOMIC_RELAXED))
            return (uint64_t)-1; /* not a tick: the next event reads anew */
    }
    return coarse_now();
}

/* The time of an event of thread t (see above). */
static inline uint64_t event_now(pl_thread *t)
{
    uint64_t coarse;
    if (OM_LIKELY(t->generation == __atomic_load_n(&lone_generation, __ATOMIC_RELAXED)))
        coarse = __atomic_load_n(&pl_tick, __ATOMIC_RELAXED);
    else if (__atomic_load_n(&next_thread_index, __ATOMIC_RELAXED) > 1)
        return pl_now_us();
    else
        coarse = __atomic_load_n(&pl_ticker_on, __ATOMIC_RELAXED)
                     ? __atomic_load_n(&pl_tick, __ATOMIC_RELAXED)
                     : coarse_or_start(t);
    if (OM_LIKELY(t->clock_left && coarse == t->clock_coarse)) {
        t->clock_left--;
        return t->clock_us;
    }
    return event_now_exact(t, coarse);
}

/* ---- memory samples: RSS from /proc/self/statm, the heap's committed bytes -- */
static size_t read_rss(void)
{
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *s = strchr(text, ' ');
    size_t pages = 0;
    for (s = s ? s + 1 : text + n; *s >= '0' && *s <= '9'; s++)
        pages = pages * 10 + (size_t)(*s - '0');
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void record_memory(pl_thread *t, uint64_t now)
{
    om_heap_stats stats;
    om_heap_get_stats(&stats);
    uint8_t *p = reserve(t, 3 * CAP_VARINT_MAX + 1, now);
    p = put_head(t, p, CAP_MEMORY, now);
    p = cap_put_varint(p, read_rss());
    p = cap_put_varint(p, stats.committed);
    commit(t, p);
}

static void maybe_record_memory(pl_thread *t, uint64_t now)
{
    uint64_t due = __atomic_load_n(&next_memory_us, __ATOMIC_RELAXED);
    if (OM_LIKELY(now < due))
        return;
    if (!__atomic_compare_exchange_n(&next_memory_us, &due, now + (uint64_t)opt_interval_us, false,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return; /* another thread takes this sample */
    pl_clock_recalibrate();
    record_memory(t, now);
}

/* ---- the sampled set: which live blocks were sampled ------------------------ */
uint8_t *pl_sample_filter; /* PL_FILTER_SLOTS counters, read without the lock */
int pl_sampling;
OM_THREAD_LOCAL int64_t pl_sample_left;
static OM_THREAD_LOCAL int sample_armed; /* pl_sample_left holds a drawn gap */
static uintptr_t *sampled;               /* PL_SAMPLED_SLOTS addresses, open addressing */
static size_t sampled_count;
static pthread_mutex_t sampled_lock = PTHREAD_MUTEX_INITIALIZER;

static void sampled_insert(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    pthread_mutex_lock(&sampled_lock);
    if (sampled_count < PL_SAMPLED_SLOTS / 2) {
        size_t i = pl_mix(a) & (PL_SAMPLED_SLOTS - 1);
        while (sampled[i])
            i = (i + 1) & (PL_SAMPLED_SLOTS - 1);
        sampled[i] = a;
        sampled_count++;
        uint8_t *c = &pl_sample_filter[pl_mix(a) >> PL_FILTER_SHIFT];
        if (__atomic_load_n(c, __ATOMIC_RELAXED) < 255)
            __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&sampled_lock);
}

/* Removes p from the set (backward-shift deletion); true if it was there. */
static bool sampled_remove(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (OM_LIKELY(__atomic_load_n(&pl_sample_filter[pl_mix(a) >> PL_FILTER_SHIFT],
                                  __ATOMIC_RELAXED) == 0))
        return false;
    bool found = false;
    pthread_mutex_lock(&sampled_lock);
    size_t mask = PL_SAMPLED_SLOTS - 1, i = pl_mix(a) & mask;
    while (sampled[i] && sampled[i] != a)
        i = (i + 1) & mask;
    if (sampled[i] == a) {
        found = true;
        sampled_count--;
        uint8_t *c = &pl_sample_filter[pl_mix(a) >> PL_FILTER_SHIFT];
        if (__atomic_load_n(c, __ATOMIC_RELAXED) < 255)
            __atomic_sub_fetch(c, 1, __ATOMIC_RELAXED);
        for (size_t j = (i + 1) & mask; sampled[j]; j = (j + 1) & mask) {
            size_t home = pl_mix(sampled[j]) & mask;
            /* move j back into the hole at i unless its home lies in (i, j] */
            if (((j - home) & mask) >= ((j - i) & mask)) {
                sampled[i] = sampled[j];
                i = j;
            }
        }
        sampled[i] = 0;
    }
    pthread_mutex_unlock(&sampled_lock);
    return found;
}

static double next_sample_gap(pl_thread *t)
{
    double u = (double)((om_splitmix64(&t->rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
    return -log(u) * (double)opt_sample;
}

/* ---- thread state ------------------------------------------------------------- */
static void record_thread(pl_thread *t)
{
    uint64_t now = pl_now_us();
    uint8_t *p = reserve(t, 2 * CAP_VARINT_MAX + 1, now);
    p = put_head(t, p, CAP_THREAD, now);
    p = cap_put_varint(p, (uint64_t)syscall(SYS_gettid));
    commit(t, p);
}

/* A thread's state for the current capture (new, or after a fork). */
static void reset_thread(pl_thread *t)
{
    t->generation = __atomic_load_n(&cap_generation, __ATOMIC_ACQUIRE);
    t->index = __atomic_fetch_add(&next_thread_index, 1, __ATOMIC_SEQ_CST);
    if (t->index > 0) /* a second thread: times are read at every event */
        __atomic_store_n(&lone_generation, 0, __ATOMIC_SEQ_CST);
    t->len = 0;
    t->last_tick = 0; /* a forked child's clock starts again */
    t->clock_us = t->clock_left = 0;
    t->events = 0;
    t->rng = om_random_seed();
    record_thread(t);
}

static void find_stack(pl_thread *t)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
        t->unwind.stack_lo = (uintptr_t)lo;
        t->unwind.stack_hi = (uintptr_t)lo + size;
    }
    pthread_attr_destroy(&attr);
}

static pl_thread *new_thread(void)
{
    void *m =
        mmap(NULL, sizeof(pl_thread), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    pl_thread *t = m;
    find_stack(t);
    pthread_setspecific(thread_key, t);
    reset_thread(t);
    return t;
}

static int open_file(void);

/* The calling thread's state, set up on first use and after a fork (whose
 * child opens its capture here, once the heap's own fork handlers have run:
 * the memory sample reads the heap's statistics under its lock). */
static OM_NOINLINE pl_thread *get_self_slow(void)
{
    pl_thread *t = self;
    if (t)
        reset_thread(t);
    else
        self = t = new_thread();
    if (reopen_pending) {
        reopen_pending = 0;
        if (open_file() < 0)
            set_active(0);
    }
    return t;
}

static inline pl_thread *get_self(void)
{
    pl_thread *t = self;
    if (OM_LIKELY(t && t->generation == __atomic_load_n(&cap_generation, __ATOMIC_RELAXED)))
        return t;
    return get_self_slow();
}

/* pthread key destructor: the thread is ending. */
static void end_thread(void *arg)
{
    pl_thread *t = arg;
    busy = 1;
    if (t->generation == __atomic_load_n(&cap_generation, __ATOMIC_RELAXED))
        flush(t);
    if (self == t)
        self = NULL;
#ifdef OM_PRELOAD_ZSTD
    if (t->zstd)
        ZSTD_freeCCtx(t->zstd);
#endif
    munmap(t, sizeof(pl_thread));
    busy = 0;
}

/* ---- events ------------------------------------------------------------------- */
/* Writes a stack as its difference from the thread's previous one in the
 * block: one varint, pop << 4 | fresh (the previous stack's inner frames not
 * shared, the frames written; fresh 15: the count follows), then the fresh
 * frames (innermost first, zigzag deltas).  At most (n + 2) varints;
 * afterwards the previous stack is this one.  shared >= 0: the unwinder
 * says how many outer frames this stack shares with the thread's previous
 * one (the block's, unless the block is new) and filled only the others;
 * -1: compare. */
static uint8_t *put_stack(pl_thread *t, uint8_t *p, const uintptr_t *frames, int n, int shared)
{
    int keep = 0, before = t->prev_n;
    if (shared >= 0) {
        keep = before ? shared : 0;
    } else {
        while (keep < n && keep < before && t->prev_frames[keep] == frames[n - 1 - keep])
            keep++;
        for (int j = keep; j < n; j++)
            t->prev_frames[j] = frames[n - 1 - j];
    }
    t->prev_n = n;
    uint64_t fresh = (uint64_t)(n - keep), pop = (uint64_t)(before - keep);
    p = cap_put_varint(p, pop << CAP_TYPE_BITS |
                              (fresh < CAP_FRESH_ESCAPE ? fresh : CAP_FRESH_ESCAPE));
    if (fresh >= CAP_FRESH_ESCAPE)
        p = cap_put_varint(p, fresh);
    for (int i = 0; i < n - keep; i++) {
        p = cap_put_varint(p, cap_zigzag((int64_t)(frames[i] - t->last_frame)));
        t->last_frame = frames[i];
    }
    return p;
}

void pl_on_alloc(void *p, size_t size, const void *entry)
{
    if (busy)
        return;
    busy = 1;
    pl_thread *t = get_self();
    if (!t)
        goto out;
    if (opt_sample > 0) {
        if (!sample_armed) { /* the thread's first gap, drawn like every other */
            sample_armed = 1;
            pl_sample_left = (int64_t)next_sample_gap(t) - (int64_t)size;
        }
        if (pl_sample_left > 0)
            goto out;
        while (pl_sample_left <= 0)
            pl_sample_left += (int64_t)next_sample_gap(t) + 1;
        sampled_insert(p);
    }
    /* Room first: a new block forgets the previous stack, and the unwinder
     * must know whether the shared outer frames are needed. */
    uint64_t now = event_now(t);
    uint8_t *q = reserve(t, (size_t)(opt_depth + 5) * CAP_VARINT_MAX + 1, now);
    uintptr_t frames[CAP_MAX_FRAMES];
    int shared;
    int n = pl_stack_capture(frames, (int)opt_depth, (int)opt_unwinder, &t->unwind, &shared, entry,
                             t->prev_n != 0);
    q = put_head(t, q, CAP_ALLOC, now);
    q = cap_put_varint(q, size);
    q = put_stack(t, q, frames, n, shared);
    q = put_addr(t, q, p);
    commit(t, q);
    maybe_record_memory(t, now);
out:
    busy = 0;
}

/* A free record: its head and the address (at most this many bytes). */
#define PL_FREE_RECORD_MAX (2 * CAP_VARINT_MAX + 1)

static uint8_t *put_free(pl_thread *t, uint8_t *q, const void *p, uint64_t now)
{
    return put_addr(t, put_head(t, q, CAP_FREE, now), p);
}

/* A free, every case: a thread or capture to set up, sampling, a clock to
 * read, a block to begin. */
static OM_NOINLINE void free_event(void *p)
{
    if (busy)
        return;
    busy = 1;
    pl_thread *t = get_self();
    if (!t || (opt_sample > 0 && !sampled_remove(p)))
        goto out;
    uint64_t now = event_now(t);
    commit(t, put_free(t, reserve(t, PL_FREE_RECORD_MAX, now), p, now));
out:
    busy = 0;
}

/* The common free as a leaf: a thread set up for this capture, no sampling,
 * one thread in the capture, the last clock reading still good (event_now)
 * and room in the open block.  It calls nothing, so it saves no register
 * and needs no busy flag (nothing here allocates); anything else is
 * free_event's, reached by a tail call.  That saves the common free the
 * six registers its caller used to save and the flag's two stores: binary
 * trees' recorded free (alloc.c's wrappers, the record, the push) went from
 * 140 instructions to 132 under callgrind, where the clock's readings, slowed
 * down, send a tenth of the frees to free_event. */
void pl_on_free(void *p)
{
    pl_thread *t = self;
    if (OM_UNLIKELY(
            busy || !t || t->generation != __atomic_load_n(&lone_generation, __ATOMIC_RELAXED) ||
            !t->clock_left || __atomic_load_n(&pl_tick, __ATOMIC_RELAXED) != t->clock_coarse)) {
        free_event(p);
        return;
    }
    uint64_t now = t->clock_us;
    if (OM_UNLIKELY(!t->len || PL_HEAD + t->len + PL_FREE_RECORD_MAX > PL_BUF_BYTES ||
                    now - t->base_us > PL_BLOCK_AGE_US)) {
        free_event(p);
        return;
    }
    t->clock_left--;
    commit(t, put_free(t, t->buf + PL_HEAD + t->len, p, now));
}

void pl_record_ignore_thread(void)
{
    busy = 1;
}

/* ---- the file's opening records ------------------------------------------------ */
static void emit_raw(const uint8_t *rec, size_t len, void *arg)
{
    pl_thread *t = arg;
    uint8_t *p = reserve(t, len, pl_now_us());
    memcpy(p, rec, len);
    commit(t, p + len);
}

static size_t read_small_file(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    out[len] = '\0';
    return len;
}

static void record_info(pl_thread *t)
{
    char exe[1024] = "", cmd[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    size_t len = read_small_file("/proc/self/cmdline", cmd, sizeof cmd);
    for (size_t i = 0; i + 1 < len; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t now = pl_now_us();
    uint8_t *p = reserve(t, 8 * CAP_VARINT_MAX + sizeof exe + sizeof cmd, now);
    *p++ = CAP_INFO;
    p = cap_put_varint(p, (uint64_t)getpid());
    p = cap_put_varint(p, (uint64_t)getppid());
    p = cap_put_varint(p, (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec);
    p = cap_put_varint(p, (uint64_t)opt_sample);
    p = cap_put_varint(p, (uint64_t)opt_unwinder);
    p = put_string(p, exe, sizeof exe);
    p = put_string(p, cmd, sizeof cmd);
    commit(t, p);
}

void pl_record_maps(void)
{
    if (!__atomic_load_n(&pl_active, __ATOMIC_RELAXED) || busy)
        return;
    __atomic_add_fetch(&pl_unwind_epoch, 1, __ATOMIC_RELAXED); /* new code: rules again */
    busy = 1;
    pl_thread *t = get_self();
    if (t) {
        uint64_t now = pl_now_us();
        uint8_t *p = reserve(t, CAP_VARINT_MAX + 1, now);
        commit(t, put_head(t, p, CAP_MAPS, now));
        pl_read_maps(emit_raw, t);
    }
    busy = 0;
}

/* Header, info, maps and a first memory sample, written at once so that even
 * a program killed at once leaves a readable capture. */
static int open_file(void)
{
    cap_fd = pl_open_capture(base_path);
    if (cap_fd < 0)
        return -1;
    uint8_t head[CAP_MAGIC_LEN + 1];
    memcpy(head, CAP_MAGIC, CAP_MAGIC_LEN);
    head[CAP_MAGIC_LEN] = CAP_VERSION;
    om_write_all(cap_fd, head, sizeof head);
    int was = busy;
    busy = 1;
    pl_maps_forget();
    pl_thread *t = get_self();
    if (t) {
        record_info(t);
        uint8_t *p = reserve(t, CAP_VARINT_MAX + 1, pl_now_us());
        commit(t, put_head(t, p, CAP_MAPS, pl_now_us()));
        pl_read_maps(emit_raw, t);
        record_memory(t, pl_now_us());
        flush(t);
    }
    busy = was;
    return 0;
}

/* ---- fork ------------------------------------------------------------------------ */
static void before_fork(void)
{
    pthread_mutex_lock(&sampled_lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&sampled_lock);
}

static void after_fork_child(void)
{
    pthread_mutex_unlock(&sampled_lock);
    if (!__atomic_load_n(&pl_active, __ATOMIC_RELAXED))
        return;
    if (cap_fd >= 0)
        close(cap_fd);
    cap_fd = -1;
    memset(sampled, 0, PL_SAMPLED_SLOTS * sizeof *sampled);
    memset(pl_sample_filter, 0, PL_FILTER_SLOTS);
    sampled_count = 0;
    next_thread_index = 0;
    next_memory_us = 0;
    lone_generation = 0; /* no ticker in the child until it starts one */
    pl_clock_start();
    pl_ticker_forget();
    reopen_pending = 1;
    __atomic_add_fetch(&cap_generation, 1, __ATOMIC_RELEASE);
}

/* ---- start and finish -------------------------------------------------------------- */
static long clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int pl_record_start(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof base_path - 32) {
        om_fdprintf(2, "objmem: preload: capture path is empty or too long\n");
        return -1;
    }
    memcpy(base_path, path, n + 1);
    if (pl_libs_open() < 0)
        return -1;
    opt_sample = om_opt(OM_OPT_PRELOAD_SAMPLE) > 0 ? om_opt(OM_OPT_PRELOAD_SAMPLE) : 0;
    pl_sampling = opt_sample > 0;
    opt_unwinder = om_opt(OM_OPT_PRELOAD_UNWIND) == 1 ? CAP_UNWIND_FRAMEPOINTER : 0;
    opt_depth = clamp(om_opt(OM_OPT_PRELOAD_DEPTH), 1, CAP_MAX_FRAMES);
    opt_interval_us = clamp(om_opt(OM_OPT_PRELOAD_INTERVAL), 1, 3600000) * 1000;
    void *m = mmap(NULL, PL_SAMPLED_SLOTS * sizeof *sampled + PL_FILTER_SLOTS,
                   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    sampled = m;
    pl_sample_filter = (uint8_t *)m + PL_SAMPLED_SLOTS * sizeof *sampled;
    pl_stacks_init();
    busy = 1;
    int rc = pthread_key_create(&thread_key, end_thread);
    if (rc == 0)
        rc = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    busy = 0;
    if (rc != 0)
        return -1;
    pl_clock_start();
    if (open_file() < 0) {
        om_fdprintf(2, "objmem: preload: cannot create the capture %s: %s\n", base_path,
                    strerror(errno));
        return -1;
    }
    set_active(1);
    return 0;
}

void pl_record_flush_self(void)
{
    if (!__atomic_load_n(&pl_active, __ATOMIC_RELAXED))
        return;
    int was = busy;
    busy = 1;
    pl_thread *t = get_self();
    if (t)
        flush(t);
    busy = was;
}

void pl_record_finish(int stop)
{
    if (!__atomic_load_n(&pl_active, __ATOMIC_RELAXED))
        return;
    busy = 1;
    pl_thread *t = get_self();
    if (t) {
        uint64_t now = pl_now_us();
        record_memory(t, now);
        uint8_t *p = reserve(t, CAP_VARINT_MAX + 1, now);
        commit(t, put_head(t, p, CAP_END, now));
        flush(t);
    }
    if (stop)
        set_active(0);
    busy = 0;
}
