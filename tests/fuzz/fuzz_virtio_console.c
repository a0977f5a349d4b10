/* A whole virtio console: per input a fresh machine whose RAM (64 KiB) holds the rest of the
 * input, a driver bring-up of both queues (0 receive, 1 transmit) through BAR 0, then BAR
 * accesses, notifications (the MMIO exit's, or the eventfd's that only a power-off's flush
 * serves in this single-threaded harness), host input and power-offs as the program says.
 * Output goes to /dev/null. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/virtio_console.h"
#include "../../devices/virtio_pci.h"
#include "fuzz_common.h"

#define RAM 0x10000u
#define MAX_OPS 64

FZ_DEFINE_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t typed[VTY_IN_SIZE + 256];
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct machine *m = fz_machine_new(RAM, &mem);
    struct mvm_err e = {0};
    struct virtio_console *c;
    if (virtio_console_create(&c, m, fz_null_fd(), &e) != 0)
        abort();
    m->virtio_port = virtio_console_port(c);
    struct pci_device *pdev = &virtio_console_dev(c)->pci;

    fz_virtio_setup(m, pdev, 2, &prog);
    for (unsigned i = 0; i < MAX_OPS && prog.n; i++) {
        switch (fz_virtio_op(m, pdev, &prog)) {
        case 3: {   /* the host types n bytes (more than the ring holds, sometimes) */
            size_t n = fz_u8(&prog) * 5u;
            for (size_t j = 0; j < n; j++)
                typed[j] = (uint8_t)(j + i);
            vty_push_input(virtio_console_port(c), typed, n);
            break;
        }
        case 4:
            virtio_console_flush_input(c);
            break;
        case 5:   /* the transmit queue's notify register, whatever the op's other bits say */
            fz_mmio(m, virtio_pci_notify_addr(virtio_console_dev(c), 1), 2, true, 1);
            break;
        case 6: {  /* KVM signals a queue's eventfd (ioeventfd): no thread here serves it */
            struct virtio_dev *v = virtio_console_dev(c);
            uint64_t one = 1;
            if (write(v->ops->queue_eventfd(v, fz_u8(&prog) & 1), &one, sizeof(one)) < 0)
                abort();
            break;
        }
        case 7:   /* the guest powers off: what it queued is written now */
            virtio_console_flush_output(c);
            break;
        default:
            break;
        }
    }
    vty_push_input(virtio_console_port(c), (const uint8_t *)"end\n", 4);
    virtio_console_flush_input(c);
    fz_mmio(m, virtio_pci_notify_addr(virtio_console_dev(c), 1), 2, true, 1);

    virtio_console_destroy(c);
    fz_machine_free(m);
    return 0;
}
