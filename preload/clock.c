/*
 * preload/clock.c: the recorder's clock, microseconds since the capture
 * started, read once per event (once per few events while the capture has
 * one thread: record.c's event_now).
 *
 * Strategy.  clock_gettime through the vDSO costs 20 to 30 ns, a seventh of
 * what recording an event with full stacks used to cost; the CPU's time-stamp
 * counter costs a few.  When the kernel itself keeps time with the TSC (its
 * clocksource is "tsc": the counter is invariant and synchronised across
 * CPUs, or the kernel would have refused it), events read the counter and
 * scale it with one multiply:
 *
 *     us = ((tsc - tsc0) * mult) >> PL_CLOCK_SHIFT
 *
 * mult is first measured over a short spin at start (PL_CALIBRATE_NS), then
 * measured again over the whole run at each memory sample (every
 * OBJMEM_PRELOAD_INTERVAL ms), so its error shrinks as the run grows; a
 * correction moves later times by at most a few microseconds, and the writer
 * never lets a thread's times go backwards (record.c's put_dt).  Elsewhere
 * (another CPU, another clocksource) the clock is CLOCK_MONOTONIC.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

/* The start-up spin that measures the counter's rate: long enough that two
 * readings' jitter (tens of ns) is a 1e-3 error, short enough not to show. */
#define PL_CALIBRATE_NS 200000u

int pl_clock_tsc;
uint64_t pl_clock_tsc0, pl_clock_mult, pl_clock_ns0;

static bool kernel_uses_tsc(void)
{
    char name[32] = "";
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    return n >= 3 && !memcmp(name, "tsc", 3) && (n == 3 || name[3] == '\n');
}

/* mult from the span since tsc0: microseconds per tick, scaled. */
static void measure_rate(void)
{
    uint64_t ticks = pl_read_tsc() - pl_clock_tsc0;
    uint64_t ns = om_now_ns() - pl_clock_ns0;
    if (ticks == 0 || ns == 0)
        return;
    unsigned __int128 m =
        ((unsigned __int128)ns << PL_CLOCK_SHIFT) / ((unsigned __int128)ticks * 1000u);
    __atomic_store_n(&pl_clock_mult, (uint64_t)m, __ATOMIC_RELAXED);
}

void pl_clock_start(void)
{
    pl_clock_ns0 = om_now_ns();
    if (!pl_clock_tsc && !(PL_HAVE_TSC && kernel_uses_tsc()))
        return;
    pl_clock_tsc0 = pl_read_tsc();
    if (!pl_clock_tsc) { /* first start: measure; a forked child keeps the rate */
        while (om_now_ns() - pl_clock_ns0 < PL_CALIBRATE_NS)
            ;
        measure_rate();
        pl_clock_tsc = pl_clock_mult != 0;
    }
}

void pl_clock_recalibrate(void)
{
    if (pl_clock_tsc)
        measure_rate();
}
