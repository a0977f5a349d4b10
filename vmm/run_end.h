/* How a run ended: one owner for the outcome.
 *
 * A run can end from many threads at once: a vCPU powering off, the console sink finding an
 * --expect or --fail-on pattern, the timeout, a signal, minivmm_stop() from the embedding
 * program, a failing device. Whoever is first records status, message and pattern together,
 * in one call; every later end changes nothing. (When the pattern was recorded apart from
 * the status, a power-off racing a --fail-on match reported the pattern with status 0.) */
#ifndef MINIVMM_RUN_END_H
#define MINIVMM_RUN_END_H

#include <stdbool.h>

#include "console.h"
#include "err.h"

struct run_end {
    bool ended;
    enum mvm_status status;
    char why[512];
    char pattern[CONSOLE_PATTERN_MAX + 1];   /* the pattern that ended the run, or "" */
};

/* Records the end unless the run has ended already; true if this call ended it. Callers
 * serialise (the VM's lock). pattern: the console pattern behind this end, or NULL. */
bool run_end_record(struct run_end *r, enum mvm_status status, const char *why,
                    const char *pattern);

#endif
