#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int mvm_fail(struct mvm_err *e, enum mvm_status status, const char *fmt, ...)
{
    if (e->msg[0] != '\0')
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->status = status;
    return -1;
}
