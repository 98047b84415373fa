/* test_heap_divide.c: the one multiply that checks and divides an offset in
 * a pool (hp_pool.magic, after Lemire, Kaser and Kurz): for every size class
 * and every offset a pool can hold, hp_divides says exactly whether the
 * offset is a block start and hp_div gives the block index, as % and / do. */
#include "omtest.h"
#include "objmem.h"
#include "heap/fast.h"

/* Offsets up to the largest pool (16 slots, 1 MiB): every one below a slot,
 * and around every block start above. */
static void check_class(unsigned cls)
{
    hp_pool p = {0};
    p.block_size = hp_class_size(cls);
    p.magic = hp_magic_of(p.block_size);
    const uint64_t bs = p.block_size, end = (uint64_t)16 * HP_SLOT_SIZE;
    for (uint64_t off = 0; off < HP_SLOT_SIZE; off++) {
        assert_true(hp_divides(&p, off) == (off % bs == 0));
        assert_true(hp_div(&p, off) == off / bs);
    }
    for (uint64_t start = 0; start < end; start += bs)
        for (uint64_t off = start ? start - 1 : 0; off <= start + 1; off++) {
            assert_true(hp_divides(&p, off) == (off % bs == 0));
            assert_true(hp_div(&p, off) == off / bs);
        }
}

static void every_class_every_offset(void **state)
{
    (void)state;
    for (unsigned cls = 0; cls < HP_NCLASSES; cls++)
        check_class(cls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_class_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
