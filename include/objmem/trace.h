/*
 * objmem/trace.h: allocation tracing (Python's tracemalloc, as om_trace_*),
 * the process's memory (psutil), a timeline sampler (mprof) and region
 * profiles (memory_profiler).
 *
 * The tracer records, for every live block of every objmem heap, its size
 * and the traceback of the call that allocated it.  Frame 0 is the call site
 * in YOUR source: the macros at the end of this header wrap the allocating
 * functions so that the C file, line and function of the call are known
 * exactly.  Frames beyond the first (nframe > 1) are native return addresses,
 * resolved to function, source file and line (libdw when present, else
 * function and object file) when a snapshot is taken.
 *
 * Domains (like tracemalloc's): 0 is the raw heap (om_malloc ...); each
 * runtime's private heap gets a domain of its own, numbered from 1 in the
 * order the tracer first sees it (om_trace_domain_of gives an object's).
 *
 * Everything returned here is owned by the caller and freed with the
 * matching *_free function.  The frames and strings of a statistic or a
 * traceback point into the snapshot they come from: free the snapshot last.
 */
#ifndef OBJMEM_TRACE_H
#define OBJMEM_TRACE_H

#include <stdio.h>

#include "objmem/common.h"
#include "objmem/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frames per traceback: 1 ..OM_TRACE_MAX_FRAMES (tracemalloc's limit is
 * 65535; native stacks deeper than this are cut and counted). */
#define OM_TRACE_MAX_FRAMES 128

/* Reports are written as text for people or JSON for programs. */
#ifndef OM_FORMAT_DEFINED
#define OM_FORMAT_DEFINED
typedef enum om_format { OM_FORMAT_TEXT, OM_FORMAT_JSON } om_format;
#endif

/* ---- starting and stopping ------------------------------------------------
 * om_trace_start fails (-1, message) when tracing is already on or nframe is
 * out of range.  om_trace_start_sampling records a random sample of the
 * allocations instead: on average one per `mean_bytes` allocated bytes (a
 * Poisson process over bytes), each sampled block standing for its expected
 * share of bytes, so totals and statistics stay unbiased estimates.
 * om_trace_stop fails when tracing is off; it forgets every trace. */
OM_API int om_trace_start(int nframe);
OM_API int om_trace_start_sampling(int nframe, size_t mean_bytes);
OM_API int om_trace_stop(void);
OM_API bool om_trace_is_tracing(void);
OM_API void om_trace_clear_traces(void);
/* The nframe given to om_trace_start, 0 when tracing is off. */
OM_API int om_trace_get_traceback_limit(void);

/* Bytes in traced blocks now and at most since start (or the last reset). */
OM_API void om_trace_get_traced_memory(size_t *current, size_t *peak);
OM_API void om_trace_reset_peak(void);
/* Bytes the tracer itself uses for its tables. */
OM_API size_t om_trace_get_tracemalloc_memory(void);

typedef struct om_trace_tracer_stats {
    size_t traces;          /* live traced blocks */
    size_t tracebacks;      /* distinct tracebacks interned */
    size_t table_bytes;     /* the indexes of traces (by slot and block, by address) */
    size_t traceback_bytes; /* interned tracebacks */
    double bytes_per_trace; /* (table + tracebacks) / traces */
    uint64_t lost;          /* traces dropped because the tracer's own memory ran out */
    uint64_t sampled;       /* blocks recorded since start */
    size_t mean_bytes;      /* sampling mean, 0 when exact */
} om_trace_tracer_stats;
OM_API void om_trace_get_tracer_stats(om_trace_tracer_stats *out);

/* ---- call sites and tracebacks -------------------------------------------- */
typedef struct om_trace_site {
    const char *filename;
    const char *function;
    long lineno;
} om_trace_site;

typedef struct om_trace_frame {
    const char *filename; /* source file, or the object file of a native frame */
    const char *function; /* "?" when unknown */
    unsigned lineno;      /* 0 when unknown */
    uintptr_t address;    /* return address of a native frame, 0 for a call site */
} om_trace_frame;

typedef struct om_trace_traceback {
    unsigned domain;
    unsigned nframe;       /* frames[0] is the most recent call */
    unsigned total_nframe; /* frames before the limit cut the stack */
    const om_trace_frame *frames;
} om_trace_traceback;

/* The traceback of the call that allocated block (or object) p, or NULL
 * (message) when p is not traced.  Free with om_trace_traceback_free. */
