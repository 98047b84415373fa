/*
 * preload/ticker.c: a word that says "time has moved", for the price of a
 * load.
 *
 * Strategy.  While the capture has one thread, an event may reuse the
 * thread's last clock reading (record.c's event_now) as long as the time
 * has not moved on by more than a tick; it used to find that out from the
 * kernel's coarse clock, which costs 10 ns a read on a virtual machine:
 * a fifth of recording an allocation and its free once the stacks became
 * cheap (binary trees, depth 14, full stacks: 0.05 s of 0.36).  A program
 * that records that many events gets a helper thread instead, which
 * stores a count in pl_tick every PL_TICK_NS and sleeps in between: an
 * event reads the word (one load from a line that changes 500 times a
 * second), and a burst followed by a pause is still seen, the first event
 * after it reading the clock anew.  (heaptrack keeps such a timer thread
 * for its own time stamps.)
 *
 *     helper:  sleep 2 ms, pl_tick++, sleep 2 ms, pl_tick++, ...
 *     events:  pl_tick == the value at my last reading?  reuse it : read
 *
 * The helper starts only after PL_TICKER_AFTER events of one thread, so that
 * a short-lived program (a shell's command, a tool that must stay
 * single-threaded to call unshare) never sees a second thread; until then,
 * and when the thread cannot be made, the coarse clock serves.  It blocks
 * every signal (signals sent to the process go to the program's threads,
 * as before), never allocates after it starts, and is not recorded.  A
 * forked child has no helper: pl_ticker_forget, from the child's fork
 * handler, makes it start one of its own when it records as many events.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "preload.h"

/* The helper's period: about the kernel's own tick (1 to 4 ms), which is
 * how late an event after a pause could be with the coarse clock. */
#define PL_TICK_NS 2000000L

uint64_t pl_tick;
int pl_ticker_on;
static int ticker_tried; /* a start was tried in this process */

static void *tick(void *arg)
{
    (void)arg;
    pl_record_ignore_thread();
    struct timespec period = {0, PL_TICK_NS};
    for (;;) {
        nanosleep(&period, NULL);
        __atomic_add_fetch(&pl_tick, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

void pl_ticker_start(void)
{
    if (ticker_tried)
        return;
    ticker_tried = 1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t id;
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&id, &attr, tick, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        __atomic_store_n(&pl_ticker_on, 1, __ATOMIC_RELAXED);
}

void pl_ticker_forget(void)
{
    ticker_tried = 0;
    __atomic_store_n(&pl_ticker_on, 0, __ATOMIC_RELAXED);
}
