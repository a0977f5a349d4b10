#include "fdt.h"

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/msix.h"
#include "../devices/pci.h"
#include "../devices/vty.h"
#include "../firmware/rtas.h"

#define XICS_PHANDLE 0x1000

/* libfdt calls return 0 or a negative FDT_ERR_*; the first failure ends the build.
 * -FDT_ERR_NOSPACE means the buffer is full (fdt_build() retries in a bigger one); a value too
 * long for one of the fixed limits in fdt.h is -FDT_ERR_BADVALUE, which no buffer cures. */
#define TRY(call)                     \
    do {                              \
        int r_ = (call);              \
        if (r_ < 0)                   \
            return r_;                \
    } while (0)

static int prop_u64_pair(void *fdt, const char *name, uint64_t a, uint64_t b)
{
    fdt64_t v[2] = {cpu_to_fdt64(a), cpu_to_fdt64(b)};
    return fdt_property(fdt, name, v, sizeof(v));
}

static int prop_cells(void *fdt, const char *name, const uint32_t *cells, unsigned n)
{
    fdt32_t v[7 * 32];
    if (n > sizeof(v) / sizeof(v[0]))
        return -FDT_ERR_BADVALUE;
    for (unsigned i = 0; i < n; i++)
        v[i] = cpu_to_fdt32(cells[i]);
    return fdt_property(fdt, name, v, n * sizeof(v[0]));
}

static int prop_strings(void *fdt, const char *name, const char *const *list)
{
    char buf[FDT_HYPERTAS_MAX];
    size_t len = 0;
    for (; *list; list++) {
        size_t n = strlen(*list) + 1;
        if (len + n > sizeof(buf))
            return -FDT_ERR_BADVALUE;
        memcpy(buf + len, *list, n);
        len += n;
    }
    return fdt_property(fdt, name, buf, (int)len);
}

/* Option vector 5 as negotiated by CAS (PAPR numbering: byte 0 holds the length - 1).
 * Linux reads byte 24 for the MMU mode (0x40 radix only, 0x00 hash only) and byte 26 for
 * radix GTSE (guest tlbie allowed, so no H_RPT_INVALIDATE needed); byte 23 = 0 selects XICS.
 * The vector must be at least 25 bytes, or the guest silently falls back to hash. */
static int chosen_vec5(void *fdt, bool radix)
{
    uint8_t v[27] = {0};
    v[0] = sizeof(v) - 2;
    if (radix) {
        v[24] = 0x40;
        v[26] = 0x40;
    }
    return fdt_property(fdt, "ibm,architecture-vec-5", v, sizeof(v));
}

static int node_chosen(void *fdt, const struct fdt_params *p)
{
    char vty[64];
    snprintf(vty, sizeof(vty), "/vdevice/vty@%x", VTY_REG);
    TRY(fdt_begin_node(fdt, "chosen"));
    TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
    TRY(fdt_property_string(fdt, "stdout-path", vty));
    TRY(fdt_property_string(fdt, "linux,stdout-path", vty));
    if (p->initrd_end > p->initrd_start) {
        TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
        TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
    }
    TRY(chosen_vec5(fdt, p->radix));
    /* Linux credits these bytes to its random pool at once (and wipes them from the tree):
     * without them a fresh guest's getrandom() may block until it has gathered entropy. */
    if (p->rng_seed_len)
        TRY(fdt_property(fdt, "rng-seed", p->rng_seed, (int)p->rng_seed_len));
    /* virtio devices DMA to guest-physical addresses (no VIRTIO_F_ACCESS_PLATFORM): without
     * this the guest would look for a TCE window on the PHB and warn for every device. */
    if (p->pci)
        TRY(fdt_property(fdt, "linux,iommu-off", NULL, 0));
    return fdt_end_node(fdt);
}

static int node_memory(void *fdt, uint64_t base, uint64_t size)
{
    char name[48];
    snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)base);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "memory"));
    TRY(prop_u64_pair(fdt, "reg", base, size));
    return fdt_end_node(fdt);
}

/* ibm,pa-features: which processor architecture features the partition may use. Linux clears
 * every feature it knows of whose bit is absent here (within the stated length), so the
 * bits it reads must be right: byte 0 MMU|FPU|SLB|RUN|DABR|NX; byte 1 bit 2 large
 * cache-inhibited pages; byte 5 bit 0 true little-endian; byte 22 transactional memory (left
 * off: not offered); byte 40 bit 0 Radix MMU (the other half of the MMU decision). */
