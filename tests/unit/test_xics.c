/* The userspace XICS (devices/xics.c): presentation through the hcalls, routing through RTAS,
 * on a fake machine whose cpu_irq records each server's external interrupt line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/hcall.h"
#include "../../devices/xics.h"
#include "../../firmware/rtas.h"
#include "../../vmm/machine.h"
#include "fake_machine.h"

#define BUF 0x4000u              /* RTAS argument buffers */
#define SRC 0x1000u
#define SRC2 0x1001u
#define XIRR(cppr, xisr) ((uint64_t)(cppr) << 24 | (xisr))

static struct xics x;

static int xsetup(void **state)
{
    if (setup(state))
        return -1;
    m.cpu_stride = 1;
    rtas_init(m.rtas);
    return xics_init(&x, &m, 2);
}

static int xteardown(void **state)
{
    xics_destroy(&x);
    m.xics = NULL;
    return teardown(state);
}

/* An hcall made by vCPU `cpu` through the dispatch table; *out gets args[0..1] back. */
static int64_t hc(int cpu, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t *out)
{
    uint64_t args[9] = {a0, a1};
    int64_t r = hcall_dispatch(&m, cpu, nr, args);
    if (out)
        out[0] = args[0], out[1] = args[1];
    return r;
}

/* H_XIRR on vCPU cpu: returns what r4 got. */
static uint64_t xirr(int cpu)
{
    uint64_t out[2];
    assert_int_equal(hc(cpu, H_XIRR, 0, 0, out), H_SUCCESS);
    return out[0];
}

static void cppr(int cpu, uint8_t v)
{
    assert_int_equal(hc(cpu, H_CPPR, v, 0, NULL), H_SUCCESS);
}

static void eoi(int cpu, uint64_t v)
{
    assert_int_equal(hc(cpu, H_EOI, v, 0, NULL), H_SUCCESS);
}

/* H_IPOLL: the XIRR (not accepted) and the MFRR of cpu's server. */
static uint64_t ipoll(int cpu, uint64_t *mfrr)
{
    uint64_t out[2];
    assert_int_equal(hc(cpu, H_IPOLL, 0, 0, out), H_SUCCESS);
    if (mfrr)
        *mfrr = out[1];
    return out[0];
}

/* An RTAS call from vCPU 0 with a big-endian buffer at BUF; returns the status (rets[0]). */
static int32_t rtas(const char *name, uint32_t nargs, uint32_t nret, const uint32_t *args)
{
    int t = rtas_token(m.rtas, name);
    assert_true(t >= RTAS_TOKEN_BASE);
    put_be32(BUF, (uint32_t)t);
    put_be32(BUF + 4, nargs);
    put_be32(BUF + 8, nret);
    for (uint32_t i = 0; i < nargs; i++)
        put_be32(BUF + 12 + 4 * i, args[i]);
    for (uint32_t i = 0; i < nret; i++)
        put_be32(BUF + 12 + 4 * (nargs + i), 0xdeadbeef);
    uint64_t a[9] = {BUF};
    assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_SUCCESS);
    return (int32_t)get_be32(BUF + 12 + 4 * nargs);
}

static uint32_t rtas_ret(unsigned i)
{
    return get_be32(BUF + 12 + 4 * (get_be32(BUF + 4) + i));
}

static int32_t set_xive(uint32_t irq, uint32_t server, uint32_t prio)
{
    uint32_t a[3] = {irq, server, prio};
    return rtas("ibm,set-xive", 3, 1, a);
}

static void test_masked_then_routed(void **state)
{
    (void)state;
    assert_int_equal(xics_add_source(&x, SRC), 0);
    xics_set_level(&x, SRC, 1);                     /* masked: nothing happens */
    assert_int_equal(fake.cpu_irq_calls, 0);
    cppr(1, 0xff);
    assert_int_equal(fake.cpu_irq_calls, 0);
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_int_equal(fake.cpu_irq_level[0], 0);
    assert_int_equal(fake.cpu_irq_last, 1);
    assert_true(ipoll(1, NULL) == XIRR(0xff, SRC));  /* polling does not accept */
    assert_int_equal(fake.cpu_irq_level[1], 1);

    assert_true(xirr(1) == XIRR(0xff, SRC));
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(ipoll(1, NULL) == XIRR(5, 0));     /* CPPR is now the interrupt's priority */
    assert_true(xirr(1) == XIRR(5, 0));            /* nothing more */

    /* EOI with the line still up: level-sensitive, so it comes back */
    int calls = fake.cpu_irq_calls;
    eoi(1, XIRR(0xff, SRC));
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_int_equal(fake.cpu_irq_calls, calls + 1);
    assert_true(xirr(1) == XIRR(0xff, SRC));
    assert_int_equal(fake.cpu_irq_level[1], 0);

    xics_set_level(&x, SRC, 0);
    eoi(1, XIRR(0xff, SRC));
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(ipoll(1, NULL) == XIRR(0xff, 0));
    assert_true(xirr(1) == XIRR(0xff, 0));
    assert_int_equal(fake.cpu_irq_level[0], 0);
}

