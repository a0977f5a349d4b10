/* The minivmm command line. */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <stdio.h>

#include "config.h"
#include "err.h"

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_CHECK };

#define CLI_MAX_SETTINGS 128

/* The library's options as the command line gave them, in order, by name: main() hands each
 * to minivmm_set_option(). */
struct cli_settings {
    unsigned n;
    struct {
        const char *name, *value;
    } set[CLI_MAX_SETTINGS];
};

/* Parses argv into c (which should hold vm_config_defaults()) and, unless s is NULL, s.
 * Returns the action, or -1 with e filled (status MVM_E_INPUT) on a bad command line. */
int cli_parse(int argc, char **argv, struct vm_config *c, struct cli_settings *s,
              struct mvm_err *e);
void cli_usage(FILE *f);

#endif
