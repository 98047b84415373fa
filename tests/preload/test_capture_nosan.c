/*
 * tests/preload/test_capture_nosan.c: `objmem run` and `objmem report` on a
 * program whose allocations are known (helper_known.c): the numbers, the
 * stacks, sampling, forked children, a killed and a crashing program, the
 * frame-pointer unwinder, times after a pause, the HTML page's escaping,
 * `objmem diff`, and a real program recorded without changing what it
 * prints.
 */
#include "preload_test.h"

static char out[PT_OUT];
static const char *dir;

static int setup(void **state)
{
    (void)state;
    if (pt_exists(pt_lib()))
        dir = pt_scratch("capture");
    return 0;
}

/* objmem run -o dir/name [opts] -- helper known args; returns the exit status */
static int record(const char *name, const char *opts, const char *args)
{
    return pt_runf(out, sizeof out, "cd '%s' && '%s' run -q -o %s %s -- '%s' %s 2>&1", dir,
                   pt_objmem(), name, opts, pt_helper("known"), args);
}

/* The bytes a folded file gives the stack ending in `leaf` (its last frame). */
static long folded_bytes(const char *file, const char *leaf)
{
    char cmd[2048], buf[256];
    snprintf(cmd, sizeof cmd, "cd '%s' && grep ';%s ' %s | awk '{s += $NF} END {print s + 0}'", dir,
             leaf, file);
    assert_int_equal(pt_run(cmd, buf, sizeof buf), 0);
    return atol(buf);
}

/* A number from the report's JSON summary (flat keys at the top). */
static double json_number(const char *file, const char *key)
{
    char cmd[2048], buf[256];
    snprintf(cmd, sizeof cmd, "cd '%s' && grep -o '\"%s\":[0-9.e+-]*' %s | head -1 | cut -d: -f2",
             dir, key, file);
    assert_int_equal(pt_run(cmd, buf, sizeof buf), 0);
    assert_true(buf[0] != '\0');
    return atof(buf);
}

static void known_numbers(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("known.cap", "", ""), 0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --json known.json --folded known.folded "
                             "--speedscope known.ss known.cap 2>&1",
                             dir, pt_objmem()),
                     0);
    assert_int_equal(folded_bytes("known.folded", "leak_some"), 100000);
    assert_int_equal(folded_bytes("known.folded", "temp_loop"), 64000);
    assert_int_equal(folded_bytes("known.folded", "peak_phase"), 10 << 20);
    assert_int_equal(folded_bytes("known.folded", "many_small"), 20000 * 48);
    assert_true(json_number("known.json", "leak_bytes") == 100000);
    assert_true(json_number("known.json", "leak_count") == 100);
    assert_true(json_number("known.json", "temporary_count") >= 1000);
    assert_true(json_number("known.json", "peak_bytes") >= (10 << 20) + 100000);
    assert_true(json_number("known.json", "peak_bytes") < (10 << 20) + 200000);
    /* the text summary names the call sites with source lines */
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report known.cap", dir, pt_objmem()),
                     0);
    assert_non_null(strstr(out, "leak_some (helper_known.c:"));
    assert_non_null(strstr(out, "leaked at exit: 97.7 KiB in 100 blocks"));
    assert_non_null(strstr(out, "reached exit"));
    if (pt_run("command -v python3 >/dev/null", NULL, 0) == 0)
        assert_int_equal(
            pt_runf(out, sizeof out,
                    "cd '%s' && python3 -c 'import json; json.load(open(\"known.json\"));"
                    " json.load(open(\"known.ss\"))' 2>&1",
                    dir),
            0);
}

static void html_escapes_what_the_program_gave(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("html.cap", "", "'<script>alert(1)</script>&'"), 0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --html page.html html.cap 2>&1", dir,
                             pt_objmem()),
                     0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && grep -c '<script>alert' page.html", dir),
                     1); /* grep finds nothing: exit 1 */
    assert_int_equal(
        pt_runf(out, sizeof out,
                "cd '%s' && grep -c '&lt;script&gt;alert(1)&lt;/script&gt;&amp;' page.html", dir),
        0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && grep -c '<svg' page.html", dir), 0);
    assert_true(atoi(out) >= 3); /* timeline and two flame graphs */
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && grep -c 'http://\\|src=' page.html", dir),
                     1); /* nothing loaded from anywhere */
}

