/* How many descriptors a device may hold open for its guest (9p fids, vsock connections).
 * The process's descriptor table is shared by every device and perhaps an embedding program,
 * so one device gets an eighth of RLIMIT_NOFILE: at least 64, at most `most`. */
#ifndef MINIVMM_FD_BUDGET_H
#define MINIVMM_FD_BUDGET_H

#include <sys/resource.h>

static inline unsigned fd_budget(unsigned most)
{
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur / 8 >= most)
        return most;
    return nofile.rlim_cur / 8 > 64 ? (unsigned)(nofile.rlim_cur / 8) : 64;
}

#endif
