/*
 * trace/procmem.c: the process's memory as the kernel counts it, like
 * psutil's memory_full_info: rss, uss, pss and swap from
 * /proc/self/smaps_rollup (one pass over the mappings, done by the kernel),
 * vms and hwm from /proc/self/status.  Values there are in kB.
 */
#include <stdio.h>
#include <string.h>

#include "trace/trace.h"

static size_t field(const char *line, const char *name)
{
    size_t n = strlen(name);
    unsigned long long kb = 0;
    if (strncmp(line, name, n) != 0 || sscanf(line + n, " %llu", &kb) != 1)
        return SIZE_MAX;
    return (size_t)kb * 1024;
}

static int scan(const char *path, void (*take)(om_process_memory *, const char *),
                om_process_memory *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f))
        take(out, line);
    fclose(f);
    return 0;
}

static void set(size_t *dst, size_t v)
{
    if (v != SIZE_MAX)
        *dst += v;
}

static void take_rollup(om_process_memory *m, const char *line)
{
    set(&m->rss, field(line, "Rss:"));
    set(&m->pss, field(line, "Pss:"));
    set(&m->uss, field(line, "Private_Clean:"));
    set(&m->uss, field(line, "Private_Dirty:"));
    set(&m->swap, field(line, "Swap:"));
}

static void take_status(om_process_memory *m, const char *line)
{
    set(&m->vms, field(line, "VmSize:"));
    set(&m->hwm, field(line, "VmHWM:"));
    if (!m->detailed)
        set(&m->rss, field(line, "VmRSS:"));
}

int om_process_memory_info(om_process_memory *out)
{
    memset(out, 0, sizeof *out);
    if (scan("/proc/self/smaps_rollup", take_rollup, out) == 0)
        out->detailed = 1;
    if (scan("/proc/self/status", take_status, out) != 0) {
        om_set_error("om_process_memory_info: /proc/self/status cannot be read");
        return -1;
    }
    return 0;
}

int om_process_memory_write(const om_process_memory *m, om_format fmt, FILE *out)
{
    if (fmt == OM_FORMAT_JSON)
        fprintf(out,
                "{\"kind\":\"process_memory\",\"rss\":%zu,\"uss\":%zu,\"pss\":%zu,"
                "\"swap\":%zu,\"vms\":%zu,\"hwm\":%zu}\n",
                m->rss, m->uss, m->pss, m->swap, m->vms, m->hwm);
    else
        fprintf(out, "rss=%zu uss=%zu pss=%zu swap=%zu vms=%zu hwm=%zu (bytes)\n", m->rss, m->uss,
                m->pss, m->swap, m->vms, m->hwm);
    return ferror(out) ? -1 : 0;
}
