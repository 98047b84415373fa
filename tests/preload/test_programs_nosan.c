/*
 * tests/preload/test_programs_nosan.c: real programs, written elsewhere and
 * unchanged, on objmem's heap through LD_PRELOAD: python3 running modules of
 * its own test suite, git, sqlite3, gcc, bash, and a C++ program (the C++
 * runtime's operators and exceptions).  Each must print the same as
 * on glibc's malloc.  A program the machine lacks is skipped.
 */
#include "preload_test.h"

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return pt_run(cmd, NULL, 0) == 0;
}

#define REQUIRE(prog)                                                                              \
    do {                                                                                           \
        PT_REQUIRE_PRELOAD();                                                                      \
        if (!have(prog)) {                                                                         \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void python_test_suite(void **state)
{
    (void)state;
    REQUIRE("python3");
    static const char workload[] =
        "python3 -c 'import json, re, collections, decimal\n"
        "d = collections.Counter(re.findall(r\"\\w+\", json.dumps([{str(i): [i] * (i % 50)} "
        "for i in range(20000)])))\n"
        "print(len(d), sum(d.values()), decimal.Decimal(1) / 7)'";
    if (pt_run("python3 -c 'import test.support' 2>/dev/null", NULL, 0) == 0) {
        const char *out = pt_same_output("python3 -m test test_list test_dict -q 2>&1 | "
                                         "grep -E '^(Result|Total tests)'");
        assert_non_null(strstr(out, "SUCCESS"));
    }
    pt_same_output(workload);
}

static void git_init_and_commit(void **state)
{
    (void)state;
    REQUIRE("git");
    const char *dir = pt_scratch("git");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -rf repo && git init -q repo && cd repo && "
             "for i in 1 2 3 4 5; do seq $i 500 > f$i.txt; done && git add . && "
             "GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' "
             "git -c user.name=t -c user.email=t@t commit -q -m first && "
             "git log --format='%%H %%s' && git ls-tree -r HEAD && git status --short && "
             "git gc -q && git count-objects | cut -c1-2",
             dir);
    pt_same_output(cmd);
}

static void sqlite3_queries(void **state)
{
    (void)state;
    REQUIRE("sqlite3");
    pt_same_output("sqlite3 :memory: \"create table t(a integer primary key, b text); "
                   "with recursive c(x) as (select 1 union all select x+1 from c where x<20000) "
                   "insert into t select x, hex(x * 7) || x from c; "
                   "create index tb on t(b); select count(*), sum(length(b)) from t; "
                   "select b from t where a % 4999 = 0 order by b;\"");
}

static void gcc_compiles_a_file(void **state)
{
    (void)state;
    REQUIRE("gcc");
    const char *dir = pt_scratch("gcc");
    char path[1200], cmd[4096];
    snprintf(path, sizeof path, "%s/prog.c", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#include <stdio.h>\n#include <stdlib.h>\n"
          "struct node { struct node *l, *r; };\n"
          "static struct node *tree(int d) { struct node *n = malloc(sizeof *n);\n"
          "  n->l = d ? tree(d - 1) : 0; n->r = d ? tree(d - 1) : 0; return n; }\n"
          "static int count(struct node *n) { if (!n) return 0;\n"
          "  int c = 1 + count(n->l) + count(n->r); free(n); return c; }\n"
          "int main(void) { printf(\"%d\\n\", count(tree(16))); return 0; }\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -f prog && gcc -O2 -Wall -o prog prog.c 2>&1 && ./prog && "
             "gcc -O2 -S -o - prog.c | grep -c call",
             dir);
    pt_same_output(cmd);
}

static void bash_loop(void **state)
{
    (void)state;
    REQUIRE("bash");
    pt_same_output("bash -c 'declare -A m; s=\"\"; for i in $(seq 1 3000); do "
                   "m[k$((i % 97))]+=\"$i \"; s+=\"${i: -1}\"; done; "
                   "echo ${#m[@]} ${#s}; echo \"${m[k5]}\" | wc -w; "
                   "for i in 1 2 3; do (echo sub $i) ; done | sort -r'");
}

static void cxx_operators(void **state)
{
    (void)state;
    PT_REQUIRE_PRELOAD();
    if (!pt_exists(pt_helper("cxx"))) {
        skip(); /* no C++ compiler on this machine */
        return;
    }
    const char *out = pt_same_output(pt_helper("cxx"));
    assert_non_null(strstr(out, "nodes 1000 churn 28247 caught 200"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(python_test_suite), cmocka_unit_test(git_init_and_commit),
        cmocka_unit_test(sqlite3_queries),   cmocka_unit_test(gcc_compiles_a_file),
        cmocka_unit_test(bash_loop),         cmocka_unit_test(cxx_operators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
