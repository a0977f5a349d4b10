/* A userspace XICS interrupt controller, for hosts whose KVM has none in the kernel (KVM-PR,
 * some nested hosts) or when asked for (--irqchip=user).
 *
 * The presentation side (ICP, one per vCPU) answers the guest's H_XIRR, H_EOI, H_CPPR, H_IPI
 * and H_IPOLL; the source side (ICS) holds each interrupt's server, priority and level and is
 * configured with the RTAS ibm,set-xive / get-xive / int-on / int-off calls. A pending
 * interrupt is signalled to its vCPU as a level (machine_ops.cpu_irq). One mutex guards it all:
 * every path is short and none blocks.
 */
#ifndef MINIVMM_XICS_H
#define MINIVMM_XICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtas_service;

struct machine;

#define XICS_IPI 2                /* the XISR value of an inter-processor interrupt */
#define XICS_MAX_SOURCES 560        /* 32 INTx, 32 x 16 MSI-X (pci.h, msix.h), the vty's */
#define XICS_MAX_SERVERS 256
#define XICS_MASKED 0xff

struct xics_source {
    uint32_t irq;                 /* 0: unused slot */
    uint32_t server;
    uint8_t priority, saved_priority;
    bool level;                   /* the device holds the line up (level-sensitive), or a
                                   * message came and the guest has not taken it yet (msi) */
    bool msi;                     /* message-signalled: an edge, consumed when accepted */
    bool presented;               /* handed to an ICP, not yet EOI'd */
};

struct xics_icp {
    uint8_t cppr;                 /* current processor priority: only more favoured (lower) get in */
    uint8_t mfrr;                 /* IPI request priority (0xff: none) */
    uint32_t xisr;                /* the interrupt being presented (0: none) */
    uint8_t pending_priority;
    bool line;                    /* what the vCPU was last told */
};

struct xics {
    struct machine *m;
    pthread_mutex_t lock;
    unsigned nservers;
    struct xics_icp icp[XICS_MAX_SERVERS];
    unsigned nsrc;                /* src[0..nsrc-1] are in use: sources are never removed */
    struct xics_source src[XICS_MAX_SOURCES];
};

/* Sets up an XICS for servers 0..nservers-1 (server = KVM vCPU id = index * m->cpu_stride)
 * and registers its RTAS calls. */
int xics_init(struct xics *x, struct machine *m, unsigned nservers);
void xics_destroy(struct xics *x);
/* The XICS RTAS calls (set-xive, get-xive, int-off, int-on): with handlers for this XICS, or
 * (by_kvm) without, for KVM's in-kernel XICS, which performs them once their tokens are
 * defined; registered either way, so the device tree lists them. *n gets their number. */
const struct rtas_service *xics_rtas_calls(bool by_kvm, size_t *n);
/* Declares a level-sensitive source, masked until the guest routes it. */
int xics_add_source(struct xics *x, uint32_t irq);
/* Declares a message-signalled source (an MSI-X vector's), masked until the guest routes it. */
int xics_add_msi_source(struct xics *x, uint32_t irq);
/* A message for a message-signalled source: it is presented once (after the guest unmasks it,
 * if it is masked), however many came before the guest took it. */
void xics_msi(struct xics *x, uint32_t irq);
/* A device moved its line. */
void xics_set_level(struct xics *x, uint32_t irq, bool level);
/* The hcalls, made by the vCPU with index cpu_index. */
int64_t xics_hcall(struct xics *x, int cpu_index, uint64_t nr, uint64_t *args);

#endif