/* A message-signalled source: latched while masked, presented once however many messages came,
 * consumed when accepted (an EOI does not bring it back), and a message that comes while the
 * guest serves it is presented again after the EOI. */
static void test_msi_source(void **state)
{
    (void)state;
    assert_int_equal(xics_add_msi_source(&x, SRC2), 0);
    assert_int_equal(xics_add_msi_source(&x, SRC2), -1);   /* once */
    cppr(1, 0xff);
    xics_msi(&x, SRC2);
    xics_msi(&x, SRC2);                             /* masked: latched, not lost */
    assert_int_equal(fake.cpu_irq_calls, 0);
    assert_int_equal(set_xive(SRC2, 1, 5), RTAS_OK);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, SRC2));
    eoi(1, XIRR(0xff, SRC2));                       /* an edge: it does not come back */
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(xirr(1) == XIRR(0xff, 0));

    xics_msi(&x, SRC2);
    assert_true(xirr(1) == XIRR(0xff, SRC2));
    xics_msi(&x, SRC2);                             /* while in service: a new one */
    assert_int_equal(fake.cpu_irq_level[1], 0);
    eoi(1, XIRR(0xff, SRC2));
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, SRC2));
    eoi(1, XIRR(0xff, SRC2));
    assert_true(xirr(1) == XIRR(0xff, 0));

    xics_msi(&x, SRC);                              /* not a source here: nothing */
    assert_int_equal(xics_add_source(&x, SRC), 0);
    xics_msi(&x, SRC);                              /* a level source takes no message */
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    assert_true(xirr(1) == XIRR(0xff, 0));
}

static void test_withdrawn_before_accept(void **state)
{
    (void)state;
    assert_int_equal(xics_add_source(&x, SRC), 0);
    cppr(1, 0xff);
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    xics_set_level(&x, SRC, 1);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    xics_set_level(&x, SRC, 0);                     /* lowered before the guest took it */
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(xirr(1) == XIRR(0xff, 0));
    xics_set_level(&x, SRC, 1);                     /* and raised again */
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, SRC));
}

static void test_cppr_gating(void **state)
{
    (void)state;
    assert_int_equal(xics_add_source(&x, SRC), 0);
    cppr(1, 3);
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    xics_set_level(&x, SRC, 1);
    assert_int_equal(fake.cpu_irq_calls, 0);
    assert_true(xirr(1) == XIRR(3, 0));
    cppr(1, 5);                                     /* equal priority is not enough */
    assert_int_equal(fake.cpu_irq_calls, 0);
    cppr(1, 0xff);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    /* lowering CPPR below a pending interrupt takes it back */
    cppr(1, 2);
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(ipoll(1, NULL) == XIRR(2, 0));
    cppr(1, 6);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(6, SRC));
}

static void test_ipi(void **state)
{
    (void)state;
    uint64_t mfrr;
    cppr(0, 0xff);
    assert_int_equal(hc(1, H_IPI, 0, 4, NULL), H_SUCCESS);
    assert_int_equal(fake.cpu_irq_level[0], 1);
    assert_int_equal(fake.cpu_irq_level[1], 0);
    assert_true(ipoll(0, &mfrr) == XIRR(0xff, XICS_IPI));
    assert_int_equal(mfrr, 4);
    uint64_t out[2];
    assert_int_equal(hc(0, H_XIRR_X, 0, 0, out), H_SUCCESS);   /* the _X form accepts too */
    assert_true(out[0] == XIRR(0xff, XICS_IPI));
    assert_int_equal(fake.cpu_irq_level[0], 0);
    assert_true(ipoll(0, &mfrr) == XIRR(4, 0));
    assert_int_equal(mfrr, 0xff);                   /* the request was consumed */
    eoi(0, XIRR(0xff, XICS_IPI));
    assert_int_equal(fake.cpu_irq_level[0], 0);
    assert_true(xirr(0) == XIRR(0xff, 0));

    /* an IPI at CPPR 0 (the reset value) waits until the CPPR opens */
    assert_int_equal(hc(0, H_IPI, 1, 4, NULL), H_SUCCESS);
    assert_int_equal(fake.cpu_irq_level[1], 0);
    cppr(1, 0xff);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, XICS_IPI));
}

