/* virtio-console: one port (no multiport), the guest's hvc1 next to the sPAPR vty's hvc0.
 *
 * Guest output is written to the console output as it arrives (on the notifying vCPU);
 * host input waits in a small ring (the same kind the vty uses) until the guest has posted
 * receive buffers, so a guest that is not reading costs no memory and loses nothing.
 */
#ifndef MINIVMM_VIRTIO_CONSOLE_H
#define MINIVMM_VIRTIO_CONSOLE_H

#include "../vmm/err.h"
#include "vty.h"

struct machine;
struct virtio_console;

int virtio_console_create(struct virtio_console **out, struct machine *m, int out_fd,
                          struct mvm_err *e);
void virtio_console_destroy(struct virtio_console *c);

/* The input ring that host input should be pushed into (vty_push_input), after which
 * virtio_console_flush_input() hands it to the guest. */
struct vty *virtio_console_port(struct virtio_console *c);
void virtio_console_flush_input(struct virtio_console *c);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);

#endif
