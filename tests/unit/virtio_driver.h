/* The driver's side of a virtio-pci device in the unit tests: little-endian values in guest
 * memory and MMIO to a BAR through the fake machine's bus (fake_machine.h's m). Included after
 * cmocka.h and fake_machine.h. */
#ifndef MINIVMM_TEST_VIRTIO_DRIVER_H
#define MINIVMM_TEST_VIRTIO_DRIVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t le_get(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    while (len--)
        v = v << 8 | p[len];
    return v;
}

static inline void le_put(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* A len-byte read or write at CPU address addr, which a device must claim. */
static inline uint64_t mmio_rd(uint64_t addr, uint32_t len)
{
    uint8_t d[8];
    assert_true(bus_access(&m.bus, addr, d, len, false));
    return le_get(d, len);
}

static inline void mmio_wr(uint64_t addr, uint32_t len, uint64_t v)
{
    uint8_t d[8];
    le_put(d, len, v);
    assert_true(bus_access(&m.bus, addr, d, len, true));
}

/* The fake machine (setup()) with ram bytes of guest memory and an empty PCI host bridge, for
 * a test's devices to be created on. 0, or -1. */
static inline int setup_with_bridge(void **state, struct pci_host *bridge, size_t ram)
{
    if (setup(state))
        return -1;
    free(m.mem.host);
    m.mem.host = calloc(1, ram);
    m.mem.size = ram;
    memset(bridge, 0, sizeof(*bridge));
    m.pci = bridge;
    return m.mem.host ? 0 : -1;
}

/* Guest memory, by guest-physical address. */
#define get(gpa, len) le_get(m.mem.host + (gpa), len)
#define put(gpa, len, v) le_put(m.mem.host + (gpa), len, v)

#endif
