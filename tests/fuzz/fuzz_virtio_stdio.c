/* The command's stdio device (devices/virtio_stdio.c), a multiport virtio console: per input
 * a fresh machine whose RAM (64 KiB) holds the rest of the input, a driver bring-up of all its
 * queues through BAR 0, then BAR accesses, notifications of any queue (the control queue's
 * messages and the status port's line come from guest memory), host input on the console
 * port, and power-offs (which write what the queues hold), as the program says. Output goes
 * to /dev/null; the status line is parsed for real. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/device.h"
#include "../../devices/virtio_pci.h"
#include "fuzz_common.h"

#define RAM 0x10000u
#define MAX_OPS 96
#define NQUEUES 12

extern const struct device_kind virtio_stdio_kind;

FZ_DEFINE_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct machine *m = fz_machine_new(RAM, &mem);
    struct mvm_err e = {0};
    char spec[64];
    /* No stdin descriptor: its thread stays out of a single-threaded harness. */
    snprintf(spec, sizeof(spec), "in=-1,out=%d,err=%d,tty", fz_null_fd(), fz_null_fd());
    void *dev = virtio_stdio_kind.create(m, spec, false, &e);
    if (!dev)
        abort();
    struct virtio_dev *v = virtio_stdio_kind.virtio(dev);
    fz_virtio_setup(m, &v->pci, NQUEUES, &prog);
    for (unsigned i = 0; i < MAX_OPS && prog.n; i++) {
        unsigned op = fz_virtio_op(m, &v->pci, &prog);
        if (op == 3 || op == 4) {   /* any queue's notify register */
            uint16_t q = (uint16_t)(fz_u8(&prog) % (NQUEUES + 1));   /* one past the last too */
            fz_mmio(m, virtio_pci_notify_addr(v, q), 2, true, q);
        } else if (op == 5) {       /* the host types on the console port */
            uint8_t typed[64];
            size_t n = fz_u8(&prog) % sizeof(typed);
            memset(typed, 'a' + (int)(i % 26), n);
            vty_push_input(m->virtio_port, typed, n);
            m->virtio_port->input_pushed(m->virtio_port);
        } else if (op == 6) {
            virtio_stdio_kind.let_go(dev);
        } else if (op == 7) {       /* the guest powers off: its output queued is written */
            virtio_stdio_kind.flush(dev);
        }
    }
    virtio_stdio_kind.destroy(dev);
    fz_machine_free(m);
    return 0;
}
