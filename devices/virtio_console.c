#include "virtio_console.h"

#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/machine.h"
#include "device.h"
#include "vcon_queues.h"
#include "virtio_pci.h"

#define RXQ 0
#define TXQ 1

struct virtio_console {
    struct virtio_dev vdev;      /* first: the transport hands us back this pointer */
    struct vty port;             /* output fd and the pending-input ring */
    struct virtq_chain rx;       /* scratch for host input (console-loop thread) */
    pthread_mutex_t tx_lock;     /* one guest-output drainer at a time, in order */
    struct virtq_chain tx;       /* scratch for guest output (under tx_lock) */
    struct vcon_queues queues;   /* the thread that serves both queues' notifications */
    bool pci_added;
};

static struct virtio_console *con_of(struct virtio_dev *v)
{
    return (struct virtio_console *)v;
}

/* Moves pending input into the guest's receive buffers of queue q while both exist. */
void vcon_port_flush_input(struct virtio_dev *v, uint16_t q, struct vty *port,
                           struct virtq_chain *rx)
{
    bool notify = false;
    pthread_mutex_lock(&v->lock);
    while (vty_input_room(port) < VTY_IN_SIZE) {
        int r = virtio_pop_locked(v, q, rx);
        if (r <= 0)
            break;
        uint8_t buf[VTY_IN_SIZE];
        uint64_t room = rx->in_len < sizeof(buf) ? rx->in_len : sizeof(buf);
        size_t n = vty_read(port, buf, (size_t)room);
        uint32_t done = (uint32_t)virtq_write_in(rx, 0, buf, n);
        virtq_push(&v->vq[q], &v->m->mem, rx->head, done);
        notify |= virtq_should_notify(&v->vq[q], &v->m->mem);
    }
    pthread_mutex_unlock(&v->lock);
    if (notify)
        virtio_notify_queue(v, q);
}

void virtio_console_flush_input(struct virtio_console *c)
{
    vcon_port_flush_input(&c->vdev, RXQ, &c->port, &c->rx);
}

/* The output is written without the transport lock held: a slow stdout must not stop the
 * console loop (which takes that lock to hand over input) from seeing a timeout or a signal. */
void vcon_port_drain_output(struct virtio_dev *v, uint16_t q, struct virtq_chain *tx,
                            pthread_mutex_t *tx_lock,
                            void (*out)(void *opaque, const uint8_t *buf, size_t len),
                            void *opaque)
{
    bool notify = false;
    pthread_mutex_lock(tx_lock);
    for (;;) {
        pthread_mutex_lock(&v->lock);
        int r = virtio_pop_locked(v, q, tx);
        pthread_mutex_unlock(&v->lock);
        if (r <= 0)
            break;
        for (unsigned i = 0; i < tx->n_out; i++)
            out(opaque, tx->iov[i].iov_base, tx->iov[i].iov_len);
        pthread_mutex_lock(&v->lock);
        if (v->vq[q].ready) {   /* not reset meanwhile */
            virtq_push(&v->vq[q], &v->m->mem, tx->head, 0);
            notify |= virtq_should_notify(&v->vq[q], &v->m->mem);
        }
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(tx_lock);
    if (notify)
        virtio_notify_queue(v, q);
}

void vcon_vty_out(void *port, const uint8_t *buf, size_t len)
{
    vty_write(port, buf, len);
}

/* What a notification of queue q asks for; on the queue thread (vcon_queues.h). */
static void con_serve(struct virtio_dev *v, uint16_t q)
{
    struct virtio_console *c = con_of(v);
    if (q == TXQ)
        vcon_port_drain_output(v, TXQ, &c->tx, &c->tx_lock, vcon_vty_out, &c->port);
    else
        virtio_console_flush_input(c);   /* new receive buffers: deliver what waits */
}

static void con_notify(struct virtio_dev *v, uint16_t q)
{
    vcon_queues_notify(&con_of(v)->queues, q);
}

static int con_queue_eventfd(struct virtio_dev *v, uint16_t q)
{
    return vcon_queues_eventfd(&con_of(v)->queues, q);
}

/* The guest powers off: what it queued is written before the run ends (device.h, flush). */
void virtio_console_flush_output(struct virtio_console *c)
{
    con_serve(&c->vdev, TXQ);
}

static void con_reset(struct virtio_dev *v)
{
    /* Wait for output in hand to be written; the queues are already not ready. */
    struct virtio_console *c = con_of(v);
    pthread_mutex_lock(&c->tx_lock);
    pthread_mutex_unlock(&c->tx_lock);
}

static void con_config_read(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len)
{
    (void)v, (void)off;
    memset(data, 0, len);
}

static const struct virtio_ops console_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,      /* communication, other */
    .num_queues = 2,
    .features = 0,
    .config_size = 0,
    .config_read = con_config_read,
    .notify = con_notify,
    .queue_eventfd = con_queue_eventfd,
    .reset = con_reset,
};

