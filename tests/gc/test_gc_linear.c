/* Total collector work stays linear in the objects created (issue #4): a
 * program builds N and then 4N objects with automatic collection on, and
 * the collector's work counter (gc_state.work: blocks and entries looked
 * at, candidates passed over, slice work) must grow about 4 times, never
 * 16.  Counted, never timed.  Both modes of the old generation (incremental
 * cycles, and atomic full collections under the 25% rule).  A control
 * shows that the measure does see quadratic work: collecting the old
 * generation every few thousand allocations makes the ratio about 16. */
#include "nodes.h"
#include "gc/state.h"

#define SMALL 30000 /* objects of the small build; the large one makes 4x */
#define T0    100   /* threshold 0: many collections even in the small build */
/* Linear work gives a ratio near 4 (more cycles in the large build, whose
 * count grows with the logarithm of the size, push it a little above);
 * quadratic work gives about 16. */
#define RATIO_MAX 6.0
#define RATIO_MIN 3.0

typedef enum shape { CHAIN, CHAIN_AND_CYCLES } shape;

/* Builds n objects in one runtime: a chain whose head only a C local holds
 * (the program only allocates), and for CHAIN_AND_CYCLES a pair of nodes
 * in a cycle, dropped, every 4 nodes (garbage for the collector to free).
 * With every > 0, an explicit full collection every `every` objects.
 * Returns the collector's work. */
static uint64_t build(long n, int incremental, shape sh, long every)
{
    assert_int_equal(om_option_set("gc_incremental", incremental), 0);
    om_runtime *rt = new_runtime();
    om_gc_enable(rt);
    assert_int_equal(om_gc_set_threshold(rt, T0, 10, 10), 0);
    om_object *head = NULL;
    for (long made = 0; made < n;) {
        om_object *o = mk(rt, &node_type, 1);
        NODE(o)->slot[0] = head; /* takes over the reference */
        head = o;
        made++;
        if (sh == CHAIN_AND_CYCLES && made % 4 == 0) {
            om_object *a = mk(rt, &node_type, 1), *b = mk(rt, &node_type, 1);
            set_slot(a, 0, b);
            set_slot(b, 0, a);
            om_decref(a);
            om_decref(b);
            made += 2;
        }
        if (every > 0 && made % every == 0)
            om_gc_collect(rt, 2);
    }
    uint64_t work = rt->gc->work;
    assert_true(work > 0);
    om_decref(head);
    om_runtime_free(rt);
    assert_int_equal(om_option_set("gc_incremental", 1), 0);
    return work;
}

static double ratio(int incremental, shape sh, long every)
{
    uint64_t small = build(SMALL, incremental, sh, every);
    uint64_t large = build(4 * SMALL, incremental, sh, every);
    return (double)large / (double)small;
}

static void check_linear(int incremental, shape sh)
{
    double r = ratio(incremental, sh, 0);
    print_message("incremental=%d shape=%d: work ratio %.2f\n", incremental, (int)sh, r);
    if (r > RATIO_MAX || r < RATIO_MIN)
        fail_msg("incremental=%d shape=%d: work grew %.2f times for 4 times the objects",
                 incremental, (int)sh, r);
}

static void chain_incremental(void **state)
{
    (void)state;
    check_linear(1, CHAIN);
}

static void chain_atomic(void **state)
{
    (void)state;
    check_linear(0, CHAIN);
}

static void cycles_incremental(void **state)
{
    (void)state;
    check_linear(1, CHAIN_AND_CYCLES);
}

static void cycles_atomic(void **state)
{
    (void)state;
    check_linear(0, CHAIN_AND_CYCLES);
}

/* The control: a program that collects everything every 1000 objects does
 * quadratic work, and the measure says so. */
static void the_measure_sees_quadratic_work(void **state)
{
    (void)state;
    double r = ratio(0, CHAIN, 1000);
    print_message("collecting every 1000 objects: work ratio %.2f\n", r);
    if (r < 2 * RATIO_MAX)
        fail_msg("quadratic work measured as a ratio of only %.2f", r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_incremental),
        cmocka_unit_test(chain_atomic),
        cmocka_unit_test(cycles_incremental),
        cmocka_unit_test(cycles_atomic),
        cmocka_unit_test(the_measure_sees_quadratic_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
