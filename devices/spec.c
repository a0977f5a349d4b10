/* Reading device SPECs (see spec.h). */
#include "spec.h"

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
