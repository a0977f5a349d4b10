/* virtio-vsock: the device, its thread and its SPEC (see virtio_vsock.h). */
#include "virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "device.h"
#include "fd_budget.h"
#include "vsock_impl.h"

#define F_STREAM 0              /* VIRTIO_VSOCK_F_STREAM (older uapi headers lack it) */

static struct virtio_vsock *vs_of(struct virtio_dev *d)
{
    return (struct virtio_vsock *)d;
}

int vsock_parse(const char *spec, struct vsock_config *c, struct mvm_err *e)
{
    memset(c, 0, sizeof(*c));
    char *end;
    errno = 0;
    unsigned long long cid = strtoull(spec, &end, 0);
    if (end == spec || errno || spec[0] == '-' || (*end && *end != ','))
        return mvm_fail(e, MVM_E_INPUT, "--vsock %s: no CID (write --vsock CID,uds=PATH, e.g. "
                        "--vsock 3,uds=/tmp/vm.sock)", spec);
    /* 0-2 are the hypervisor's, the local and the host's; -1U is VMADDR_CID_ANY. */
    if (cid < 3 || cid >= 0xffffffffULL)
        return mvm_fail(e, MVM_E_INPUT, "--vsock %s: the guest's CID must be 3 to 4294967294",
                        spec);
    c->cid = cid;
    if (strncmp(end, ",uds=", 5) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--vsock %s: no uds=PATH, the host's socket (write "
                        "--vsock %llu,uds=/tmp/vm.sock)", spec, cid);
    const char *path = end + 5;
    if (!path[0])
        return mvm_fail(e, MVM_E_INPUT, "--vsock %s: uds= needs a path", spec);
    if (strlen(path) > VSOCK_PATH_MAX)
        return mvm_fail(e, MVM_E_INPUT, "--vsock: the uds path has %zu bytes, more than %d (a "
                        "UNIX socket's limit, less room for _PORT); use a shorter one",
                        strlen(path), VSOCK_PATH_MAX);
    strcpy(c->uds, path);
    return 0;
}

/* ---- the transport's side ---- */

static void vs_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
    uint64_t cid = htole64(vs_of(d)->cfg.cid);
    memcpy(data, (uint8_t *)&cid + off, len);   /* the transport checked off + len <= 8 */
}

static int vs_queue_eventfd(struct virtio_dev *d, uint16_t q)
{
    struct virtio_vsock *v = vs_of(d);
    return q == VSOCK_RXQ ? v->kick_fd[0] : q == VSOCK_TXQ ? v->kick_fd[1] : -1;
}

static void vs_notify(struct virtio_dev *d, uint16_t q)
{
    int fd = vs_queue_eventfd(d, q);
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* A full eventfd already says "look at the queues". */
    }
}

/* A driver reset ends every connection: the new driver knows none of them. */
static void vs_reset(struct virtio_dev *d)
{
    struct virtio_vsock *v = vs_of(d);
    pthread_mutex_lock(&v->lock);
    vsock_close_all(v);
    v->rx_held = false;
    v->want_rx = false;
    v->generation++;
    pthread_mutex_unlock(&v->lock);
}

static const struct virtio_ops vsock_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .pci_class = 0x078000,      /* communication, other */
    .num_queues = 3,            /* rx, tx, event (the last never used: no transport reset) */
    .features = 1ULL << F_STREAM,
    .config_size = sizeof(uint64_t),
    .config_read = vs_config_read,
    .notify = vs_notify,
    .queue_eventfd = vs_queue_eventfd,
    .reset = vs_reset,
};

/* ---- the loop ---- */

static void drain(int fd)
{
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing was pending. */
    }
}

/* Interrupts for what the pass completed, unless the driver reset the device meanwhile: the
 * check and the interrupt under one lock, or a reset's lowered line would be raised again for
 * a device without a driver (virtio_pci.h). */
static void signal_driver(struct virtio_vsock *v)
{
    if (v->notify_rx || v->notify_tx) {
        struct virtio_dev *d = &v->vdev;
        pthread_mutex_lock(&d->lock);
        if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) && v->notify_rx && d->vq[VSOCK_RXQ].ready)
            virtio_notify_queue_locked(d, VSOCK_RXQ);
        if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) && v->notify_tx && d->vq[VSOCK_TXQ].ready)
            virtio_notify_queue_locked(d, VSOCK_TXQ);
        pthread_mutex_unlock(&d->lock);
    }
    v->notify_rx = v->notify_tx = false;
}

