/*
 * cli/demo.c: `objmem demo`, the embedded workload.  Each layer contributes
 * a section (demo_heap.c, demo_objects.c, ...); this file runs them in order
 * and prints the summary.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "objmem.h"

int cli_demo(int argc, char **argv)
{
    demo_options opt = {.scale = 1, .threads = 4, .progress = 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            opt.scale = 0;
        else if (!strcmp(argv[i], "--no-progress"))
            opt.progress = 0;
        else {
            fprintf(stderr, "objmem demo: unknown option '%s'\n", argv[i]);
            fprintf(stderr, "usage: objmem demo [--quick] [--no-progress]\n");
            return 2;
        }
    }
    printf("objmem %s demo\n", om_version());
    if (demo_heap(&opt) != 0)
        return 1;
    return 0;
}
