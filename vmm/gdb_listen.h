/* Where --gdb listens: "tcp:[HOST:]PORT" (HOST defaults to 127.0.0.1: a debugger can write
 * guest memory, so reaching it from elsewhere is asked for by naming 0.0.0.0) or
 * "unix:PATH". Portable (tests/unit/test_gdb_listen.c). */
#ifndef MINIVMM_GDB_LISTEN_H
#define MINIVMM_GDB_LISTEN_H

#include <stddef.h>

#include "err.h"

/* Checks a spec's form without opening anything (for the options' early check). */
int gdb_spec_check(const char *spec, struct mvm_err *e);

/* A listening socket (non-blocking, close-on-exec) for spec, or -1 with e saying why and what
 * to do; desc gets how a user reaches it ("target remote 127.0.0.1:1234"). A unix socket's
 * stale file from an earlier run is replaced; an existing non-socket is not. */
int gdb_listen(const char *spec, char *desc, size_t desc_len, struct mvm_err *e);

#endif
