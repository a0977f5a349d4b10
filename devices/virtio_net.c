#include "virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "device.h"
#include "net_uplink.h"
#include "virtio_pci.h"

#define RXQ 0
#define TXQ 1
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)   /* 12: VERSION_1's header, always */
#define F_MRG (1ULL << VIRTIO_NET_F_MRG_RXBUF)
/* The configuration up to max_virtqueue_pairs (1, which a driver without MQ ignores). */
#define CONFIG_SIZE (offsetof(struct virtio_net_config, max_virtqueue_pairs) + 2)

struct virtio_net {
    struct virtio_dev vdev;          /* first: the transport hands us back this pointer */
    struct net_config cfg;
    struct net_backend be;
    char name[16];                   /* "net" and the PCI slot, for messages */
    int kick[2];                     /* eventfds: queue RXQ, TXQ notified */
    int stop_fd;                     /* eventfd: the thread must end */
    pthread_t thread;
    bool running;
    uint16_t status;                 /* config status (VIRTIO_NET_S_LINK_UP); under vdev.lock */
    /* The thread's (or virtio_net_process's caller's) alone. */
    bool rx_stalled;                 /* a frame waits for the guest's buffers */
    struct virtq_chain first, more;  /* the receive chains in hand; first holds the header */
    uint16_t heads[VIRTQ_MAX_SIZE];
    uint32_t lens[VIRTQ_MAX_SIZE];
};

static struct virtio_net *net_of(struct virtio_dev *v)
{
    return (struct virtio_net *)v;
}

static void net_config_read(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len)
{
    struct virtio_net *n = net_of(v);
    struct virtio_net_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    memcpy(cfg.mac, n->cfg.mac, 6);
    cfg.status = htole16(n->status);
    cfg.max_virtqueue_pairs = htole16(1);
    memcpy(data, (const uint8_t *)&cfg + off, len);
}

static void kick(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof(one));
    (void)r;   /* a full counter already means "wake up" */
}

/* Whether the eventfd was signalled (and clears it). */
static bool drain(int fd)
{
    uint64_t n;
    return read(fd, &n, sizeof(n)) == sizeof(n);
}

static void net_notify(struct virtio_dev *v, uint16_t q)
{
    kick(net_of(v)->kick[q & 1]);
}

static int net_queue_eventfd(struct virtio_dev *v, uint16_t q)
{
    return net_of(v)->kick[q & 1];
}

/* Every ring access is made under vdev.lock with the queue ready, and no chain is kept across
 * a release of it: once the transport marked the queues not ready, the thread touches no
 * ring. A stalled frame is tried again when the new driver offers buffers. */
static void net_reset(struct virtio_dev *v)
{
    (void)v;
}

/* The backend went away: the guest's link goes down (a configuration interrupt tells its
 * driver), one line says why, and the run goes on. */
static void link_down(struct virtio_net *n)
{
    struct virtio_dev *v = &n->vdev;
    char line[256];
    if (n->be.dead)
        return;
    net_backend_gone(&n->be, line, sizeof(line));
    pthread_mutex_lock(&v->lock);
    n->status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
    virtio_config_changed_locked(v);
    pthread_mutex_unlock(&v->lock);
    __atomic_add_fetch(&v->m->net_links_down, 1, __ATOMIC_RELAXED);
    bool hint = n->cfg.kind == NET_PASST && !v->m->verbose;
    machine_log(v->m, "%s: %s: the guest's link is down (the run goes on)%s", n->name, line,
                hint ? "; -v shows passt's own messages" : "");
}

/* ---- receive ---- */

/* Gives the k chains popped back to the ring (they were not used). */
static void unpop(struct virtq *q, unsigned k)
{
    q->last_avail = (uint16_t)(q->last_avail - k);
}

/* Puts one frame into the guest's receive buffers, with vdev.lock held: header and frame in
 * one chain, or, with MRG_RXBUF, across as many as it takes (num_buffers says how many), all
 * published at once. 1: done with the frame (delivered, or dropped: no buffers of this
 * driver can hold it); 0: no room now (the chains taken go back; the driver was asked to
 * notify its next buffer). */
