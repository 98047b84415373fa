/*
 * cli/demo.c: `objmem demo`, the embedded workload.  Each layer contributes
 * a section (demo_heap.c, demo_objects.c, ...); this file runs them in order
 * and prints the summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "objmem.h"

static char note_text[DEMO_MAX_NOTES][160];
static const char *note_lines[DEMO_MAX_NOTES];
static size_t n_notes;

void demo_note(const char *fmt, ...)
{
    if (n_notes == DEMO_MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note_text[n_notes], sizeof note_text[n_notes], fmt, ap);
    va_end(ap);
    note_lines[n_notes] = note_text[n_notes];
    n_notes++;
}

const char *const *demo_notes(size_t *n)
{
    *n = n_notes;
    return note_lines;
}

static void print_summary(void)
{
    printf("\n== summary ==\n");
    for (size_t i = 0; i < n_notes; i++)
        printf("  %s\n", note_lines[i]);
}

int cli_demo(int argc, char **argv)
{
    demo_options opt = {.scale = 1, .threads = 4, .progress = 1};
    const char *report = "objmem-demo";
    bool report_asked = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            opt.scale = 0;
        else if (!strcmp(argv[i], "--no-progress"))
            opt.progress = 0;
        else if (!strcmp(argv[i], "--report") && i + 1 < argc) {
            report = argv[++i];
            report_asked = true;
        } else if (!strcmp(argv[i], "--no-report")) {
            report = NULL;
            report_asked = true;
        } else {
            fprintf(stderr, "objmem demo: unknown option '%s'\n", argv[i]);
            fprintf(stderr, "usage: objmem demo [--quick] [--no-progress] [--report PATH | "
                            "--no-report]\n");
            return 2;
        }
    }
    /* the report goes to PATH.html and PATH.json; --quick writes none unless asked */
    opt.report = opt.scale || report_asked ? report : NULL;
    printf("objmem %s demo\n", om_version());
    int rc = demo_heap(&opt) == 0 && demo_gc(&opt) == 0 && demo_objects(&opt) == 0 &&
                     demo_trace(&opt) == 0
                 ? 0
                 : 1;
    demo_tables_free();
    if (rc == 0)
        print_summary();
    return rc;
}
