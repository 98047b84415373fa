/*
 * tests/util/test_native_symbols.c: the shared libdwfl sessions and the C++
 * demangler (util/native_symbols.c): names of this test's own functions,
 * static ones included, with their source file and line; sessions over maps
 * text; readable names (C++ demangled, symbol versions cut) and what is
 * left alone.
 */
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "util/native_symbols.h"

static __attribute__((noinline)) uintptr_t here(void)
{
    return (uintptr_t)__builtin_return_address(0);
}

static void names_this_process_static_functions_with_lines(void **state)
{
    (void)state;
    om_dwarf *d = om_dwarf_open_self();
    assert_non_null(d); /* libdw is a build dependency (scripts/install-deps) */
    uintptr_t pc = here() - 1;
    om_dwarf_frame f;
    assert_true(om_dwarf_lookup(d, pc, &f));
    assert_string_equal(f.function, "names_this_process_static_functions_with_lines");
    assert_non_null(strstr(f.file, "test_native_symbols.c"));
    assert_int_equal(f.line, __LINE__ - 5);
    assert_false(om_dwarf_lookup(d, 16, &f)); /* no module there */
    assert_null(f.function);
    om_dwarf_close(d);
}

static void sessions_over_maps_text(void **state)
{
    (void)state;
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    om_dwarf *d = om_dwarf_open_maps(maps);
    fclose(maps);
    assert_non_null(d);
    om_dwarf_frame f;
    assert_true(om_dwarf_lookup(d, (uintptr_t)here + 1, &f));
    assert_string_equal(f.function, "here");
    om_dwarf_close(d);
    om_dwarf_close(NULL);
    assert_false(om_dwarf_lookup(NULL, (uintptr_t)here, &f));
}

static void readable_symbols(void **state)
{
    (void)state;
    char *s = om_readable_symbol("_ZN7cxxdemo6Grower4growEi");
    assert_non_null(s); /* the C++ runtime: g++ is a build dependency */
    assert_string_equal(s, "cxxdemo::Grower::grow(int)");
    free(s);
    s = om_readable_symbol("_Znwm");
    assert_string_equal(s, "operator new(unsigned long)");
    free(s);
    assert_null(om_readable_symbol("main"));                 /* a C name */
    s = om_readable_symbol("__libc_start_main@@GLIBC_2.34"); /* a version cut */
    assert_string_equal(s, "__libc_start_main");
    free(s);
    s = om_readable_symbol("_ZN7cxxdemo6Grower4growEi@V1");
    assert_string_equal(s, "cxxdemo::Grower::grow(int)");
    free(s);
    assert_null(om_readable_symbol("_Z"));       /* not a valid mangled name */
    assert_null(om_readable_symbol("_Zqq!bad")); /* neither */
    assert_null(om_readable_symbol(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_this_process_static_functions_with_lines),
        cmocka_unit_test(sessions_over_maps_text),
        cmocka_unit_test(readable_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