static int rx_one(struct virtio_net *n, const uint8_t *frame, size_t len, unsigned *pushed)
{
    struct virtio_dev *v = &n->vdev;
    struct virtq *q = &v->vq[RXQ];
    bool mrg = v->drv_features & F_MRG;
    unsigned k = 0, max = mrg ? q->size : 1;
    size_t done = 0;
    while (done < len) {
        if (k == max) {   /* more than the whole ring, or one buffer, can hold */
            unpop(q, k);
            __atomic_add_fetch(&v->m->net_rx_dropped, 1, __ATOMIC_RELAXED);
            return 1;
        }
        struct virtq_chain *c = k ? &n->more : &n->first;
        int r = virtio_pop_locked(v, RXQ, c);
        if (r == 0 && q->ready)
            unpop(q, k);
        if (r <= 0)
            return 0;   /* none, or the driver broke the ring (it must reset the device) */
        /* Every receive buffer holds at least the header (virtio 1.1 §5.1.6.3.1). */
        if (c->in_len < HDR_LEN) {
            virtio_set_broken_locked(v);
            return 0;
        }
        uint64_t skip = k ? 0 : HDR_LEN, room = c->in_len - skip;
        size_t take = room < len - done ? (size_t)room : len - done;
        virtq_write_in(c, skip, frame + done, take);
        n->heads[k] = c->head;
        n->lens[k++] = (uint32_t)(skip + take);
        done += take;
    }
    struct virtio_net_hdr_v1 h;
    memset(&h, 0, sizeof(h));
    h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
    h.num_buffers = htole16((uint16_t)k);
    virtq_write_in(&n->first, 0, &h, HDR_LEN);
    virtq_push_many(q, &v->m->mem, n->heads, n->lens, k);
    *pushed += k;
    return 1;
}

/* Hands received frames to the guest while it has room; stops reading the backend when it
 * has none (backpressure) until the driver notifies new buffers. */
static void rx_pump(struct virtio_net *n)
{
    struct virtio_dev *v = &n->vdev;
    unsigned pushed = 0;
    while (!n->rx_stalled) {
        const uint8_t *frame;
        size_t len;
        int r = net_backend_peek(&n->be, &frame, &len);
        if (r < 0) {
            link_down(n);
            break;
        }
        if (r == 0)
            break;
        pthread_mutex_lock(&v->lock);
        int done = rx_one(n, frame, len, &pushed);
        pthread_mutex_unlock(&v->lock);
        if (done)
            net_backend_consume(&n->be);
        else
            n->rx_stalled = true;
    }
    if (!pushed)
        return;
    pthread_mutex_lock(&v->lock);
    if (v->vq[RXQ].ready && virtq_should_notify(&v->vq[RXQ], &v->m->mem))
        virtio_notify_queue_locked(v, RXQ);
    pthread_mutex_unlock(&v->lock);
}

/* ---- transmit ---- */

/* One chain of the transmit queue (vdev.lock held): the header, then the frame, copied out
 * at once (the guest cannot change it under us); anything else is dropped and counted. */
static void tx_one(struct virtio_net *n, const struct virtq_chain *c)
{
    struct machine *m = n->vdev.m;
    uint64_t len = c->out_len - (c->out_len < HDR_LEN ? c->out_len : HDR_LEN);
    if (c->out_len < HDR_LEN || len < ETH_HDR_LEN || len > NET_FRAME_MAX) {
        __atomic_add_fetch(&m->net_bad_frames, 1, __ATOMIC_RELAXED);
        return;
    }
    if (n->be.dead)
        return;   /* the link is down: lost, as on an unplugged wire */
    uint8_t *p = net_backend_tx_space(&n->be, (size_t)len);
    if (p)   /* always: the caller flushed the last frame first */
        virtq_read_out(c, HDR_LEN, p, len);
}

/* Sends what the guest queued while the backend takes it; a frame the backend could only
 * take part of waits for room (poll for output), and so does the queue behind it. */
static void tx_pump(struct virtio_net *n)
{
    struct virtio_dev *v = &n->vdev;
    unsigned pushed = 0;
    for (;;) {
        int f = net_backend_flush(&n->be);
        if (f == 0)
            break;
        if (f < 0)
            link_down(n);   /* and the queue drains into nothing */
        pthread_mutex_lock(&v->lock);
        int r = virtio_pop_locked(v, TXQ, &n->more);
        if (r > 0) {
            tx_one(n, &n->more);
            virtq_push(&v->vq[TXQ], &v->m->mem, n->more.head, 0);
            pushed++;
        }
        pthread_mutex_unlock(&v->lock);
        if (r <= 0)
            break;
    }
    if (!pushed)
        return;
    pthread_mutex_lock(&v->lock);
    if (v->vq[TXQ].ready && virtq_should_notify(&v->vq[TXQ], &v->m->mem))
        virtio_notify_queue_locked(v, TXQ);
    pthread_mutex_unlock(&v->lock);
}

