/* Sizing the device tree before the machine exists.
 *
 * Where the tree goes in guest memory, and whether the machine can be built at all, is
 * decided before the host is asked and before any vCPU or device exists, so it cannot wait for
 * the real tree. Instead the real builder runs on a stand-in machine of the same shape in
 * which everything decided later takes its largest form: both guest MMUs with every page size
 * the limits allow, two memory nodes with the longest names, the longest CPU model, a full
 * RTAS registry of the longest names, every PCI device with a BAR, MSI-X and the widest slot
 * number, the longest hcall list, a full seed and an initrd. The tree built later is never
 * larger (the unit tests hold the two side by side), and the caller still checks that it fits.
 */
#include "fdt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/msix.h"
#include "../devices/pci.h"
#include "../firmware/rtas.h"

struct stand_in {
    struct fdt_params p;
    struct rtas rtas;
    struct rtas_service svc[RTAS_MAX_SERVICES];
    char names[RTAS_MAX_SERVICES][FDT_RTAS_NAME_MAX];
    struct pci_host pci;
    struct pci_device dev[PCI_MAX_DEVICES];
    struct msix msix[PCI_MAX_DEVICES];
    char model[FDT_CPU_MODEL_MAX];
    char hypertas[FDT_HYPERTAS_MAX];
    const char *hypertas_list[2];
    uint8_t seed[FDT_RNG_SEED_MAX];
};

/* ibm,segment-page-sizes filled to FDT_SPS_CELLS_MAX, in entries of up to FDT_SPS_MAX sizes. */
static void largest_hash(struct fdt_params *p)
{
    unsigned cells = 0;
    p->radix = false;
    p->n_sps = 0;
    while (p->n_sps < FDT_SPS_MAX && cells + 3 + 2 <= FDT_SPS_CELLS_MAX) {
        struct fdt_seg_page_size *s = &p->sps[p->n_sps++];
        s->n = (FDT_SPS_CELLS_MAX - cells - 3) / 2;
        if (s->n > FDT_SPS_MAX)
            s->n = FDT_SPS_MAX;
        cells += 3 + 2 * s->n;
    }
}

static void largest_radix(struct fdt_params *p)
{
    p->radix = true;
    p->n_radix_ap = sizeof(p->radix_ap) / sizeof(p->radix_ap[0]);
}

static void fill(struct stand_in *m, const struct fdt_shape *s)
{
    struct fdt_params *p = &m->p;
    p->ncpus = s->ncpus;
    p->vcpu_id_stride = s->vcpu_id_stride;
    p->bootargs = s->bootargs;
    p->ram_size = UINT64_MAX;          /* a second memory node, named by a 16-digit address */
    p->rma_size = 1ULL << 63;
    memset(m->model, 'X', sizeof(m->model) - 1);
    p->cpu_model = m->model;
    p->rng_seed = m->seed;
    p->rng_seed_len = sizeof(m->seed);
    p->initrd_start = 1;
    p->initrd_end = 2;
    memset(m->hypertas, 'h', sizeof(m->hypertas) - 1);
    m->hypertas_list[0] = m->hypertas;
    p->hypertas = m->hypertas_list;
    /* Distinct names, so none shares a string with another property. */
    for (unsigned i = 0; i < RTAS_MAX_SERVICES; i++) {
        snprintf(m->names[i], sizeof(m->names[i]), "rtas-stand-in-%0*u",
                 (int)sizeof(m->names[i]) - 15, i);
        m->svc[i].name = m->names[i];
        m->rtas.svc[i] = &m->svc[i];
    }
    m->rtas.n = RTAS_MAX_SERVICES;
    p->rtas = &m->rtas;
    for (unsigned i = 0; i < s->npci; i++) {
        m->dev[i].slot = 0xff;
        m->dev[i].bar_size = 1;
        m->msix[i].nvec = MSIX_MAX_VECTORS;
        m->dev[i].msix = &m->msix[i];
        m->pci.dev[i] = &m->dev[i];
    }
    m->pci.ndev = s->npci;
    p->pci = s->npci ? &m->pci : NULL;
}

int fdt_size_bound(const struct fdt_shape *s, size_t *size, struct mvm_err *e)
{
    if (s->npci > PCI_MAX_DEVICES)
        return mvm_fail(e, MVM_E_VMM, "device tree: more devices than PCI slots");
    struct stand_in *m = calloc(1, sizeof(*m));
    if (!m)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    fill(m, s);
    *size = 0;
    int r = 0;
    for (int radix = 0; radix < 2 && r == 0; radix++) {
        struct fdt_blob b;
        if (radix)
            largest_radix(&m->p);
        else
            largest_hash(&m->p);
        r = fdt_build(&m->p, &b, e);
        if (r == 0 && b.size > *size)
            *size = b.size;
        free(b.data);
    }
    free(m);
    return r;
}