static void sampling_keeps_totals_unbiased(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("sampled.cap", "--sample 64k", "big"), 0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report -q --json s.json sampled.cap",
                             dir, pt_objmem()),
                     0);
    double truth = 102400.0 * 1000 + (10 << 20) + 100000 + 64000 + 20000 * 48;
    double total = json_number("s.json", "total_bytes");
    assert_true(total > truth * 0.9 && total < truth * 1.1);
    assert_true(json_number("s.json", "sample_bytes") == 65536);
    assert_true(json_number("s.json", "total_count") > 50000); /* 100,000+ allocations, estimated */
}

static void follows_forked_children(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("fork.cap", "", "fork"), 0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && ls fork.cap.* | wc -l && '%s' report -q --json child.json "
                             "fork.cap.[0-9]*",
                             dir, pt_objmem()),
                     0);
    assert_int_equal(atoi(out), 1);
    assert_true(json_number("child.json", "leak_bytes") == 7000);
}

/* A program that leaves through execl, execle or execlp (whose glibc
 * versions call glibc's internal execve, past the wrapper of execve) still
 * writes its last records first: its capture, moved aside to NAME.1 when
 * true(1) takes the name, holds every block it leaked, the three allocated
 * just before the exec too. */
static void exec_list_forms_write_the_last_records(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    static const char *forms[] = {"execl", "execle", "execlp"};
    for (int i = 0; i < 3; i++) {
        char name[32], cmd[64];
        snprintf(name, sizeof name, "%s.cap", forms[i]);
        assert_int_equal(record(name, "", forms[i]), 0); /* true's status */
        snprintf(cmd, sizeof cmd, "%s.json", forms[i]);
        assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report -q --json %s %s.1 2>&1",
                                 dir, pt_objmem(), cmd, name),
                         0);
        assert_true(json_number(cmd, "leak_bytes") == 103000);
        assert_true(json_number(cmd, "leak_count") == 103);
    }
}

/* After a burst of events and a pause, the next event's time is read anew
 * (record.c's event_now: the ticker or the coarse clock sees the pause):
 * the peak, allocated a second after the burst and just before the end,
 * is placed there, not at the burst's end.  The burst's frees, most of
 * them written by pl_on_free's leaf (the ticker runs by then), all match
 * their blocks: the peak holds none of them, and only helper's own 100
 * blocks leak. */
static void times_after_a_pause(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("pause.cap", "", "pause"), 0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --json pause.json pause.cap 2>&1", dir,
                             pt_objmem()),
                     0);
    assert_true(json_number("pause.json", "peak_bytes") >= 64 << 20);
    assert_true(json_number("pause.json", "peak_bytes") < (64 << 20) + 200000);
    assert_true(json_number("pause.json", "leak_count") == 100);
    double peak = json_number("pause.json", "peak_s");
    double end = json_number("pause.json", "duration_s");
    assert_true(peak >= 1.0);
    assert_true(end - peak < 0.5);
}

static void killed_program_leaves_a_report(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    /* "big" first: enough events to fill whole blocks before the kill */
    assert_int_equal(record("killed.cap", "", "big kill"), 128 + 9);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --json k.json killed.cap 2>&1", dir,
                             pt_objmem()),
                     0);
    assert_true(json_number("k.json", "total_count") > 1000); /* the blocks written before */
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && grep -c '\"reached_exit\":false' k.json", dir), 0);
}

static void crashing_program_leaves_a_report(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("crash.cap", "", "crash"), 128 + 11);
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && '%s' report crash.cap 2>&1", dir, pt_objmem()), 0);
    assert_non_null(strstr(out, "did not reach exit"));
}

static void frame_pointer_unwinder(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("fp.cap", "--unwind fp --depth 8", ""), 0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report -q --folded fp.folded fp.cap",
                             dir, pt_objmem()),
                     0);
    assert_int_equal(folded_bytes("fp.folded", "leak_some"), 100000);
}

/* The stacks of helper_known's shapes(): under two callers in turn, the
 * same frame at the same place; recursion deeper than the frames kept; a
 * signal handler.  The default unwinder reuses outer frames of the previous
 * stack only when they are unchanged (preload/unwind.c): each must come out
 * as its own. */
