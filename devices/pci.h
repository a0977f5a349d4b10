/* The sPAPR PCI host bridge: one PCI bus whose devices the guest learns from the device tree
 * (pseries Linux does not scan config space) and whose config space it reaches through RTAS
 * (read-pci-config, write-pci-config and their ibm, variants).
 *
 * Each device has a 256-byte config space shadow and up to one 32-bit memory BAR, placed once
 * at setup in the PHB's memory window; the guest keeps that placement (PCI probe-only).
 */
#ifndef MINIVMM_PCI_H
#define MINIVMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"

struct machine;
struct msix;

#define PCI_MAX_DEVICES 32          /* one function per slot on bus 0 */
#define PHB_BUID 0x800000020000000ULL
#define PHB_MEM_BUS 0x80000000ULL   /* bus address of the 32-bit memory window */
#define PHB_MEM_CPU 0x200080000000ULL   /* where the guest sees it (32 TiB + 2 GiB) */
#define PHB_MEM_SIZE 0x80000000ULL
#define PCI_IRQ_BASE 0x1000         /* XICS source of slot n's INTA: PCI_IRQ_BASE + n */
/* XICS sources of slot n's MSI-X vectors: PCI_MSI_BASE + n * MSIX_MAX_VECTORS + vector (all
 * in the same block of 1024 as the INTAs, one ICS for KVM). */
#define PCI_MSI_BASE 0x1100

struct pci_device;

struct pci_device_ops {
    /* Access to BAR 0; offset within the BAR, data little-endian. */
    bus_access_fn bar_access;
    /* Called after the guest wrote config space (after MSI-X, if the function has it, took
     * note of its control word). Optional. */
    void (*config_written)(struct pci_device *d, uint32_t offset, uint32_t len);
};

struct pci_device {
    uint8_t slot;
    uint8_t cfg[256];
    uint8_t cfg_wmask[256];        /* which bits the guest may change */
    uint64_t bar_bus, bar_size;    /* BAR 0 (0 size: none) */
    uint16_t cap_end;              /* first free config byte for capabilities */
    uint32_t irq;
    struct msix *msix;             /* NULL: INTx only (set by msix_init) */
    const struct pci_device_ops *ops;
    void *opaque;
    const char *name;              /* device-tree node name prefix, e.g. "virtio-blk" */
};

struct pci_host {
    struct pci_device *dev[PCI_MAX_DEVICES];
    unsigned ndev;
    uint64_t next_bar;              /* next free bus address in the memory window */
    uint64_t bad_accesses;          /* config accesses to nothing, or malformed (atomic) */
};

/* Fills in the header of d (vendor/device ids, class, one memory BAR of bar_size bytes
 * (a power of two >= 4 KiB, or 0), INTA), gives it the next slot, its IRQ and BAR address,
 * and maps the BAR on the bus. Returns 0 or -errno. */
int pci_add_device(struct pci_host *h, struct bus *bus, struct pci_device *d, uint16_t vendor,
                   uint16_t device, uint32_t class_code, uint16_t subsys_vendor,
                   uint16_t subsys_id, uint64_t bar_size);

/* Registers the RTAS config-space and MSI services in m->rtas (m->pci must point at h). */
int pci_register_rtas(struct machine *m);

/* Raw config access, as the RTAS calls perform it: returns false (and reads all-ones) for an
 * absent device or a bad size/alignment/offset. */
bool pci_config_read(struct pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off, uint32_t len,
                     uint32_t *val);
bool pci_config_write(struct pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off, uint32_t len,
                      uint32_t val);

/* One byte of config space. The bytes the guest may change are written by RTAS calls on any
 * vCPU and read outside any lock by the others (MMIO decoding) and by I/O threads (INTx), so
 * each is loaded and stored whole, atomically; none of those readers needs two bytes to
 * agree. (A guest's own 2- or 4-byte read may see half of another vCPU's write to the same
 * word: its own race, as on hardware.) */
static inline uint8_t pci_cfg_byte(const struct pci_device *d, uint32_t off)
{
    return __atomic_load_n(&d->cfg[off], __ATOMIC_RELAXED);
}

/* Whether the driver set Bus Master Enable in the command register: without it the function
 * may not write to memory, which is what an MSI-X message is. */
static inline bool pci_bus_master(const struct pci_device *d)
{
    return pci_cfg_byte(d, 0x04) & 0x04;   /* bit 2 of the command word */
}

/* Whether the driver set Interrupt Disable in the command register: INTx must stay down. */
static inline bool pci_intx_disabled(const struct pci_device *d)
{
    return pci_cfg_byte(d, 0x05) & 0x04;   /* bit 10 of the command word */
}

/* Appends a capability of `len` bytes (cap[0] = id; next pointer filled in) to d's list.
 * Returns its config offset, or -1 if config space is full. */
int pci_add_capability(struct pci_device *d, const uint8_t *cap, uint8_t len);

#endif
