/* Shared by the libFuzzer harnesses: a pseries machine with fake hypervisor operations that
 * only record (nothing aborts), calloc'd guest RAM (ASan sees every byte past its end), and a
 * little reader that turns the fuzzer's bytes into values.
 *
 * Input convention of the machine-level targets: data[0] = n, data[1..1+n) is the "program"
 * (values the harness consumes), and everything after it is copied to guest physical 0.
 */
#ifndef MINIVMM_FUZZ_COMMON_H
#define MINIVMM_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/hcall.h"
#include "../../devices/pci.h"
#include "../../devices/vty.h"
#include "../../firmware/rtas.h"
#include "../../vmm/bus.h"
#include "../../vmm/err.h"
#include "../../vmm/machine.h"

#define FZ_UNUSED __attribute__((unused))
#define FZ_NCPUS 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- reading the input ---- */

struct fz {
    const uint8_t *p;
    size_t n;
};

/* The next `bytes` (<= 8) bytes as a little-endian value; missing bytes read as zero. */
static FZ_UNUSED uint64_t fz_take(struct fz *f, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && f->n; i++, f->p++, f->n--)
        v |= (uint64_t)*f->p << (8 * i);
    return v;
}
#define fz_u8(f) ((uint8_t)fz_take(f, 1))
#define fz_u16(f) ((uint16_t)fz_take(f, 2))
#define fz_u32(f) ((uint32_t)fz_take(f, 4))
#define fz_u64(f) fz_take(f, 8)

/* One byte that stands for itself below 0xe0, else for a boundary value: 0xe0 + 4 * i + k is
 * edge[i] + {0, 1, -1, -4}[k], so that sums and differences at the ends of ranges get tried. */
static FZ_UNUSED uint64_t fz_small(struct fz *f)
{
    static const uint64_t edge[8] = {1ULL << 63, 0, 1ULL << 32, 1ULL << 31, 1ULL << 16,
                                     0xc000000000000000ULL, 256, 4096};
    static const int64_t delta[4] = {0, 1, -1, -4};
    uint8_t b = fz_u8(f);
    if (b < 0xe0)
        return b;
    return edge[(b - 0xe0) / 4] + (uint64_t)delta[(b - 0xe0) % 4];
}

/* Splits an input into the program and the guest-memory image (see the top of the file). */
static FZ_UNUSED void fz_split(const uint8_t *data, size_t size, struct fz *prog, struct fz *mem)
{
    if (size == 0) {
        *prog = *mem = (struct fz){data, 0};
        return;
    }
    size_t n = data[0] < size - 1 ? data[0] : size - 1;
    *prog = (struct fz){data + 1, n};
    *mem = (struct fz){data + 1 + n, size - 1 - n};
}

/* ---- fake hypervisor operations ---- */

static struct {
    int mmu_ret, char_ret;            /* what configure_mmu / cpu_characteristics return */
    int cpu_state[FZ_NCPUS];
    unsigned calls, shutdowns, irq_sets, msis, commands;
    uint32_t msi_irq;                /* the source of the last message */
    enum mvm_status status;
} fz_fake;

static FZ_UNUSED int fz_configure_mmu(struct machine *m, bool radix, bool gtse, uint64_t pt)
{
    (void)m, (void)radix, (void)gtse, (void)pt;
    fz_fake.calls++;
    return fz_fake.mmu_ret;
}

static FZ_UNUSED int fz_set_lpcr(struct machine *m, int cpu, uint64_t mask, uint64_t val)
{
    (void)m, (void)cpu, (void)mask, (void)val;
    fz_fake.calls++;
    return 0;
}

static FZ_UNUSED int fz_start_cpu(struct machine *m, uint32_t cpu, uint64_t pc, uint64_t r3)
{
    (void)pc, (void)r3;
    if (cpu >= m->ncpus)
        return -ENOENT;
    if (fz_fake.cpu_state[cpu] != CPU_STOPPED)
        return -EBUSY;
    fz_fake.cpu_state[cpu] = CPU_RUNNING;
    return 0;
}

static FZ_UNUSED int fz_set_sprg0(struct machine *m, int cpu, uint64_t val)
{
    (void)m, (void)cpu, (void)val;
    return 0;
}

static FZ_UNUSED int fz_cpu_state(struct machine *m, uint32_t cpu)
{
    return cpu < m->ncpus ? fz_fake.cpu_state[cpu] : -ENOENT;
}