static int cpu_pa_features(void *fdt, const struct fdt_params *p)
{
    uint8_t pa[2 + 64] = {64, 0};
    uint8_t *b = pa + 2;
    b[0] = 0xf6;
    b[1] = p->ci_large_page ? 0x20 : 0x00;
    b[5] = 0x80;
    b[40] = p->radix ? 0x80 : 0x00;
    return fdt_property(fdt, "ibm,pa-features", pa, sizeof(pa));
}

static int cpu_segment_page_sizes(void *fdt, const struct fdt_params *p)
{
    uint32_t cells[FDT_SPS_CELLS_MAX];
    unsigned n = 0;
    for (unsigned i = 0; i < p->n_sps; i++) {
        const struct fdt_seg_page_size *s = &p->sps[i];
        if (s->n > FDT_SPS_MAX || n + 3 + 2 * s->n > FDT_SPS_CELLS_MAX)
            return -FDT_ERR_BADVALUE;
        cells[n++] = s->shift;
        cells[n++] = s->slb_enc;
        cells[n++] = s->n;
        for (unsigned j = 0; j < s->n; j++) {
            cells[n++] = s->enc[j].shift;
            cells[n++] = s->enc[j].pte_enc;
        }
    }
    return prop_cells(fdt, "ibm,segment-page-sizes", cells, n);
}

static int node_cpu(void *fdt, const struct fdt_params *p, uint32_t id)
{
    char name[64];
    snprintf(name, sizeof(name), "PowerPC,%s@%x", p->cpu_model, id);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "cpu"));
    TRY(fdt_property_u32(fdt, "reg", id));
    TRY(fdt_property_string(fdt, "status", "okay"));
    TRY(fdt_property(fdt, "64-bit", NULL, 0));
    /* One thread per core node; the server number is the KVM vCPU id (and XICS server). */
    TRY(fdt_property_u32(fdt, "ibm,ppc-interrupt-server#s", id));
    uint32_t gserver[2] = {id, 0};
    TRY(prop_cells(fdt, "ibm,ppc-interrupt-gserver#s", gserver, 2));
    TRY(fdt_property_u32(fdt, "cpu-version", p->pvr));
    TRY(fdt_property_u32(fdt, "timebase-frequency", p->timebase_hz));
    TRY(fdt_property_u32(fdt, "clock-frequency", p->clock_hz));
    TRY(fdt_property_u32(fdt, "d-cache-block-size", 128));
    TRY(fdt_property_u32(fdt, "d-cache-line-size", 128));
    TRY(fdt_property_u32(fdt, "i-cache-block-size", 128));
    TRY(fdt_property_u32(fdt, "i-cache-line-size", 128));
    TRY(fdt_property_u32(fdt, "d-cache-size", 0x8000));
    TRY(fdt_property_u32(fdt, "i-cache-size", 0x8000));
    TRY(fdt_property_u32(fdt, "ibm,vmx", 2));   /* 2 means VSX as well as Altivec */
    TRY(fdt_property_u32(fdt, "ibm,dfp", 1));
    TRY(fdt_property_u32(fdt, "ibm,purr", 1));
    TRY(cpu_pa_features(fdt, p));
    uint32_t segs[4] = {28, p->segs_1t ? 40 : 0xffffffff, 0xffffffff, 0xffffffff};
    TRY(prop_cells(fdt, "ibm,processor-segment-sizes", segs, 4));   /* 256M (and 1T) */
    TRY(fdt_property_u32(fdt, "ibm,slb-size", 32));
    if (p->radix) {
        if (p->n_radix_ap)
            TRY(prop_cells(fdt, "ibm,processor-radix-AP-encodings", p->radix_ap, p->n_radix_ap));
    } else {
        /* Without this list a hash guest assumes 16M pages exist and its first H_ENTER of
         * one fails whenever the backing pages are smaller. */
        TRY(cpu_segment_page_sizes(fdt, p));
        uint32_t pft[2] = {0, p->htab_shift};
        TRY(prop_cells(fdt, "ibm,pft-size", pft, 2));
    }
    return fdt_end_node(fdt);
}

