/*
 * heap/fault.c: fault injection: make the nth allocation fail, once.
 *
 * Strategy.  Error paths that never run are error paths that do not work.
 * om_heap_fail_after(n) arms a countdown and sets HP_MODE_FAULT, so every
 * allocation of every heap leaves the fast path and calls
 * hp_fault_should_fail() first.  The call that takes the countdown from 1 to
 * 0 fails: the allocation returns NULL with errno = ENOMEM and the message
 * "injected allocation failure #k" (k counts injected failures since the
 * process began), and the mode is cleared, so allocations are fast again.
 * A test sweeps n = 1, 2, 3 ... over a workload until the workload no
 * longer fails: each run proves one more error path.
 *
 *   om_heap_fail_after(3)    countdown 3, mode on
 *   alloc                    3 -> 2   served
 *   alloc                    2 -> 1   served
 *   alloc                    1 -> 0   FAILS, failures += 1, mode off
 *   alloc                    fast path, not counted
 *
 * The numbers: the countdown is a 64-bit atomic decremented with
 * compare-and-swap, so with many threads exactly one allocation fails for
 * each arming.  OBJMEM_FAIL_AT=n (option fail_at) arms it before main runs.
 */
#include <errno.h>

#include "heap/special.h"

static uint64_t countdown; /* allocations left before the failing one; 0: disarmed */
static uint64_t failures;  /* allocations failed on purpose, all time */

void om_heap_fail_after(uint64_t n)
{
    __atomic_store_n(&countdown, n, __ATOMIC_SEQ_CST);
    if (n)
        hp_mode_set(HP_MODE_FAULT);
    else
        hp_mode_clear(HP_MODE_FAULT);
}

uint64_t om_heap_failures(void)
{
    return __atomic_load_n(&failures, __ATOMIC_RELAXED);
}

bool hp_fault_should_fail(void)
{
    uint64_t left = __atomic_load_n(&countdown, __ATOMIC_RELAXED);
    do {
        if (left == 0)
            return false;
    } while (!__atomic_compare_exchange_n(&countdown, &left, left - 1, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    if (left != 1)
        return false;
    hp_mode_clear(HP_MODE_FAULT);
    if (__atomic_load_n(&countdown, __ATOMIC_SEQ_CST) != 0)
        hp_mode_set(HP_MODE_FAULT); /* re-armed by another thread meanwhile */
    uint64_t k = __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    om_set_error("injected allocation failure #%llu", (unsigned long long)k);
    errno = ENOMEM;
    return true;
}

/* OBJMEM_FAIL_AT=n arms the countdown before main runs. */
__attribute__((constructor)) static void read_start_option(void)
{
    long n = om_opt(OM_OPT_FAIL_AT);
    if (n > 0)
        om_heap_fail_after((uint64_t)n);
}
