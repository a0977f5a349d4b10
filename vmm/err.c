#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

const char *mvm_strerror(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
    /* The text itself, no translation (glibc 2.32+); NULL for a number it does not know. */
    const char *s = strerrordesc_np(err);
    return s ? s : "Unknown error";
#else
    /* musl (the command, cross-built): its messages are built in, and a translation, if
     * any, was loaded by setlocale(); strerror opens nothing. */
    return strerror(err);
#endif
}
