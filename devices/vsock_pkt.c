/* The vsock device's packets: what the guest sends (TX), checked field by field, and what it
 * is sent (RX), within its credit (see virtio_vsock.h). */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "vsock_impl.h"

/* TX chains taken in one pass, and RX packets made: then the other side has its turn. */
#define TX_BUDGET 256
#define RX_BUDGET 512

static void bad_packet(struct virtio_vsock *v)
{
    v->stats.bad_packets++;
    __atomic_add_fetch(&v->vdev.m->bad_packets, 1, __ATOMIC_RELAXED);
}

void vsock_owe_orphan_rst(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port)
{
    /* Bounded: a guest that sends junk faster than it takes RSTs gets fewer of them. */
    if (v->norphans < VSOCK_ORPHANS)
        v->orphan[v->norphans++] = (typeof(v->orphan[0])){host_port, guest_port};
}

/* The guest shuts its side down, part or whole (flags: VIRTIO_VSOCK_SHUTDOWN_*). */
static void guest_shutdown(struct virtio_vsock *v, struct vsock_conn *c, uint32_t flags)
{
    c->guest_no_rcv |= (flags & VIRTIO_VSOCK_SHUTDOWN_RCV) != 0;
    c->guest_no_send |= (flags & VIRTIO_VSOCK_SHUTDOWN_SEND) != 0;
    /* Both ways (the guest closed its socket): it waits for our RST, which ends it. */
    c->closing = c->guest_no_rcv && c->guest_no_send;
    if (!c->used && (c->closing || c->guest_no_send))
        vsock_conn_flush(v, c);   /* nothing left to write: half-close or close now */
}

/* One packet on a connection the guest and we both know of. */
static void conn_packet(struct virtio_vsock *v, struct vsock_conn *c, const struct virtq_chain *ch,
                        uint16_t op, uint32_t len, uint32_t flags)
{
    switch (op) {
    case VIRTIO_VSOCK_OP_RST:
        vsock_conn_free(v, c);   /* no answer to an RST */
        return;
    case VIRTIO_VSOCK_OP_RESPONSE:
        if (c->state == C_REQUEST && !(c->owe & OWE_REQUEST)) {
            vsock_conn_accepted(v, c);
            return;
        }
        break;
    case VIRTIO_VSOCK_OP_SHUTDOWN:
        if (c->state != C_LIVE)
            break;
        guest_shutdown(v, c, flags);
        return;
    case VIRTIO_VSOCK_OP_RW:
        if (c->state != C_LIVE || c->guest_no_send)
            break;
        virtq_read_out(ch, VSOCK_HDR, v->scratch, len);
        vsock_conn_deliver(v, c, v->scratch, len);
        return;
    case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
        return;   /* its credit fields were taken already */
    case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
        c->owe |= OWE_CREDIT;
        return;
    default:    /* a second REQUEST */
        break;
    }
    /* Not what this connection's state allows: the guest is confused, the connection over. */
    bad_packet(v);
    vsock_conn_kill(v, c);
}

static void tx_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
    struct virtio_vsock_hdr h;
    if (ch->out_len < VSOCK_HDR) {
        bad_packet(v);
        return;
    }
    virtq_read_out(ch, 0, &h, VSOCK_HDR);
    uint32_t host_port = le32toh(h.dst_port), guest_port = le32toh(h.src_port);
    uint32_t len = le32toh(h.len);
    uint16_t op = le16toh(h.op);
    /* Not from this guest or not for the host: nobody to answer. */
    if (le64toh(h.src_cid) != v->cfg.cid || le64toh(h.dst_cid) != VSOCK_HOST_CID) {
        bad_packet(v);
        return;
    }
    struct vsock_conn *c = vsock_conn_find(v, host_port, guest_port);
    /* The guest "knows" a host-initiated connection only once it was asked. */
    if (c && c->state == C_REQUEST && (c->owe & OWE_REQUEST))
        c = NULL;
    if (le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM || len > VSOCK_MAX_PAYLOAD ||
        len > ch->out_len - VSOCK_HDR || op == VIRTIO_VSOCK_OP_INVALID ||
        op > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
        bad_packet(v);
        if (op == VIRTIO_VSOCK_OP_RST)
            return;
        if (c)
            vsock_conn_kill(v, c);
        else
            vsock_owe_orphan_rst(v, host_port, guest_port);
        return;
    }
    if (!c) {
        if (op == VIRTIO_VSOCK_OP_REQUEST)
            vsock_guest_connect(v, host_port, guest_port, le32toh(h.buf_alloc),
                                le32toh(h.fwd_cnt));
        else if (op != VIRTIO_VSOCK_OP_RST)
            vsock_owe_orphan_rst(v, host_port, guest_port);
        return;
    }
    if (c->state == C_DEAD) {   /* an RST is on its way; theirs ends it sooner */
        if (op == VIRTIO_VSOCK_OP_RST)
            vsock_conn_free(v, c);
        return;
    }
    c->peer_buf_alloc = le32toh(h.buf_alloc);
    c->peer_fwd_cnt = le32toh(h.fwd_cnt);
    conn_packet(v, c, ch, op, len, le32toh(h.flags));
}

