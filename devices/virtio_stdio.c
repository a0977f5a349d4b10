/* The guest command's stdio: a multiport virtio console whose ports carry the stdin, stdout
 * and stderr of the command `--rootfs DIR -- COMMAND` runs, and its exit status, beside a
 * console port (a terminal in the guest, hvc1) for an interactive shell.
 *
 * Ports: 0 is the console; the others are named, and the guest's init finds them by name
 * (/sys/class/virtio-ports/vportNpM/name): minivmm.stdin (host to guest), minivmm.stdout and
 * minivmm.stderr (guest to host, written to the host's descriptors as they arrive), and
 * minivmm.status (one line: "exit N", "signal N" or "error S TEXT", stdio_status.c). Unlike a
 * terminal, a port passes every byte untouched, and the end of the host's stdin reaches the
 * command as end-of-file: the device closes the port from its side (PORT_OPEN 0).
 *
 * The multiport protocol (virtio 1.x, "Device Operation: Multiport Device Operation") runs
 * over two control queues: the driver says DEVICE_READY, the device adds each port
 * (PORT_ADD), the driver answers PORT_READY for each, and the device names it (PORT_NAME),
 * marks the console (CONSOLE_PORT) and opens it from its side (PORT_OPEN 1). Linux drops
 * input that arrives on a port no guest program has open, so stdin is fed only while the
 * guest has that port open (PORT_OPEN from the driver), and one receive buffer at a time:
 * Linux posts a ring of them when it adds the port, and gives one back each time a reader has
 * used one up, so the next is filled only then. stdin is read ahead by one buffer at most,
 * as a pipe would hold it, and nothing is buffered on the host.
 * A reader of stdout or stderr that goes away ends the command as SIGPIPE would on the host.
 *
 * Threads: every queue's notifications are served on the device's queue thread (vcon_queues.h:
 * ioeventfd, no exit to minivmm), stdin is fed by its own (stdio_stdin.c).
 */
#include <signal.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "device.h"
#include "stdio_impl.h"
#include "stdio_status.h"
#include "virtio_console.h"
#include "virtio_pci.h"

static const char *const port_name[NPORTS] = {
    NULL, "minivmm.stdin", "minivmm.stdout", "minivmm.stderr", "minivmm.status",
};

static unsigned queue_port(uint16_t q)
{
    return q < 2 ? 0 : (q - 2u) / 2u;
}

static struct virtio_stdio *stdio_of(struct virtio_dev *v)
{
    return (struct virtio_stdio *)v;
}

static void console_input(struct virtio_stdio *s);

/* ---- control messages ---- */

static void queue_ctrl_locked(struct virtio_stdio *s, uint32_t id, uint16_t event,
                              uint16_t value)
{
    if (s->npending < CTRL_PENDING)   /* the protocol sends a bounded number per port */
        s->pending[s->npending++] = (struct ctrl_msg){id, event, value};
}

/* Hands waiting messages to the driver while it has posted control buffers. */
static void flush_ctrl_locked(struct virtio_stdio *s)
{
    struct virtio_dev *v = &s->vdev;
    struct virtq_chain *c = &s->locked_chain;
    bool notify = false;
    unsigned sent = 0;
    while (sent < s->npending && v->vq[CTRL_RXQ].ready) {
        const struct ctrl_msg *msg = &s->pending[sent];
        const char *name = msg->event == VIRTIO_CONSOLE_PORT_NAME ? port_name[msg->id] : "";
        size_t name_len = strlen(name);
        if (virtio_pop_locked(v, CTRL_RXQ, c) <= 0)
            break;
        if (c->in_len < CTRL_LEN + name_len) {   /* Linux posts pages: a broken driver */
            virtio_set_broken_locked(v);
            break;
        }
        uint8_t buf[CTRL_LEN];
        uint32_t id = htole32(msg->id);
        uint16_t ev = htole16(msg->event), val = htole16(msg->value);
        memcpy(buf, &id, 4), memcpy(buf + 4, &ev, 2), memcpy(buf + 6, &val, 2);
        virtq_write_in(c, 0, buf, CTRL_LEN);
        virtq_write_in(c, CTRL_LEN, name, name_len);
        virtq_push(&v->vq[CTRL_RXQ], &v->m->mem, c->head, (uint32_t)(CTRL_LEN + name_len));
        notify |= virtq_should_notify(&v->vq[CTRL_RXQ], &v->m->mem);
        sent++;
    }
    memmove(s->pending, s->pending + sent, (s->npending - sent) * sizeof(s->pending[0]));
    s->npending -= sent;
    if (notify)
        virtio_notify_queue_locked(v, CTRL_RXQ);
}

