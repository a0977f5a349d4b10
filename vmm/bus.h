/* The MMIO bus: guest-physical ranges owned by device models.
 *
 * An MMIO exit is routed to the region that contains the whole access; an access that
 * touches no region, or straddles a region's end, reads as all-ones and writes are dropped
 * (and counted), as on a real bus with nothing there.
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_REGIONS 64

/* offset is relative to the region's base; len is 1, 2, 4 or 8; data is in guest memory
 * byte order (for PCI: little-endian). */
typedef void (*bus_access_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
                              bool is_write);

struct bus_region {
    uint64_t base, size;
    bus_access_fn fn;
    void *opaque;
};

struct bus {
    struct bus_region r[BUS_MAX_REGIONS];
    unsigned n;
    uint64_t unclaimed;      /* accesses that hit nothing (atomic) */
};

/* Adds [base, base+size). Returns 0, -EINVAL (empty or wrapping), -EEXIST (overlaps) or
 * -ENOSPC. Registration happens before the vCPUs run; dispatch never takes a lock. */
int bus_register(struct bus *b, uint64_t base, uint64_t size, bus_access_fn fn, void *opaque)
    __attribute__((warn_unused_result));

/* Performs one access. Returns true if a region took it. */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
