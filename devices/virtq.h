/* Split virtqueues (virtio 1.x), as the device side sees them.
 *
 * The rings live in guest memory and the guest may change them at any moment, so every
 * descriptor is copied out once and then checked: its buffer must lie inside guest RAM, a
 * chain may not be longer than the queue (no loops), and device-writable buffers may not come
 * before readable ones. A driver that breaks these rules gets -1 from virtq_pop(); the
 * transport then marks the device as needing a reset. Nothing here trusts a guest value.
 */
#ifndef MINIVMM_VIRTQ_H
#define MINIVMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../vmm/mem.h"

#define VIRTQ_MAX_SIZE 256

struct virtq {
    uint16_t size;            /* entries (a power of two, <= VIRTQ_MAX_SIZE) */
    bool ready;
    uint64_t desc, avail, used;   /* guest physical addresses of the three rings */
    uint16_t last_avail;      /* next avail entry to consume */
    uint16_t used_idx;        /* next used entry to fill */
};

struct virtq_chain {
    uint16_t head;
    unsigned n_out, n_in;     /* iov[0..n_out) readable by the device, then n_in writable */
    uint64_t out_len, in_len; /* bytes in each part */
    struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Checks that the rings of a queue the driver is enabling fit in guest memory with the
 * alignment virtio requires. Returns 0 or -1. */
int virtq_check_rings(const struct virtq *q, const struct guest_mem *m);

/* Takes the next available chain. Returns 1 (c filled), 0 (nothing available) or -1 (the
 * driver broke the ring; the queue must not be used again until reset). */
int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c);

/* How many chains the driver has made available and the device not taken yet (as the driver
 * says: more than the ring holds is a broken driver, which virtq_pop reports). The queue must
 * be ready. */
uint16_t virtq_pending(const struct virtq *q, const struct guest_mem *m);

/* Returns a chain to the driver with `len` bytes written into its writable part. */
void virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head, uint32_t len);

/* True unless the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool virtq_should_notify(const struct virtq *q, const struct guest_mem *m);

/* Copies up to len bytes from the readable part of c starting at byte `skip`; returns the
 * count copied. */
uint64_t virtq_read_out(const struct virtq_chain *c, uint64_t skip, void *buf, uint64_t len);
/* Copies up to len bytes into the writable part of c starting at byte `skip`; returns the
 * count copied. */
uint64_t virtq_write_in(const struct virtq_chain *c, uint64_t skip, const void *buf, uint64_t len);

#endif