/* The driver is ready for port `id`: name it, make port 0 a terminal, open it from this side
 * (except stdin when there is none: a port the host never opens reads as end-of-file). */
static void port_ready_locked(struct virtio_stdio *s, uint32_t id)
{
    if (id == PORT_CONSOLE)
        queue_ctrl_locked(s, id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
    if (port_name[id])
        queue_ctrl_locked(s, id, VIRTIO_CONSOLE_PORT_NAME, 0);
    if (id != PORT_STDIN || (s->in_fd >= 0 && !s->stdin_ended))
        queue_ctrl_locked(s, id, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

/* Returns true when the driver just opened the console port (its input can flow now). */
static bool handle_ctrl_locked(struct virtio_stdio *s, uint32_t id, uint16_t event,
                               uint16_t value)
{
    struct virtio_dev *v = &s->vdev;
    if (event == VIRTIO_CONSOLE_DEVICE_READY) {
        if (!value) {
            if (!s->warned)
                machine_log(v->m, "stdio: the guest's virtio console driver failed to start");
            s->warned = true;
            return false;
        }
        for (uint32_t p = 0; p < NPORTS; p++)
            queue_ctrl_locked(s, p, VIRTIO_CONSOLE_PORT_ADD, 0);
    } else if (id >= NPORTS) {
        return false;   /* a port we never added: nothing to do */
    } else if (event == VIRTIO_CONSOLE_PORT_READY) {
        if (value)
            port_ready_locked(s, id);
        else if (!s->warned)
            machine_log(v->m, "stdio: the guest could not add port %u", id);
        s->warned |= !value;
    } else if (event == VIRTIO_CONSOLE_PORT_OPEN) {
        s->port[id].guest_open = value != 0;
        if (id == PORT_STDIN) {
            struct virtq *vq = &v->vq[rx_queue(PORT_STDIN)];
            s->stdin_posted = vq->ready ? virtq_pending(vq, &v->m->mem) : 0;
            stdio_kick_feeder(s);
        }
        return id == PORT_CONSOLE && value;
    }
    return false;
}

/* The driver's messages: each read, acted on and returned. */
static void read_ctrl(struct virtio_stdio *s)
{
    struct virtio_dev *v = &s->vdev;
    struct virtq_chain *c = &s->locked_chain;
    bool notify = false, console_opened = false;
    pthread_mutex_lock(&v->lock);
    while (virtio_pop_locked(v, CTRL_TXQ, c) > 0) {
        uint8_t buf[CTRL_LEN];
        if (virtq_read_out(c, 0, buf, CTRL_LEN) == CTRL_LEN) {
            uint32_t id;
            uint16_t ev, val;
            memcpy(&id, buf, 4), memcpy(&ev, buf + 4, 2), memcpy(&val, buf + 6, 2);
            console_opened |= handle_ctrl_locked(s, le32toh(id), le16toh(ev), le16toh(val));
        }
        virtq_push(&v->vq[CTRL_TXQ], &v->m->mem, c->head, 0);
        notify |= virtq_should_notify(&v->vq[CTRL_TXQ], &v->m->mem);
    }
    if (notify)
        virtio_notify_queue_locked(v, CTRL_TXQ);
    flush_ctrl_locked(s);
    pthread_mutex_unlock(&v->lock);
    if (console_opened)
        console_input(s);   /* what was typed ahead */
}

/* ---- output ports ---- */

/* The status port: one line, reported once it is complete (stdio_status.c says what it
 * means); anything after it is ignored. */
static void status_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_stdio *s = opaque;
    for (size_t i = 0; i < len && !s->status_done; i++) {
        if (buf[i] != '\n' && s->status_len < sizeof(s->status) - 1) {
            s->status[s->status_len++] = (char)buf[i];
            continue;
        }
        if (buf[i] != '\n')
            continue;   /* too long: keep its start, wait for its end */
        s->status[s->status_len] = '\0';
        s->status_done = true;
        int code;
        char why[STDIO_STATUS_MAX + 64];
        stdio_status_parse(s->status, &code, why, sizeof(why));
        s->vdev.m->ops->command_ended(s->vdev.m, code, why[0] ? why : NULL);
    }
}

/* stdout and stderr. A reader that went away (EPIPE, not the end of the run) would kill the
 * command with SIGPIPE on the host: the run ends with that status. */
static void command_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct port *pt = opaque;
    struct machine *m = pt->dev->vdev.m;
    if (vty_write(&pt->vty, buf, len) == 0 || __atomic_load_n(&pt->vty.aborted, __ATOMIC_SEQ_CST))
        return;
    m->ops->command_ended(m, 128 + SIGPIPE, NULL);
    m->ops->shutdown(m, MVM_OK, NULL);
}

static void discard_out(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque, (void)buf, (void)len;
}

static void drain_port(struct virtio_stdio *s, unsigned p, uint16_t q)
{
    struct port *pt = &s->port[p];
    if (p == PORT_STATUS)
        vcon_port_drain_output(&s->vdev, q, &pt->chain, &pt->tx_lock, status_out, s);
    else if (p == PORT_STDIN)   /* the guest wrote to its stdin: nobody reads that */
        vcon_port_drain_output(&s->vdev, q, &pt->chain, &pt->tx_lock, discard_out, NULL);
    else if (p == PORT_CONSOLE)
        vcon_port_drain_output(&s->vdev, q, &pt->chain, &pt->tx_lock, vcon_vty_out, &pt->vty);
    else
        vcon_port_drain_output(&s->vdev, q, &pt->chain, &pt->tx_lock, command_out, pt);
}

/* The console's input reaches the guest once the port is its terminal (the driver opened it,
 * after CONSOLE_PORT): Linux drops what arrives before, and the input waits here meanwhile. */
static void console_input(struct virtio_stdio *s)
{
    pthread_mutex_lock(&s->vdev.lock);
    bool open = s->port[PORT_CONSOLE].guest_open;
    pthread_mutex_unlock(&s->vdev.lock);
    if (open)
        vcon_port_flush_input(&s->vdev, 0, &s->port[PORT_CONSOLE].vty, &s->locked_chain);
}

/* What a notification of queue q asks for; on the queue thread (vcon_queues.h). */
static void stdio_serve(struct virtio_dev *v, uint16_t q)
{
    struct virtio_stdio *s = stdio_of(v);
    unsigned p = queue_port(q);
    if (q == CTRL_RXQ) {
        pthread_mutex_lock(&v->lock);
        flush_ctrl_locked(s);
        pthread_mutex_unlock(&v->lock);
    } else if (q == CTRL_TXQ) {
        read_ctrl(s);
    } else if (q != rx_queue(p)) {
        drain_port(s, p, q);
    } else if (p == PORT_CONSOLE) {
        console_input(s);   /* new receive buffers: deliver what waits */
    } else if (p == PORT_STDIN) {
        stdio_kick_feeder(s);
    }
}

/* The status line is taken on the vCPU that notified, before the guest goes on: the guest's
 * next steps are sync and power-off, and a status still waiting for the queue thread could
 * meet a device its driver already shut down. One exit per run. */
static bool served_inline(uint16_t q)
{
    return q == rx_queue(PORT_STATUS) + 1;
}

static void stdio_notify(struct virtio_dev *v, uint16_t q)
{
    if (served_inline(q))
        stdio_serve(v, q);
    else
        vcon_queues_notify(&stdio_of(v)->queues, q);
}

static int stdio_queue_eventfd(struct virtio_dev *v, uint16_t q)
{
    return served_inline(q) ? -1 : vcon_queues_eventfd(&stdio_of(v)->queues, q);
}

/* The guest powers off: the output it queued, its status line included, is written (and the
 * status taken) before the run ends (device.h, flush). */
static void stdio_flush(void *dev)
{
    struct virtio_stdio *s = dev;
    for (unsigned p = 0; p < NPORTS; p++)
        drain_port(s, p, (uint16_t)(rx_queue(p) + 1));
}

/* The end of stdin (or a read error, which the command can only see as an end): the device
 * closes the port, and the guest's reads return 0 once what it was given is read. */
void stdio_stdin_ended(struct virtio_stdio *s)
{
    struct virtio_dev *v = &s->vdev;
    pthread_mutex_lock(&v->lock);
    s->stdin_ended = true;
    queue_ctrl_locked(s, PORT_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0);
    flush_ctrl_locked(s);
    pthread_mutex_unlock(&v->lock);
}

/* ---- the transport's callbacks ---- */

static void stdio_config_read(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len)
{
    (void)v;
    struct virtio_console_config cfg = {.max_nr_ports = htole32(NPORTS)};
    memcpy(data, (const uint8_t *)&cfg + off, len);
}

/* The driver reset the device (it does at every probe): the ports are gone until it is ready
 * again. Output in hand is written first. */
static void stdio_reset(struct virtio_dev *v)
{
    struct virtio_stdio *s = stdio_of(v);
    for (unsigned p = 0; p < NPORTS; p++) {
        pthread_mutex_lock(&s->port[p].tx_lock);
        pthread_mutex_unlock(&s->port[p].tx_lock);
    }
    pthread_mutex_lock(&v->lock);
    for (unsigned p = 0; p < NPORTS; p++)
        s->port[p].guest_open = false;
    s->npending = 0;
    s->generation++;   /* the stdin buffer in hand, if any, is not the guest's any more */
    pthread_mutex_unlock(&v->lock);
    stdio_kick_feeder(s);
}

static const struct virtio_ops stdio_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,      /* communication, other */
    .num_queues = NQUEUES,
    .features = 1ULL << VIRTIO_CONSOLE_F_MULTIPORT,
    .config_size = sizeof(struct virtio_console_config),
    .config_read = stdio_config_read,
    .notify = stdio_notify,
    .queue_eventfd = stdio_queue_eventfd,
    .reset = stdio_reset,
};

