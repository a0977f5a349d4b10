/* The MMIO bus (bus_register, bus_access) and the sPAPR PCI host bridge: config space, BAR
 * placement and decoding, capabilities, and the RTAS config-space calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/hcall.h"
#include "../../devices/pci.h"
#include "../../vmm/bus.h"
#include "fake_machine.h"

#define BUF 0x4000u


/* ---- recording callbacks ---- */

static struct {
    int calls, cfg_calls;
    void *opaque;
    uint64_t off;
    uint32_t len, cfg_off, cfg_len;
    bool is_write;
} rec;   /* what the callbacks saw last */

static void rec_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    rec.calls++, rec.opaque = opaque, rec.off = off, rec.len = len, rec.is_write = is_write;
    if (!is_write)
        memset(data, 0xab, len);
}

static void rec_config_written(struct pci_device *d, uint32_t off, uint32_t len)
{
    (void)d;
    rec.cfg_calls++, rec.cfg_off = off, rec.cfg_len = len;
}

static const struct pci_device_ops rec_ops = {.bar_access = rec_access,
                                              .config_written = rec_config_written};

static struct bus bus;
static struct pci_host host;
static struct pci_device dev[PCI_MAX_DEVICES + 1];

#define REG(base, size) bus_register(&bus, base, size, rec_access, &x)
/* pci_add_device of dev[i] on m.bus */
#define ADD(i, ...) pci_add_device(&host, &m.bus, &dev[i], __VA_ARGS__)