void virtio_vsock_poll(struct virtio_vsock *v, int timeout_ms)
{
    struct pollfd *p = v->pfd;
    struct vsock_conn **who = v->polled;
    pthread_mutex_lock(&v->lock);
    int wait = v->again ? 0 : timeout_ms;
    v->again = false;
    vsock_timeouts(v, &wait);
    if (timeout_ms >= 0 && (wait < 0 || wait > timeout_ms))
        wait = timeout_ms;
    p[0] = (struct pollfd){.fd = v->stop_fd, .events = POLLIN};
    p[1] = (struct pollfd){.fd = v->kick_fd[1], .events = POLLIN};
    /* The RX kick matters only when we wait for buffers; else it is drained below. */
    p[2] = (struct pollfd){.fd = v->kick_fd[0], .events = POLLIN};
    bool paused = v->accept_paused_until > vsock_now_ms();
    p[3] = (struct pollfd){.fd = paused ? -1 : v->listen_fd, .events = POLLIN};
    unsigned n = v->nconns;
    for (unsigned i = 0; i < n; i++) {
        who[i] = v->conn[i];
        short ev = vsock_conn_events(who[i]);
        p[VSOCK_NFIXED + i] = (struct pollfd){.fd = ev ? who[i]->fd : -1, .events = ev};
    }
    uint64_t gen = v->generation;
    pthread_mutex_unlock(&v->lock);

    int r = poll(p, VSOCK_NFIXED + n, wait);

    pthread_mutex_lock(&v->lock);
    if (p[1].revents)
        drain(v->kick_fd[1]);
    if (p[2].revents) {
        drain(v->kick_fd[0]);
        v->want_rx = false;
    }
    if (r > 0 && gen == v->generation) {   /* a reset closed what was polled */
        if (p[3].revents & POLLIN)
            vsock_accept(v);
        /* Each event touches its own connection only (which it may free): the others stay
         * where `who` says. */
        for (unsigned i = 0; i < n; i++)
            if (p[VSOCK_NFIXED + i].revents)
                vsock_conn_event(v, who[i], p[VSOCK_NFIXED + i].revents);
    }
    vsock_do_tx(v);
    vsock_do_rx(v);
    pthread_mutex_unlock(&v->lock);
    signal_driver(v);
}

static bool stopping(struct virtio_vsock *v)
{
    struct pollfd p = {.fd = v->stop_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void *vsock_thread(void *arg)
{
    struct virtio_vsock *v = arg;
    struct machine *m = v->vdev.m;
    if (m->socket_thread_init && m->socket_thread_init(m) != 0) {
        m->ops->shutdown(m, MVM_E_HOST, "the vsock thread could not restrict itself with "
                         "seccomp (kernel without seccomp?); run with --no-seccomp");
        return NULL;
    }
    while (!stopping(v))
        virtio_vsock_poll(v, -1);
    return NULL;
}

/* ---- life ---- */

/* The listening socket at cfg.uds: a socket file left there (by an earlier run) is replaced;
 * anything else is the user's and stays. */
static int listen_at(struct virtio_vsock *v, struct mvm_err *e)
{
    const char *path = v->cfg.uds;
    struct stat st;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);   /* vsock_parse bounded it */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return mvm_fail(e, MVM_E_INPUT, "--vsock: %s exists and is not a socket; remove it "
                            "or choose another uds= path", path);
        /* A socket someone still listens on is theirs (another VM's, say): not taken over. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        /* (non-blocking: a listener with a full backlog says EAGAIN instead of a wait) */
        bool live = probe >= 0 && (connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0 ||
                                   errno == EAGAIN);
        if (probe >= 0)
            close(probe);
        if (live)
            return mvm_fail(e, MVM_E_INPUT, "--vsock: %s is in use (a program listens on it); "
                            "choose another uds= path", path);
        if (unlink(path) != 0)
            return mvm_fail(e, MVM_E_INPUT, "--vsock: cannot replace the old socket %s: %s",
                            path, mvm_strerror(errno));
    }
    v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v->listen_fd < 0)
        return mvm_fail(e, MVM_E_HOST, "--vsock: socket: %s", mvm_strerror(errno));
    if (bind(v->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--vsock: cannot create the socket %s: %s (its "
                        "directory must exist and be writable; or choose another uds= path)",
                        path, mvm_strerror(errno));
    v->listening = true;
    if (stat(path, &st) == 0)
        v->uds_dev = st.st_dev, v->uds_ino = st.st_ino;
    if (listen(v->listen_fd, 64) != 0)
        return mvm_fail(e, MVM_E_HOST, "--vsock: listen on %s: %s", path,
                        mvm_strerror(errno));
    return 0;
}

int virtio_vsock_create(struct virtio_vsock **out, struct machine *m,
                        const struct vsock_config *c, struct mvm_err *e)
{
    *out = NULL;
    struct virtio_vsock *v = calloc(1, sizeof(*v));
    if (!v)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    v->cfg = *c;
    v->listen_fd = v->stop_fd = v->kick_fd[0] = v->kick_fd[1] = -1;
    v->line_ms = 2000;
    v->reply_ms = 5000;
    v->next_port = VSOCK_FIRST_HOST_PORT;
    v->max_conns = fd_budget(VSOCK_MAX_CONNS);
    pthread_mutex_init(&v->lock, NULL);
    v->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->kick_fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->kick_fd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->stop_fd < 0 || v->kick_fd[0] < 0 || v->kick_fd[1] < 0) {
        mvm_fail(e, MVM_E_VMM, "eventfd: %s", mvm_strerror(errno));
        goto fail;
    }
    if (listen_at(v, e))
        goto fail;
    int r = virtio_pci_init(&v->vdev, m, &vsock_ops);
    if (r) {
        mvm_fail(e, MVM_E_INPUT, "cannot add the vsock device: %s",
                 r == -ENOSPC ? "no free PCI slot" : mvm_strerror(-r));
        goto fail;
    }
    *out = v;
    return 0;
fail:
    virtio_vsock_destroy(v);
    return -1;
}