static void cached_unwinder_tells_stacks_apart(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("shapes.cap", "", "shapes"), 0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --folded shapes.folded shapes.cap", dir,
                             pt_objmem()),
                     0);
    assert_int_equal(folded_bytes("shapes.folded", "shapes;shape_a;shape_leaf"), 1000 * 100);
    assert_int_equal(folded_bytes("shapes.folded", "shapes;shape_b;shape_leaf"), 1000 * 200);
    assert_int_equal(folded_bytes("shapes.folded", "deep;deep_leaf;shape_leaf"), 50 * 300);
    assert_int_equal(folded_bytes("shapes.folded", "on_usr1;signal_leaf;shape_leaf"), 10 * 400);
    /* past the signal frame, the interrupted code: the stack goes on to shapes */
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && grep -c ';shapes;.*on_usr1;signal_leaf;shape_leaf ' "
                             "shapes.folded",
                             dir),
                     0);
    /* 64 frames kept of the recursion's 100-odd: all but the leaf's three are deep */
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && grep ';deep_leaf;shape_leaf ' shapes.folded | head -1 | "
                             "tr ';' '\\n' | grep -c '^deep$'",
                             dir),
                     0);
    assert_int_equal(atoi(out), 62);
}

/* A C++ program (helper_cxx.cc): new, the containers and the exception
 * allocator recorded through the preload library, and the reports name its
 * frames demangled, as a C++ programmer wrote them. */
static void cxx_frames_are_demangled(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    if (!pt_exists(pt_helper("cxx"))) {
        skip(); /* no C++ compiler on this machine */
        return;
    }
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' run -q -o cxx.cap -- '%s' 2>&1", dir,
                             pt_objmem(), pt_helper("cxx")),
                     0);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --folded cxx.folded cxx.cap", dir,
                             pt_objmem()),
                     0);
    assert_int_equal(
        folded_bytes("cxx.folded", "cxxdemo::Grower::grow(int);operator new(unsigned long)"),
        1000 * 64);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report cxx.cap", dir, pt_objmem()),
                     0);
    assert_non_null(strstr(out, "from cxxdemo::throw_and_catch(int) (helper_cxx.cc:"));
    assert_null(strstr(out, "_ZN7cxxdemo"));
    assert_null(strstr(out, "@@GLIBC")); /* symbol versions cut */
}

static void diff_shows_what_grew(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_equal(record("a.cap", "", "leak=100"), 0);
    assert_int_equal(record("b.cap", "", "leak=300"), 0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' diff a.cap b.cap", dir, pt_objmem()),
                     0);
    assert_non_null(strstr(out, "grew most in bytes leaked"));
    const char *leaked = strstr(out, "grew most in bytes leaked");
    assert_non_null(strstr(leaked, "195.3 KiB  leak_some (helper_known.c:"));
}

static void thousands_of_threads_recorded(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    static char plain[PT_OUT];
    assert_int_equal(pt_run(pt_helper("threads"), plain, sizeof plain), 0);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' run -q -o threads.cap -- '%s'", dir,
                             pt_objmem(), pt_helper("threads")),
                     0);
    assert_string_equal(out, plain);
    assert_int_equal(pt_runf(out, sizeof out,
                             "cd '%s' && '%s' report -q --json threads.json threads.cap", dir,
                             pt_objmem()),
                     0);
    /* every buffer, allocated in one thread and freed in another, is seen
     * (each thread's last block is written when it ends) */
    assert_true(json_number("threads.json", "total_count") >= 100000);
    assert_true(json_number("threads.json", "frees") >= 100000);
    assert_true(json_number("threads.json", "leak_bytes") < 100000);
}

static void real_program_prints_the_same(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    if (pt_run("command -v python3 >/dev/null", NULL, 0) != 0) {
        skip();
        return;
    }
    const char *prog = "python3 -c 'import json; print(len(json.dumps([list(range(i)) for i in "
                       "range(300)])))'";
    static char plain[PT_OUT];
    assert_int_equal(pt_run(prog, plain, sizeof plain), 0);
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && '%s' run -q -o py.cap -- %s", dir, pt_objmem(), prog),
        0);
    assert_string_equal(out, plain);
    assert_int_equal(pt_runf(out, sizeof out, "cd '%s' && '%s' report py.cap", dir, pt_objmem()),
                     0);
    assert_non_null(strstr(out, "reached exit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_numbers),
        cmocka_unit_test(html_escapes_what_the_program_gave),
        cmocka_unit_test(sampling_keeps_totals_unbiased),
        cmocka_unit_test(follows_forked_children),
        cmocka_unit_test(exec_list_forms_write_the_last_records),
        cmocka_unit_test(times_after_a_pause),
        cmocka_unit_test(killed_program_leaves_a_report),
        cmocka_unit_test(crashing_program_leaves_a_report),
        cmocka_unit_test(frame_pointer_unwinder),
        cmocka_unit_test(cached_unwinder_tells_stacks_apart),
        cmocka_unit_test(cxx_frames_are_demangled),
        cmocka_unit_test(diff_shows_what_grew),
        cmocka_unit_test(thousands_of_threads_recorded),
        cmocka_unit_test(real_program_prints_the_same),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