static void test_more_favoured_displaces(void **state)
{
    (void)state;
    assert_int_equal(xics_add_source(&x, SRC), 0);
    assert_int_equal(xics_add_source(&x, SRC2), 0);
    cppr(1, 0xff);
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    assert_int_equal(set_xive(SRC2, 1, 2), RTAS_OK);
    xics_set_level(&x, SRC, 1);
    assert_true(ipoll(1, NULL) == XIRR(0xff, SRC));
    xics_set_level(&x, SRC2, 1);                    /* more favoured: takes SRC's place */
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, SRC2));
    assert_int_equal(fake.cpu_irq_level[1], 0);     /* SRC (5) cannot get in at CPPR 2 */
    xics_set_level(&x, SRC2, 0);
    eoi(1, XIRR(0xff, SRC2));
    assert_int_equal(fake.cpu_irq_level[1], 1);     /* the displaced one, presented again */
    assert_true(xirr(1) == XIRR(0xff, SRC));
    xics_set_level(&x, SRC, 0);
    eoi(1, XIRR(0xff, SRC));
    assert_true(xirr(1) == XIRR(0xff, 0));

    /* a less favoured one does not displace a pending interrupt */
    xics_set_level(&x, SRC2, 1);
    xics_set_level(&x, SRC, 1);
    assert_true(ipoll(1, NULL) == XIRR(0xff, SRC2));
}

static void test_xive_rtas(void **state)
{
    (void)state;
    assert_int_equal(xics_add_source(&x, SRC), 0);
    uint32_t a = SRC;
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_OK);
    assert_int_equal(rtas_ret(1), 0);
    assert_int_equal(rtas_ret(2), XICS_MASKED);     /* masked until routed */
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK);
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_OK);
    assert_int_equal(rtas_ret(1), 1);
    assert_int_equal(rtas_ret(2), 5);

    assert_int_equal(rtas("ibm,int-off", 1, 1, &a), RTAS_OK);
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_OK);
    assert_int_equal(rtas_ret(1), 1);
    assert_int_equal(rtas_ret(2), XICS_MASKED);
    cppr(1, 0xff);
    xics_set_level(&x, SRC, 1);
    assert_int_equal(fake.cpu_irq_level[1], 0);     /* off: not presented */
    assert_int_equal(rtas("ibm,int-on", 1, 1, &a), RTAS_OK);
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_OK);
    assert_int_equal(rtas_ret(2), 5);
    assert_int_equal(fake.cpu_irq_level[1], 1);     /* on again: the waiting one comes in */
    assert_true(xirr(1) == XIRR(0xff, SRC));

    assert_int_equal(set_xive(SRC, 2, 5), RTAS_PARAM_ERROR);   /* server >= nservers */
    assert_int_equal(set_xive(SRC, 0xffffffff, 5), RTAS_PARAM_ERROR);
    assert_int_equal(set_xive(SRC, 0, 0x100), RTAS_PARAM_ERROR);
    assert_int_equal(set_xive(0x1234, 0, 5), RTAS_PARAM_ERROR); /* unknown irq */
    assert_int_equal(set_xive(0, 0, 5), RTAS_PARAM_ERROR);
    a = 0x1234;
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_PARAM_ERROR);
    assert_int_equal(rtas("ibm,int-off", 1, 1, &a), RTAS_PARAM_ERROR);
    assert_int_equal(rtas("ibm,int-on", 1, 1, &a), RTAS_PARAM_ERROR);
    a = SRC;
    assert_int_equal(rtas("ibm,get-xive", 1, 3, &a), RTAS_OK);
    assert_int_equal(rtas_ret(1), 1);               /* the failed calls changed nothing */
    assert_int_equal(rtas_ret(2), 5);
    uint32_t two[2] = {SRC, 0};
    assert_int_equal(rtas("ibm,set-xive", 2, 1, two), RTAS_PARAM_ERROR);  /* too few args */
}

