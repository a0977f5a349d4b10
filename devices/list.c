/* The device kinds minivmm has: adding a device adds one line here (see device.h). */
#include "device.h"

#include <string.h>

extern const struct device_kind virtio_blk_kind, virtio_console_kind, virtio_9p_kind,
    virtio_stdio_kind, virtio_net_kind, virtio_vsock_kind;

const struct device_kind *const device_kinds[] = {
    &virtio_blk_kind,
    &virtio_9p_kind,
    &virtio_console_kind,
    &virtio_stdio_kind,
    &virtio_net_kind,
    &virtio_vsock_kind,
    NULL,
};

const struct device_kind *device_kind_find(const char *name)
{
    for (unsigned i = 0; device_kinds[i]; i++)
        if (strcmp(device_kinds[i]->name, name) == 0)
            return device_kinds[i];
    return NULL;
}
