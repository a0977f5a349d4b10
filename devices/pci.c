#include "pci.h"

#include <errno.h>
#include <string.h>

#include "../firmware/rtas.h"
#include "../vmm/machine.h"
#include "msix.h"

/* Config-space header offsets (PCI 3.0). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_COMMAND_WRITABLE 0x0547   /* IO, memory, bus master, parity, SERR, INTx disable */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_device *d = opaque;
    /* With memory decoding off the device does not answer. */
    if (!(pci_cfg_byte(d, PCI_COMMAND) & 0x2)) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    d->ops->bar_access(d, off, data, len, is_write);
}

int pci_add_device(struct pci_host *h, struct bus *bus, struct pci_device *d, uint16_t vendor,
                   uint16_t device, uint32_t class_code, uint16_t subsys_vendor,
                   uint16_t subsys_id, uint64_t bar_size)
{
    if (h->ndev == PCI_MAX_DEVICES)
        return -ENOSPC;
    if (bar_size && (bar_size < 0x1000 || (bar_size & (bar_size - 1)) || bar_size > PHB_MEM_SIZE))
        return -EINVAL;
    uint64_t bar = 0;
    if (bar_size) {
        /* BARs are naturally aligned. */
        bar = (PHB_MEM_BUS + h->next_bar + bar_size - 1) & ~(bar_size - 1);
        if (bar + bar_size > PHB_MEM_BUS + PHB_MEM_SIZE)
            return -ENOSPC;
        int r = bus_register(bus, PHB_MEM_CPU + (bar - PHB_MEM_BUS), bar_size, bar_access, d);
        if (r)
            return r;
        h->next_bar = bar + bar_size - PHB_MEM_BUS;
    }
    d->slot = (uint8_t)h->ndev;
    d->irq = PCI_IRQ_BASE + d->slot;
    d->msix = NULL;
    d->bar_bus = bar;
    d->bar_size = bar_size;
    memset(d->cfg, 0, sizeof(d->cfg));
    memset(d->cfg_wmask, 0, sizeof(d->cfg_wmask));
    put16(d->cfg + PCI_VENDOR_ID, vendor);
    put16(d->cfg + PCI_DEVICE_ID, device);
    d->cfg[PCI_REVISION_ID] = 1;
    d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
    put16(d->cfg + PCI_CLASS_PROG + 1, (uint16_t)(class_code >> 8));
    put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
    put16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
    d->cfg[PCI_INTERRUPT_PIN] = 1;   /* INTA */
    d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)d->irq;
    put16(d->cfg_wmask + PCI_COMMAND, PCI_COMMAND_WRITABLE);
    d->cfg_wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->cfg_wmask[PCI_INTERRUPT_LINE] = 0xff;
    if (bar_size) {
        /* A 32-bit memory BAR: the low bits are read-only zero, which is what sizing reads. */
        put32(d->cfg + PCI_BAR0, (uint32_t)bar);
        put32(d->cfg_wmask + PCI_BAR0, (uint32_t)~(bar_size - 1));
    }
    d->cap_end = 0x40;
    h->dev[h->ndev++] = d;
    return 0;
}

int pci_add_capability(struct pci_device *d, const uint8_t *cap, uint8_t len)
{
    if (len < 2 || d->cap_end + len > 256)
        return -1;
    uint8_t off = (uint8_t)d->cap_end;
    memcpy(d->cfg + off, cap, len);
    d->cfg[off + 1] = 0;
    /* Link it at the end of the list. */
    uint8_t *link = &d->cfg[PCI_CAPABILITY_LIST];
    while (*link)
        link = &d->cfg[*link + 1];
    *link = off;
    d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    d->cap_end = (uint16_t)((off + len + 3) & ~3);
    return off;
}

static struct pci_device *find(struct pci_host *h, uint32_t bus, uint32_t devfn)
{
    /* Bus 0 only, function 0 only. */
    if (bus != 0 || (devfn & 7) || (devfn >> 3) >= h->ndev)
        return NULL;
    return h->dev[devfn >> 3];
}

static bool access_ok(uint32_t off, uint32_t len)
{
    return (len == 1 || len == 2 || len == 4) && off % len == 0 && off < 256 && len <= 256 - off;
}

bool pci_config_read(struct pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off, uint32_t len,
                     uint32_t *val)
{
    struct pci_device *d = find(h, bus, devfn);
    if (!d || !access_ok(off, len)) {
        __atomic_add_fetch(&h->bad_accesses, 1, __ATOMIC_RELAXED);
        *val = len == 1 ? 0xff : len == 2 ? 0xffff : 0xffffffff;
        return false;
    }
    uint32_t v = 0;
    for (uint32_t i = 0; i < len; i++)
        v |= (uint32_t)pci_cfg_byte(d, off + i) << (8 * i);
    *val = v;
    return true;
}

bool pci_config_write(struct pci_host *h, uint32_t bus, uint32_t devfn, uint32_t off, uint32_t len,
                      uint32_t val)
{
    struct pci_device *d = find(h, bus, devfn);
    if (!d || !access_ok(off, len)) {
        __atomic_add_fetch(&h->bad_accesses, 1, __ATOMIC_RELAXED);
        return false;
    }
    /* Two vCPUs may write at once (a hostile guest's RTAS calls): the last store of each byte
     * wins, and the hooks below read what config space holds when they run. */
    for (uint32_t i = 0; i < len; i++) {
        uint8_t m = d->cfg_wmask[off + i], b = (uint8_t)(val >> (8 * i));
        uint8_t now = (uint8_t)((pci_cfg_byte(d, off + i) & ~m) | (b & m));
        __atomic_store_n(&d->cfg[off + i], now, __ATOMIC_RELAXED);
    }
    if (d->msix)
        msix_config_written(d->msix);
    if (d->ops->config_written)
        d->ops->config_written(d, off, len);
    return true;
}

