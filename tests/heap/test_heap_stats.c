/* test_heap_stats.c: the statistics record follows what the program does,
 * per class and in total, and a read is cheap. */
#define OM_TRACE_NO_SITES /* the raw heap, without the tracer's call-site wrappers */
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdlib.h>

#include "omtest.h"
#include "objmem.h"
#include "util/util.h"

static void counts_follow_allocations(void **state)
{
    (void)state;
    om_heap_stats a, b, c;
    om_heap_get_stats(&a);
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = om_malloc(40); /* class 48 */
    void *big = om_malloc(1 << 20);
    om_heap_get_stats(&b);
    assert_int_equal(b.allocs - a.allocs, 101);
    assert_int_equal(b.blocks_in_use - a.blocks_in_use, 101);
    assert_int_equal(b.large_in_use - a.large_in_use, 1);
    assert_true(b.large_bytes - a.large_bytes >= (1u << 20));
    assert_true(b.bytes_in_use - a.bytes_in_use >= 100 * 48 + (1u << 20));
    assert_int_equal(b.classes[2].block_size, 48);
    assert_int_equal(b.classes[2].blocks_in_use - a.classes[2].blocks_in_use, 100);
    assert_int_equal(b.classes[2].allocs - a.classes[2].allocs, 100);
    assert_true(b.classes[2].pools >= 1);
    assert_true(b.classes[2].blocks_peak >= b.classes[2].blocks_in_use);
    assert_true(b.bytes_peak >= b.bytes_in_use);
    assert_true(b.committed >= b.bytes_in_use);
    assert_true(b.committed_peak >= b.committed);
    assert_true(b.reserved >= b.committed);
    assert_true(b.arenas >= 1 && b.arenas_peak >= b.arenas);
    assert_true(b.os_calls > 0);
    assert_true(b.fragmentation >= 0.0 && b.fragmentation < 1.0);
    assert_int_equal(b.n_classes, 64);
    assert_int_equal(b.classes[31].block_size, 512);
    assert_int_equal(b.classes[32].block_size, 640);
    assert_int_equal(b.classes[63].block_size, 128 * 1024);
    for (int i = 0; i < 100; i++)
        om_free(p[i]);
    om_free(big);
    om_heap_get_stats(&c);
    assert_int_equal(c.frees - b.frees, 101);
    assert_int_equal(c.blocks_in_use, a.blocks_in_use);
    assert_int_equal(c.large_in_use, a.large_in_use);
    assert_true(c.bytes_peak >= b.bytes_in_use);
    om_heap_check();
}

static void prints_a_summary(void **state)
{
    (void)state;
    void *p = om_malloc(100);
    char path[] = "/tmp/omstatsXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    om_heap_print_stats(fd);
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "heap statistics"));
    assert_non_null(strstr(buf, "committed"));
    assert_non_null(strstr(buf, "112")); /* the class of the block above */
    om_free(p);
    om_heap_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_follow_allocations),
        cmocka_unit_test(prints_a_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
