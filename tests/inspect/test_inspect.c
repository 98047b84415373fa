/* Object graphs and sizes: counts by type, growth, objects of a type, the
 * back-reference chain, leaking objects, the DOT export, deep size and the
 * census difference; long chains and cycles never recurse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

static om_runtime *rt;

static int setup(void **state)
{
    (void)state;
    rt = om_runtime_new(NULL);
    return rt ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    om_runtime_free(rt);
    rt = NULL;
    return 0;
}

static size_t count_of(const om_typestats *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->items[i].name, name))
            return st->items[i].count;
    return 0;
}

static const char *list_name(void)
{
    OM_AUTO om_object *l = om_list_new(rt);
    static char name[32];
    snprintf(name, sizeof name, "%s", om_type_name(l));
    return name;
}

static void typestats_count_what_was_made(void **state)
{
    (void)state;
    const char *lname = list_name();
    om_typestats *before = om_objgraph_typestats(rt);
    assert_non_null(before);
    om_object *lists[50];
    for (int i = 0; i < 50; i++)
        lists[i] = om_list_new(rt);
    om_typestats *after = om_objgraph_typestats(rt);
    assert_int_equal(count_of(after, lname), count_of(before, lname) + 50);
    assert_int_equal(after->objects, before->objects + 50);
    assert_int_equal(om_objgraph_count(rt, lname), count_of(after, lname));
    assert_int_equal(om_objgraph_count(rt, "no such type"), 0);
    om_typestats *top = om_objgraph_most_common_types(rt, 1);
    assert_int_equal(top->n, 1);
    assert_true(top->items[0].count >= 50);
    om_type_diffs *d = om_summary_get_diff(before, after);
    assert_non_null(d);
    assert_true(d->n >= 1);
    assert_string_equal(d->items[0].name, lname);
    assert_int_equal(d->items[0].count_diff, 50);
    assert_true(d->items[0].bytes_diff > 0);
    om_type_diffs_free(d);
    assert_null(om_summary_get_diff(NULL, after));
    om_typestats_free(top);
    om_typestats_free(before);
    om_typestats_free(after);
    for (int i = 0; i < 50; i++)
        om_decref(lists[i]);
}

static void growth_reports_rises_above_the_peak(void **state)
{
    (void)state;
    const char *lname = list_name();
    om_typestats *peak = NULL;
    om_type_diffs *d = om_objgraph_growth(rt, &peak, 0);
    assert_non_null(d);
    assert_non_null(peak);
    om_type_diffs_free(d);
    om_object *a = om_list_new(rt), *b = om_list_new(rt);
    d = om_objgraph_growth(rt, &peak, 0);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->items[0].name, lname);
    assert_int_equal(d->items[0].count_diff, 2);
    om_type_diffs_free(d);
    om_decref(a);
    d = om_objgraph_growth(rt, &peak, 0); /* fell: nothing grew */
    assert_int_equal(d->n, 0);
    om_type_diffs_free(d);
    a = om_list_new(rt);
    d = om_objgraph_growth(rt, &peak, 0); /* back to the peak, not above */
    assert_int_equal(d->n, 0);
    om_type_diffs_free(d);
    assert_null(om_objgraph_growth(rt, NULL, 0));
    om_typestats_free(peak);
    om_decref(a);
    om_decref(b);
}

static void by_type_lists_them(void **state)
{
    (void)state;
    om_object *d1 = om_dict_new(rt), *d2 = om_dict_new(rt);
    om_object *all = om_objgraph_by_type(rt, om_type_name(d1));
    assert_non_null(all);
    assert_int_equal(om_list_len(all), om_objgraph_count(rt, om_type_name(d1)));
    assert_true(om_list_len(all) >= 2);
    om_decref(all);
    assert_null(om_objgraph_by_type(rt, NULL));
    om_decref(d1);
    om_decref(d2);
}

static void backref_chain_is_shortest(void **state)
{
    (void)state;
    /* root -> mid -> leaf, and root -> leaf2 -> mid (a longer way) */
    om_object *root = om_list_new(rt), *mid = om_list_new(rt), *leaf = om_list_new(rt);
    om_object *other = om_list_new(rt);
    assert_int_equal(om_list_append(root, mid), 0);
    assert_int_equal(om_list_append(mid, leaf), 0);
    assert_int_equal(om_list_append(root, other), 0);
    assert_int_equal(om_list_append(other, mid), 0);
    om_object *chain = om_objgraph_find_backref_chain(rt, leaf, &root, 1, 0);
    assert_non_null(chain);
    assert_int_equal(om_list_len(chain), 3);
    OM_AUTO om_object *c0 = om_list_getitem(chain, 0);
    OM_AUTO om_object *c1 = om_list_getitem(chain, 1);
    OM_AUTO om_object *c2 = om_list_getitem(chain, 2);
    assert_ptr_equal(c0, root);
    assert_ptr_equal(c1, mid);
    assert_ptr_equal(c2, leaf);
    om_decref(chain);
    /* default roots: nothing refers to root */
    chain = om_objgraph_find_backref_chain(rt, leaf, NULL, 0, 0);
    assert_non_null(chain);
    assert_int_equal(om_list_len(chain), 3);
    om_decref(chain);
    /* too shallow */
    assert_null(om_objgraph_find_backref_chain(rt, leaf, &root, 1, 1));
    assert_non_null(strstr(om_error_message(), "depth"));
    int not_an_object;
    assert_null(om_objgraph_find_backref_chain(rt, (om_object *)&not_an_object, NULL, 0, 0));
    assert_non_null(strstr(om_error_message(), "not a live object"));
    om_decref(leaf);
    om_decref(other);
    om_decref(mid);
    om_decref(root);
}

