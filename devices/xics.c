#include "xics.h"

#include <string.h>

#include "../firmware/rtas.h"
#include "../vmm/machine.h"
#include "hcall.h"
#include "msix.h"
#include "pci.h"

_Static_assert(XICS_MAX_SOURCES >= PCI_MAX_DEVICES * (1 + MSIX_MAX_VECTORS) + 1,
               "room for every slot's INTx and MSI-X sources and the vty's");

static struct xics_source *find(struct xics *x, uint32_t irq)
{
    for (unsigned i = 0; i < x->nsrc; i++)
        if (x->src[i].irq == irq && irq)
            return &x->src[i];
    return NULL;
}

/* Tells the vCPU whether it has something to take, if that changed. */
static void update_line(struct xics *x, unsigned server)
{
    struct xics_icp *icp = &x->icp[server];
    bool want = icp->xisr != 0;
    if (want != icp->line) {
        icp->line = want;
        x->m->ops->cpu_irq(x->m, (int)server, want);
    }
}

/* Offers interrupt `irq` at `prio` to a server. Returns false if it cannot be presented now
 * (not favoured enough, or something more favoured is pending): the source stays asserted and
 * is offered again when the server's priority drops (resend). */
static bool offer(struct xics *x, unsigned server, uint32_t irq, uint8_t prio)
{
    struct xics_icp *icp = &x->icp[server];
    if (prio >= icp->cppr || (icp->xisr && prio >= icp->pending_priority))
        return false;
    if (icp->xisr && icp->xisr != XICS_IPI) {
        struct xics_source *old = find(x, icp->xisr);   /* displaced: re-offered later */
        if (old)
            old->presented = false;
    }
    icp->xisr = irq;
    icp->pending_priority = prio;
    return true;
}

/* Offers everything that waits on `server`: its IPI and the asserted sources routed to it. */
static void resend(struct xics *x, unsigned server)
{
    struct xics_icp *icp = &x->icp[server];
    if (icp->mfrr != XICS_MASKED)
        offer(x, server, XICS_IPI, icp->mfrr);
    for (unsigned i = 0; i < x->nsrc; i++) {
        struct xics_source *s = &x->src[i];
        if (s->irq && s->level && !s->presented && s->server == server &&
            s->priority != XICS_MASKED && offer(x, server, s->irq, s->priority))
            s->presented = true;
    }
    update_line(x, server);
}

void xics_set_level(struct xics *x, uint32_t irq, bool level)
{
    pthread_mutex_lock(&x->lock);
    struct xics_source *s = find(x, irq);
    if (s) {
        s->level = level;
        if (!level && s->presented) {
            /* Lowered before the guest took it: withdraw it wherever it is pending (its
             * server may have changed since it was presented). */
            for (unsigned i = 0; i < x->nservers; i++)
                if (x->icp[i].xisr == irq) {
                    x->icp[i].xisr = 0;
                    s->presented = false;
                    resend(x, i);
                }
        }
        if (s->server < x->nservers)
            resend(x, s->server);
    }
    pthread_mutex_unlock(&x->lock);
}

static int add_source(struct xics *x, uint32_t irq, bool msi)
{
    if (irq < 16 || find(x, irq) || x->nsrc == XICS_MAX_SOURCES)
        return -1;
    x->src[x->nsrc++] = (struct xics_source){.irq = irq, .priority = XICS_MASKED,
                                             .saved_priority = XICS_MASKED, .msi = msi};
    return 0;
}

int xics_add_source(struct xics *x, uint32_t irq)
{
    return add_source(x, irq, false);
}

int xics_add_msi_source(struct xics *x, uint32_t irq)
{
    return add_source(x, irq, true);
}

void xics_msi(struct xics *x, uint32_t irq)
{
    pthread_mutex_lock(&x->lock);
    struct xics_source *s = find(x, irq);
    if (s && s->msi) {
        s->level = true;   /* latched: offered now, or when unmasked or the CPU is free */
        if (s->server < x->nservers)
            resend(x, s->server);
    }
    pthread_mutex_unlock(&x->lock);
}

