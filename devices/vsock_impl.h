/* Inside the vsock device: shared by virtio_vsock.c (the device, its thread, its SPEC) and
 * vsock_host.c (connections and the host side) and vsock_pkt.c (the packets that drive them). */
#ifndef MINIVMM_VSOCK_IMPL_H
#define MINIVMM_VSOCK_IMPL_H

#include <linux/virtio_vsock.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio_pci.h"
#include "virtio_vsock.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_HDR sizeof(struct virtio_vsock_hdr)   /* 44 */
/* The first port of host-initiated connections (the guest's own are below). */
#define VSOCK_FIRST_HOST_PORT (1u << 30)
#define VSOCK_NFIXED 4        /* poll slots before the connections': stop, kicks, listener */
#define VSOCK_ORPHANS 64      /* RSTs owed for packets of no connection; more are dropped */

enum conn_state {
    C_LINE,       /* host-initiated: reading the CONNECT line */
    C_REQUEST,    /* host-initiated: REQUEST owed or sent, waiting for the guest's answer */
    C_LIVE,       /* connected */
    C_DEAD,       /* host socket closed; only the RST owed to the guest is left */
};

/* What a connection owes the guest (sent as RX buffers allow, in this order of priority). */
#define OWE_RST 0x1
#define OWE_REQUEST 0x2
#define OWE_RESPONSE 0x4
#define OWE_SHUTDOWN 0x8     /* ours: the host program will send nothing more */
#define OWE_CREDIT 0x10

struct vsock_conn {
    int fd;                   /* the host's UNIX socket; -1 once C_DEAD */
    enum conn_state state;
    uint32_t host_port, guest_port;
    unsigned owe;             /* OWE_* */
    bool readable;            /* poll said the host socket has data (or EOF) for the guest */
    bool host_eof;            /* it has no more */
    bool guest_no_rcv;        /* the guest's SHUTDOWN flags */
    bool guest_no_send;
    bool closing;             /* the guest shut both ways: RST once the buffer is written */
    uint64_t deadline_ms;     /* C_LINE, C_REQUEST: when it is given up */
    char line[VSOCK_LINE_MAX];
    unsigned line_len;
    /* Guest to host: what the host socket has not taken yet, a ring of VSOCK_BUF_ALLOC
     * bytes allocated only while it holds something. */
    uint8_t *buf;
    uint32_t head, used;
    uint32_t fwd_cnt;         /* bytes of the guest's written to the host socket */
    uint32_t fwd_told;        /* fwd_cnt as the guest last heard it */
    /* Host to guest, within the guest's credit. */
    uint32_t tx_cnt;          /* bytes sent to the guest */
    uint32_t peer_buf_alloc, peer_fwd_cnt;
};

struct virtio_vsock {
    struct virtio_dev vdev;           /* first: the transport hands us back this pointer */
    struct vsock_config cfg;
    int listen_fd;
    int kick_fd[2];                   /* eventfds: RX buffers added, TX packets queued */
    int stop_fd;                      /* eventfd: the thread must end */
    pthread_t thread;
    bool running;
    bool listening;                   /* we made cfg.uds: we remove it */
    /* accept4 failed for want of descriptors: the listener is left out of the poll until
     * then (CLOCK_MONOTONIC ms), or it would wake the thread at once, for ever. */
    uint64_t accept_paused_until;
    int line_ms, reply_ms;
    /* The connections and the rest below: the thread's, and a driver reset's. */
    pthread_mutex_t lock;
    uint64_t generation;              /* moves on at each reset: poll results go stale */
    struct vsock_conn *conn[VSOCK_MAX_CONNS];
    unsigned nconns;                  /* conn[0..nconns) are all set */
    unsigned max_conns;               /* VSOCK_MAX_CONNS or fewer (virtio_vsock.h) */
    dev_t uds_dev;                    /* the socket file we made, to remove it and no other */
    ino_t uds_ino;
    unsigned next_rr;                 /* where the next RX round starts (fairness) */
    uint32_t next_port;               /* host ports for host-initiated connections */
    struct { uint32_t host_port, guest_port; } orphan[VSOCK_ORPHANS];
    unsigned norphans;
    bool rx_held;                     /* rx holds an RX chain not yet used */
    bool want_rx;                     /* the RX queue ran dry: wait for its kick */
    bool notify_rx, notify_tx;        /* chains completed: interrupt after the pass */
    bool again;                       /* a budget ran out: the next pass must not sleep */
    struct vsock_stats stats;
    /* One poll at a time (the thread, or a test's virtio_vsock_poll): its set, and the
     * connection each of its slots past the fixed ones stands for. */
    struct pollfd pfd[VSOCK_NFIXED + VSOCK_MAX_CONNS];
    struct vsock_conn *polled[VSOCK_MAX_CONNS];
    struct virtq_chain rx, tx;
    uint8_t scratch[VSOCK_MAX_PAYLOAD];
};

/* What the guest lets us send it now: its buffer less what it has not yet passed on
 * (u32 counters that wrap; a guest that shrank its buffer below that gets nothing). */
static inline uint32_t vsock_credit(const struct vsock_conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* All of these with v->lock held, on the device's thread (or a reset's). */

/* vsock_host.c: the host's sockets. */
uint64_t vsock_now_ms(void);
void vsock_accept(struct virtio_vsock *v);
/* What to poll a connection's socket for (0: nothing, leave it out). */
short vsock_conn_events(const struct vsock_conn *c);
void vsock_conn_event(struct virtio_vsock *v, struct vsock_conn *c, short revents);
/* Gives up connections past their deadline; lowers *timeout_ms to the next deadline. */
void vsock_timeouts(struct virtio_vsock *v, int *timeout_ms);
struct vsock_conn *vsock_conn_new(struct virtio_vsock *v, int fd, enum conn_state state);
struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t host_port,
                                   uint32_t guest_port);
/* Forgets c (its slot goes to the last connection: an RX round may skip one, no more). */
void vsock_conn_free(struct virtio_vsock *v, struct vsock_conn *c);
/* Closes the host socket; the guest is owed an RST, after which c is freed. A connection
 * the guest never heard of is freed at once. */
void vsock_conn_kill(struct virtio_vsock *v, struct vsock_conn *c);
/* The guest's data for the host: written now, or buffered, within VSOCK_BUF_ALLOC. */
void vsock_conn_deliver(struct virtio_vsock *v, struct vsock_conn *c, const uint8_t *data,
                        uint32_t len);
/* Writes what the buffer holds; then the guest's half-close or close, as it asked. */
void vsock_conn_flush(struct virtio_vsock *v, struct vsock_conn *c);
/* The guest answered our REQUEST: tell the host program. */
void vsock_conn_accepted(struct virtio_vsock *v, struct vsock_conn *c);
/* The guest connects to host port `port`: to PATH_port. */
void vsock_guest_connect(struct virtio_vsock *v, uint32_t port, uint32_t guest_port,
                         uint32_t buf_alloc, uint32_t fwd_cnt);
void vsock_close_all(struct virtio_vsock *v);

/* vsock_pkt.c: the guest's packets. */
void vsock_owe_orphan_rst(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port);
void vsock_do_tx(struct virtio_vsock *v);
void vsock_do_rx(struct virtio_vsock *v);

#endif
