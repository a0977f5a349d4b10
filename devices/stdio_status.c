#include "stdio_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/err.h"

/* A decimal number of at most three digits at *p, followed by end or a space; -1 if none. */
static int small_number(const char **p)
{
    int n = 0, digits = 0;
    while (**p >= '0' && **p <= '9' && digits < 4)
        n = n * 10 + (*(*p)++ - '0'), digits++;
    if (digits == 0 || digits > 3 || (**p && **p != ' '))
        return -1;
    return n;
}

/* The guest's words, made safe for the host's terminal: printable ASCII only. */
static void printable(char *out, size_t len, const char *in)
{
    size_t n = 0;
    for (; *in && n + 1 < len; in++, n++)
        out[n] = *in >= 0x20 && *in < 0x7f ? *in : '?';
    if (len)
        out[n] = '\0';
}

void stdio_status_parse(const char *line, int *status, char *why, size_t why_len)
{
    const char *p;
    int n;
    why[0] = '\0';
    if (strncmp(line, "exit ", 5) == 0 && (p = line + 5, n = small_number(&p)) >= 0 &&
        n <= 255 && !*p) {
        *status = n;
    } else if (strncmp(line, "signal ", 7) == 0 && (p = line + 7, n = small_number(&p)) > 0 &&
               n < 128 && !*p) {
        *status = 128 + n;
    } else if (strncmp(line, "error ", 6) == 0 && (p = line + 6, n = small_number(&p)) >= 0 &&
               *p == ' ' && p[1]) {
        *status = n == STDIO_NOT_FOUND || n == STDIO_NOT_EXECUTABLE ? n : STDIO_NOT_RUN;
        printable(why, why_len, p + 1);
    } else {
        *status = STDIO_NOT_RUN;
        char quoted[81];
        printable(quoted, sizeof(quoted), line);
        snprintf(why, why_len, "the guest's init reported \"%s\", which minivmm does not "
                 "understand: are minivmm and its init from the same build?", quoted);
    }
}

int stdio_spec_parse(const char *spec, struct stdio_spec *s, struct mvm_err *e)
{
    static const char *const keys[3] = {"in=", "out=", "err="};
    *s = (struct stdio_spec){.fd = {-1, -1, -1}};
    size_t n = strlen(spec);
    if (n && spec[n - 1] == ',')
        return mvm_fail(e, MVM_E_INPUT, "stdio '%s': use in=FD,out=FD,err=FD[,tty]", spec);
    for (const char *o = spec; *o; o += strcspn(o, ","), o += *o == ',') {
        size_t len = strcspn(o, ",");
        if (len == 3 && strncmp(o, "tty", 3) == 0) {
            s->tty = true;
            continue;
        }
        unsigned k = 0;
        while (k < 3 && strncmp(o, keys[k], strlen(keys[k])) != 0)
            k++;
        char *end = NULL;
        const char *num = k < 3 ? o + strlen(keys[k]) : o;
        long fd = k < 3 ? strtol(num, &end, 10) : 0;
        if (k == 3 || end == num || end != o + len || fd < -1 || fd > 1 << 20)
            return mvm_fail(e, MVM_E_INPUT, "stdio '%s': use in=FD,out=FD,err=FD[,tty]", spec);
        s->fd[k] = (int)fd;
    }
    return 0;
}