OM_API om_trace_traceback *om_trace_get_object_traceback(const void *p);
OM_API void om_trace_traceback_free(om_trace_traceback *tb);
/* The tracing domain of a block or object: 0 for the raw heap. */
OM_API unsigned om_trace_domain_of(const void *p);

/* ---- snapshots ------------------------------------------------------------- */
typedef struct om_trace_snapshot om_trace_snapshot;

typedef struct om_trace_trace {
    size_t size;
    om_trace_traceback traceback;
} om_trace_trace;

/* NULL with a message when tracing is off. */
OM_API om_trace_snapshot *om_trace_take_snapshot(void);
OM_API void om_trace_snapshot_free(om_trace_snapshot *s);
OM_API size_t om_trace_snapshot_count(const om_trace_snapshot *s);
OM_API int om_trace_snapshot_traceback_limit(const om_trace_snapshot *s);
/* The i-th trace (0 <= i < count): 0, or -1 when i is out of range. */
OM_API int om_trace_snapshot_trace(const om_trace_snapshot *s, size_t i, om_trace_trace *out);
/* Total bytes of the snapshot's traces. */
OM_API size_t om_trace_snapshot_size(const om_trace_snapshot *s);

/* A versioned binary file.  -1 with a message on an I/O error; load fails
 * with a message naming the problem on a truncated, corrupt or foreign file. */
OM_API int om_trace_snapshot_dump(const om_trace_snapshot *s, const char *path);
OM_API om_trace_snapshot *om_trace_snapshot_load(const char *path);

/* ---- filters ----------------------------------------------------------------
 * Like tracemalloc.Filter and DomainFilter.  A trace is kept when it matches
 * at least one inclusive filter (or there is none) and no exclusive one. */
typedef struct om_trace_filter {
    bool inclusive;
    const char *filename_pattern; /* fnmatch(3) pattern; NULL matches any file */
    unsigned lineno;              /* 0 matches any line */
    bool all_frames;              /* test every frame, not only the first */
    int domain;                   /* -1 matches any domain */
} om_trace_filter;

/* A new snapshot holding the traces that pass; NULL with a message for a
 * bad filter.  A filter that matches nothing gives an empty snapshot. */
OM_API om_trace_snapshot *om_trace_snapshot_filter_traces(const om_trace_snapshot *s,
                                                          const om_trace_filter *filters,
                                                          size_t nfilters);

/* ---- statistics -------------------------------------------------------------- */
typedef enum om_trace_key {
    OM_TRACE_BY_LINENO,    /* group by the first frame's file and line */
    OM_TRACE_BY_FILENAME,  /* by the first frame's file */
    OM_TRACE_BY_TRACEBACK, /* by the whole traceback */
} om_trace_key;

typedef struct om_trace_stat {
    size_t size;
    size_t count;
    om_trace_traceback traceback; /* the key: one frame, or the whole traceback */
} om_trace_stat;

typedef struct om_trace_stat_diff {
    size_t size;
    int64_t size_diff;
    size_t count;
    int64_t count_diff;
    om_trace_traceback traceback;
} om_trace_stat_diff;

typedef struct om_trace_stats {
    om_trace_key key;
    bool cumulative;
    size_t n;
    om_trace_stat *items; /* sorted: biggest size first */
} om_trace_stats;

typedef struct om_trace_diffs {
    om_trace_key key;
    bool cumulative;
    size_t n;
    om_trace_stat_diff *items; /* sorted: biggest change first */
} om_trace_diffs;

/* cumulative: count a trace under every frame of its traceback (each key
 * once per trace), not only the first; not valid with BY_TRACEBACK. */
OM_API om_trace_stats *om_trace_snapshot_statistics(const om_trace_snapshot *s, om_trace_key key,
                                                    bool cumulative);
OM_API void om_trace_stats_free(om_trace_stats *st);
/* What changed from old to s.  The keys point into s or old. */
OM_API om_trace_diffs *om_trace_snapshot_compare_to(const om_trace_snapshot *s,
                                                    const om_trace_snapshot *old, om_trace_key key,
                                                    bool cumulative);
OM_API void om_trace_diffs_free(om_trace_diffs *d);

/* ---- reports: text for people, JSON for programs (schema in docs/design.md) */
/* The first `limit` entries (0: all). */
OM_API int om_trace_stats_write(const om_trace_stats *st, size_t limit, om_format fmt, FILE *out);
OM_API int om_trace_diffs_write(const om_trace_diffs *d, size_t limit, om_format fmt, FILE *out);
OM_API int om_trace_snapshot_write(const om_trace_snapshot *s, size_t limit, om_format fmt,
                                   FILE *out);