/* ---- RTAS: the config-space calls. config_addr = reg[11:8]<<20 | bus<<16 | devfn<<8 | reg[7:0] */

static void decode(uint32_t addr, uint32_t *bus, uint32_t *devfn, uint32_t *reg)
{
    *reg = ((addr >> 20) & 0xf00) | (addr & 0xff);
    *bus = (addr >> 16) & 0xff;
    *devfn = (addr >> 8) & 0xff;
}

static int32_t config_read(struct machine *m, uint32_t addr, uint32_t size, uint32_t *rets)
{
    uint32_t bus, devfn, reg;
    decode(addr, &bus, &devfn, &reg);
    return pci_config_read(m->pci, bus, devfn, reg, size, &rets[1]) ? RTAS_OK : RTAS_HW_ERROR;
}

static int32_t config_write(struct machine *m, uint32_t addr, uint32_t size, uint32_t val)
{
    uint32_t bus, devfn, reg;
    decode(addr, &bus, &devfn, &reg);
    return pci_config_write(m->pci, bus, devfn, reg, size, val) ? RTAS_OK : RTAS_HW_ERROR;
}

static bool our_buid(const uint32_t *hi_lo)
{
    return (((uint64_t)hi_lo[0] << 32) | hi_lo[1]) == PHB_BUID;
}

static int32_t rtas_read_pci_config(struct machine *m, int cpu, const uint32_t *args,
                                    unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)nret;
    return config_read(m, args[0], args[1], rets);
}

static int32_t rtas_write_pci_config(struct machine *m, int cpu, const uint32_t *args,
                                     unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    return config_write(m, args[0], args[1], args[2]);
}

static int32_t rtas_ibm_read_pci_config(struct machine *m, int cpu, const uint32_t *args,
                                        unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)nret;
    if (!our_buid(args + 1))
        return RTAS_PARAM_ERROR;
    return config_read(m, args[0], args[3], rets);
}

static int32_t rtas_ibm_write_pci_config(struct machine *m, int cpu, const uint32_t *args,
                                         unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    if (!our_buid(args + 1))
        return RTAS_PARAM_ERROR;
    return config_write(m, args[0], args[3], args[4]);
}

/* ---- RTAS: MSI. Linux's pseries code asks for a function's vectors, then for the source
 * of each; the messages are ours to write (msix.h). Only MSI-X exists here. */

#define CHANGE_FN 1            /* ibm,change-msi functions (PAPR; Linux's names) */
#define CHANGE_MSI_FN 3
#define CHANGE_MSIX_FN 4
#define CHANGE_32MSI_FN 5
#define RTAS_TYPE_MSIX 2       /* the interrupt type change-msi may return */

static struct pci_device *msi_device(struct machine *m, const uint32_t *args)
{
    uint32_t bus, devfn, reg;
    decode(args[0], &bus, &devfn, &reg);
    struct pci_device *d = our_buid(args + 1) ? find(m->pci, bus, devfn) : NULL;
    return d && d->msix ? d : NULL;
}

/* config_addr, BUID (2), function, count, sequence -> count, sequence[, type]. A count of 0
 * takes every vector back, whichever function asks (Linux disables with the MSI one). */
static int32_t rtas_change_msi(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                               uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs;
    struct pci_device *d = msi_device(m, args);
    uint32_t fn = args[3], n = args[4];
    if (!d)
        return RTAS_PARAM_ERROR;
    if (n > 0 && fn != CHANGE_MSIX_FN)
        return RTAS_PARAM_ERROR;   /* MSI (32- or 64-bit) or the old interface: no MSI cap */
    if (n == 0 && fn != CHANGE_FN && fn != CHANGE_MSI_FN && fn != CHANGE_MSIX_FN &&
        fn != CHANGE_32MSI_FN)
        return RTAS_PARAM_ERROR;   /* query and reset: not ours to do */
    rets[1] = msix_assign(d->msix, n);   /* fewer than asked: Linux asks again for that */
    rets[2] = args[5] + 1;
    if (nret > 3)
        rets[3] = RTAS_TYPE_MSIX;
    return RTAS_OK;
}

/* config_addr, BUID (2), vector -> source, sense (1: edge). */
static int32_t rtas_query_source(struct machine *m, int cpu, const uint32_t *args,
                                 unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)nret;
    struct pci_device *d = msi_device(m, args);
    int64_t irq = d ? msix_source(d->msix, args[3]) : -1;
    if (irq < 0)
        return RTAS_PARAM_ERROR;
    rets[1] = (uint32_t)irq;
    rets[2] = 1;
    return RTAS_OK;
}

static const struct rtas_service pci_rtas[] = {
    {"read-pci-config", rtas_read_pci_config, 2, 2},
    {"write-pci-config", rtas_write_pci_config, 3, 1},
    {"ibm,read-pci-config", rtas_ibm_read_pci_config, 4, 2},
    {"ibm,write-pci-config", rtas_ibm_write_pci_config, 5, 1},
    {"ibm,change-msi", rtas_change_msi, 6, 3},
    {"ibm,query-interrupt-source-number", rtas_query_source, 4, 3},
};

int pci_register_rtas(struct machine *m)
{
    for (size_t i = 0; i < sizeof(pci_rtas) / sizeof(pci_rtas[0]); i++)
        if (rtas_register(m->rtas, &pci_rtas[i]) < 0)
            return -ENOSPC;
    return 0;
}
