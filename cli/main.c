/*
 * cli/main.c: the objmem command.  One file per subcommand; this one only
 * dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"demo", "run an embedded workload on objmem and report on it", cli_demo},
    {"options", "list every option, its value and its OBJMEM_ variable", cli_options},
    {"run", "run any program on objmem's heap and profile its memory", cli_run},
    {"report", "summarise a capture: text, JSON, HTML, folded, speedscope", cli_report},
    {"diff", "what grew between two captures", cli_diff},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: objmem COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "objmem: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