void virtio_net_process(struct virtio_net *n)
{
    if (drain(n->kick[RXQ]))
        n->rx_stalled = false;   /* new buffers: try the waiting frame again */
    drain(n->kick[TXQ]);
    /* Frames waiting for the guest's buffers hold the backend unread: see whether it is
     * still there, so that the link goes down even while the guest gives no buffers. */
    if (n->rx_stalled && net_backend_hung_up(&n->be))
        link_down(n);
    tx_pump(n);
    rx_pump(n);
}

bool virtio_net_rx_stalled(const struct virtio_net *n)
{
    return n->rx_stalled;
}

/* ---- the thread ---- */

static void *net_thread(void *arg)
{
    struct virtio_net *n = arg;
    struct machine *m = n->vdev.m;
    /* A write to a passt that just died must fail with EPIPE, not end the process. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    if (m->thread_init && m->thread_init(m) != 0) {
        m->ops->shutdown(m, MVM_E_HOST, "a network thread could not restrict itself with "
                         "seccomp (kernel without seccomp?); run with --no-seccomp");
        return NULL;
    }
    for (;;) {
        bool out = n->be.tx_off < n->be.tx_len;
        short ev = (short)((n->rx_stalled ? 0 : POLLIN) | (out ? POLLOUT : 0));
        /* Even with no events asked (the guest has no room) a hang-up wakes us, and the
         * link goes down; a backend that is gone is left out, or its hang-up would wake us
         * for ever. */
        struct pollfd p[4] = {
            {.fd = n->stop_fd, .events = POLLIN},
            {.fd = n->kick[RXQ], .events = POLLIN},
            {.fd = n->kick[TXQ], .events = POLLIN},
            {.fd = n->be.dead ? -1 : n->be.fd, .events = ev},
        };
        if (poll(p, 4, -1) < 0 && errno != EINTR) {
            /* Nothing is served any more: the guest must not wait on a link that looks up. */
            machine_log(n->vdev.m, "%s: the network thread stopped: poll: %s", n->name,
                        mvm_strerror(errno));
            link_down(n);
            break;
        }
        if (p[0].revents)
            break;
        virtio_net_process(n);   /* clears the kicks */
    }
    return NULL;
}

/* ---- life ---- */

static const struct virtio_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000,      /* network, Ethernet */
    .num_queues = 2,
    .features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS | F_MRG,
    .config_size = CONFIG_SIZE,
    .config_read = net_config_read,
    .notify = net_notify,
    .queue_eventfd = net_queue_eventfd,
    .reset = net_reset,
};

static struct virtio_net *net_new(const struct net_config *c, struct mvm_err *e)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n) {
        mvm_fail(e, MVM_E_VMM, "out of memory");
        return NULL;
    }
    n->cfg = *c;
    n->kick[0] = n->kick[1] = n->stop_fd = -1;
    net_backend_init_fd(&n->be, -1, false);
    for (unsigned i = 0; i < 3; i++) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            mvm_fail(e, MVM_E_VMM, "eventfd: %s", strerror(errno));
            virtio_net_destroy(n);
            return NULL;
        }
        *(i < 2 ? &n->kick[i] : &n->stop_fd) = fd;
    }
    return n;
}

/* The PCI side, once the backend is there: the slot names the NIC and, unless mac= did,
 * makes its MAC. */
static int net_plug(struct virtio_net *n, struct machine *m, struct mvm_err *e)
{
    int r = virtio_pci_init(&n->vdev, m, &net_ops);
    if (r)
        return mvm_fail(e, MVM_E_INPUT, "cannot add a network device: %s",
                        r == -ENOSPC ? "no free PCI slot" : strerror(-r));
    if (!n->cfg.mac_set)
        net_default_mac(n->vdev.pci.slot, n->cfg.kind == NET_TAP ? n->cfg.tap : NULL, n->cfg.mac);
    snprintf(n->name, sizeof(n->name), "net%u", (unsigned)n->vdev.pci.slot);
    n->status = VIRTIO_NET_S_LINK_UP;
    return 0;
}

int virtio_net_create_fd(struct virtio_net **out, struct machine *m, const struct net_config *c,
                         int fd, bool stream, struct mvm_err *e)
{
    *out = NULL;
    struct virtio_net *n = net_new(c, e);
    if (!n) {
        close(fd);
        return -1;
    }
    net_backend_init_fd(&n->be, fd, stream);
    if (net_plug(n, m, e)) {
        virtio_net_destroy(n);
        return -1;
    }
    *out = n;
    return 0;
}