static bool list_holds(om_object *list, om_object *o)
{
    for (int64_t i = 0; i < om_list_len(list); i++) {
        OM_AUTO om_object *x = om_list_getitem(list, i);
        if (x == o)
            return true;
    }
    return false;
}

static void leaking_objects_are_the_unreferenced(void **state)
{
    (void)state;
    om_object *held = om_list_new(rt), *inner = om_list_new(rt);
    assert_int_equal(om_list_append(held, inner), 0);
    om_object *leaks = om_objgraph_get_leaking_objects(rt);
    assert_non_null(leaks);
    assert_true(list_holds(leaks, held));
    assert_false(list_holds(leaks, inner));
    om_decref(leaks);
    om_decref(inner);
    om_decref(held);
}

static void long_chains_and_cycles_do_not_recurse(void **state)
{
    (void)state;
    enum { N = 200000 };
    om_object *head = om_list_new(rt), *cur = head;
    for (int i = 0; i < N; i++) {
        om_object *next = om_list_new(rt);
        assert_int_equal(om_list_append(cur, next), 0);
        om_decref(next);
        cur = next;
    }
    assert_int_equal(om_list_append(cur, head), 0); /* close the cycle */
    size_t deep = om_asizeof(head);
    assert_true(deep != (size_t)-1);
    assert_true(deep >= (size_t)(N + 1) * om_sys_getsizeof(head) / 2);
    om_object *chain = om_objgraph_find_backref_chain(rt, cur, &head, 1, 0);
    assert_non_null(chain);
    assert_int_equal(om_list_len(chain), N + 1);
    om_decref(chain);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(
        om_objgraph_show_refs(rt, &head, 1, OM_REFS_FORWARD | OM_REFS_BACKWARD, 1000000, 50, out),
        0);
    fclose(out);
    size_t nodes = 0;
    for (char *p = text; (p = strstr(p, "[label=")); p++)
        nodes++;
    assert_int_equal(nodes, 50);
    free(text);
    assert_int_equal(om_list_clear(cur), 0); /* break the cycle */
    om_decref(head);
}

static void asizeof_counts_shared_objects_once(void **state)
{
    (void)state;
    om_object *shared = om_list_new(rt), *outer = om_list_new(rt);
    for (int i = 0; i < 10; i++)
        assert_int_equal(om_list_append(outer, shared), 0);
    size_t want = om_sys_getsizeof(outer) + om_sys_getsizeof(shared);
    assert_int_equal(om_asizeof(outer), want);
    assert_int_equal(om_asizeof(NULL), (size_t)-1);
    om_decref(outer);
    om_decref(shared);
}

static void dot_export_escapes_labels(void **state)
{
    (void)state;
    om_object *a = om_list_new(rt);
    om_object *s = om_str_from_cstr(rt, "say \"hi\"\\\n");
    assert_int_equal(om_list_append(a, s), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_objgraph_show_refs(rt, &a, 1, OM_REFS_FORWARD, 3, 0, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "digraph objmem {"), text);
    assert_non_null(strstr(text, " -> "));
    assert_non_null(strstr(text, "fillcolor"));
    /* every quote inside a label is escaped: count unescaped quotes per line */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *l = strstr(line, "[label=\"");
        if (!l)
            continue;
        char *p = l + 8;
        while (*p && !(*p == '"' && p[-1] != '\\'))
            p++;
        assert_true(*p == '"');
        assert_true(p[1] == ']' || p[1] == ',');
    }
    free(text);
    assert_int_equal(om_objgraph_show_refs(rt, &a, 1, 0, 3, 0, stdout), -1);
    om_decref(s);
    om_decref(a);
}

static void reports_as_text_and_json(void **state)
{
    (void)state;
    om_typestats *st = om_objgraph_typestats(rt);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(om_typestats_write(st, 3, OM_FORMAT_JSON, out), 0);
    fclose(out);
    assert_ptr_equal(strstr(text, "{\"kind\":\"typestats\","), text);
    free(text);
    out = open_memstream(&text, &len);
    assert_int_equal(om_typestats_write(st, 0, OM_FORMAT_TEXT, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "total"));
    free(text);
    om_typestats_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(typestats_count_what_was_made, setup, teardown),
        cmocka_unit_test_setup_teardown(growth_reports_rises_above_the_peak, setup, teardown),
        cmocka_unit_test_setup_teardown(by_type_lists_them, setup, teardown),
        cmocka_unit_test_setup_teardown(backref_chain_is_shortest, setup, teardown),
        cmocka_unit_test_setup_teardown(leaking_objects_are_the_unreferenced, setup, teardown),
        cmocka_unit_test_setup_teardown(long_chains_and_cycles_do_not_recurse, setup, teardown),
        cmocka_unit_test_setup_teardown(asizeof_counts_shared_objects_once, setup, teardown),
        cmocka_unit_test_setup_teardown(dot_export_escapes_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_as_text_and_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