static int node_cpus(void *fdt, const struct fdt_params *p)
{
    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_u32(fdt, "#address-cells", 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (unsigned i = 0; i < p->ncpus; i++)
        TRY(node_cpu(fdt, p, i * p->vcpu_id_stride));
    return fdt_end_node(fdt);
}

static int node_rtas(void *fdt, const struct fdt_params *p)
{
    TRY(fdt_begin_node(fdt, "rtas"));
    /* Its presence makes the guest an LPAR; "hcall-set-mode" is what lets a little-endian
     * kernel ask for little-endian interrupts. */
    TRY(prop_strings(fdt, "ibm,hypertas-functions", p->hypertas));
    TRY(fdt_property_u32(fdt, "linux,rtas-base", (uint32_t)p->rtas_base));
    TRY(fdt_property_u32(fdt, "linux,rtas-entry", (uint32_t)p->rtas_base));
    TRY(fdt_property_u32(fdt, "rtas-size", p->rtas_size));
    /* Promises that ibm,os-term returns, so Linux calls it on panic (and we learn why). */
    TRY(fdt_property_u32(fdt, "ibm,extended-os-term", 1));
    for (unsigned i = 0; i < p->rtas->n; i++) {
        const char *name = p->rtas->svc[i]->name;
        if (strnlen(name, FDT_RTAS_NAME_MAX) == FDT_RTAS_NAME_MAX)
            return -FDT_ERR_BADVALUE;
        TRY(fdt_property_u32(fdt, name, RTAS_TOKEN_BASE + i));
    }
    return fdt_end_node(fdt);
}

#define RNG_REG (VTY_REG + 1)

static int node_vdevice(void *fdt)
{
    char name[32];
    TRY(fdt_begin_node(fdt, "vdevice"));
    TRY(fdt_property_string(fdt, "device_type", "vdevice"));
    TRY(fdt_property_string(fdt, "compatible", "IBM,vdevice"));
    TRY(fdt_property_u32(fdt, "#address-cells", 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    snprintf(name, sizeof(name), "vty@%x", VTY_REG);
    TRY(fdt_begin_node(fdt, name));    /* hvc_vio wants the node name to start with "vty" */
    TRY(fdt_property_string(fdt, "device_type", "serial"));
    TRY(fdt_property_string(fdt, "compatible", "hvterm1"));
    TRY(fdt_property_u32(fdt, "reg", VTY_REG));
    /* Input raises it (an edge: sense 0); without it hvc_vio polls H_GET_TERM_CHAR. */
    uint32_t vty_irq[2] = {VTY_IRQ, 0};
    TRY(fdt_property_u32(fdt, "interrupt-parent", XICS_PHANDLE));
    TRY(prop_cells(fdt, "interrupts", vty_irq, 2));
    TRY(fdt_end_node(fdt));
    /* H_RANDOM's device: Linux's pseries-rng (the guest's /dev/hwrng) binds to a vio node of
     * this type and compatible, and its platform code seeds the kernel's pool from it. vio
     * wants a reg; nothing is ever addressed by it. */
    snprintf(name, sizeof(name), "ibm,random-v1@%x", RNG_REG);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "ibm,random-v1"));
    TRY(fdt_property_string(fdt, "compatible", "ibm,random"));
    TRY(fdt_property_u32(fdt, "reg", RNG_REG));
    TRY(fdt_end_node(fdt));
    return fdt_end_node(fdt);
}

static int node_xics(void *fdt, const struct fdt_params *p)
{
    TRY(fdt_begin_node(fdt, "interrupt-controller"));
    TRY(fdt_property_string(fdt, "device_type", "PowerPC-External-Interrupt-Presentation"));
    TRY(fdt_property_string(fdt, "compatible", "IBM,ppc-xicp"));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    uint32_t range[2] = {0, p->ncpus * p->vcpu_id_stride};
    TRY(prop_cells(fdt, "ibm,interrupt-server-ranges", range, 2));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
    TRY(fdt_property_u32(fdt, "#address-cells", 0));   /* an interrupt provider, no children */
    TRY(fdt_property_u32(fdt, "linux,phandle", XICS_PHANDLE));
    TRY(fdt_property_u32(fdt, "phandle", XICS_PHANDLE));
    return fdt_end_node(fdt);
}

/* PCI "phys.hi" cell: space code (1 I/O, 2 32-bit memory), bus 0, device/function, register. */
#define PCI_PHYS_HI(space, devfn, reg) (((uint32_t)(space) << 24) | ((uint32_t)(devfn) << 8) | (reg))
#define PCI_NONRELOCATABLE 0x80000000u

static int node_pci_device(void *fdt, const struct pci_device *d)
{
    char name[32];
    uint32_t devfn = (uint32_t)d->slot << 3;
    snprintf(name, sizeof(name), "pci@%x", d->slot);
    TRY(fdt_begin_node(fdt, name));
    /* pseries Linux builds PCI devices from these properties, not from config space. */
    TRY(fdt_property_u32(fdt, "vendor-id", d->cfg[0] | d->cfg[1] << 8));
    TRY(fdt_property_u32(fdt, "device-id", d->cfg[2] | d->cfg[3] << 8));
    TRY(fdt_property_u32(fdt, "revision-id", d->cfg[8]));
    TRY(fdt_property_u32(fdt, "class-code", d->cfg[9] | d->cfg[10] << 8 | d->cfg[11] << 16));
    TRY(fdt_property_u32(fdt, "subsystem-vendor-id", d->cfg[0x2c] | d->cfg[0x2d] << 8));
    TRY(fdt_property_u32(fdt, "subsystem-id", d->cfg[0x2e] | d->cfg[0x2f] << 8));
    uint32_t reg[10] = {PCI_PHYS_HI(0, devfn, 0), 0, 0, 0, 0};
    unsigned n = 5;
    if (d->bar_size) {
        uint32_t bar[5] = {PCI_PHYS_HI(2, devfn, 0x10), 0, 0, (uint32_t)(d->bar_size >> 32),
                           (uint32_t)d->bar_size};
        memcpy(reg + 5, bar, sizeof(bar));
        n = 10;
        uint32_t assigned[5] = {PCI_NONRELOCATABLE | PCI_PHYS_HI(2, devfn, 0x10),
                                (uint32_t)(d->bar_bus >> 32), (uint32_t)d->bar_bus,
                                (uint32_t)(d->bar_size >> 32), (uint32_t)d->bar_size};
        TRY(prop_cells(fdt, "assigned-addresses", assigned, 5));
    }
    TRY(prop_cells(fdt, "reg", reg, n));
    TRY(fdt_property_u32(fdt, "interrupts", 1));   /* INTA, routed by the PHB's interrupt-map */
    /* How many MSI-X vectors the function wants: without it Linux's pseries code gives none. */
    if (d->msix)
        TRY(fdt_property_u32(fdt, "ibm,req#msi-x", d->msix->nvec));
    return fdt_end_node(fdt);
}

static int node_phb(void *fdt, const struct pci_host *h)
{
    char name[48];
    snprintf(name, sizeof(name), "pci@%llx", (unsigned long long)PHB_BUID);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "device_type", "pci"));
    TRY(fdt_property_string(fdt, "compatible", "IBM,Logical_PHB"));
    TRY(fdt_property_u32(fdt, "#address-cells", 3));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    TRY(fdt_property(fdt, "used-by-rtas", NULL, 0));
    uint32_t bus_range[2] = {0, 0};
    TRY(prop_cells(fdt, "bus-range", bus_range, 2));
    /* The BUID: the kernel passes it back in the ibm,*-pci-config RTAS calls. */
    TRY(prop_u64_pair(fdt, "reg", PHB_BUID, 0));
    uint32_t ranges[7] = {PCI_PHYS_HI(2, 0, 0), (uint32_t)(PHB_MEM_BUS >> 32), (uint32_t)PHB_MEM_BUS,
                          (uint32_t)(PHB_MEM_CPU >> 32), (uint32_t)PHB_MEM_CPU,
                          (uint32_t)(PHB_MEM_SIZE >> 32), (uint32_t)PHB_MEM_SIZE};
    TRY(prop_cells(fdt, "ranges", ranges, 7));
    /* INTA of slot n goes to XICS source PCI_IRQ_BASE + n, level-triggered (sense 8). */
    uint32_t mask[4] = {0xf800, 0, 0, 7};
    TRY(prop_cells(fdt, "interrupt-map-mask", mask, 4));
    uint32_t map[PCI_MAX_DEVICES * 7];
    for (unsigned i = 0; i < h->ndev; i++) {
        uint32_t e[7] = {(uint32_t)h->dev[i]->slot << 11, 0, 0, 1, XICS_PHANDLE, h->dev[i]->irq, 8};
        memcpy(map + 7 * i, e, sizeof(e));
    }
    TRY(prop_cells(fdt, "interrupt-map", map, 7 * h->ndev));
    /* The PHB's MSI budget, which Linux shares among its functions (without it, it falls back to
     * EEH's idea of a partitionable endpoint, which this PHB does not have). */
    TRY(fdt_property_u32(fdt, "ibm,pe-total-#msi", PCI_MAX_DEVICES * MSIX_MAX_VECTORS));
    for (unsigned i = 0; i < h->ndev; i++)
        TRY(node_pci_device(fdt, h->dev[i]));
    return fdt_end_node(fdt);
}