static FZ_UNUSED void fz_stop_self(struct machine *m, int cpu)
{
    if (cpu >= 0 && (unsigned)cpu < m->ncpus)
        fz_fake.cpu_state[cpu] = CPU_STOPPED;
}

static FZ_UNUSED int fz_cpu_characteristics(struct machine *m, uint64_t *c, uint64_t *b)
{
    (void)m;
    *c = 0x00000000c8000000ULL, *b = 0xe000000000000000ULL;
    return fz_fake.char_ret;
}

static FZ_UNUSED int fz_irq_set(struct machine *m, uint32_t irq, int level)
{
    (void)m, (void)irq, (void)level;
    fz_fake.irq_sets++;
    return 0;
}

static FZ_UNUSED int fz_msi(struct machine *m, uint32_t irq)
{
    (void)m;
    fz_fake.msis++;
    fz_fake.msi_irq = irq;
    return 0;
}

static FZ_UNUSED void fz_shutdown(struct machine *m, enum mvm_status status, const char *why)
{
    (void)m, (void)why;
    if (!fz_fake.shutdowns++)
        fz_fake.status = status;
}

static FZ_UNUSED void fz_command_ended(struct machine *m, int status, const char *why)
{
    (void)m, (void)status, (void)why;
    fz_fake.commands++;
}

static FZ_UNUSED const struct machine_ops fz_ops = {
    .configure_mmu = fz_configure_mmu, .set_lpcr = fz_set_lpcr, .set_sprg0 = fz_set_sprg0,
    .start_cpu = fz_start_cpu,
    .cpu_state = fz_cpu_state, .stop_self = fz_stop_self,
    .cpu_characteristics = fz_cpu_characteristics, .irq_set = fz_irq_set, .msi = fz_msi,
    .shutdown = fz_shutdown,
    .command_ended = fz_command_ended,
};

/* ---- the machine ---- */

/* /dev/null, opened once: console output and diagnostics go there. */
static FZ_UNUSED int fz_null_fd(void)
{
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}

/* A fresh machine: `ram` bytes of RAM holding `mem` (the rest zero), a PCI host bridge with
 * no devices, the vty on /dev/null and minivmm's own RTAS services. */
static FZ_UNUSED struct machine *fz_machine_new(uint64_t ram, const struct fz *mem)
{
    memset(&fz_fake, 0, sizeof(fz_fake));
    fz_fake.cpu_state[0] = CPU_RUNNING;
    struct machine *m = calloc(1, sizeof(*m));
    struct pci_host *h = calloc(1, sizeof(*h));
    uint8_t *host = calloc(1, ram);
    if (!m || !h || !host || !(m->vty = calloc(1, sizeof(*m->vty))) ||
        !(m->rtas = calloc(1, sizeof(*m->rtas))))
        abort();
    if (mem)
        memcpy(host, mem->p, mem->n < ram ? mem->n : ram);
    m->mem = (struct guest_mem){.host = host, .size = ram, .page_size = 4096};
    m->ncpus = FZ_NCPUS;
    vty_init(m->vty, fz_null_fd());
    rtas_init(m->rtas);
    m->pci = h;
    m->ops = &fz_ops;
    m->log_fd = fz_null_fd();
    return m;
}

static FZ_UNUSED void fz_machine_free(struct machine *m)
{
    vty_destroy(m->vty);
    free(m->vty);
    free(m->rtas);
    free(m->mem.host);
    free(m->pci);
    free(m);
}

/* A plain PCI device whose BAR (if any) accepts everything. */
static FZ_UNUSED void fz_bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
                                    bool is_write)
{
    (void)opaque, (void)off;
    if (!is_write)
        memset(data, 0xa5, len);
}

static FZ_UNUSED void fz_config_written(struct pci_device *d, uint32_t off, uint32_t len)
{
    (void)d, (void)off, (void)len;
    fz_fake.calls++;
}

static FZ_UNUSED const struct pci_device_ops fz_pci_ops = {
    .bar_access = fz_bar_access, .config_written = fz_config_written,
};

/* Where the CPU sees BAR 0 of d. */
static FZ_UNUSED uint64_t fz_bar(const struct pci_device *d)
{
    return PHB_MEM_CPU + (d->bar_bus - PHB_MEM_BUS);
}

