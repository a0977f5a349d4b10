/* The machine-readable summary of a run (--json). */
#ifndef MINIVMM_REPORT_H
#define MINIVMM_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "vm.h"

/* Writes s as a JSON string (quotes included), escaping what JSON requires and any byte that
 * is not printable ASCII as \u00XX, so the output is valid whatever the guest printed. */
void json_string(FILE *f, const char *s);

/* Writes r as one JSON object followed by a newline. */
void report_json(FILE *f, const struct vm_result *r);

/* report_json into a file; the file is replaced. */
int report_json_file(const char *path, const struct vm_result *r, struct mvm_err *e);

#endif
