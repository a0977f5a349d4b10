/* The PCI host bridge: config-space reads and writes (pci_config_read/write) and MMIO to the
 * BARs (bus_access), in sequences from the input. Three devices: one with a plain BAR, one
 * without a BAR and a virtio console (the real BAR 0 of the virtio transport, with its MSI-X
 * capability, table and pending bits; the firmware's ibm,change-msi and
 * ibm,query-interrupt-source-number, with arguments from the input, and the device signalling
 * a vector are more operations). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/hcall.h"
#include "../../devices/msix.h"
#include "../../firmware/rtas.h"
#include "../../devices/virtio_console.h"
#include "../../devices/virtio_pci.h"
#include "fuzz_common.h"

#define RAM 0x10000u
#define MAX_OPS 128

static const uint32_t cfg_lens[8] = {1, 2, 4, 4, 0, 3, 8, 2};
static const uint32_t bus_lens[8] = {1, 2, 4, 8, 0, 3, 16, 4};

FZ_DEFINE_INITIALIZE()

/* One of the MSI RTAS calls, its buffer (big-endian cells) in guest RAM from the input. */
static void msi_rtas(struct machine *m, uint8_t sel, struct fz *in)
{
    static const char *const names[2] = {"ibm,change-msi", "ibm,query-interrupt-source-number"};
    uint32_t cells[3 + RTAS_MAX_CELLS] = {(uint32_t)rtas_token(m->rtas, names[sel & 1]),
                                          fz_u8(in) % 8, fz_u8(in) % 8};
    /* Arguments as Linux passes them (the console in slot 2, MSI-X, a count or vector), or
     * anything. */
    uint32_t linux_args[6] = {2 << 11, PHB_BUID >> 32, (uint32_t)PHB_BUID, 4, fz_u8(in) % 20, 1};
    for (unsigned i = 3; i < 3 + RTAS_MAX_CELLS; i++)
        cells[i] = (sel & 2) ? fz_u32(in) : linux_args[(i - 3) % 6];
    for (unsigned i = 0; i < 3 + RTAS_MAX_CELLS; i++)
        for (unsigned b = 0; b < 4; b++)
            m->mem.host[0x100 + 4 * i + b] = (uint8_t)(cells[i] >> (24 - 8 * b));
    uint64_t args[9] = {0x100};
    hcall_dispatch(m, 0, KVMPPC_H_RTAS, args);
}

/* A config-space offset: inside the 256 bytes, near a boundary, in the RTAS range, or anything. */
static uint32_t cfg_off(uint8_t sel, struct fz *in)
{
    switch (sel & 3) {
    case 0: return fz_u8(in);
    case 1: return (uint32_t)fz_small(in);
    case 2: return fz_u16(in) & 0xfff;
    default: return fz_u32(in);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog = {data, size};
    struct machine *m = fz_machine_new(RAM, NULL);
    struct pci_device dev[2] = {{.ops = &fz_pci_ops}, {.ops = &fz_pci_ops}};
    struct virtio_console *c;
    struct mvm_err e = {0};
    if (pci_add_device(m->pci, &m->bus, &dev[0], 0x1234, 0x5678, 0x010802, 0xabcd, 1, 0x4000) ||
        pci_add_device(m->pci, &m->bus, &dev[1], 0x1111, 0x2222, 0x020000, 0, 0, 0) ||
        virtio_console_create(&c, m, fz_null_fd(), &e) || pci_register_rtas(m))
        abort();
    struct pci_device *devs[3] = {&dev[0], &dev[1], &virtio_console_dev(c)->pci};

    for (unsigned i = 0; i < MAX_OPS && prog.n; i++) {
        uint8_t op = fz_u8(&prog), sel = fz_u8(&prog);
        uint32_t bus = (sel & 0x80) ? fz_u8(&prog) : 0;
        uint32_t devfn = (sel & 0x40) ? fz_u8(&prog) : ((sel >> 2) % 4) << 3;
        struct msix *x = devs[2]->msix;
        unsigned sent_before = fz_fake.msis;
        if (op == 0xff) {   /* the firmware gives the console vectors (0: takes them back) */
            if (msix_assign(x, sel % (MSIX_MAX_VECTORS + 2)) > x->nvec)
                abort();
        } else if (op == 0xfe) {
            msi_rtas(m, sel, &prog);
        } else if (op == 0xfd) {   /* the device signals a vector (or none) */
            msix_notify(x, sel < 0xf0 ? sel % (MSIX_MAX_VECTORS + 2) : 0xffff);
        } else if (op & 2) {   /* config space */
            uint32_t off = cfg_off(sel, &prog), len = cfg_lens[(op >> 2) & 7], val = 0;
            bool ok = (op & 1) ? pci_config_write(m->pci, bus, devfn, off, len, fz_u32(&prog))
                               : pci_config_read(m->pci, bus, devfn, off, len, &val);
            if (!ok && !(op & 1) && val != (len == 1 ? 0xff : len == 2 ? 0xffff : 0xffffffff))
                abort();   /* a failed read reads as all-ones */
        } else {        /* MMIO: near a device's BAR, or anywhere */
            const struct pci_device *d = devs[((sel >> 2) & 3) % 3];
            uint64_t addr = (sel & 0x20) ? fz_u64(&prog) : fz_bar(d) + fz_u16(&prog);
            uint8_t buf[16];
            memset(buf, 0x33, sizeof(buf));
            for (unsigned j = 0; j < 8; j++)
                buf[j] = (uint8_t)fz_take(&prog, 1);
            bus_access(&m->bus, addr, buf, bus_lens[(op >> 2) & 7], op & 1);
        }
        /* Nothing pends beyond the table, and a message goes only to a source the firmware gave
         * this function (no operation both sends and changes what it gave). */
        if ((x->pending >> x->nvec) || x->sent != fz_fake.msis ||
            (fz_fake.msis != sent_before && fz_fake.msi_irq - x->first_irq >= x->assigned))
            abort();
    }
    virtio_console_destroy(c);
    fz_machine_free(m);
    return 0;
}
