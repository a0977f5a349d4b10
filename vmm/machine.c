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

int machine_add_flush(struct machine *m, void (*fn)(void *opaque), void *opaque)
{
    if (m->nflush >= MACHINE_FLUSH_MAX)
        return -1;
    m->flush[m->nflush++] = (struct machine_flush){fn, opaque};
    return 0;
}

void machine_remove_flush(struct machine *m, void *opaque)
{
    for (unsigned i = 0; i < m->nflush; i++)
        if (m->flush[i].opaque == opaque) {
            m->flush[i] = m->flush[--m->nflush];
            return;
        }
}

void machine_flush_output(struct machine *m)
{
    for (unsigned i = 0; i < m->nflush; i++)
        m->flush[i].fn(m->flush[i].opaque);
}