void vsock_do_tx(struct virtio_vsock *v)
{
    for (unsigned i = 0; i < TX_BUDGET; i++) {
        pthread_mutex_lock(&v->vdev.lock);
        int r = virtio_pop_locked(&v->vdev, VSOCK_TXQ, &v->tx);
        pthread_mutex_unlock(&v->vdev.lock);
        if (r <= 0)
            return;
        tx_packet(v, &v->tx);
        pthread_mutex_lock(&v->vdev.lock);
        if (v->vdev.vq[VSOCK_TXQ].ready) {
            virtq_push(&v->vdev.vq[VSOCK_TXQ], &v->vdev.m->mem, v->tx.head, 0);
            v->notify_tx |= virtq_should_notify(&v->vdev.vq[VSOCK_TXQ], &v->vdev.m->mem);
        }
        pthread_mutex_unlock(&v->vdev.lock);
    }
    v->again = true;   /* more may wait: the next pass does not sleep */
}

/* An RX chain in hand (v->rx): true, or false when the queue has none (wait for its kick). */
static bool take_rx(struct virtio_vsock *v)
{
    while (!v->rx_held) {
        pthread_mutex_lock(&v->vdev.lock);
        int r = virtio_pop_locked(&v->vdev, VSOCK_RXQ, &v->rx);
        if (r > 0 && v->rx.in_len < VSOCK_HDR) {   /* no room for a header: return it */
            virtq_push(&v->vdev.vq[VSOCK_RXQ], &v->vdev.m->mem, v->rx.head, 0);
            v->notify_rx = true;
            bad_packet(v);
            r = 2;
        }
        pthread_mutex_unlock(&v->vdev.lock);
        if (r <= 0) {
            v->want_rx = true;
            return false;
        }
        v->rx_held = r == 1;
    }
    return true;
}

/* Sends the packet h (with len bytes of v->scratch) in the RX chain in hand. */
static void put_rx(struct virtio_vsock *v, struct virtio_vsock_hdr *h, uint32_t len)
{
    virtq_write_in(&v->rx, 0, h, VSOCK_HDR);
    if (len)
        virtq_write_in(&v->rx, VSOCK_HDR, v->scratch, len);
    pthread_mutex_lock(&v->vdev.lock);
    if (v->vdev.vq[VSOCK_RXQ].ready) {
        virtq_push(&v->vdev.vq[VSOCK_RXQ], &v->vdev.m->mem, v->rx.head,
                   (uint32_t)VSOCK_HDR + len);
        v->notify_rx |= virtq_should_notify(&v->vdev.vq[VSOCK_RXQ], &v->vdev.m->mem);
    }
    pthread_mutex_unlock(&v->vdev.lock);
    v->rx_held = false;
}

static void header(struct virtio_vsock *v, struct virtio_vsock_hdr *h, uint32_t host_port,
                   uint32_t guest_port, uint16_t op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = htole64(VSOCK_HOST_CID);
    h->dst_cid = htole64(v->cfg.cid);
    h->src_port = htole32(host_port);
    h->dst_port = htole32(guest_port);
    h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
    h->op = htole16(op);
    h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
}

static bool wants_data(const struct vsock_conn *c)
{
    return c->state == C_LIVE && c->readable && !c->host_eof && !c->guest_no_rcv &&
           vsock_credit(c);
}