/* A level-sensitive source re-routed while in service on its old server must reach the new
 * server once the old one EOIs it, as long as its line is still up. */
static void test_rerouted_in_service(void **state)
{
    (void)state;
    /* Regression: H_EOI once re-offered only to the EOI-ing vCPU's server. */
    assert_int_equal(xics_add_source(&x, SRC), 0);
    cppr(0, 0xff);
    cppr(1, 0xff);
    assert_int_equal(set_xive(SRC, 0, 5), RTAS_OK);
    xics_set_level(&x, SRC, 1);
    assert_true(xirr(0) == XIRR(0xff, SRC));       /* in service on server 0 */
    assert_int_equal(set_xive(SRC, 1, 5), RTAS_OK); /* irq affinity changed meanwhile */
    eoi(0, XIRR(0xff, SRC));                        /* line still up */
    assert_int_equal(fake.cpu_irq_level[0], 0);
    assert_int_equal(fake.cpu_irq_level[1], 1);
    assert_true(xirr(1) == XIRR(0xff, SRC));
}

static void test_robustness(void **state)
{
    (void)state;
    assert_int_equal(hc(1, H_IPI, 99, 4, NULL), H_PARAMETER);
    assert_int_equal(hc(1, H_IPI, 2, 4, NULL), H_PARAMETER);
    assert_int_equal(hc(1, H_IPI, 1ULL << 32, 4, NULL), H_PARAMETER);  /* no truncation */
    assert_int_equal(hc(1, H_IPI, UINT64_MAX, 4, NULL), H_PARAMETER);
    assert_int_equal(fake.cpu_irq_calls, 0);

    assert_int_equal(xics_add_source(&x, 15), -1);
    assert_int_equal(xics_add_source(&x, 0), -1);
    assert_int_equal(xics_add_source(&x, 16), 0);
    assert_int_equal(xics_add_source(&x, SRC), 0);
    assert_int_equal(xics_add_source(&x, SRC), -1);
    for (uint32_t i = 2; i < XICS_MAX_SOURCES; i++)
        assert_int_equal(xics_add_source(&x, 0x2000 + i), 0);
    assert_int_equal(xics_add_source(&x, 0x3000), -1);             /* table full */

    xics_set_level(&x, 0x1234, 1);                  /* unknown: harmless */
    xics_set_level(&x, 0, 1);
    xics_set_level(&x, 0x1234, 0);
    assert_int_equal(fake.cpu_irq_calls, 0);

    uint64_t args[9] = {0};
    assert_int_equal(xics_hcall(&x, 0, 0x1234, args), H_FUNCTION);
    assert_int_equal(xics_hcall(&x, 0, H_SET_MODE, args), H_FUNCTION);
    assert_int_equal(xics_hcall(&x, 5, H_XIRR, args), H_HARDWARE);    /* no such vCPU */
    assert_int_equal(xics_hcall(&x, -1, H_XIRR, args), H_HARDWARE);
    /* EOI of something that was never presented, and of nothing */
    eoi(0, XIRR(0xff, 0x1234));
    eoi(0, XIRR(0xff, 0));
    eoi(0, XIRR(0xff, XICS_IPI));
    assert_int_equal(fake.cpu_irq_calls, 0);
    assert_true(xirr(0) == XIRR(0xff, 0));
}

static void test_no_xics(void **state)
{
    (void)state;
    /* without a userspace XICS (KVM's in-kernel one) the hcalls are not ours */
    m.xics = NULL;
    uint64_t out[2];
    assert_int_equal(hc(0, H_XIRR, 0, 0, out), H_FUNCTION);
    assert_int_equal(hc(0, H_EOI, 0, 0, out), H_FUNCTION);
    assert_int_equal(hc(0, H_IPI, 0, 4, out), H_FUNCTION);
    m.xics = &x;
    assert_int_equal(xics_init(&x, &m, 0), -1);
    assert_int_equal(xics_init(&x, &m, XICS_MAX_SERVERS + 1), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, xsetup, xteardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_masked_then_routed), T(test_msi_source), T(test_withdrawn_before_accept),
        T(test_cppr_gating),
        T(test_ipi), T(test_more_favoured_displaces), T(test_xive_rtas),
        T(test_rerouted_in_service), T(test_robustness), T(test_no_xics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
