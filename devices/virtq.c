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

/* Where the event indices live: after each ring's entries (virtq_check_rings counted them). */
static uint64_t used_event_gpa(const struct virtq *q)
{
    return q->avail + 4 + 2ull * q->size;
}

static uint64_t avail_event_gpa(const struct virtq *q)
{
    return q->used + 4 + 8ull * q->size;
}

uint16_t virtq_ask_kick(struct virtq *q, const struct guest_mem *m, uint16_t idx)
{
    if (q->event_idx) {
        __atomic_store_n((uint16_t *)gpa_ptr(m, avail_event_gpa(q), 2), htole16(idx),
                         __ATOMIC_RELAXED);
        /* A full barrier between this write and the re-read of the avail index: the driver
         * has one between its index update and its avail_event read, so either it sees this
         * request and notifies, or the re-read sees its chain. Without it, both could miss
         * and the device would sleep on a chain nobody notifies. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
    return virtq_pending(q, m);
}

/* One descriptor, copied out of guest memory, in host byte order. */
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct desc load_desc(const void *p)
{
    struct vring_desc d;
    memcpy(&d, p, sizeof(d));
    return (struct desc){le64toh(d.addr), le32toh(d.len), le16toh(d.flags), le16toh(d.next)};
}

/* Appends d's buffer to c: inside RAM, never readable after writable, and at most as many
 * buffers as the queue has entries (a driver MUST NOT make a longer chain, indirect tables
 * included: virtio 1.1 §2.6.5.3.1; so iov[] always has room). That bound also ends every
 * loop, in the ring or in a table: each step of a walk adds a buffer or ends it. */
static int add_buffer(const struct virtq *q, const struct guest_mem *m, const struct desc *d,
                      struct virtq_chain *c)
{
    unsigned n = c->n_out + c->n_in;
    void *p = gpa_ptr(m, d->addr, d->len);
    if (n >= q->size || !p)
        return -1;
    if (d->flags & VRING_DESC_F_WRITE) {
        c->in_len += d->len;
        c->n_in++;
    } else {
        if (c->n_in)
            return -1;   /* readable after writable (§2.6.4.2) */
        c->out_len += d->len;
        c->n_out++;
    }
    c->iov[n] = (struct iovec){.iov_base = p, .iov_len = d->len};
    return 0;
}

/* The rest of the chain is the indirect table d points to (virtio 1.1 §2.6.5.3): copied out
 * whole, once, then walked from entry 0 like a chain. Its own WRITE flag means nothing
 * (§2.6.5.3.2); NEXT beside INDIRECT and a table in a table are the driver's MUST NOTs
 * (§2.6.5.3.1); a table holds len / 16 descriptors, so a ragged length is broken, and an
 * empty table has no entry 0. One of more entries than the largest queue is refused too:
 * the copy is bounded, and no chain needs it. */
static int walk_indirect(const struct virtq *q, const struct guest_mem *m, const struct desc *d,
                         struct virtq_chain *c)
{
    struct vring_desc table[VIRTQ_MAX_SIZE];
    const void *src = gpa_ptr(m, d->addr, d->len);
    unsigned n = d->len / sizeof(table[0]);
    if (!q->indirect || (d->flags & VRING_DESC_F_NEXT) || !src || n == 0 ||
        d->len % sizeof(table[0]) || n > VIRTQ_MAX_SIZE)
        return -1;
    memcpy(table, src, d->len);
    for (unsigned i = 0;;) {
        struct desc e = load_desc(&table[i]);
        if ((e.flags & VRING_DESC_F_INDIRECT) || add_buffer(q, m, &e, c) < 0)
            return -1;
        if (!(e.flags & VRING_DESC_F_NEXT))
            return 1;
        if (e.next >= n)
            return -1;
        i = e.next;
    }
}

int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c)
{
    uint16_t pending = virtq_pending(q, m);
    if (pending == 0)   /* going idle: ask for a notification of the next chain */
        pending = virtq_ask_kick(q, m, q->last_avail);
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
    for (uint16_t i = head;;) {
        struct desc d = load_desc(gpa_ptr(m, q->desc + 16ull * i, 16));   /* one snapshot */
        if (d.flags & VRING_DESC_F_INDIRECT)   /* not negotiated: refused there */
            return walk_indirect(q, m, &d, c);
        if (add_buffer(q, m, &d, c) < 0)
            return -1;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 1;
        i = d.next;
        if (i >= q->size)
            return -1;
    }
}

void virtq_push_many(struct virtq *q, const struct guest_mem *m, const uint16_t *heads,
                     const uint32_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t elem = q->used + 4 + 8ull * ((uint16_t)(q->used_idx + i) % q->size);
        uint32_t e[2] = {htole32(heads[i]), htole32(lens[i])};
        memcpy(gpa_ptr(m, elem, 8), e, 8);
    }
    q->used_idx = (uint16_t)(q->used_idx + n);
    /* The elements must be visible before the index that publishes them: a release store (the
     * index is 2-byte aligned: virtq_check wants the used ring 4-byte aligned). The full
     * barrier after it orders the store before the read of flags or used_event. */
    __atomic_store_n((uint16_t *)gpa_ptr(m, q->used + 2, 2), htole16(q->used_idx),
                     __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void virtq_push(struct virtq *q, const struct guest_mem *m, uint16_t head, uint32_t len)
{
    virtq_push_many(q, m, &head, &len, 1);
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *m)
{
    uint16_t old = q->signalled_used, now = q->used_idx;
    q->signalled_used = now;
    if (now == old)          /* nothing used since the last decision: nothing to tell */
        return false;
    if (!q->event_idx)
        return !(ld16(m, q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
    /* The driver wants an interrupt once the entry numbered used_event is used, i.e. when
     * it lies in [old, now): vring_need_event, in 16-bit arithmetic so that it holds across
     * the indices' wrap-around (§2.6.7.2; the flags' lower bit is ignored then). */
    uint16_t event = ld16(m, used_event_gpa(q));
    return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
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