/* The host program's data for the guest, up to room bytes, into v->scratch: how many, or 0
 * (none now, or end of file: then the guest is owed a SHUTDOWN or the connection is over). */
static uint32_t read_host(struct virtio_vsock *v, struct vsock_conn *c, uint32_t room)
{
    uint32_t credit = vsock_credit(c);
    uint32_t want = room < credit ? room : credit;
    if (want > VSOCK_MAX_PAYLOAD)
        want = VSOCK_MAX_PAYLOAD;
    ssize_t n = read(c->fd, v->scratch, want);
    if (n > 0)
        return (uint32_t)n;
    c->readable = false;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0) {
        vsock_conn_kill(v, c);
    } else {
        c->host_eof = true;
        if (c->guest_no_send && !c->used)
            vsock_conn_kill(v, c);   /* both sides are done */
        else
            c->owe |= OWE_SHUTDOWN;
    }
    return 0;
}

/* The next packet connection c owes the guest, into the RX chain in hand; false if none. */
static bool conn_rx(struct virtio_vsock *v, struct vsock_conn *c)
{
    struct virtio_vsock_hdr h;
    uint32_t len = 0;
    uint16_t op;
    if (wants_data(c) && !(c->owe & (OWE_RST | OWE_REQUEST | OWE_RESPONSE)) &&
        v->rx.in_len > VSOCK_HDR)
        /* (in 64 bits first: overlapping descriptors can make a chain over 4 GiB long) */
        len = read_host(v, c, v->rx.in_len - VSOCK_HDR > VSOCK_MAX_PAYLOAD
                                  ? VSOCK_MAX_PAYLOAD : (uint32_t)(v->rx.in_len - VSOCK_HDR));
    if (c->owe & OWE_RST)
        op = VIRTIO_VSOCK_OP_RST;
    else if (c->owe & OWE_REQUEST)
        op = VIRTIO_VSOCK_OP_REQUEST;
    else if (c->owe & OWE_RESPONSE)
        op = VIRTIO_VSOCK_OP_RESPONSE;
    else if (len)
        op = VIRTIO_VSOCK_OP_RW;
    else if (c->owe & OWE_SHUTDOWN)
        op = VIRTIO_VSOCK_OP_SHUTDOWN;
    else if (c->owe & OWE_CREDIT)
        op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
    else
        return false;
    header(v, &h, c->host_port, c->guest_port, op);
    h.len = htole32(len);
    h.fwd_cnt = htole32(c->fwd_cnt);   /* every packet tells the guest its credit */
    if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
        h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
    put_rx(v, &h, len);
    c->tx_cnt += len;
    c->fwd_told = c->fwd_cnt;
    c->owe &= ~(unsigned)OWE_CREDIT;
    if (op == VIRTIO_VSOCK_OP_RST)
        vsock_conn_free(v, c);
    else if (op != VIRTIO_VSOCK_OP_RW)
        c->owe &= ~(unsigned)(op == VIRTIO_VSOCK_OP_REQUEST ? OWE_REQUEST :
                              op == VIRTIO_VSOCK_OP_RESPONSE ? OWE_RESPONSE : OWE_SHUTDOWN);
    return true;
}

/* Round robin: one packet per connection per round, so one busy stream cannot starve the
 * others of RX buffers. */
void vsock_do_rx(struct virtio_vsock *v)
{
    unsigned sent = 0;
    bool progress = true;
    while (progress && sent < RX_BUDGET) {
        progress = false;
        while (v->norphans) {
            if (!take_rx(v))
                return;
            struct virtio_vsock_hdr h;
            v->norphans--;
            header(v, &h, v->orphan[v->norphans].host_port, v->orphan[v->norphans].guest_port,
                   VIRTIO_VSOCK_OP_RST);
            put_rx(v, &h, 0);
            sent++;
        }
        unsigned n = v->nconns;
        for (unsigned k = 0; k < n && k < v->nconns; k++) {
            struct vsock_conn *c = v->conn[(v->next_rr + k) % v->nconns];
            if (!c->owe && !wants_data(c))
                continue;
            if (!take_rx(v))
                return;
            if (conn_rx(v, c))
                progress = true, sent++;
        }
        v->next_rr++;
    }
    if (progress)
        v->again = true;
}
