/* The queue thread of a virtio console (the single-port one of virtio_console.c and the
 * multiport one of virtio_stdio.c): every queue notification is served here, off the vCPUs.
 *
 * Each queue has its own eventfd, which KVM signals itself on the guest's notify write
 * (ioeventfd, wired by the board through virtio_ops.queue_eventfd): the guest's write costs no
 * exit to minivmm, and a vCPU never waits for the host's stdout. Where KVM cannot do that, the
 * notification arrives as an MMIO exit (virtio_ops.notify) and vcon_queues_notify() signals
 * the same eventfd: the same thread serves it either way, in the order the guest queued.
 *
 * With no thread running (a harness that never started the device: the unit tests, the
 * fuzzers), vcon_queues_notify() serves the queue on the caller instead, as every notification
 * was served before the thread existed.
 *
 * Output the guest queued just before it powers off may still wait for the thread when the
 * power-off comes: the device flushes it then (machine_flush_output, from the power-off
 * call), or the run would end without the command's last bytes or its status line.
 */
#ifndef MINIVMM_VCON_QUEUES_H
#define MINIVMM_VCON_QUEUES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/err.h"
#include "virtio_pci.h"

/* What a notification of queue q means to the device (its old ops->notify). */
typedef void (*vcon_serve_fn)(struct virtio_dev *v, uint16_t q);

struct vcon_queues {
    struct virtio_dev *v;
    vcon_serve_fn serve;
    uint16_t n;                          /* queues 0..n-1 */
    int kick_fd[VIRTIO_MAX_QUEUES];      /* eventfd per queue: "the driver notified q" */
    int stop_fd;                         /* eventfd: the thread ends */
    const char *what;                    /* for messages: "virtio console" */
    pthread_t thread;
    bool running;                        /* atomic: vCPUs read it to choose a path */
};

/* Makes the eventfds; no thread yet. 0, or -1 with e set (what is left is safe to destroy). */
int vcon_queues_init(struct vcon_queues *qs, struct virtio_dev *v, uint16_t n,
                     vcon_serve_fn serve, const char *what, struct mvm_err *e);
/* Starts the thread (before any vCPU runs); it restricts itself first (m->thread_init). */
int vcon_queues_start(struct vcon_queues *qs, struct mvm_err *e);
/* Ends and joins the thread; what it has in hand is finished first (a write blocked on a
 * full host descriptor must be let go first: vty_abort). Safe when never started. */
void vcon_queues_stop(struct vcon_queues *qs);
/* Stops the thread if it runs and closes the eventfds. Safe on a zeroed struct. */
void vcon_queues_destroy(struct vcon_queues *qs);
/* For virtio_ops.queue_eventfd: queue q's eventfd, or -1. */
int vcon_queues_eventfd(const struct vcon_queues *qs, uint16_t q);
/* For virtio_ops.notify (an MMIO exit): hands q to the thread, or serves it here if none runs. */
void vcon_queues_notify(struct vcon_queues *qs, uint16_t q);

#endif
