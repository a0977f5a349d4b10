/* The queue thread of a virtio console (see vcon_queues.h). */
#include "vcon_queues.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/machine.h"

static void signal_fd(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof(one));
    (void)r;   /* fails only when the counter is full: it is signalled anyway */
}

static bool take_fd(int fd)
{
    uint64_t n;
    return read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n);   /* nonblocking: EAGAIN, none */
}

static bool running(const struct vcon_queues *qs)
{
    return __atomic_load_n(&qs->running, __ATOMIC_ACQUIRE);
}

/* One wait, then every queue that was notified, lowest first. A queue whose output blocks on
 * a full host descriptor holds the others up: they are the same guest's, and vty_abort at the
 * end of the run lets it go. Returns false once told to stop. */
static bool serve_notified(struct vcon_queues *qs)
{
    struct pollfd p[VIRTIO_MAX_QUEUES + 1];
    p[0] = (struct pollfd){.fd = qs->stop_fd, .events = POLLIN};
    for (uint16_t q = 0; q < qs->n; q++)
        p[q + 1] = (struct pollfd){.fd = qs->kick_fd[q], .events = POLLIN};
    if (poll(p, qs->n + 1u, -1) < 0)
        return errno == EINTR;
    if (p[0].revents)
        return false;
    for (uint16_t q = 0; q < qs->n; q++)
        if (p[q + 1].revents && take_fd(qs->kick_fd[q]))
            qs->serve(qs->v, q);
    return true;
}

static void *queue_thread(void *arg)
{
    struct vcon_queues *qs = arg;
    struct machine *m = qs->v->m;
    if (m->thread_init && m->thread_init(m) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "the %s's thread could not restrict itself (seccomp); "
                 "--no-seccomp to run without", qs->what);
        m->ops->shutdown(m, MVM_E_VMM, why);
        return NULL;
    }
    while (serve_notified(qs))
        ;
    /* Told to stop, or poll failed: a guest waiting for its output would wait for ever. */
    if (!take_fd(qs->stop_fd))
        m->ops->shutdown(m, MVM_E_VMM, "a virtio console's thread failed (poll)");
    return NULL;
}

int vcon_queues_init(struct vcon_queues *qs, struct virtio_dev *v, uint16_t n,
                     vcon_serve_fn serve, const char *what, struct mvm_err *e)
{
    memset(qs, 0, sizeof(*qs));
    qs->v = v;
    qs->serve = serve;
    qs->what = what;
    qs->n = n <= VIRTIO_MAX_QUEUES ? n : VIRTIO_MAX_QUEUES;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        qs->kick_fd[q] = -1;
    qs->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool ok = qs->stop_fd >= 0;
    for (uint16_t q = 0; ok && q < qs->n; q++) {
        qs->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ok = qs->kick_fd[q] >= 0;
    }
    return ok ? 0 : mvm_fail(e, MVM_E_VMM, "eventfd: %s", mvm_strerror(errno));
}

int vcon_queues_start(struct vcon_queues *qs, struct mvm_err *e)
{
    int r = pthread_create(&qs->thread, NULL, queue_thread, qs);
    if (r)
        return mvm_fail(e, MVM_E_VMM, "cannot start the %s's thread: %s", qs->what,
                        mvm_strerror(r));
    __atomic_store_n(&qs->running, true, __ATOMIC_RELEASE);
    return 0;
}

void vcon_queues_stop(struct vcon_queues *qs)
{
    if (!running(qs))
        return;
    signal_fd(qs->stop_fd);   /* the thread takes it back as it leaves */
    pthread_join(qs->thread, NULL);
    __atomic_store_n(&qs->running, false, __ATOMIC_RELEASE);
}

void vcon_queues_destroy(struct vcon_queues *qs)
{
    if (!qs->v)
        return;   /* never initialised */
    vcon_queues_stop(qs);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (qs->kick_fd[q] >= 0)
            close(qs->kick_fd[q]);
    if (qs->stop_fd >= 0)
        close(qs->stop_fd);
    qs->v = NULL;
}

int vcon_queues_eventfd(const struct vcon_queues *qs, uint16_t q)
{
    return q < qs->n ? qs->kick_fd[q] : -1;
}

void vcon_queues_notify(struct vcon_queues *qs, uint16_t q)
{
    if (q >= qs->n)
        return;
    if (running(qs))
        signal_fd(qs->kick_fd[q]);
    else
        qs->serve(qs->v, q);
}
