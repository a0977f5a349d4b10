/* The machine-readable summary of a run (--json). */
#ifndef MINIVMM_REPORT_H
#define MINIVMM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "vm.h"

/* The exit_reason of a run that ended with `status`: pattern_matched tells a power-off from
 * an --expect success; started tells a failure to start (input/host/vmm error) from a
 * failure while running. The one place these names are decided. */
const char *report_reason(enum mvm_status status, bool pattern_matched, bool started);

/* The minivmm command's exit status. Without --rootfs, the run's status (the table of
 * --help). With it, the guest command's (command_status, -1 if it reported none), as env(1)
 * and container runtimes do: 124 when --timeout stopped it (as timeout(1)), 125 for anything
 * else that kept it from finishing (bad input, the host, the VM, a signal to minivmm). */
int report_exit_status(enum mvm_status status, bool command, int command_status,
                       bool pattern_matched);

/* Writes s as a JSON string (quotes included): well-formed UTF-8 as it is, control characters
 * escaped, and each ill-formed UTF-8 sequence replaced by U+FFFD, so the output is valid UTF-8
 * and valid JSON whatever the guest printed. */
void json_string(FILE *f, const char *s);

/* Writes r as one JSON object followed by a newline. */
void report_json(FILE *f, const struct vm_result *r);

/* report_json into a file; the file is replaced. */
int report_json_file(const char *path, const struct vm_result *r, struct mvm_err *e);

#endif
