/*
 * tests/preload/test_alloc_nosan.c: the preload library as a drop-in malloc.
 * The malloc family's edge cases and foreign blocks (helper_api), thousands
 * of threads passing buffers (helper_threads), fork and exec
 * (helper_forkexec), a program linked against another allocator, and C++'s
 * operators new and delete, each compared with the same run on glibc.
 */
#include "preload_test.h"

static char out[PT_OUT];

static void api_edges_and_foreign_blocks(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    int rc = pt_runf(out, sizeof out, "LD_PRELOAD='%s' '%s' 2>&1", pt_lib(), pt_helper("api"));
    if (rc != 0 || strcmp(out, "api ok\n"))
        fprintf(stderr, "%s", out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "api ok\n");
}

static void helper_api_fails_without_preload(void **state)
{
    /* The helper checks that objmem serves it: on glibc alone it must fail,
     * which proves the check above can fail. */
    (void)state;
    PT_REQUIRE_PRELOAD();
    assert_int_not_equal(pt_runf(out, sizeof out, "'%s' 2>&1", pt_helper("api")), 0);
}

static void double_free_aborts(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    static const long sizes[] = {16, 1000, 100000, 10000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int rc = pt_runf(out, sizeof out, "LD_PRELOAD='%s' '%s' double-free %ld 2>&1", pt_lib(),
                         pt_helper("api"), sizes[i]);
        if (rc != 128 + 6)
            fprintf(stderr, "double free of %ld bytes: exit %d: %s\n", sizes[i], rc, out);
        assert_int_equal(rc, 128 + 6); /* SIGABRT, never silence, never a fault */
        /* objmem's own line, not glibc's "free(): invalid pointer" */
        assert_non_null(strstr(out, "objmem: fatal: "));
        assert_non_null(strstr(out, "free"));
        assert_null(strstr(out, "unnoticed"));
    }
}

/* Frees that free's inline checks refuse (hp_plausible): a pointer inside
 * a block, a block never handed out.  Sizes in classes no earlier
 * allocation of the helper uses, so the block after the first is fresh. */
static void bad_frees_abort(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    static const char *hows[] = {"inner-free", "fresh-free"};
    static const long sizes[] = {48, 400, 3000};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int rc = pt_runf(out, sizeof out, "LD_PRELOAD='%s' '%s' %s %ld 2>&1", pt_lib(),
                             pt_helper("api"), hows[k], sizes[i]);
            if (rc != 128 + 6)
                fprintf(stderr, "%s of %ld bytes: exit %d: %s\n", hows[k], sizes[i], rc, out);
            assert_int_equal(rc, 128 + 6);
            assert_non_null(strstr(out, "objmem: fatal: "));
            assert_null(strstr(out, "unnoticed"));
        }
}

/* A process that does not record maps objmem's library and none of the
 * recorder's (libunwind, libzstd: preload/libs.c opens them when a capture
 * starts); one that records maps libunwind. */
static void recorder_libraries_only_when_recording(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    static char maps[1 << 16];
    assert_int_equal(pt_runf(maps, sizeof maps, "LD_PRELOAD='%s' cat /proc/self/maps", pt_lib()),
                     0);
    assert_non_null(strstr(maps, "libobjmem-preload"));
    assert_null(strstr(maps, "libunwind"));
    assert_null(strstr(maps, "libzstd"));
    assert_int_equal(pt_runf(maps, sizeof maps,
                             "OBJMEM_CAPTURE='%s/cap' LD_PRELOAD='%s' cat /proc/self/maps",
                             pt_scratch("maps"), pt_lib()),
                     0);
    assert_non_null(strstr(maps, "libunwind"));
}

static void thousands_of_threads(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    pt_same_output(pt_helper("threads"));
    pt_run(pt_helper("threads"), out, sizeof out);
    assert_non_null(strstr(out, "threads 2000 buffers 100000 checksum "));
}

static void linked_against_another_allocator(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    if (!pt_exists(pt_helper("linked"))) {
        skip();
        return;
    }
    pt_same_output(pt_helper("linked"));
}

static void fork_and_exec(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' 2>&1", pt_helper("forkexec"));
    pt_same_output(cmd);
    pt_run(cmd, out, sizeof out);
    assert_non_null(strstr(out, "forked child 2: "));
    assert_non_null(strstr(out, "exec child exit 7"));
    assert_non_null(strstr(out, "sh exit 5"));
}

static const char cxx_source[] =
    "#include <map>\n#include <string>\n#include <vector>\n#include <memory>\n#include <iostream>\n"
    "#include <thread>\n"
    "int main() {\n"
    "  std::map<std::string, std::vector<int>> m;\n"
    "  for (int i = 0; i < 20000; i++) m[std::to_string(i % 997)].push_back(i);\n"
    "  long sum = 0;\n"
    "  std::vector<std::thread> ts;\n"
    "  for (int t = 0; t < 8; t++) ts.emplace_back([&m, t] {\n"
    "    for (int k = 0; k < 2000; k++) { auto p = std::make_unique<std::string>(k + t, 'x');\n"
    "      (void)p; } });\n"
    "  for (auto &t : ts) t.join();\n"
    "  for (auto &kv : m) sum += (long)kv.second.size() * (long)kv.first.size();\n"
    "  int *a = new int[1000]; a[999] = 5; sum += a[999]; delete[] a;\n"
    "  std::cout << \"cxx \" << m.size() << ' ' << sum << std::endl;\n"
    "}\n";

static void cxx_new_and_delete(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    if (pt_run("command -v c++ >/dev/null 2>&1", NULL, 0) != 0) {
        skip();
        return;
    }
    const char *dir = pt_scratch("cxx");
    char path[1200], cmd[4096];
    snprintf(path, sizeof path, "%s/prog.cc", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(cxx_source, f);
    fclose(f);
    assert_int_equal(pt_runf(out, sizeof out, "c++ -O1 -pthread -o '%s/prog' '%s' 2>&1", dir, path),
                     0);
    snprintf(cmd, sizeof cmd, "'%s/prog'", dir);
    pt_same_output(cmd);
    pt_run(cmd, out, sizeof out);
    assert_non_null(strstr(out, "cxx 997 "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(api_edges_and_foreign_blocks),
        cmocka_unit_test(helper_api_fails_without_preload),
        cmocka_unit_test(double_free_aborts),
        cmocka_unit_test(bad_frees_abort),
        cmocka_unit_test(recorder_libraries_only_when_recording),
        cmocka_unit_test(thousands_of_threads),
        cmocka_unit_test(linked_against_another_allocator),
        cmocka_unit_test(fork_and_exec),
        cmocka_unit_test(cxx_new_and_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
