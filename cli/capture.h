/*
 * cli/capture.h: a capture read into memory, what the reports compute from
 * it, and symbol resolution.  The file format is in capture_format.h.
 *
 *     capture_read.c     file -> cap_capture (tolerates a truncated tail)
 *     capture_order.c    orders the events of threads that share a stamp
 *     capture_replay.c   cap_capture -> cap_profile (peak, leaks, sites ...)
 *     capture_symbols.c  addresses -> "function (file:line)" with libdw
 */
#ifndef OM_CLI_CAPTURE_H
#define OM_CLI_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture_format.h"

typedef struct cap_event {
    uint64_t time_us;
    uint64_t addr;
    uint64_t size;   /* bytes requested; 0 for a free */
    uint32_t stack;  /* stack id (allocations) */
    uint32_t thread; /* the thread's number in the capture; top bit: free */
} cap_event;
#define CAP_EVENT_FREE 0x80000000u

typedef struct cap_map {
    uint64_t start, end, offset, inode;
    int exec;
    char *path;
} cap_map;

typedef struct cap_sample {
    uint64_t time_us, rss, committed;
} cap_sample;

typedef struct cap_capture {
    char *path;
    uint64_t pid, ppid, unix_start_us, sample_bytes;
    unsigned unwinder;
    char *exe, *cmdline;
    int ended;     /* the program reached exit (CAP_END) */
    int truncated; /* the file ends inside a block */
    uint64_t end_us;
    size_t file_bytes;
    cap_event *events;
    size_t n_events;
    /* stacks by id: frames of stack i are frames[stack_at[i] .. + stack_n[i]] */
    uint64_t *frames;
    size_t n_frames;
    uint64_t *stack_at;
    uint32_t *stack_n;
    size_t n_stacks; /* ids 0 .. n_stacks-1; undefined ones have stack_n 0 */
    cap_map *maps;
    size_t n_maps;
    cap_sample *samples;
    size_t n_samples;
    size_t n_threads;
} cap_capture;

/* Reads a capture.  Returns 0, or -1 with a one-line reason in err (not an
 * objmem capture, another version, corrupt).  A truncated last block is not
 * an error: c->truncated is set and what came before is kept. */
int cap_read(const char *path, cap_capture *c, char *err, size_t errlen);
/* After the time sort (cap_read calls it): within each time stamp, the
 * threads' events in an order consistent with the live blocks, each
 * thread's own order kept. */
void cap_order_ties(cap_capture *c);
void cap_free(cap_capture *c);

/* ---- replay ----------------------------------------------------------------- */
#define CAP_HIST_BUCKETS    40 /* sizes by powers of two: [0], [1], [2,3], [4,7], ... */
#define CAP_TIMELINE_POINTS 600

typedef struct cap_site {
    uint32_t stack;
    double bytes, count;           /* allocated over the whole run */
    double peak_bytes, peak_count; /* live at the peak */
    double leak_bytes, leak_count; /* live at the end */
    double temp_count;             /* freed right after, nothing in between */
} cap_site;

typedef struct cap_point {
    uint64_t time_us;
    double heap; /* bytes live (requested sizes) */
    double rss;  /* 0 when no sample is near */
} cap_point;

typedef struct cap_profile {
    double total_bytes, total_count, frees;
    double peak_bytes;
    uint64_t peak_us;
    double leak_bytes, leak_count;
    double temp_count;
    double rss_peak;
    uint64_t duration_us;
    uint64_t unmatched_frees; /* frees of blocks allocated before recording */
    double hist_count[CAP_HIST_BUCKETS], hist_bytes[CAP_HIST_BUCKETS];
    cap_site *sites; /* one per stack that allocated, by stack id order */
    size_t n_sites;
    cap_point *timeline;
    size_t n_points;
} cap_profile;

int cap_replay(const cap_capture *c, cap_profile *p);
void cap_profile_free(cap_profile *p);
/* Sorts an array of site pointers by a field, largest first. */
enum cap_key {
    CAP_BY_BYTES,
    CAP_BY_COUNT,
    CAP_BY_PEAK,
    CAP_BY_PEAK_COUNT,
    CAP_BY_LEAK,
    CAP_BY_TEMP
};
void cap_sort_sites(const cap_site **v, size_t n, enum cap_key key);
double cap_site_value(const cap_site *s, enum cap_key key);

/* ---- symbols ---------------------------------------------------------------- */
typedef struct cap_symbols cap_symbols;
/* Never NULL: without libdw, frames print as module+offset. */
cap_symbols *cap_symbols_new(const cap_capture *c);
void cap_symbols_free(cap_symbols *s);
/* The function name of a frame ("?" when unknown), and "file:line" or
 * "module+0xoffset" where. Strings live as long as s. */
const char *cap_frame_function(cap_symbols *s, uint64_t ip);
const char *cap_frame_where(cap_symbols *s, uint64_t ip);

/* ---- shared helpers ------------------------------------------------------------ */
/* "12.3 MiB" into buf. */
const char *cap_human_bytes(double bytes, char *buf, size_t len);
/* Progress on stderr (only when it is a terminal), at most ten times a second. */
void cap_progress(const char *what, size_t done, size_t total);
void cap_progress_done(void);

#endif