/* Writes to a file descriptor instead (the descriptor stays open). */
OM_API int om_trace_stats_write_fd(const om_trace_stats *st, size_t limit, om_format fmt, int fd);

/* ---- the process's memory (psutil's memory_full_info) ------------------------ */
typedef struct om_process_memory {
    size_t rss;   /* resident set */
    size_t uss;   /* private to the process (private clean + private dirty) */
    size_t pss;   /* proportional share of shared pages */
    size_t swap;  /* swapped out */
    size_t vms;   /* virtual size */
    size_t hwm;   /* peak resident set */
    int detailed; /* 1 when uss, pss and swap were read (smaps_rollup exists) */
} om_process_memory;
/* Fills *out from /proc/self; -1 with a message when it cannot be read.
 * Fields the kernel does not report are 0. */
OM_API int om_process_memory_info(om_process_memory *out);
OM_API int om_process_memory_write(const om_process_memory *m, om_format fmt, FILE *out);

/* ---- regions (memory_profiler) -------------------------------------------------
 * Marks a stretch of the program and measures the traced memory it
 * allocated, freed and kept, its peak, and the same line by line (by the
 * first frame of each allocation).  Regions may nest or overlap (up to 16
 * open at once).  om_trace_region_begin starts the tracer (1 frame) when it
 * is off and om_trace_region_end stops it again.  Counts cover every
 * thread's allocations while the region is open. */
typedef struct om_trace_region om_trace_region;

typedef struct om_trace_region_line {
    const char *filename;
    const char *function;
    unsigned lineno;
    uint64_t allocated; /* bytes allocated from this line while open */
    uint64_t nalloc;
    int64_t kept; /* change of the live bytes allocated from this line */
} om_trace_region_line;

typedef struct om_trace_region_stats {
    const char *name;
    uint64_t allocated, freed; /* traced bytes */
    uint64_t nalloc, nfree;
    int64_t kept; /* allocated - freed */
    size_t peak;  /* most traced bytes above the level at begin */
    uint64_t elapsed_ns;
    size_t nlines;                     /* most bytes allocated first */
    const om_trace_region_line *lines; /* owned by the region */
} om_trace_region_stats;

/* NULL with a message (16 regions already open, or the tracer fails). */
OM_API om_trace_region *om_trace_region_begin(const char *name);
/* Closes the region and fills *out (which stays valid until the region is
 * freed).  -1 with a message when already closed. */
OM_API int om_trace_region_end(om_trace_region *r, om_trace_region_stats *out);
OM_API int om_trace_region_write(const om_trace_region *r, size_t limit, om_format fmt, FILE *out);
OM_API void om_trace_region_free(om_trace_region *r);

/* ---- the leak report -------------------------------------------------------------
 * The objects of rt still alive (call it just before om_runtime_free, after
 * dropping your references), grouped by type and by the call site that
 * allocated them (when the tracer was running then).  Returns the number of
 * objects, or -1 with a message. */
OM_API long om_trace_leak_report(om_runtime *rt, size_t limit, om_format fmt, FILE *out);

/* ---- the timeline (mprof) ------------------------------------------------------
 * A thread that samples, every interval_ms, the heap in use (all heaps), the
 * resident set and the traced memory.  Objects and collections of a runtime
 * belong to that runtime's thread: om_timeline_tick(tl, rt) from it records
 * them (the sampler carries the last values forward).  When max_samples are
 * taken the timeline keeps every other one and doubles its interval, so it
 * covers the whole run in bounded memory; when one sample costs more than
 * 1% of the interval, the interval doubles too, so the sampler never takes
 * more than 1% of a core. */
typedef struct om_timeline_sample {
    uint64_t t_ns;     /* since om_timeline_start */
    size_t heap_bytes; /* bytes in live blocks of every objmem heap */
    size_t heap_blocks;
    size_t rss;           /* resident set of the process */
    size_t traced;        /* om_trace current bytes (0 when not tracing) */
    size_t objects;       /* live objects of the ticked runtime */
    uint64_t collections; /* collections of the ticked runtime, all generations */
} om_timeline_sample;

typedef struct om_timeline om_timeline;
/* NULL with a message when the thread cannot start or interval_ms is 0. */
OM_API om_timeline *om_timeline_start(unsigned interval_ms, size_t max_samples);
OM_API void om_timeline_tick(om_timeline *tl, om_runtime *rt);
/* Stops the thread (one last sample); the samples stay readable.  -1 when
 * already stopped. */