int virtio_console_create(struct virtio_console **out, struct machine *m, int out_fd,
                          struct mvm_err *e)
{
    *out = NULL;
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    vty_init(&c->port, out_fd);
    pthread_mutex_init(&c->tx_lock, NULL);
    c->vdev.m = m;   /* for destroy, whatever fails below */
    if (vcon_queues_init(&c->queues, &c->vdev, console_ops.num_queues, con_serve,
                         "virtio console", e)) {
        virtio_console_destroy(c);
        return -1;
    }
    if (virtio_pci_init(&c->vdev, m, &console_ops)) {
        virtio_console_destroy(c);
        return mvm_fail(e, MVM_E_INPUT, "cannot add the virtio console: no free PCI slot");
    }
    c->pci_added = true;
    *out = c;
    return 0;
}

int virtio_console_start(struct virtio_console *c, struct mvm_err *e)
{
    return vcon_queues_start(&c->queues, e);
}

void virtio_console_let_go(struct virtio_console *c)
{
    vty_abort(&c->port);
}

/* The thread first (it may be writing): a device going away writes no more. */
void virtio_console_destroy(struct virtio_console *c)
{
    if (!c)
        return;
    vty_abort(&c->port);
    vcon_queues_destroy(&c->queues);
    if (c->pci_added)
        virtio_pci_destroy(&c->vdev);
    pthread_mutex_destroy(&c->tx_lock);
    vty_destroy(&c->port);
    free(c);
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
    return &c->vdev;
}

struct vty *virtio_console_port(struct virtio_console *c)
{
    return &c->port;
}

/* ---- the device kind (device.h): --console virtio adds it ---- */

static void input_pushed(struct vty *port)
{
    virtio_console_flush_input((struct virtio_console *)((char *)port -
                                                         offsetof(struct virtio_console, port)));
}

static int con_check(const char *spec, struct mvm_err *e)
{
    if (spec[0])
        return mvm_fail(e, MVM_E_INPUT, "the virtio console takes no options ('%s')", spec);
    return 0;
}

/* It writes where the vty writes (the console sink), and takes the console's input. */
static void *con_create(struct machine *m, const char *spec, bool snapshot_all, struct mvm_err *e)
{
    (void)spec, (void)snapshot_all;
    struct virtio_console *c;
    if (m->virtio_port)
        return mvm_fail(e, MVM_E_INPUT, "one virtio console at most"), NULL;
    if (virtio_console_create(&c, m, m->vty->out_fd, e))
        return NULL;
    c->port.sink = m->vty->sink;
    c->port.input_pushed = input_pushed;
    m->virtio_port = &c->port;
    return c;
}

static int con_start(void *dev, struct mvm_err *e)
{
    return virtio_console_start(dev, e);
}

static void con_let_go(void *dev)
{
    virtio_console_let_go(dev);
}

static void con_flush(void *dev)
{
    virtio_console_flush_output(dev);
}

static void con_destroy(void *dev)
{
    virtio_console_destroy(dev);
}

static struct virtio_dev *con_virtio(void *dev)
{
    return virtio_console_dev(dev);
}

const struct device_kind virtio_console_kind = {
    .name = "virtio-console",
    .usage = NULL,   /* no option of its own: --console virtio */
    .max = 1,
    .check = con_check,
    .create = con_create,
    .start = con_start,
    .let_go = con_let_go,
    .flush = con_flush,
    .destroy = con_destroy,
    .virtio = con_virtio,
};
