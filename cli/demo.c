/* cli/demo.c: `objmem demo` (the heap workload arrives with the heap). */
#include <stdio.h>

#include "cli.h"
#include "objmem.h"

int cli_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("objmem %s demo\n", om_version());
    return 0;
}