int virtio_net_create(struct virtio_net **out, struct machine *m, const struct net_config *c,
                      struct mvm_err *e)
{
    *out = NULL;
    struct virtio_net *n = net_new(c, e);
    if (!n)
        return -1;
    if (net_backend_open(&n->be, c, m->log_fd, m->verbose, e) || net_plug(n, m, e)) {
        virtio_net_destroy(n);
        return -1;
    }
    *out = n;
    return 0;
}

int virtio_net_start(struct virtio_net *n, struct mvm_err *e)
{
    int r = pthread_create(&n->thread, NULL, net_thread, n);
    if (r)
        return mvm_fail(e, MVM_E_VMM, "cannot start the network thread: %s", strerror(r));
    n->running = true;
    return 0;
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    if (n->running) {
        kick(n->stop_fd);
        pthread_join(n->thread, NULL);
    }
    net_backend_close(&n->be);
    for (unsigned i = 0; i < 2; i++)
        if (n->kick[i] >= 0)
            close(n->kick[i]);
    if (n->stop_fd >= 0)
        close(n->stop_fd);
    if (n->vdev.m)
        virtio_pci_destroy(&n->vdev);
    free(n);
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
    return &n->vdev;
}

/* ---- the device kind (device.h) ---- */

static int kind_check(const char *spec, struct mvm_err *e)
{
    struct net_config c;
    return net_parse(spec, &c, e);
}

static void *kind_create(struct machine *m, const char *spec, bool snapshot_all, struct mvm_err *e)
{
    (void)snapshot_all;
    struct net_config c;
    struct virtio_net *n;
    if (net_parse(spec, &c, e))
        return NULL;
    return virtio_net_create(&n, m, &c, e) ? NULL : n;
}

static int kind_start(void *dev, struct mvm_err *e)
{
    return virtio_net_start(dev, e);
}

static void kind_destroy(void *dev)
{
    virtio_net_destroy(dev);
}

static struct virtio_dev *kind_virtio(void *dev)
{
    return virtio_net_dev(dev);
}

static void kind_describe(void *dev, char *buf, size_t len)
{
    const struct virtio_net *n = dev;
    const uint8_t *a = n->cfg.mac;
    snprintf(buf, len, "%s: virtio-net %02x:%02x:%02x:%02x:%02x:%02x on %s%s", n->name, a[0],
             a[1], a[2], a[3], a[4], a[5], n->cfg.kind == NET_TAP ? "tap " : "passt",
             n->cfg.kind == NET_TAP ? n->cfg.tap : "");
}

/* --rootfs: the first NIC behind passt is eth0 with what passt will give it (the host's
 * uplink, handed to passt explicitly too: net_passt_argv), and the gateway is the guest's
 * nameserver (passt forwards its queries to the host's resolvers). A tap's network is the
 * user's to set up, and only eth0 is the init's. */
static int kind_guest_setup(const char *spec, unsigned nth,
                            void (*add)(void *ctx, const char *key, const char *value), void *ctx,
                            struct mvm_err *e)
{
    struct net_config c;
    struct net_uplink u;
    if (nth != 0)
        return 0;
    if (net_parse(spec, &c, e))
        return -1;
    if (c.kind != NET_PASST)
        return 0;
    if (net_uplink_find(&u, e))
        return -1;
    char rec[64], gw[16];
    net_uplink_record(&u, rec, sizeof(rec));
    net_uplink_ipv4(u.gateway, gw, sizeof(gw));
    add(ctx, "net", rec);
    add(ctx, "nameserver", gw);
    return 0;
}

static const char *const guest_modules[] = {"virtio_net", NULL};

const struct device_kind virtio_net_kind = {
    .name = "net",
    .short_option = 0,
    .usage = "      --net SPEC        add a virtio-net NIC: [passt|passt=PATH|tap=NAME]\n"
             "                        [,mac=XX:XX:XX:XX:XX:XX] (repeatable; passt, started by\n"
             "                        minivmm, is the default: --net '' or --net mac=...)\n",
    .max = 8,
    .check = kind_check,
    .create = kind_create,
    .start = kind_start,
    .destroy = kind_destroy,
    .virtio = kind_virtio,
    .describe = kind_describe,
    .guest_modules = guest_modules,
    .guest_setup = kind_guest_setup,
};