/* One MMIO access of len (1..8) bytes; a read returns the little-endian value. */
static FZ_UNUSED uint64_t fz_mmio(struct machine *m, uint64_t addr, uint32_t len, bool is_write,
                                  uint64_t val)
{
    uint8_t d[8] = {0};
    for (unsigned i = 0; i < 8; i++)
        d[i] = (uint8_t)(val >> (8 * i));
    bus_access(&m->bus, addr, d, len, is_write);
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)d[i] << (8 * i);
    return v;
}

/* ---- a virtio driver whose every value comes from the input ---- */

#define FZ_MMIO_LEN(b) ((uint32_t)1 << ((b) & 3))

/* The driver bring-up of virtio 1.x (reset, ACKNOWLEDGE|DRIVER, features, FEATURES_OK, the
 * queues, DRIVER_OK) through BAR 0 of d; sizes, ring addresses, features and the final status
 * are read from `in`. Memory decoding is switched on first. */
static FZ_UNUSED void fz_virtio_setup(struct machine *m, struct pci_device *d, unsigned nq,
                                      struct fz *in)
{
    uint64_t bar = fz_bar(d);
    uint8_t flags = fz_u8(in);
    pci_config_write(m->pci, 0, (uint32_t)d->slot << 3, 4, 2, 2);
    fz_mmio(m, bar + 0x14, 1, true, 0);
    fz_mmio(m, bar + 0x14, 1, true, 1);
    fz_mmio(m, bar + 0x14, 1, true, 3);
    fz_mmio(m, bar + 0x08, 4, true, 0);
    fz_mmio(m, bar + 0x0c, 4, true, fz_u32(in));
    fz_mmio(m, bar + 0x08, 4, true, 1);
    fz_mmio(m, bar + 0x0c, 4, true, fz_u32(in) ^ 1);   /* 0 in the input: VERSION_1 */
    fz_mmio(m, bar + 0x14, 1, true, 0xb);
    for (unsigned q = 0; q < nq; q++) {
        fz_mmio(m, bar + 0x16, 2, true, q);
        fz_mmio(m, bar + 0x18, 2, true, fz_u16(in));
        for (unsigned r = 0; r < 3; r++) {   /* desc, avail, used: low and high halves */
            fz_mmio(m, bar + 0x20 + 8 * r, 4, true, fz_u16(in));
            fz_mmio(m, bar + 0x24 + 8 * r, 4, true, (flags & 0x80) ? fz_u32(in) : 0);
        }
        fz_mmio(m, bar + 0x1c, 2, true, 1);
    }
    fz_mmio(m, bar + 0x14, 1, true, (flags & 0x40) ? fz_u8(in) : 0xf);
}

/* One generic driver action from the input: a BAR access anywhere near d (op 0/1), a queue
 * notification (op 2), or nothing (returns the op for the device-specific actions). */
static FZ_UNUSED unsigned fz_virtio_op(struct machine *m, struct pci_device *d, struct fz *in)
{
    uint8_t op = fz_u8(in);
    uint64_t bar = fz_bar(d);
    switch (op & 7) {
    case 0:
    case 1:
        fz_mmio(m, bar + (fz_u16(in) & 0x1fff), FZ_MMIO_LEN(op >> 3), op & 1, fz_u32(in));
        return 8;
    case 2:
        fz_mmio(m, bar + 0x300 + 4 * ((op >> 3) & 3), 2, true, 0);
        return 8;
    default:
        return op & 7;
    }
}

/* The LLVMFuzzerInitialize every harness that prints needs: open /dev/null once. */
#define FZ_DEFINE_INITIALIZE()                                  \
    int LLVMFuzzerInitialize(int *argc, char ***argv)           \
    {                                                           \
        (void)argc, (void)argv;                                 \
        if (fz_null_fd() < 0)                                   \
            abort();                                            \
        return 0;                                               \
    }

/* A machine with one virtio-blk-like PCI device (config space and a BAR, no device model)
 * and the RTAS PCI services registered. */
static FZ_UNUSED struct machine *fz_machine_with_pci(uint64_t ram, const struct fz *mem,
                                                    struct pci_device *dev)
{
    struct machine *m = fz_machine_new(ram, mem);
    *dev = (struct pci_device){.ops = &fz_pci_ops};
    if (pci_add_device(m->pci, &m->bus, dev, 0x1af4, 0x1042, 0x018000, 0x1af4, 2, 0x1000) ||
        pci_register_rtas(m))
        abort();
    return m;
}

#endif