/* ---- the device kind: `--rootfs ... -- COMMAND` adds it ---- */

static int stdio_check(const char *spec, struct mvm_err *e)
{
    struct stdio_spec s;
    return stdio_spec_parse(spec, &s, e);
}

/* What stdio_create() made, the threads stopped (the queue thread here, first: it may be
 * writing), in any state create() may leave it. */
static void stdio_free(struct virtio_stdio *s)
{
    vcon_queues_destroy(&s->queues);
    if (s->vdev.m)
        virtio_pci_destroy(&s->vdev);
    for (unsigned p = 0; p < NPORTS; p++) {
        vty_destroy(&s->port[p].vty);
        pthread_mutex_destroy(&s->port[p].tx_lock);
    }
    if (s->kick_fd >= 0)
        close(s->kick_fd);
    free(s);
}

/* The console loop pushed host input into the console port's ring. */
static void console_pushed(struct vty *port)
{
    console_input((struct virtio_stdio *)((char *)port -
                                          offsetof(struct virtio_stdio, port[PORT_CONSOLE].vty)));
}

static void *stdio_create(struct machine *m, const char *spec, bool snapshot_all,
                          struct mvm_err *e)
{
    (void)snapshot_all;
    struct stdio_spec sp;
    if (stdio_spec_parse(spec, &sp, e))
        return NULL;
    struct virtio_stdio *s = calloc(1, sizeof(*s));
    if (!s)
        return mvm_fail(e, MVM_E_VMM, "out of memory"), NULL;
    /* Where each port's output goes (an index into sp.fd): the console's only to a terminal
     * (a shell's); stdout and stderr carry nothing but the command's. */
    const int out_of[NPORTS] = {sp.tty ? 1 : -1, -1, 1, 2, -1};
    for (unsigned p = 0; p < NPORTS; p++) {
        s->port[p].dev = s;
        vty_init(&s->port[p].vty, out_of[p] < 0 ? -1 : sp.fd[out_of[p]]);
        pthread_mutex_init(&s->port[p].tx_lock, NULL);
    }
    s->in_fd = sp.fd[0];
    s->tty = sp.tty;
    s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->kick_fd < 0) {
        stdio_free(s);
        return mvm_fail(e, MVM_E_VMM, "eventfd: %s", strerror(errno)), NULL;
    }
    if (vcon_queues_init(&s->queues, &s->vdev, NQUEUES, stdio_serve, "command's stdio", e)) {
        stdio_free(s);
        return NULL;
    }
    if (virtio_pci_init(&s->vdev, m, &stdio_ops)) {
        stdio_free(s);
        return mvm_fail(e, MVM_E_INPUT, "cannot add the command's stdio: no free PCI slot"),
               NULL;
    }
    if (s->tty) {
        if (m->virtio_port) {
            stdio_free(s);
            return mvm_fail(e, MVM_E_INPUT, "an interactive shell on a host directory takes "
                            "the console itself: drop --console virtio"), NULL;
        }
        s->port[PORT_CONSOLE].vty.input_pushed = console_pushed;
        m->virtio_port = &s->port[PORT_CONSOLE].vty;
    }
    return s;
}