OM_API int om_timeline_stop(om_timeline *tl);
/* The samples so far (a copy, freed with free(3)); *n gets their count. */
OM_API om_timeline_sample *om_timeline_samples(om_timeline *tl, size_t *n);
/* What sampling cost: total time in the sampler and the mean per sample. */
OM_API void om_timeline_cost(om_timeline *tl, uint64_t *total_ns, uint64_t *per_sample_ns);
OM_API int om_timeline_write(om_timeline *tl, om_format fmt, FILE *out);
OM_API void om_timeline_free(om_timeline *tl);

/* ---- the call-site macros ------------------------------------------------------
 * om_trace_site_tls is the call site of the allocating call now running on
 * this thread; the outermost wrapped call wins (om_trace_site_depth counts
 * the nesting), so the caller's file:line is kept through the library's own
 * nested allocations and through wrapped calls in the arguments.
 *
 *   OM_TRACE_SITE_PTR(call)   call returns void *      (om_malloc ...)
 *   OM_TRACE_SITE_OBJ(call)   call returns om_object * (om_new, om_list_new ...)
 *   OM_TRACE_SITE_INT(call)   call returns int and may allocate (om_list_append ...)
 *
 * The allocating functions of objmem are wrapped by them below unless
 * OM_TRACE_NO_SITES is defined before including objmem.h.  Their addresses
 * (&om_malloc) and parenthesised calls ((om_malloc)(n)) are untouched.
 *
 * The cost when not tracing: one load of the plain global om_trace_sites_on
 * and a branch predicted not taken (no thread-local access, which through a
 * shared library is a call).  The flag is read once per wrapped call, so the
 * site is entered and left on the same side of the branch even when another
 * thread starts or stops the tracer meanwhile; the call itself is written on
 * both sides and runs once.  A call that starts the tracer while it runs
 * records no site for its own allocations (they get the return address). */
/* Non-zero while sites are wanted: bit 1 while exact tracing runs; under
 * sampling, 2 for each heap near its next sample (the heap's, so that calls
 * far from a sample skip the thread-locals). */
OM_API extern int om_trace_sites_on;
OM_API extern __thread const om_trace_site *om_trace_site_tls;
OM_API extern __thread unsigned om_trace_site_depth;

static inline void om_trace_site_enter(const om_trace_site *site)
{
    if (om_trace_site_depth++ == 0)
        om_trace_site_tls = site;
}

static inline void om_trace_site_leave(void)
{
    if (--om_trace_site_depth == 0)
        om_trace_site_tls = NULL;
}

static inline void *om_trace_site_leave_ptr(void *p)
{
    om_trace_site_leave();
    return p;
}

static inline om_object *om_trace_site_leave_obj(om_object *o)
{
    om_trace_site_leave();
    return o;
}

static inline int om_trace_site_leave_int(int r)
{
    om_trace_site_leave();
    return r;
}

/* A pointer to a static record of the file, function and line here. */
#define OM_TRACE_HERE                                                                              \
    __extension__({                                                                                \
        static const om_trace_site om_site_here = {__FILE__, __func__, __LINE__};                  \
        &om_site_here;                                                                             \
    })
#define OM_TRACE_SITES_ON() OM_UNLIKELY(__atomic_load_n(&om_trace_sites_on, __ATOMIC_RELAXED))
#define OM_TRACE_SITE_PTR(call)                                                                    \
    (OM_TRACE_SITES_ON() ? (om_trace_site_enter(OM_TRACE_HERE), om_trace_site_leave_ptr(call))     \
                         : (call))
#define OM_TRACE_SITE_OBJ(call)                                                                    \
    (OM_TRACE_SITES_ON() ? (om_trace_site_enter(OM_TRACE_HERE), om_trace_site_leave_obj(call))     \
                         : (call))
#define OM_TRACE_SITE_INT(call)                                                                    \
    (OM_TRACE_SITES_ON() ? (om_trace_site_enter(OM_TRACE_HERE), om_trace_site_leave_int(call))     \
                         : (call))

#ifdef __cplusplus
}
#endif
#endif

/* The wrappers, defined once each header they wrap has been declared (so a
 * header included after objmem.h never sees them in its declarations). */
