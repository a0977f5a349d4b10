#include "machine.h"

#include <stdio.h>
#include <unistd.h>

void machine_log(struct machine *m, const char *fmt, ...)
{
    if (m->log_fd < 0)
        return;
    char line[600];
    int n = snprintf(line, sizeof(line), "minivmm: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* In raw terminal mode a bare \n does not return the carriage. */
    ssize_t r = write(m->log_fd, line, (size_t)n);
    (void)r;
}

