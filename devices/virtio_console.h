/* virtio-console: one port (no multiport), the guest's hvc1 next to the sPAPR vty's hvc0.
 *
 * Guest output is written to the console output as it arrives, by the device's own thread
 * (vcon_queues.h: the guest's notifications reach it by ioeventfd, without an exit to
 * minivmm, or by an MMIO exit where KVM cannot); host input waits in a small ring (the same
 * kind the vty uses) until the guest has posted receive buffers, so a guest that is not
 * reading costs no memory and loses nothing.
 */
#ifndef MINIVMM_VIRTIO_CONSOLE_H
#define MINIVMM_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdint.h>

#include "../vmm/err.h"
#include "vty.h"

struct machine;
struct virtio_dev;
struct virtq_chain;
struct virtio_console;

int virtio_console_create(struct virtio_console **out, struct machine *m, int out_fd,
                          struct mvm_err *e);
/* Starts the thread that serves the queues. Until then (a harness that never starts it) a
 * notification through the MMIO path is served on the notifying thread. */
int virtio_console_start(struct virtio_console *c, struct mvm_err *e);
/* The run is ending: a write blocked on a full console output gives up. Any thread. */
void virtio_console_let_go(struct virtio_console *c);
/* The guest powers off or reboots: writes the output it queued, on the calling vCPU. */
void virtio_console_flush_output(struct virtio_console *c);
/* Stops the thread (letting go of a blocked write first) and frees the device. */
void virtio_console_destroy(struct virtio_console *c);

/* The input ring that host input should be pushed into (vty_push_input), after which
 * virtio_console_flush_input() hands it to the guest. */
struct vty *virtio_console_port(struct virtio_console *c);
void virtio_console_flush_input(struct virtio_console *c);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);

/* A console port's two halves, over the queues of any virtio console (the multiport one of
 * virtio_stdio.c too). Input: what waits in port's ring goes into queue q's receive buffers.
 * Output: every buffer queue q holds goes to out(opaque, ...), in order, one drainer at a
 * time (tx_lock); the transport lock is not held while out() writes. tx and rx are scratch. */
void vcon_port_flush_input(struct virtio_dev *v, uint16_t q, struct vty *port,
                           struct virtq_chain *rx);
void vcon_port_drain_output(struct virtio_dev *v, uint16_t q, struct virtq_chain *tx,
                            pthread_mutex_t *tx_lock,
                            void (*out)(void *opaque, const uint8_t *buf, size_t len),
                            void *opaque);
/* An out() for vcon_port_drain_output that writes to a struct vty (vty_write). */
void vcon_vty_out(void *port, const uint8_t *buf, size_t len);

#endif