#if defined(OBJMEM_H) && !defined(OM_BUILDING) && !defined(OM_TRACE_NO_SITES)
#if defined(OBJMEM_HEAP_H) && !defined(om_malloc)
#define om_malloc(...)        OM_TRACE_SITE_PTR(om_malloc(__VA_ARGS__))
#define om_calloc(...)        OM_TRACE_SITE_PTR(om_calloc(__VA_ARGS__))
#define om_realloc(...)       OM_TRACE_SITE_PTR(om_realloc(__VA_ARGS__))
#define om_aligned_alloc(...) OM_TRACE_SITE_PTR(om_aligned_alloc(__VA_ARGS__))
#endif
#if defined(OBJMEM_OBJECT_H) && !defined(om_new)
#define om_new(...)     OM_TRACE_SITE_OBJ(om_new(__VA_ARGS__))
#define om_new_var(...) OM_TRACE_SITE_OBJ(om_new_var(__VA_ARGS__))
#endif
#if defined(OBJMEM_TYPES_H) && !defined(om_int_from_int64)
#define om_int_from_int64(...)    OM_TRACE_SITE_OBJ(om_int_from_int64(__VA_ARGS__))
#define om_float_from_double(...) OM_TRACE_SITE_OBJ(om_float_from_double(__VA_ARGS__))
#define om_str_from_utf8(...)     OM_TRACE_SITE_OBJ(om_str_from_utf8(__VA_ARGS__))
#define om_str_from_cstr(...)     OM_TRACE_SITE_OBJ(om_str_from_cstr(__VA_ARGS__))
#define om_bytes_from_buffer(...) OM_TRACE_SITE_OBJ(om_bytes_from_buffer(__VA_ARGS__))
#define om_str_concat(...)        OM_TRACE_SITE_OBJ(om_str_concat(__VA_ARGS__))
#define om_str_intern_cstr(...)   OM_TRACE_SITE_OBJ(om_str_intern_cstr(__VA_ARGS__))
#endif
#if defined(OBJMEM_CONTAINERS_H) && !defined(om_list_new)
#define om_tuple_from_array(...)  OM_TRACE_SITE_OBJ(om_tuple_from_array(__VA_ARGS__))
#define om_list_new(...)          OM_TRACE_SITE_OBJ(om_list_new(__VA_ARGS__))
#define om_list_from_array(...)   OM_TRACE_SITE_OBJ(om_list_from_array(__VA_ARGS__))
#define om_dict_new(...)          OM_TRACE_SITE_OBJ(om_dict_new(__VA_ARGS__))
#define om_set_new(...)           OM_TRACE_SITE_OBJ(om_set_new(__VA_ARGS__))
#define om_set_from_iterable(...) OM_TRACE_SITE_OBJ(om_set_from_iterable(__VA_ARGS__))
#define om_record_new(...)        OM_TRACE_SITE_OBJ(om_record_new(__VA_ARGS__))
#define om_instance_new(...)      OM_TRACE_SITE_OBJ(om_instance_new(__VA_ARGS__))
#define om_lru_cache_new(...)     OM_TRACE_SITE_OBJ(om_lru_cache_new(__VA_ARGS__))
#define om_weakref_new(...)       OM_TRACE_SITE_OBJ(om_weakref_new(__VA_ARGS__))
#define om_tuple_pack(...)        OM_TRACE_SITE_OBJ(om_tuple_pack(__VA_ARGS__))
#define om_list_getslice(...)     OM_TRACE_SITE_OBJ(om_list_getslice(__VA_ARGS__))
#define om_dict_copy(...)         OM_TRACE_SITE_OBJ(om_dict_copy(__VA_ARGS__))
/* mutators that grow a buffer */
#define om_list_append(...)      OM_TRACE_SITE_INT(om_list_append(__VA_ARGS__))
#define om_list_insert(...)      OM_TRACE_SITE_INT(om_list_insert(__VA_ARGS__))
#define om_list_extend(...)      OM_TRACE_SITE_INT(om_list_extend(__VA_ARGS__))
#define om_dict_setitem(...)     OM_TRACE_SITE_INT(om_dict_setitem(__VA_ARGS__))
#define om_dict_setitem_str(...) OM_TRACE_SITE_INT(om_dict_setitem_str(__VA_ARGS__))
#define om_dict_update(...)      OM_TRACE_SITE_INT(om_dict_update(__VA_ARGS__))
#define om_set_add(...)          OM_TRACE_SITE_INT(om_set_add(__VA_ARGS__))
#define om_instance_setattr(...) OM_TRACE_SITE_INT(om_instance_setattr(__VA_ARGS__))
#endif
#endif
