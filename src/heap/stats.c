/*
 * heap/stats.c: om_heap_stats, filled from plain counters.
 *
 * Every figure is a counter kept where the thing it counts changes; a read
 * only adds counters up, it never walks the heap:
 *
 *   per heap (its thread writes, relaxed)   allocs, frees, peak per class
 *   hp_retired (hp_lock)                     the same, of heaps that are gone
 *   hp_class_pools (hp_lock)                 arena pools per class
 *   segment.c globals (hp_lock)              arenas, reserved, committed, ...
 *
 * A read takes hp_lock once and sums 3 x 64 counters per live heap plus
 * 64 pool counts: about 0.4 us in a release build, the same with a small
 * heap and with 40 MiB live (tests/heap/test_heap_stats_mt.c prints it);
 * the walk over every pool descriptor it replaces grew with the heap.
 * Blocks freed from another thread count as freed at once, though their
 * pool sees them only when its owner collects them.
 */
#include "heap/core.h"

void om_heap_get_stats(om_heap_stats *st)
{
    memset(st, 0, sizeof *st);
    hp_counters sum;
    pthread_mutex_lock(&hp_lock);
    hp_heap_counters_sum_locked(&sum, NULL);
    hp_segment_stats_locked(st);
    size_t pools[HP_NCLASSES];
    memcpy(pools, hp_class_pools, sizeof pools);
    pthread_mutex_unlock(&hp_lock);
    st->n_classes = HP_NCLASSES;
    for (unsigned c = 0; c < HP_NCLASSES; c++) {
        om_class_stats *cs = &st->classes[c];
        cs->block_size = hp_class_size(c);
        cs->allocs = sum.allocs[c];
        cs->frees = sum.frees[c];
        cs->blocks_in_use = (size_t)(sum.allocs[c] - sum.frees[c]);
        cs->blocks_peak = sum.peak[c] > cs->blocks_in_use ? sum.peak[c] : cs->blocks_in_use;
        cs->pools = pools[c];
        st->allocs += cs->allocs;
        st->frees += cs->frees;
        st->pools_in_use += cs->pools;
        st->blocks_in_use += cs->blocks_in_use;
        st->bytes_in_use += cs->blocks_in_use * cs->block_size;
    }
    st->allocs += sum.large_allocs;
    st->frees += sum.large_frees;
    st->blocks_in_use += st->large_in_use;
    st->bytes_in_use += st->large_bytes;
    size_t bp = HP_LOAD(&hp_bytes_peak), kp = HP_LOAD(&hp_blocks_peak);
    if (st->bytes_in_use > bp)
        HP_STORE(&hp_bytes_peak, bp = st->bytes_in_use);
    if (st->blocks_in_use > kp)
        HP_STORE(&hp_blocks_peak, kp = st->blocks_in_use);
    st->bytes_peak = bp;
    st->blocks_peak = kp;
    os_stats os;
    os_get_stats(&os);
    st->os_calls = os.calls;
    st->fragmentation =
        st->committed ? 1.0 - (double)st->bytes_in_use / (double)st->committed : 0.0;
    if (st->fragmentation < 0)
        st->fragmentation = 0;
}

static void print_size(int fd, const char *what, size_t bytes)
{
    if (bytes >= ((size_t)10 << 20))
        om_fdprintf(fd, "  %-16s %10zu MiB\n", what, bytes >> 20);
    else if (bytes >= ((size_t)10 << 10))
        om_fdprintf(fd, "  %-16s %10zu KiB\n", what, bytes >> 10);
    else
        om_fdprintf(fd, "  %-16s %10zu B\n", what, bytes);
}

void om_heap_print_stats(int fd)
{
    om_heap_stats st;
    om_heap_get_stats(&st);
    om_fdprintf(fd, "heap statistics\n");
    print_size(fd, "in use", st.bytes_in_use);
    print_size(fd, "peak", st.bytes_peak);
    print_size(fd, "committed", st.committed);
    print_size(fd, "committed peak", st.committed_peak);
    print_size(fd, "reserved", st.reserved);
    print_size(fd, "returned", st.returned);
    om_fdprintf(fd, "  %-16s %10zu (peak %zu)\n", "blocks", st.blocks_in_use, st.blocks_peak);
    om_fdprintf(fd, "  %-16s %10llu / %llu\n", "allocs / frees", (unsigned long long)st.allocs,
                (unsigned long long)st.frees);
    om_fdprintf(fd, "  %-16s %10zu (%zu bytes)\n", "large blocks", st.large_in_use, st.large_bytes);
    om_fdprintf(fd, "  %-16s %10zu (peak %zu)\n", "arenas", st.arenas, st.arenas_peak);
    om_fdprintf(fd, "  %-16s %10zu in use, %zu empty\n", "pools", st.pools_in_use, st.pools_empty);
    om_fdprintf(fd, "  %-16s %10llu\n", "OS calls", (unsigned long long)st.os_calls);
    om_fdprintf(fd, "  %-16s %9.1f%%\n", "fragmentation", st.fragmentation * 100.0);
    om_fdprintf(fd, "  %8s %10s %10s %8s %12s\n", "class", "in use", "peak", "pools", "allocs");
    for (unsigned c = 0; c < st.n_classes; c++) {
        const om_class_stats *cs = &st.classes[c];
        if (!cs->allocs)
            continue;
        om_fdprintf(fd, "  %8zu %10zu %10zu %8zu %12llu\n", cs->block_size, cs->blocks_in_use,
                    cs->blocks_peak, cs->pools, (unsigned long long)cs->allocs);
    }
}
