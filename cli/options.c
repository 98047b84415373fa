/* cli/options.c: `objmem options` prints the option table. */
#include "cli.h"
#include "objmem.h"

int cli_options(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    om_option_print(1);
    return 0;
}
