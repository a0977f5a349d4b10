/* Reading device SPECs (see spec.h). */
#include "spec.h"

#include <stdlib.h>
#include <string.h>

const char *spec_path(const char *spec, char *out, size_t len)
{
    size_t n = 0;
    const char *p = spec;
    for (; *p && (*p != ',' || p[1] == ','); p += 1 + (*p == ',')) {
        if (n + 1 >= len)
            return NULL;
        out[n++] = *p;
    }
    out[n] = '\0';
    return p;
}

char *spec_make(const char *path, const char *options)
{
    char *spec = malloc(2 * strlen(path) + strlen(options) + 1), *p = spec;
    if (!spec)
        return NULL;
    for (const char *c = path; *c; c++) {
        *p++ = *c;
        if (*c == ',')
            *p++ = ',';
    }
    strcpy(p, options);
    return spec;
}
