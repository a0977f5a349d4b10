#include "bus.h"

#include <errno.h>
#include <string.h>

int bus_register(struct bus *b, uint64_t base, uint64_t size, bus_access_fn fn, void *opaque)
{
    uint64_t end;
    if (size == 0 || __builtin_add_overflow(base, size, &end))
        return -EINVAL;
    for (unsigned i = 0; i < b->n; i++)
        if (base < b->r[i].base + b->r[i].size && b->r[i].base < end)
            return -EEXIST;
    if (b->n == BUS_MAX_REGIONS)
        return -ENOSPC;
    b->r[b->n++] = (struct bus_region){base, size, fn, opaque};
    return 0;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
    if (len == 1 || len == 2 || len == 4 || len == 8) {
        for (unsigned i = 0; i < b->n; i++) {
            const struct bus_region *r = &b->r[i];
            /* Written so that no sum can overflow: addr - base < size, len <= size - off. */
            if (addr >= r->base && addr - r->base < r->size && len <= r->size - (addr - r->base)) {
                r->fn(r->opaque, addr - r->base, data, len, is_write);
                return true;
            }
        }
    }
    __atomic_add_fetch(&b->unclaimed, 1, __ATOMIC_RELAXED);
    if (!is_write)
        memset(data, 0xff, len <= 8 ? len : 8);
    return false;
}
