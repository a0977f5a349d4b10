/* virtio 1.x over PCI (the "modern" transport only): the common, notify, ISR and device
 * configuration structures in BAR 0, advertised by vendor capabilities in config space.
 * Interrupts are MSI-X (msix.h: one vector per queue plus one for configuration changes, as
 * the driver assigns them; no exit for the guest to acknowledge them) or, until the driver
 * turns MSI-X on (or never, with pci=nomsi), PCI INTx: a level the ISR register raises and a
 * read of it lowers.
 *
 * A device model supplies struct virtio_ops; the transport owns feature negotiation, queue
 * setup and the device status. One mutex (vdev->lock) guards the transport state and the
 * queues; device workers take it around virtq_pop/virtq_push.
 */
#ifndef MINIVMM_VIRTIO_PCI_H
#define MINIVMM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "msix.h"
#include "pci.h"
#include "virtq.h"

struct machine;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES 12   /* the multiport console (virtio_stdio.c): 6 pairs */
/* The ISR bits (the spec's; Linux's uapi names only the configuration one). */
#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG VIRTIO_PCI_ISR_CONFIG

struct virtio_ops {
    uint32_t device_id;            /* VIRTIO_ID_* (linux/virtio_ids.h) */
    uint32_t pci_class;
    uint16_t num_queues;
    uint64_t features;             /* offered (bits); VERSION_1 is added by the transport */
    uint32_t config_size;
    /* Device configuration space, bounds already checked. */
    void (*config_read)(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len);
    /* The driver notified queue q (called on a vCPU thread, without vdev->lock). */
    void (*notify)(struct virtio_dev *v, uint16_t q);
    /* Optional: an eventfd that stands for "queue q was notified". When the hypervisor can
     * signal it directly on the guest's notify write (ioeventfd), notify() is not called. */
    int (*queue_eventfd)(struct virtio_dev *v, uint16_t q);
    /* The driver reset the device: stop using the queues and forget all state. Called
     * without vdev->lock; the queues are already marked not ready. */
    void (*reset)(struct virtio_dev *v);
};

struct virtio_dev {
    struct pci_device pci;
    const struct virtio_ops *ops;
    struct machine *m;
    pthread_mutex_t lock;
    /* Guarded by lock. */
    uint32_t dev_feature_sel, drv_feature_sel;
    uint64_t drv_features;
    uint8_t status;
    uint8_t isr;
    bool line;                     /* INTx asserted */
    uint16_t queue_sel;
    uint16_t config_vector;        /* MSI-X vectors the driver chose (VIRTIO_MSI_NO_VECTOR: none) */
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    struct virtq vq[VIRTIO_MAX_QUEUES];
    uint64_t extra_features;       /* per-device additions to ops->features (set before run) */
    uint8_t config_generation;     /* guarded by lock; moves with every configuration change */
    struct msix msix;              /* its own lock, taken inside this one */
};

/* Sets up the transport for a device and plugs it into the PHB. */
int virtio_pci_init(struct virtio_dev *v, struct machine *m, const struct virtio_ops *ops);
void virtio_pci_destroy(struct virtio_dev *v);

/* The guest-physical address of queue q's notify register (16-bit writes of the index). */
uint64_t virtio_pci_notify_addr(const struct virtio_dev *v, uint16_t q);

/* Tells the driver queue q has used buffers: queue q's MSI-X vector, or the ISR bit and INTx.
 * Takes vdev->lock itself. */
void virtio_notify_queue(struct virtio_dev *v, uint16_t q);
/* The same with vdev->lock held: a worker that checks the queue is still ready and signals
 * under one lock cannot raise the line of a device reset in between. */
void virtio_notify_queue_locked(struct virtio_dev *v, uint16_t q);
/* The device changed its configuration (a NIC's link status): a new generation, and a
 * configuration interrupt for a driver that is running (none before DRIVER_OK: a driver still
 * probing, or none at all, reads the configuration itself). With vdev->lock held. */
void virtio_config_changed_locked(struct virtio_dev *v);
/* The driver broke a ring: the device stops and asks to be reset (NEEDS_RESET plus a
 * configuration interrupt), instead of guessing what the driver meant. */
void virtio_set_broken(struct virtio_dev *v);
void virtio_set_broken_locked(struct virtio_dev *v);

/* For device workers, with vdev->lock held: the queue's next chain (see virtq_pop); a broken
 * ring marks the device broken and returns -1. */
int virtio_pop_locked(struct virtio_dev *v, uint16_t q, struct virtq_chain *c);

/* For I/O threads (they take the lock themselves): the next chain of queue q, which must have
 * at least min_out readable and min_in writable bytes (less leaves nothing sensible to
 * answer: the ring is broken). 1, or 0 when there is none or the ring is broken. */
int virtio_take(struct virtio_dev *v, uint16_t q, struct virtq_chain *c, uint64_t min_out,
                uint64_t min_in);
/* Completes a chain of queue q with `len` bytes written into it and signals the driver (as
 * it asked), unless the queue was reset or broken meanwhile (a reset waits for requests in
 * hand, but marks the queue not ready first). Each completion is signalled at once, so the
 * driver can queue more while other workers are busy. */
void virtio_complete(struct virtio_dev *v, uint16_t q, uint16_t head, uint32_t len);
/* The same in two halves, for a device whose I/O threads batch their signals (vq_workers.h):
 * the chain made used without a signal, then one signal for all made used since the last
 * (as the driver asked, if it still wants one). */
void virtio_complete_quiet(struct virtio_dev *v, uint16_t q, uint16_t head, uint32_t len);
void virtio_signal_used(struct virtio_dev *v, uint16_t q);

#endif
