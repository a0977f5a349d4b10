/* Reading device SPECs: PATH[,option...], as --disk and --share take them. */
#ifndef MINIVMM_SPEC_H
#define MINIVMM_SPEC_H

#include <stddef.h>

/* The path at the start of a SPEC runs to the first lone comma; ",," in it stands for one
 * comma (as in QEMU), so any path can be written. Copies it into out (len bytes with the
 * NUL) and returns where the options start (a ',' or the end), or NULL if it does not fit. */
const char *spec_path(const char *spec, char *out, size_t len);

/* The other way: a SPEC for path (each comma doubled) followed by options (",ro", or ""),
 * malloc'ed; NULL when out of memory. */
char *spec_make(const char *path, const char *options);

#endif
