/* The command's stdin for the stdio device (virtio_stdio.c): a thread of its own reads the
 * host's stdin straight into the guest's receive buffers, one buffer ahead at most. */
#include <errno.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "stdio_impl.h"

void stdio_kick_feeder(struct virtio_stdio *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->kick_fd, &one, sizeof(one));
    (void)r;   /* an eventfd write fails only when the counter is full: it is kicked anyway */
}

/* All the buffers the guest posted are back (none holds unread input): it took it all. Else
 * the feeder waits for the guest's next buffer, so it asks to be notified of it (EVENT_IDX),
 * and kicks itself if one came meanwhile (the notification may not). Under vdev.lock. */
static bool buffers_back(struct virtio_stdio *s, struct virtq *vq)
{
    const struct guest_mem *m = &s->vdev.m->mem;
    uint16_t n = virtq_pending(vq, m);
    if (n >= s->stdin_posted)
        return true;
    if (virtq_ask_kick(vq, m, (uint16_t)(vq->last_avail + n)) != n)
        stdio_kick_feeder(s);
    return false;
}

/* Takes a receive buffer for stdin while the guest has the port open, noting the reset
 * generation it belongs to. */
static bool take_buffer(struct virtio_stdio *s, unsigned *gen)
{
    struct virtio_dev *v = &s->vdev;
    struct virtq *vq = &v->vq[rx_queue(PORT_STDIN)];
    pthread_mutex_lock(&v->lock);
    bool ok = s->port[PORT_STDIN].guest_open && vq->ready && buffers_back(s, vq) &&
              virtio_pop_locked(v, rx_queue(PORT_STDIN), &s->in) > 0;
    if (ok && s->in.in_len == 0) {   /* a receive buffer with no room: a broken driver */
        virtio_set_broken_locked(v);
        ok = false;
    }
    *gen = s->generation;
    pthread_mutex_unlock(&v->lock);
    return ok;
}

/* Whether the buffer taken in generation gen still belongs to the guest (no reset since),
 * and whether the port is open (a closed port's input is dropped by the guest). */
static void buffer_state(struct virtio_stdio *s, unsigned gen, bool *valid, bool *open)
{
    pthread_mutex_lock(&s->vdev.lock);
    *valid = gen == s->generation;
    *open = *valid && s->port[PORT_STDIN].guest_open;
    pthread_mutex_unlock(&s->vdev.lock);
}

/* Hands back a buffer holding n bytes of stdin, unless a reset took it meanwhile (the bytes
 * are then lost with the ring they were meant for). */
static void give_buffer(struct virtio_stdio *s, unsigned gen, uint32_t n)
{
    struct virtio_dev *v = &s->vdev;
    struct virtq *vq = &v->vq[rx_queue(PORT_STDIN)];
    pthread_mutex_lock(&v->lock);
    if (gen == s->generation && vq->ready) {
        virtq_push(vq, &v->m->mem, s->in.head, n);
        if (virtq_should_notify(vq, &v->m->mem))
            virtio_notify_queue_locked(v, rx_queue(PORT_STDIN));
    }
    pthread_mutex_unlock(&v->lock);
}


static void drain_kick(struct virtio_stdio *s)
{
    uint64_t n;
    ssize_t r = read(s->kick_fd, &n, sizeof(n));
    (void)r;
}

/* Reads the host's stdin straight into the guest's receive buffers, one at a time, only
 * while the guest has the port open. A kick makes it look again (stopping, the port opened or
 * closed, new buffers, a reset). */
void *stdio_feeder_main(void *arg)
{
    struct virtio_stdio *s = arg;
    struct machine *m = s->vdev.m;
    if (m->thread_init && m->thread_init(m) != 0) {
        m->ops->shutdown(m, MVM_E_VMM, "the thread that feeds the command's stdin could not "
                         "restrict itself (seccomp); --no-seccomp to run without");
        return NULL;
    }
    bool have = false, valid, open = false;   /* have: a buffer taken, not yet filled */
    unsigned gen = 0;
    while (!__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST)) {
        if (have) {
            buffer_state(s, gen, &valid, &open);
            have = valid;
        }
        if (!have)
            open = have = take_buffer(s, &gen);
        struct pollfd p[2] = {{.fd = s->kick_fd, .events = POLLIN},
                              {.fd = have && open ? s->in_fd : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            drain_kick(s);
            continue;
        }
        if (!p[1].revents)
            continue;
        ssize_t n = readv(s->in_fd, &s->in.iov[s->in.n_out], (int)s->in.n_in);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n > 0) {
            give_buffer(s, gen, (uint32_t)n);
            have = false;
            continue;
        }
        stdio_stdin_ended(s);   /* the buffer in hand is never returned: no more input comes */
        break;
    }
    return NULL;
}