static int build(void *fdt, size_t size, const struct fdt_params *p)
{
    TRY(fdt_create(fdt, (int)size));
    TRY(fdt_add_reservemap_entry(fdt, p->rtas_base, p->rtas_size));
    TRY(fdt_finish_reservemap(fdt));
    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_string(fdt, "device_type", "chrp"));  /* else pseries never probes */
    TRY(fdt_property_string(fdt, "model", "minivmm,pseries"));
    TRY(fdt_property_string(fdt, "compatible", "minivmm,pseries"));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(node_chosen(fdt, p));
    TRY(node_memory(fdt, 0, p->rma_size));
    if (p->ram_size > p->rma_size)
        TRY(node_memory(fdt, p->rma_size, p->ram_size - p->rma_size));
    TRY(node_cpus(fdt, p));
    TRY(node_rtas(fdt, p));
    TRY(node_vdevice(fdt));
    TRY(node_xics(fdt, p));
    if (p->pci)
        TRY(node_phb(fdt, p->pci));
    TRY(fdt_begin_node(fdt, "hypervisor"));
    TRY(fdt_property_string(fdt, "compatible", "linux,kvm"));
    TRY(fdt_end_node(fdt));
    TRY(fdt_end_node(fdt));
    TRY(fdt_finish(fdt));
    /* The boot CPU is vCPU 0; the kernel BUG()s if this does not name one of its servers. */
    fdt_set_boot_cpuid_phys(fdt, 0);
    return 0;
}

