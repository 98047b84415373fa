/*
 * tests/preload/test_badinput_nosan.c: what `objmem run` does with programs
 * that cannot run, and what `objmem report` does with a real capture cut
 * short anywhere or damaged: a clear message and a non-zero exit, or a report
 * of what was recorded; never a crash, never a hang (every command runs
 * under timeout).
 */
#include "preload_test.h"

static char out[PT_OUT];
static const char *dir;

static int setup(void **state)
{
    (void)state;
    if (pt_exists(pt_lib()))
        dir = pt_scratch("badinput");
    return 0;
}

static void program_that_does_not_exist(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    int rc = pt_runf(out, sizeof out, "cd '%s' && timeout 20 '%s' run -- ./no-such-program 2>&1",
                     dir, pt_objmem());
    assert_int_equal(rc, 127);
    assert_non_null(strstr(out, "cannot run './no-such-program': No such file or directory"));
}

static void program_that_cannot_be_executed(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    int rc = pt_runf(out, sizeof out,
                     "cd '%s' && echo data > notexec && chmod -x notexec && "
                     "timeout 20 '%s' run -- ./notexec 2>&1",
                     dir, pt_objmem());
    assert_int_equal(rc, 126);
    assert_non_null(strstr(out, "cannot run './notexec': Permission denied"));
}

static void exit_status_is_the_programs(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && timeout 20 '%s' run -q -- sh -c 'exit 42'", dir,
                             pt_objmem()),
                     42);
}

static void real_capture_cut_anywhere(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && timeout 60 '%s' run -q -o real.cap -- '%s' big", dir,
                             pt_objmem(), pt_helper("known")),
                     0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && stat -c %%s real.cap", dir), 0);
    long size = atol(out);
    assert_true(size > 1500); /* whole blocks of events to cut through (about 3 KB, 8 blocks) */
    for (long cut = 5; cut < size; cut += size / 37) {
        int rc = pt_runf(out, sizeof out,
                         "cd '%s' && head -c %ld real.cap > cut.cap && timeout 20 '%s' report -q "
                         "--json cut.json --html cut.html cut.cap 2>&1",
                         dir, cut, pt_objmem());
        if (rc != (cut <= 8 ? 1 : 0))
            fprintf(stderr, "cut at %ld: exit %d: %s\n", cut, rc, out);
        assert_int_equal(rc, cut <= 8 ? 1 : 0);
    }
}

static void real_capture_damaged(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && stat -c %%s real.cap", dir), 0);
    long size = atol(out);
    omtest_srand(11);
    for (int round = 0; round < 25; round++) {
        long at = 9 + (long)(omtest_rand() % (uint64_t)(size - 9));
        int rc = pt_runf(out, sizeof out,
                         "cd '%s' && cp real.cap bad.cap && printf '\\377\\377\\377' | "
                         "dd of=bad.cap bs=1 seek=%ld conv=notrunc status=none && "
                         "timeout 20 '%s' report -q bad.cap 2>&1",
                         dir, at, pt_objmem());
        if (rc != 0 && rc != 1)
            fprintf(stderr, "damaged at %ld: exit %d: %s\n", at, rc, out);
        assert_true(rc == 0 || rc == 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(program_that_does_not_exist),
        cmocka_unit_test(program_that_cannot_be_executed),
        cmocka_unit_test(exit_status_is_the_programs),
        cmocka_unit_test(real_capture_cut_anywhere),
        cmocka_unit_test(real_capture_damaged),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
