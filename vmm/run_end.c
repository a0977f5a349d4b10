/* How a run ended (see run_end.h). */
#include "run_end.h"

#include <stdio.h>

bool run_end_record(struct run_end *r, enum mvm_status status, const char *why,
                    const char *pattern)
{
    if (r->ended)
        return false;
    r->ended = true;
    r->status = status;
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
    snprintf(r->pattern, sizeof(r->pattern), "%s", pattern ? pattern : "");
    return true;
}
