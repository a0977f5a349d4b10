/* Split virtqueues (virtio 1.x), as the device side sees them.
 *
 * The rings live in guest memory and the guest may change them at any moment, so every
 * descriptor is copied out once and then checked: its buffer must lie inside guest RAM, a
 * chain may not be longer than the queue (no loops), and device-writable buffers may not come
 * before readable ones. A driver that breaks these rules gets -1 from virtq_pop(); the
 * transport then marks the device as needing a reset. Nothing here trusts a guest value.
 *
 * Two ring features, when the driver negotiated them (else a driver using them is broken):
 * indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC), each copied out whole and walked
 * like a chain; and event indices (VIRTIO_RING_F_EVENT_IDX): used_event says when the driver
 * wants an interrupt, avail_event when the device wants a notification. A device that waits
 * for the driver's notification must have asked for it: virtq_pop() asks whenever it finds
 * the ring empty, so "pop until 0, then sleep until notified" is right; a device that waits
 * for anything else (a number of buffers, say) asks with virtq_ask_kick().
 */
#ifndef MINIVMM_VIRTQ_H
#define MINIVMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
#include <sys/uio.h>

#include "../vmm/mem.h"

#define VIRTQ_MAX_SIZE 256
/* The ring features implemented here, which the transport offers every device. */
#define VIRTQ_FEATURES (1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_RING_F_EVENT_IDX)

struct virtq {
    uint16_t size;            /* entries (a power of two, <= VIRTQ_MAX_SIZE) */
    bool ready;
    uint64_t desc, avail, used;   /* guest physical addresses of the three rings */
    uint16_t last_avail;      /* next avail entry to consume */
    uint16_t used_idx;        /* next used entry to fill */
    uint16_t signalled_used;  /* used_idx when virtq_should_notify() last decided */
    bool indirect;            /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated */
};

struct virtq_chain {
    uint16_t head;
    unsigned n_out, n_in;     /* iov[0..n_out) readable by the device, then n_in writable */
    uint64_t out_len, in_len; /* bytes in each part */
    struct iovec iov[VIRTQ_MAX_SIZE];   /* a chain has at most the queue size of buffers */
};

/* Checks that the rings of a queue the driver is enabling fit in guest memory with the
 * alignment virtio requires, used_event and avail_event included (the spec's ring sizes
 * count them whether negotiated or not). Returns 0 or -1. */
int virtq_check_rings(const struct virtq *q, const struct guest_mem *m);

/* Takes the next available chain. Returns 1 (c filled), 0 (nothing available: with
 * EVENT_IDX, the driver was asked to notify its next chain) or -1 (the driver broke the ring;
 * the queue must not be used again until reset). */
int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c);

/* How many chains the driver has made available and the device not taken yet (as the driver
 * says: more than the ring holds is a broken driver, which virtq_pop reports). The queue must
 * be ready. */
uint16_t virtq_pending(const struct virtq *q, const struct guest_mem *m);

/* Returns a chain to the driver with `len` bytes written into its writable part. */
void virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head, uint32_t len);
/* Returns n chains (at most the queue size) at once: the driver sees all of them or none, as
 * a received frame spread over several buffers needs (virtio-net's num_buffers). */
void virtq_push_many(struct virtq *q, const struct guest_mem *m, const uint16_t *heads,
                     const uint32_t *lens, unsigned n);

/* Whether the chains pushed since the last call are worth an interrupt: unless there are
 * none, the driver asked for none (VIRTQ_AVAIL_F_NO_INTERRUPT) or, with EVENT_IDX, none of
 * them is the one used_event names. Call it once after each push or batch of pushes. */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *m);

/* With EVENT_IDX: asks the driver to notify when it makes avail entry `idx` available (or a
 * later one), then looks again. Returns how many chains are pending now: if more than the
 * caller saw before asking, the notification may not come and the caller must look again.
 * Without EVENT_IDX the driver notifies every chain anyway: only the second half happens. */
uint16_t virtq_ask_kick(struct virtq *q, const struct guest_mem *m, uint16_t idx);

/* Copies up to len bytes from the readable part of c starting at byte `skip`; returns the
 * count copied. */
uint64_t virtq_read_out(const struct virtq_chain *c, uint64_t skip, void *buf, uint64_t len);
/* Copies up to len bytes into the writable part of c starting at byte `skip`; returns the
 * count copied. */
uint64_t virtq_write_in(const struct virtq_chain *c, uint64_t skip, const void *buf, uint64_t len);

#endif
