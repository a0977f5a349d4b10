/* Making hcalls and RTAS calls on the fake machine (fake_machine.h) the way a guest does:
 * for the tests of hcall_dispatch() and the RTAS services. Include after fake_machine.h. */
#ifndef MINIVMM_TEST_PAPR_CALLS_H
#define MINIVMM_TEST_PAPR_CALLS_H

#include <fcntl.h>
#include <unistd.h>

#include "../../devices/hcall.h"
#include "../../firmware/rtas.h"

#define BUF 0x4000u              /* where tests put their RTAS argument buffers */

static inline int64_t hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                     uint64_t *out)
{
    uint64_t args[9] = {a0, a1, a2, a3};
    int64_t r = hcall_dispatch(&m, 0, nr, args);
    if (out)
        memcpy(out, args, sizeof(args));
    return r;
}

/* Writes an RTAS buffer at gpa: token, nargs, nret, the arguments, then nret return cells
 * pre-set to 0xdeadbeef so that the test can see which ones were written. */
static inline void rtas_buf(uint64_t gpa, uint32_t token, uint32_t nargs, uint32_t nret,
                     const uint32_t *args)
{
    put_be32(gpa, token);
    put_be32(gpa + 4, nargs);
    put_be32(gpa + 8, nret);
    for (uint32_t i = 0; i < nargs; i++)
        put_be32(gpa + 12 + 4 * i, args ? args[i] : 0);
    for (uint32_t i = 0; i < nret; i++)
        put_be32(gpa + 12 + 4 * (nargs + i), 0xdeadbeef);
}

static inline uint32_t rtas_ret(uint64_t gpa, unsigned i)
{
    return get_be32(gpa + 12 + 4 * (get_be32(gpa + 4) + i));
}

static inline int tok(const char *name)
{
    int t = rtas_token(m.rtas, name);
    assert_true(t >= RTAS_TOKEN_BASE);
    return t;
}

/* Makes an RTAS call from vCPU `cpu` with a buffer at BUF; returns rets[0] (the status). */
static inline int32_t rtas_on(int cpu, const char *name, uint32_t nargs, uint32_t nret,
                       const uint32_t *args)
{
    rtas_buf(BUF, (uint32_t)tok(name), nargs, nret, args);
    uint64_t a[9] = {BUF};
    assert_int_equal(hcall_dispatch(&m, cpu, KVMPPC_H_RTAS, a), H_SUCCESS);
    return (int32_t)rtas_ret(BUF, 0);
}

static inline int32_t rtas(const char *name, uint32_t nargs, uint32_t nret, const uint32_t *args)
{
    return rtas_on(0, name, nargs, nret, args);
}


/* Points the machine's diagnostics at a pipe whose read end p[0] never blocks, so a test can
 * read what was logged; log_capture_end() puts things back. */
static inline void log_capture(int p[2])
{
    assert_int_equal(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    m.log_fd = p[1];
}

static inline void log_capture_end(int p[2])
{
    m.log_fd = -1;
    close(p[0]);
    close(p[1]);
}

#endif