static bool consistent(const struct fdt_params *p)
{
    return p->rma_size && p->rma_size <= p->ram_size && p->ncpus && p->vcpu_id_stride &&
           p->cpu_model && strnlen(p->cpu_model, FDT_CPU_MODEL_MAX) < FDT_CPU_MODEL_MAX &&
           p->rng_seed_len <= FDT_RNG_SEED_MAX && p->n_sps <= FDT_SPS_MAX &&
           p->n_radix_ap <= sizeof(p->radix_ap) / sizeof(p->radix_ap[0]) &&
           p->rtas && p->hypertas;
}

/* Starts with room for what usually fits (a vCPU takes 0.5 to 0.8 KiB) and doubles: a retry
 * only costs a rebuild, and the tree is small next to guest memory. */
int fdt_build(const struct fdt_params *p, struct fdt_blob *out, struct mvm_err *e)
{
    out->data = NULL;
    out->size = 0;
    if (!consistent(p))
        return mvm_fail(e, MVM_E_VMM, "device tree: inconsistent machine description");
    size_t args = p->bootargs ? strlen(p->bootargs) : 0;
    size_t size = 0x4000 + (size_t)p->ncpus * 0x400 + args;
    if (size > FDT_SIZE_LIMIT || args > FDT_SIZE_LIMIT || p->ncpus > FDT_SIZE_LIMIT / 0x400)
        size = FDT_SIZE_LIMIT;
    int r;
    for (;;) {
        void *buf = malloc(size);
        if (!buf)
            return mvm_fail(e, MVM_E_VMM, "out of memory");
        r = build(buf, size, p);
        if (r == 0) {
            out->data = buf;
            out->size = fdt_totalsize(buf);
            return 0;
        }
        free(buf);
        if (r != -FDT_ERR_NOSPACE || size >= FDT_SIZE_LIMIT)
            break;
        size = size * 2 < FDT_SIZE_LIMIT ? size * 2 : FDT_SIZE_LIMIT;
    }
    if (r == -FDT_ERR_NOSPACE)
        return mvm_fail(e, MVM_E_INPUT, "the device tree would exceed %u KiB (%u vCPUs, a "
                        "%zu-byte kernel command line): shorten the command line (-a)",
                        FDT_SIZE_LIMIT >> 10, p->ncpus, args);
    return mvm_fail(e, MVM_E_VMM, "device tree: %s%s", fdt_strerror(r),
                    r == -FDT_ERR_BADVALUE ? " (a value beyond the limits of fdt.h)" : "");
}