static int setup_all(void **state)
{
    memset(&rec, 0, sizeof(rec));
    memset(&bus, 0, sizeof(bus));
    memset(&host, 0, sizeof(host));
    memset(dev, 0, sizeof(dev));
    for (unsigned i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
        dev[i].ops = &rec_ops;
    if (setup(state))
        return -1;
    m.pci = &host;
    return 0;
}

/* ---- bus ---- */

static void test_bus_register(void **state)
{
    (void)state;
    int x;
    assert_int_equal(REG(0x10000, 0), -EINVAL);
    assert_int_equal(REG(UINT64_MAX - 0xfff, 0x1000), -EINVAL);
    assert_int_equal(REG(UINT64_MAX, 2), -EINVAL);
    assert_int_equal(REG(0x10000, 0x1000), 0);
    static const uint64_t overlap[][2] = {
        {0x10800, 0x1000} /* tail */, {0xf800, 0x1000} /* head */, {0x10100, 0x10} /* inside */,
        {0xf000, 0x10000} /* around */, {0x10000, 0x1000} /* same */, {0x10fff, 1} /* last */,
        {0xf001, 0x1000} /* first byte */, {0x10000, 1},
    };
    for (size_t i = 0; i < sizeof(overlap) / sizeof(overlap[0]); i++)
        assert_int_equal(REG(overlap[i][0], overlap[i][1]), -EEXIST);
    assert_int_equal(bus.n, 1);
    assert_int_equal(REG(0xf000, 0x1000), 0);           /* adjacent */
    assert_int_equal(REG(0x11000, 0x1000), 0);
    assert_int_equal(bus.n, 3);
    for (uint64_t i = 3; i < BUS_MAX_REGIONS; i++)
        assert_int_equal(REG(0x100000 * i, 0x1000), 0);
    assert_int_equal(REG(0x7000000000, 0x1000), -ENOSPC);
    assert_int_equal(bus.n, BUS_MAX_REGIONS);
}

static void test_bus_access_claimed(void **state)
{
    (void)state;
    int a, b;
    uint8_t data[8] = {0};
    assert_int_equal(bus_register(&bus, 0x10000, 0x1000, rec_access, &a), 0);
    assert_int_equal(bus_register(&bus, 0x20000, 0x100, rec_access, &b), 0);
    assert_true(bus_access(&bus, 0x10010, data, 4, false));
    assert_true(rec.calls == 1 && rec.opaque == &a && rec.off == 0x10 && rec.len == 4 &&
                !rec.is_write);
    assert_int_equal(data[0], 0xab);
    assert_int_equal(data[3], 0xab);
    assert_true(bus_access(&bus, 0x10ff8, data, 8, true));   /* ends exactly at the end */
    assert_true(rec.off == 0xff8 && rec.len == 8 && rec.is_write);
    assert_true(bus_access(&bus, 0x200ff, data, 1, false));
    assert_true(rec.opaque == &b && rec.off == 0xff && rec.len == 1);
    assert_true(bus_access(&bus, 0x20000, data, 2, true));
    assert_true(rec.off == 0 && rec.len == 2);
    assert_int_equal(rec.calls, 4);
    assert_int_equal(bus.unclaimed, 0);
}

/* An access nobody takes: returns false, reads set the first `ff` bytes of a 16-byte buffer to
 * all-ones and leave the rest alone (nothing beyond 8 bytes, KVM's mmio.data, is touched). */
static void miss(uint64_t addr, uint32_t len, bool is_write, unsigned ff)
{
    uint8_t data[16];
    uint64_t before = bus.unclaimed;
    memset(data, 0x11, sizeof(data));
    assert_false(bus_access(&bus, addr, data, len, is_write));
    for (unsigned i = 0; i < sizeof(data); i++)
        assert_int_equal(data[i], i < ff ? 0xff : 0x11);
    assert_int_equal(bus.unclaimed, before + 1);
}

static void test_bus_access_unclaimed(void **state)
{
    (void)state;
    int x;
    uint8_t data[8];
    assert_int_equal(REG(0x10000, 0x1000), 0);
    miss(0x10ffc, 8, false, 8);       /* straddles the end of the region */
    miss(0x10fff, 2, false, 2);
    miss(0x10000, 3, false, 3);       /* not a bus width */
    miss(0x10000, 16, false, 8);
    miss(0x10000, 0, false, 0);
    miss(0x30000, 4, false, 4);       /* nothing there */
    miss(0x30000, 4, true, 0);        /* a dropped write */
    miss(0xffff, 2, true, 0);         /* starts just before the region */
    assert_int_equal(rec.calls, 0);

    /* [UINT64_MAX - 0xfff, UINT64_MAX): no end computation may overflow */
    assert_int_equal(REG(UINT64_MAX - 0xfff, 0xfff), 0);
    miss(UINT64_MAX - 3, 8, false, 8);
    miss(UINT64_MAX, 1, false, 1);
    miss(UINT64_MAX - 1, 2, false, 2);
    assert_int_equal(rec.calls, 0);
    assert_true(bus_access(&bus, UINT64_MAX - 8, data, 8, false));
    assert_true(rec.off == 0xff7 && rec.len == 8);
    assert_true(bus_access(&bus, UINT64_MAX - 1, data, 1, false));
    assert_int_equal(bus.unclaimed, 11);
}

/* ---- PCI ---- */

static uint32_t cfg_rd(unsigned slot, uint32_t off, uint32_t len)
{
    uint32_t v = 0x5a5a5a5a;
    assert_true(pci_config_read(&host, 0, slot << 3, off, len, &v));
    return v;
}

static void cfg_wr(unsigned slot, uint32_t off, uint32_t len, uint32_t val)
{
    assert_true(pci_config_write(&host, 0, slot << 3, off, len, val));
}

static void test_pci_header(void **state)
{
    (void)state;
    static const struct { unsigned slot; uint32_t off, len, val; } want[] = {
        {1, 0, 2, 0x1234}, {1, 2, 2, 0x5678}, {1, 0, 4, 0x56781234},
        {1, 8, 4, 0x01080201} /* class, prog-if, revision 1 */, {1, 9, 1, 0x02}, {1, 10, 1, 0x08},
        {1, 11, 1, 0x01}, {1, 0x2c, 2, 0xabcd}, {1, 0x2e, 2, 0xef01}, {0, 0x2c, 4, 0x00021af4},
    };
    assert_int_equal(ADD(0, 0x1af4, 0x1042, 0x018000, 0x1af4, 2, 0x1000), 0);
    assert_int_equal(ADD(1, 0x1234, 0x5678, 0x010802, 0xabcd, 0xef01, 0x4000), 0);
    assert_int_equal(ADD(2, 0x1111, 0x2222, 0x020000, 0, 0, 0x10000), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(cfg_rd(want[i].slot, want[i].off, want[i].len), want[i].val);
    assert_true(dev[1].cfg[0] == 0x34 && dev[1].cfg[1] == 0x12);   /* little-endian */
    for (unsigned i = 0; i < 3; i++) {
        struct pci_device *d = &dev[i];
        assert_true(d->slot == i && host.dev[i] == d && d->irq == PCI_IRQ_BASE + i);
        assert_int_equal(cfg_rd(i, 0x3d, 1), 1);                    /* INTA */
        assert_int_equal(cfg_rd(i, 0x10, 4), (uint32_t)d->bar_bus);
        assert_int_equal(d->bar_bus & (d->bar_size - 1), 0);       /* naturally aligned */
        assert_true(d->bar_bus >= PHB_MEM_BUS &&
                    d->bar_bus + d->bar_size <= PHB_MEM_BUS + PHB_MEM_SIZE);
        for (unsigned j = 0; j < i; j++)
            assert_true(d->bar_bus >= dev[j].bar_bus + dev[j].bar_size ||
                        dev[j].bar_bus >= d->bar_bus + d->bar_size);
        assert_true(m.bus.r[i].base == PHB_MEM_CPU + (d->bar_bus - PHB_MEM_BUS) &&
                    m.bus.r[i].size == d->bar_size);
    }
    assert_true(dev[2].bar_size == 0x10000 && host.ndev == 3);
}

static void test_pci_writes(void **state)
{
    (void)state;
    assert_int_equal(ADD(0, 0x1af4, 0x1042, 0x018000, 0, 0, 0x1000), 0);
    assert_int_equal(ADD(1, 0x1af4, 0x1043, 0x018000, 0, 0, 0x4000), 0);
    cfg_wr(0, 0x10, 4, 0xffffffff);                      /* BAR sizing */
    assert_int_equal(cfg_rd(0, 0x10, 4), 0xfffff000);
    cfg_wr(1, 0x10, 4, 0xffffffff);
    assert_int_equal(cfg_rd(1, 0x10, 4), 0xffffc000);
    cfg_wr(1, 0x10, 4, (uint32_t)dev[1].bar_bus);
    assert_int_equal(cfg_rd(1, 0x10, 4), (uint32_t)dev[1].bar_bus);
    cfg_wr(0, 4, 2, 0xffff);                             /* command: writable bits only */
    assert_int_equal(cfg_rd(0, 4, 2), 0x0547);
    assert_true(rec.cfg_calls >= 1 && rec.cfg_off == 4 && rec.cfg_len == 2);
    cfg_wr(0, 4, 4, 0xffffffff);                         /* status is not writable */
    assert_int_equal(cfg_rd(0, 4, 4), 0x0547);
    cfg_wr(0, 4, 2, 0);
    assert_int_equal(cfg_rd(0, 4, 2), 0);
    cfg_wr(0, 0, 4, 0), cfg_wr(0, 8, 4, 0xffffffff), cfg_wr(0, 0x3d, 1, 7);   /* read-only */
    assert_int_equal(cfg_rd(0, 0, 4), 0x10421af4);
    assert_int_equal(cfg_rd(0, 8, 4), 0x01800001);
    assert_int_equal(cfg_rd(0, 0x3d, 1), 1);
    cfg_wr(0, 0x3c, 1, 0x55);                            /* interrupt line is scratch */
    assert_int_equal(cfg_rd(0, 0x3c, 1), 0x55);
}

static void test_pci_bar_decode(void **state)
{
    (void)state;
    uint8_t data[8];
    assert_int_equal(ADD(0, 1, 2, 3, 4, 5, 0x1000), 0);
    uint64_t cpu = PHB_MEM_CPU + (dev[0].bar_bus - PHB_MEM_BUS);
    memset(data, 0, sizeof(data));
    assert_true(bus_access(&m.bus, cpu + 0x10, data, 4, false));   /* claimed, not decoded */
    assert_true(data[0] == 0xff && data[3] == 0xff);
    assert_true(bus_access(&m.bus, cpu + 0x10, data, 4, true));
    assert_int_equal(rec.calls, 0);
    cfg_wr(0, 4, 2, 2);                                            /* memory space on */
    assert_true(bus_access(&m.bus, cpu + 0x10, data, 4, false));
    assert_true(rec.calls == 1 && rec.opaque == &dev[0] && rec.off == 0x10 && rec.len == 4);
    assert_int_equal(data[0], 0xab);
    assert_true(bus_access(&m.bus, cpu + 0xff8, data, 8, true));
    assert_true(rec.calls == 2 && rec.off == 0xff8 && rec.is_write);
    assert_false(bus_access(&m.bus, cpu + 0x1000, data, 4, false));  /* past the BAR */
    assert_false(bus_access(&m.bus, dev[0].bar_bus, data, 4, false)); /* bus, not CPU, address */
    cfg_wr(0, 4, 2, 0x4);                                          /* off again */
    assert_true(bus_access(&m.bus, cpu, data, 4, false));
    assert_int_equal(rec.calls, 2);
}

static void bad_read(uint32_t b, uint32_t devfn, uint32_t off, uint32_t len, uint32_t ones)
{
    uint64_t before = host.bad_accesses;
    uint32_t v = 0;
    assert_false(pci_config_read(&host, b, devfn, off, len, &v));
    assert_int_equal(v, ones);
    int calls = rec.cfg_calls;
    assert_false(pci_config_write(&host, b, devfn, off, len, 0));
    assert_int_equal(rec.cfg_calls, calls);
    assert_int_equal(host.bad_accesses, before + 2);
}

static void test_pci_bad_config_access(void **state)
{
    (void)state;
    assert_int_equal(ADD(0, 0x1af4, 0x1042, 0, 0, 0, 0x1000), 0);
    bad_read(0, 1 << 3, 0, 4, 0xffffffff), bad_read(0, 31 << 3, 0, 2, 0xffff);   /* absent */
    bad_read(0, 1, 0, 4, 0xffffffff);                                      /* function 1 */
    bad_read(1, 0, 0, 1, 0xff);                                            /* bus 1 */
    bad_read(0, 0, 0, 3, 0xffffffff), bad_read(0, 0, 0, 0, 0xffffffff);    /* sizes */
    bad_read(0, 0, 0, 8, 0xffffffff);
    bad_read(0, 0, 1, 2, 0xffff), bad_read(0, 0, 2, 4, 0xffffffff);        /* misaligned */
    bad_read(0, 0, 255, 4, 0xffffffff), bad_read(0, 0, 256, 1, 0xff);      /* past the end */
    assert_int_equal(cfg_rd(0, 0, 4), 0x10421af4);   /* nothing was written */
    assert_true(cfg_rd(0, 252, 4) == 0 && cfg_rd(0, 255, 1) == 0);
}

static void test_pci_config_offset_wrap(void **state)
{
    (void)state;
    /* Regression: access_ok() once computed off + len in 32 bits: off 0xfffffffc len 4
     * wraps to 0 <= 256, so pci_config_read/write index cfg[0xfffffffc..] (out of bounds;
     * not reachable through RTAS, whose reg is at most 0xfff). */
    assert_int_equal(ADD(0, 1, 2, 3, 4, 5, 0), 0);
    bad_read(0, 0, 0xfffffffc, 4, 0xffffffff);
    bad_read(0, 0, 0xffffffff, 1, 0xff);
}

static void test_pci_add_device_errors(void **state)
{
    (void)state;
    static const uint64_t bad[] = {1, 3, 0x800, 0xfff, 0x1800, 0x3000, PHB_MEM_SIZE * 2};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ADD(0, 1, 2, 3, 4, 5, bad[i]), -EINVAL);
    assert_true(host.ndev == 0 && m.bus.n == 0);
    /* no BAR */
    assert_int_equal(ADD(0, 1, 2, 3, 4, 5, 0), 0);
    assert_true(m.bus.n == 0 && cfg_rd(0, 0x10, 4) == 0 && dev[0].bar_size == 0);
    /* the window is full */
    assert_int_equal(ADD(1, 1, 2, 3, 4, 5, PHB_MEM_SIZE / 2), 0);
    assert_int_equal(ADD(2, 1, 2, 3, 4, 5, PHB_MEM_SIZE / 2), 0);
    assert_int_equal(ADD(3, 1, 2, 3, 4, 5, 0x1000), -ENOSPC);
    assert_int_equal(dev[2].bar_bus, PHB_MEM_BUS + PHB_MEM_SIZE / 2);
    /* the slots are full */
    for (unsigned i = 3; i < PCI_MAX_DEVICES; i++)
        assert_int_equal(ADD(i, 1, 2, 3, 4, 5, 0), 0);
    assert_int_equal(ADD(PCI_MAX_DEVICES, 1, 2, 3, 4, 5, 0), -ENOSPC);
    assert_int_equal(host.ndev, PCI_MAX_DEVICES);
}

/* Follows the capability list; returns the number of entries and stores their offsets. */
static unsigned cap_walk(unsigned slot, uint32_t *offs, unsigned max)
{
    unsigned n = 0;
    for (uint32_t p = cfg_rd(slot, 0x34, 1); p; p = cfg_rd(slot, p + 1, 1)) {
        assert_true(n < max && p >= 0x40 && p % 4 == 0);
        offs[n++] = p;
    }
    return n;
}

static void test_pci_capabilities(void **state)
{
    (void)state;
    uint8_t cap[20] = {0x09, 0xee, 20, 0x42};
    uint32_t offs[64];
    assert_int_equal(ADD(0, 1, 2, 3, 4, 5, 0x1000), 0);
    assert_int_equal(cfg_rd(0, 6, 2) & 0x10, 0);
    assert_int_equal(pci_add_capability(&dev[0], cap, 1), -1);
    assert_int_equal(pci_add_capability(&dev[0], cap, 20), 0x40);
    assert_int_equal(cfg_rd(0, 6, 2) & 0x10, 0x10);
    assert_int_equal(cfg_rd(0, 0x34, 1), 0x40);
    cap[0] = 0x05;
    assert_int_equal(pci_add_capability(&dev[0], cap, 16), 0x54);
    cap[0] = 0x10;
    assert_int_equal(pci_add_capability(&dev[0], cap, 3), 0x64);
    assert_int_equal(cap_walk(0, offs, 64), 3);
    assert_true(offs[0] == 0x40 && offs[1] == 0x54 && offs[2] == 0x64);
    assert_true(cfg_rd(0, 0x40, 1) == 0x09 && cfg_rd(0, 0x54, 1) == 0x05 &&
                cfg_rd(0, 0x64, 1) == 0x10 && cfg_rd(0, 0x43, 1) == 0x42);
    /* fill up with 20-byte capabilities until refused */
    int last = 0, r, added = 0;
    while ((r = pci_add_capability(&dev[0], cap, 20)) > 0) {
        assert_true(r > last && r + 20 <= 256);
        last = r, added++;
        assert_true(added < 20);
    }
    assert_int_equal(r, -1);
    assert_int_equal(added, 7);           /* 0x68 .. 0xe0 */
    assert_int_equal(cap_walk(0, offs, 64), 3 + added);
    assert_int_equal(pci_add_capability(&dev[0], cap, 2), 0xf4);   /* a small one still fits */
    assert_int_equal(pci_add_capability(&dev[0], cap, 12), -1);
    assert_int_equal(cap_walk(0, offs, 64), 4 + added);
    assert_int_equal(cfg_rd(0, 0, 4), 0x00020001);
}

static void test_pci_capabilities_exact_fill(void **state)
{
    (void)state;
    /* Regression: cap_end was once a uint8_t: a capability that ends at 0xfd..0x100
     * makes cap_end wrap to 0, and the next pci_add_capability() succeeds at offset 0,
     * overwriting the vendor/device ids (and, growing, the whole header). */
    uint8_t cap[16] = {0x09, 0, 16};
    assert_int_equal(ADD(0, 0x1af4, 0x1042, 3, 4, 5, 0x1000), 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal(pci_add_capability(&dev[0], cap, 16), 0x40 + 16 * i);
    assert_int_equal(pci_add_capability(&dev[0], cap, 16), -1);
    assert_int_equal(cfg_rd(0, 0, 4), 0x10421af4);
}

/* ---- RTAS ---- */

/* Calls RTAS service `name`; returns the status and stores rets[1] (if nret > 1) in *ret1. */
static int32_t rtas_pci(const char *name, uint32_t nargs, uint32_t nret, const uint32_t *args,
                        uint32_t *ret1)
{
    int t = rtas_token(m.rtas, name);
    assert_true(t >= RTAS_TOKEN_BASE);
    put_be32(BUF, (uint32_t)t), put_be32(BUF + 4, nargs), put_be32(BUF + 8, nret);
    for (uint32_t i = 0; i < nargs + nret; i++)
        put_be32(BUF + 12 + 4 * i, i < nargs ? args[i] : 0xdeadbeef);
    uint64_t a[9] = {BUF};
    assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_SUCCESS);
    if (ret1 && nret > 1)
        *ret1 = get_be32(BUF + 12 + 4 * (nargs + 1));
    return (int32_t)get_be32(BUF + 12 + 4 * nargs);
}

#define ADDR(bus_, devfn, reg) ((uint32_t)(bus_) << 16 | (uint32_t)(devfn) << 8 | (reg))
#define HI ((uint32_t)(PHB_BUID >> 32))
#define LO ((uint32_t)PHB_BUID)
#define READ(addr, size) rtas_pci("read-pci-config", 2, 2, (uint32_t[]){addr, size}, &v)
#define WRITE(addr, size, val) rtas_pci("write-pci-config", 3, 1, (uint32_t[]){addr, size, val}, NULL)
#define IBM_READ(addr, hi, lo, size) \
    rtas_pci("ibm,read-pci-config", 4, 2, (uint32_t[]){addr, hi, lo, size}, &v)
#define IBM_WRITE(addr, hi, lo, size, val) \
    rtas_pci("ibm,write-pci-config", 5, 1, (uint32_t[]){addr, hi, lo, size, val}, NULL)

static void test_rtas_pci_config(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_int_equal(ADD(0, 0x1af4, 0x1042, 0x018000, 0, 0, 0x1000), 0);
    assert_int_equal(ADD(1, 0x1234, 0x5678, 0x020000, 0, 0, 0x1000), 0);
    assert_int_equal(pci_register_rtas(&m), 0);

    assert_true(READ(ADDR(0, 8, 0), 4) == 0 && v == 0x56781234);
    assert_true(READ(ADDR(0, 0, 2), 2) == 0 && v == 0x1042);
    assert_true(READ(ADDR(0, 0, 0x3d), 1) == 0 && v == 1);
    assert_true(IBM_READ(ADDR(0, 8, 2), HI, LO, 2) == 0 && v == 0x5678);
    assert_int_equal(IBM_READ(ADDR(0, 8, 2), HI, LO + 1, 2), -3);   /* wrong BUID */
    assert_int_equal(IBM_READ(ADDR(0, 8, 2), 0, LO, 2), -3);

    assert_int_equal(WRITE(ADDR(0, 8, 4), 2, 0x6), 0);
    assert_true(READ(ADDR(0, 8, 4), 2) == 0 && v == 0x6);
    assert_int_equal(IBM_WRITE(ADDR(0, 0, 0x3c), HI, LO, 1, 0x77), 0);
    assert_int_equal(cfg_rd(0, 0x3c, 1), 0x77);
    assert_int_equal(IBM_WRITE(ADDR(0, 0, 0x3c), HI, 0, 1, 0x11), -3);
    assert_int_equal(cfg_rd(0, 0x3c, 1), 0x77);

    /* absent device, other bus, bad size, extended register beyond 256 */
    assert_true(READ(ADDR(0, 16, 0), 4) == -1 && v == 0xffffffff);
    assert_int_equal(READ(ADDR(1, 0, 0), 4), -1);
    assert_int_equal(READ(ADDR(0, 0, 0), 3), -1);
    assert_int_equal(READ(0x10000000, 4), -1);
    assert_int_equal(WRITE(ADDR(0, 16, 4), 2, 6), -1);
    assert_int_equal(IBM_READ(ADDR(0, 16, 0), HI, LO, 4), -1);
    assert_int_equal(host.bad_accesses, 6);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_all, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_bus_register), T(test_bus_access_claimed), T(test_bus_access_unclaimed),
        T(test_pci_header), T(test_pci_writes),
        T(test_pci_bar_decode), T(test_pci_bad_config_access), T(test_pci_config_offset_wrap),
        T(test_pci_add_device_errors), T(test_pci_capabilities),
        T(test_pci_capabilities_exact_fill), T(test_rtas_pci_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
