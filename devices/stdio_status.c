#include "stdio_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