static int stdio_start(void *dev, struct mvm_err *e)
{
    struct virtio_stdio *s = dev;
    if (vcon_queues_start(&s->queues, e))
        return -1;
    if (s->in_fd < 0)
        return 0;
    int r = pthread_create(&s->feeder, NULL, stdio_feeder_main, s);
    if (r)
        return mvm_fail(e, MVM_E_VMM, "cannot start the stdin thread: %s", strerror(r));
    s->feeder_started = true;
    return 0;
}

/* The run is ending: a write blocked on a full host descriptor gives up. */
static void stdio_let_go(void *dev)
{
    struct virtio_stdio *s = dev;
    for (unsigned p = 0; p < NPORTS; p++)
        vty_abort(&s->port[p].vty);
}

/* A device going away writes no more: blocked writes give up before the threads stop. */
static void stdio_destroy(void *dev)
{
    struct virtio_stdio *s = dev;
    stdio_let_go(s);
    if (s->feeder_started) {
        __atomic_store_n(&s->stopping, true, __ATOMIC_SEQ_CST);
        stdio_kick_feeder(s);
        pthread_join(s->feeder, NULL);
    }
    stdio_free(s);
}

static struct virtio_dev *stdio_virtio(void *dev)
{
    return &((struct virtio_stdio *)dev)->vdev;
}

static void stdio_describe(void *dev, char *buf, size_t len)
{
    struct virtio_stdio *s = dev;
    snprintf(buf, len, "the command's stdio: virtio console ports minivmm.stdin, .stdout, "
             ".stderr, .status%s", s->tty ? "; its console port (hvc1) is the terminal" : "");
}

const struct device_kind virtio_stdio_kind = {
    .name = "stdio",
    .usage = NULL,   /* no option of its own: --rootfs DIR [-- COMMAND] adds it */
    .max = 1,
    .check = stdio_check,
    .create = stdio_create,
    .start = stdio_start,
    .let_go = stdio_let_go,
    .flush = stdio_flush,
    .destroy = stdio_destroy,
    .virtio = stdio_virtio,
    .describe = stdio_describe,
};