int64_t xics_hcall(struct xics *x, int cpu_index, uint64_t nr, uint64_t *args)
{
    int cpu = cpu_index * (int)x->m->cpu_stride;   /* the server number is the vCPU id */
    if (cpu < 0 || (unsigned)cpu >= x->nservers)
        return H_HARDWARE;
    int64_t ret = H_SUCCESS;
    pthread_mutex_lock(&x->lock);
    struct xics_icp *icp = &x->icp[cpu];
    switch (nr) {
    case H_XIRR:
    case H_XIRR_X:
        /* Accept: the pending interrupt becomes the current one, at its priority. */
        args[0] = (uint64_t)icp->cppr << 24 | icp->xisr;
        if (icp->xisr) {
            icp->cppr = icp->pending_priority;
            if (icp->xisr == XICS_IPI)
                icp->mfrr = XICS_MASKED;
            struct xics_source *s = find(x, icp->xisr);
            if (s && s->msi)
                s->level = false;   /* taken: a message that comes now is a new one */
            icp->xisr = 0;
        }
        update_line(x, (unsigned)cpu);
        break;
    case H_IPOLL:
        args[0] = (uint64_t)icp->cppr << 24 | icp->xisr;
        args[1] = icp->mfrr;
        break;
    case H_EOI: {
        uint32_t xisr = (uint32_t)args[0] & 0xffffff;
        icp->cppr = (uint8_t)(args[0] >> 24);
        struct xics_source *s = find(x, xisr);
        if (s)
            s->presented = false;   /* still asserted (level): offered again just below */
        resend(x, (unsigned)cpu);
        /* Rerouted (ibm,set-xive) while in service: it is now due at its new server. */
        if (s && s->server != (unsigned)cpu && s->server < x->nservers)
            resend(x, s->server);
        break;
    }
    case H_CPPR:
        icp->cppr = (uint8_t)args[0];
        if (icp->xisr && icp->pending_priority >= icp->cppr) {
            struct xics_source *s = find(x, icp->xisr);
            if (s)
                s->presented = false;
            icp->xisr = 0;
        }
        resend(x, (unsigned)cpu);
        break;
    case H_IPI: {
        if (args[0] >= x->nservers) {
            ret = H_PARAMETER;
            break;
        }
        unsigned target = (unsigned)args[0];
        x->icp[target].mfrr = (uint8_t)args[1];
        resend(x, target);
        break;
    }
    default:
        ret = H_FUNCTION;
    }
    pthread_mutex_unlock(&x->lock);
    return ret;
}

/* ---- RTAS: routing and masking sources ---- */

static struct xics_source *rtas_source(struct machine *m, uint32_t irq)
{
    return m->xics ? find(m->xics, irq) : NULL;
}

static int32_t set_xive(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                        uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    struct xics *x = m->xics;
    struct xics_source *s = rtas_source(m, args[0]);
    if (!s || args[1] >= x->nservers || args[2] > 0xff)
        return RTAS_PARAM_ERROR;
    pthread_mutex_lock(&x->lock);
    s->server = args[1];
    s->priority = s->saved_priority = (uint8_t)args[2];
    resend(x, s->server);
    pthread_mutex_unlock(&x->lock);
    return RTAS_OK;
}

static int32_t get_xive(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                        uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)nret;
    struct xics_source *s = rtas_source(m, args[0]);
    if (!s)
        return RTAS_PARAM_ERROR;
    pthread_mutex_lock(&m->xics->lock);
    rets[1] = s->server;
    rets[2] = s->priority;
    pthread_mutex_unlock(&m->xics->lock);
    return RTAS_OK;
}

static int32_t int_onoff(struct machine *m, uint32_t irq, bool on)
{
    struct xics *x = m->xics;
    struct xics_source *s = rtas_source(m, irq);
    if (!s)
        return RTAS_PARAM_ERROR;
    pthread_mutex_lock(&x->lock);
    if (on) {
        s->priority = s->saved_priority;
        resend(x, s->server);
    } else {
        s->saved_priority = s->priority;
        s->priority = XICS_MASKED;
    }
    pthread_mutex_unlock(&x->lock);
    return RTAS_OK;
}

static int32_t int_off(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                       uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    return int_onoff(m, args[0], false);
}

static int32_t int_on(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                      uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    return int_onoff(m, args[0], true);
}

/* The XICS RTAS calls, listed once: name, handler, arguments, returns. */
#define XICS_RTAS_CALLS(X)                 \
    X("ibm,set-xive", set_xive, 3, 1)      \
    X("ibm,get-xive", get_xive, 1, 3)      \
    X("ibm,int-off", int_off, 1, 1)        \
    X("ibm,int-on", int_on, 1, 1)
#define SERVED_HERE(name, fn, nargs, nret) {name, fn, nargs, nret},
#define SERVED_BY_KVM(name, fn, nargs, nret) {name, NULL, nargs, nret},
static const struct rtas_service xics_rtas[] = {XICS_RTAS_CALLS(SERVED_HERE)};
static const struct rtas_service xics_rtas_kvm[] = {XICS_RTAS_CALLS(SERVED_BY_KVM)};

const struct rtas_service *xics_rtas_calls(bool by_kvm, size_t *n)
{
    *n = sizeof(xics_rtas) / sizeof(xics_rtas[0]);
    return by_kvm ? xics_rtas_kvm : xics_rtas;
}

int xics_init(struct xics *x, struct machine *m, unsigned nservers)
{
    if (nservers == 0 || nservers > XICS_MAX_SERVERS)
        return -1;
    memset(x, 0, sizeof(*x));
    x->m = m;
    x->nservers = nservers;
    pthread_mutex_init(&x->lock, NULL);
    for (unsigned i = 0; i < nservers; i++)
        x->icp[i] = (struct xics_icp){.cppr = 0, .mfrr = XICS_MASKED};
    size_t n;
    const struct rtas_service *calls = xics_rtas_calls(false, &n);
    for (size_t i = 0; i < n; i++)
        if (rtas_register(m->rtas, &calls[i]) < 0)
            return -1;
    m->xics = x;
    return 0;
}

void xics_destroy(struct xics *x)
{
    pthread_mutex_destroy(&x->lock);
}