int virtio_vsock_start(struct virtio_vsock *v, struct mvm_err *e)
{
    int r = pthread_create(&v->thread, NULL, vsock_thread, v);
    if (r)
        return mvm_fail(e, MVM_E_VMM, "cannot start the vsock thread: %s", mvm_strerror(r));
    v->running = true;
    return 0;
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
    if (!v)
        return;
    if (v->running) {
        uint64_t one = 1;
        if (write(v->stop_fd, &one, sizeof(one)) < 0) {
            /* cannot fail: a fresh eventfd */
        }
        pthread_join(v->thread, NULL);
    }
    vsock_close_all(v);
    if (v->listen_fd >= 0)
        close(v->listen_fd);
    /* Ours only: the file may have been replaced since (by a later run, say). */
    struct stat st;
    if (v->listening && stat(v->cfg.uds, &st) == 0 && st.st_dev == v->uds_dev &&
        st.st_ino == v->uds_ino)
        unlink(v->cfg.uds);
    for (int i = 0; i < 2; i++)
        if (v->kick_fd[i] >= 0)
            close(v->kick_fd[i]);
    if (v->stop_fd >= 0)
        close(v->stop_fd);
    if (v->vdev.m)
        virtio_pci_destroy(&v->vdev);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

struct virtio_dev *virtio_vsock_dev(struct virtio_vsock *v)
{
    return &v->vdev;
}

void virtio_vsock_stats(struct virtio_vsock *v, struct vsock_stats *s)
{
    pthread_mutex_lock(&v->lock);
    *s = v->stats;
    s->conns = v->nconns;
    s->max_conns = v->max_conns;
    pthread_mutex_unlock(&v->lock);
}

void virtio_vsock_set_timeouts(struct virtio_vsock *v, int line_ms, int reply_ms)
{
    v->line_ms = line_ms;
    v->reply_ms = reply_ms;
}

/* ---- the device kind (device.h) ---- */

/* Also refuses, as early as the command line is read, a PATH that is some other file (the
 * device's creation checks again: it may have appeared since). */
static int vs_check(const char *spec, struct mvm_err *e)
{
    struct vsock_config c;
    struct stat st;
    if (vsock_parse(spec, &c, e))
        return -1;
    if (lstat(c.uds, &st) == 0 && !S_ISSOCK(st.st_mode))
        return mvm_fail(e, MVM_E_INPUT, "--vsock: %s exists and is not a socket; remove it or "
                        "choose another uds= path", c.uds);
    return 0;
}

static void *vs_create(struct machine *m, const char *spec, bool snapshot_all, struct mvm_err *e)
{
    (void)snapshot_all;
    struct vsock_config c;
    struct virtio_vsock *v;
    if (vsock_parse(spec, &c, e) || virtio_vsock_create(&v, m, &c, e))
        return NULL;
    return v;
}

static int vs_start(void *dev, struct mvm_err *e)
{
    return virtio_vsock_start(dev, e);
}

static void vs_destroy(void *dev)
{
    virtio_vsock_destroy(dev);
}

static struct virtio_dev *vs_virtio(void *dev)
{
    return virtio_vsock_dev(dev);
}

static void vs_describe(void *dev, char *buf, size_t len)
{
    struct virtio_vsock *v = dev;
    snprintf(buf, len, "guest CID %llu; host programs connect to %s (CONNECT <port>), "
             "the guest's connections to port P reach %s_P",
             (unsigned long long)v->cfg.cid, v->cfg.uds, v->cfg.uds);
}

/* --rootfs: the guest's transport (it brings vsock and the common transport along). */
static const char *const guest_modules[] = {"vmw_vsock_virtio_transport", NULL};

const struct device_kind virtio_vsock_kind = {
    .name = "vsock",
    .usage = "      --vsock CID,uds=PATH  a virtio-vsock device: the guest's CID (3 or more); host\n"
             "                        programs connect to the UNIX socket PATH and write CONNECT <port>;\n"
             "                        guest connections to CID 2 port P reach PATH_P (one per VM)\n",
    .max = 1,
    .check = vs_check,
    .create = vs_create,
    .start = vs_start,
    .destroy = vs_destroy,
    .virtio = vs_virtio,
    .describe = vs_describe,
    .guest_modules = guest_modules,
};
