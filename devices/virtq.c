#include "virtq.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <string.h>


static uint16_t ld16(const struct guest_mem *m, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, gpa_ptr(m, gpa, 2), 2);   /* callers checked the ring bounds */
    return le16toh(v);
}

int virtq_check_rings(const struct virtq *q, const struct guest_mem *m)
{
    uint64_t n = q->size;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return -1;
    if (q->desc % 16 || q->avail % 2 || q->used % 4)
        return -1;
    if (!gpa_ptr(m, q->desc, 16 * n) || !gpa_ptr(m, q->avail, 6 + 2 * n) ||
        !gpa_ptr(m, q->used, 6 + 8 * n))
        return -1;
    return 0;
}

uint16_t virtq_pending(const struct virtq *q, const struct guest_mem *m)
{
    /* The avail index is the driver's "published up to here": an acquire load orders the
     * ring reads after it (2-byte aligned: virtq_check wants the avail ring so). */
    uint16_t avail_idx = le16toh(__atomic_load_n((const uint16_t *)gpa_ptr(m, q->avail + 2, 2),
                                                 __ATOMIC_ACQUIRE));
    return (uint16_t)(avail_idx - q->last_avail);
}

int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c)
{
    uint16_t pending = virtq_pending(q, m);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return -1;   /* the driver claims more entries than the ring holds */

    uint16_t head = ld16(m, q->avail + 4 + 2 * (q->last_avail % q->size));
    if (head >= q->size)
        return -1;
    q->last_avail++;

    memset(c, 0, offsetof(struct virtq_chain, iov));
    c->head = head;
    uint16_t i = head;
    for (unsigned count = 0;; count++) {
        if (count == q->size)
            return -1;   /* longer than the ring: a loop */
        struct vring_desc d;
        memcpy(&d, gpa_ptr(m, q->desc + 16ull * i, 16), 16);   /* one snapshot per descriptor */
        uint64_t addr = le64toh(d.addr);
        uint32_t len = le32toh(d.len);
        uint16_t flags = le16toh(d.flags);
        if (flags & VRING_DESC_F_INDIRECT)
            return -1;   /* not offered (VIRTIO_RING_F_INDIRECT_DESC) */
        void *p = gpa_ptr(m, addr, len);
        if (!p)
            return -1;
        if (flags & VRING_DESC_F_WRITE) {
            c->in_len += len;
            c->n_in++;
        } else {
            if (c->n_in)
                return -1;   /* readable after writable */
            c->out_len += len;
            c->n_out++;
        }
        c->iov[count] = (struct iovec){.iov_base = p, .iov_len = len};
        if (!(flags & VRING_DESC_F_NEXT))
            return 1;
        i = le16toh(d.next);
        if (i >= q->size)
            return -1;
    }
}

void virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head, uint32_t len)
{
    uint64_t elem = q->used + 4 + 8ull * (q->used_idx % q->size);
    uint32_t e[2] = {htole32(head), htole32(len)};
    memcpy(gpa_ptr(m, elem, 8), e, 8);
    q->used_idx++;
    /* The element must be visible before the index that publishes it: a release store (the
     * index is 2-byte aligned: virtq_check wants the used ring 4-byte aligned). */
    __atomic_store_n((uint16_t *)gpa_ptr(m, q->used + 2, 2), htole16(q->used_idx),
                     __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_should_notify(const struct virtq *q, const struct guest_mem *m)
{
    return !(ld16(m, q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}

static uint64_t copy_iov(const struct iovec *iov, unsigned n, uint64_t skip, void *buf,
                         uint64_t len, bool to_iov)
{
    uint64_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        uint64_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        uint64_t take = l - skip < len - done ? l - skip : len - done;
        uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
        if (to_iov)
            memcpy(p, (const uint8_t *)buf + done, take);
        else
            memcpy((uint8_t *)buf + done, p, take);
        done += take;
        skip = 0;
    }
    return done;
}

uint64_t virtq_read_out(const struct virtq_chain *c, uint64_t skip, void *buf, uint64_t len)
{
    return copy_iov(c->iov, c->n_out, skip, buf, len, false);
}

uint64_t virtq_write_in(const struct virtq_chain *c, uint64_t skip, const void *buf, uint64_t len)
{
    return copy_iov(c->iov + c->n_out, c->n_in, skip, (void *)buf, len, true);
}
