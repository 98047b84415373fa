/* cli/cli.h: the subcommands of the objmem command. */
#ifndef OM_CLI_H
#define OM_CLI_H

typedef struct cli_command {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_command;

int cli_demo(int argc, char **argv);
int cli_options(int argc, char **argv);
int cli_run(int argc, char **argv);    /* run.c */
int cli_report(int argc, char **argv); /* report.c */
int cli_diff(int argc, char **argv);   /* diff.c */

#endif
