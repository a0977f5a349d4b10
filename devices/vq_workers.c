/* The I/O threads that serve a device's requests (see vq_workers.h). */
#include "vq_workers.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static bool stopping(const struct vq_workers *w)
{
    return __atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST);
}

static void wake_one(struct vq_workers *w)
{
    pthread_mutex_lock(&w->wake_lock);
    w->wakes++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->wake_lock);
}

/* After a completion (batched pools): signal unless another quick request is still in hand,
 * whose completion will signal for both, or enough went unsignalled already. A worker counts
 * its own request out only after it is made used, so the last one out sees every earlier
 * one's in the ring; a count left behind by a race only makes one more check, which finds
 * nothing new used and signals nothing. */
static void completed(struct vq_workers *w, bool counted)
{
    unsigned others = counted ? __atomic_sub_fetch(&w->in_hand, 1, __ATOMIC_SEQ_CST)
                              : __atomic_load_n(&w->in_hand, __ATOMIC_SEQ_CST);
    unsigned waiting = __atomic_add_fetch(&w->unsignalled, 1, __ATOMIC_SEQ_CST);
    if (others == 0 || waiting >= w->n) {
        __atomic_store_n(&w->unsignalled, 0, __ATOMIC_SEQ_CST);
        w->signal(w->opaque);
    }
}

/* helpers: there may be more queued, so each request taken wakes another worker to look
 * while this one does the I/O; a worker that finds the queue empty goes back to sleep. */
static unsigned process_all(struct vq_workers *w, struct virtq_chain *c, bool helpers)
{
    unsigned done = 0;
    pthread_rwlock_rdlock(&w->io_lock);
    while (!stopping(w) && w->take(w->opaque, c) > 0) {
        /* Only a quick request may hold back others' signals while it runs. */
        bool counted = w->signal && w->quick(w->opaque, c);
        if (counted)
            __atomic_add_fetch(&w->in_hand, 1, __ATOMIC_SEQ_CST);
        if (helpers)
            wake_one(w);
        w->serve(w->opaque, c);
        if (w->signal)
            completed(w, counted);
        done++;
    }
    pthread_rwlock_unlock(&w->io_lock);
    return done;
}

unsigned vq_workers_process(struct vq_workers *w)
{
    return process_all(w, &w->chain, false);
}

static void *worker_thread(void *arg)
{
    struct vq_worker *me = arg;
    struct vq_workers *w = me->pool;
    if (w->thread_init && w->thread_init(w->opaque) != 0)
        return NULL;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&w->wake_lock);
        while (w->wakes == seen && !stopping(w))
            pthread_cond_wait(&w->wake, &w->wake_lock);
        seen = w->wakes;
        pthread_mutex_unlock(&w->wake_lock);
        if (stopping(w))
            return NULL;
        process_all(w, &me->chain, true);
    }
}

/* The driver's notifications arrive on kick_fd (ioeventfd, or vq_workers_notify); each
 * wakes one worker, which wakes more as long as it finds requests. */
static void *kick_thread(void *arg)
{
    struct vq_workers *w = arg;
    if (w->thread_init && w->thread_init(w->opaque) != 0)
        return NULL;
    while (!stopping(w)) {
        struct pollfd p = {.fd = w->kick_fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        uint64_t n;
        if (read(w->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
            break;
        wake_one(w);
    }
    return NULL;
}

int vq_workers_init(struct vq_workers *w, unsigned n, const char *what, vq_take_fn take,
                    vq_do_fn serve, vq_thread_init_fn thread_init, void *opaque,
                    struct mvm_err *e)
{
    memset(w, 0, sizeof(*w));
    w->n = n < 1 ? 1 : n > VQ_WORKERS_MAX ? VQ_WORKERS_MAX : n;
    w->what = what;
    w->take = take;
    w->serve = serve;
    w->thread_init = thread_init;
    w->opaque = opaque;
    pthread_mutex_init(&w->wake_lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_rwlock_init(&w->io_lock, NULL);
    w->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->kick_fd < 0)
        return mvm_fail(e, MVM_E_VMM, "eventfd: %s", mvm_strerror(errno));
    return 0;
}

void vq_workers_batch(struct vq_workers *w, vq_signal_fn signal, vq_quick_fn quick)
{
    w->signal = signal;
    w->quick = quick;
}

int vq_workers_start(struct vq_workers *w, struct mvm_err *e)
{
    for (unsigned i = 0; i < w->n; i++) {
        struct vq_worker *me = &w->worker[i];
        me->pool = w;
        int r = pthread_create(&me->thread, NULL, worker_thread, me);
        if (r)
            return mvm_fail(e, MVM_E_VMM, "cannot start a %s I/O thread: %s", w->what,
                            mvm_strerror(r));
        me->running = true;
    }
    int r = pthread_create(&w->kick_thread, NULL, kick_thread, w);
    if (r)
        return mvm_fail(e, MVM_E_VMM, "cannot start the %s notification thread: %s", w->what,
                        mvm_strerror(r));
    w->kick_running = true;
    return 0;
}

void vq_workers_destroy(struct vq_workers *w)
{
    if (!w->serve)
        return;   /* never initialised (or destroyed already) */
    /* Workers finish the request in hand; the notification thread wakes from its poll. */
    pthread_mutex_lock(&w->wake_lock);
    __atomic_store_n(&w->stopping, true, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->wake_lock);
    if (w->kick_running) {
        vq_workers_notify(w);
        pthread_join(w->kick_thread, NULL);
    }
    for (unsigned i = 0; i < w->n; i++)
        if (w->worker[i].running)
            pthread_join(w->worker[i].thread, NULL);
    if (w->kick_fd >= 0)
        close(w->kick_fd);
    w->kick_fd = -1;
    pthread_rwlock_destroy(&w->io_lock);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->wake_lock);
    w->serve = NULL;
}

int vq_workers_eventfd(const struct vq_workers *w)
{
    return w->kick_fd;
}

void vq_workers_notify(struct vq_workers *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->kick_fd, &one, sizeof(one));
    (void)r;   /* a full counter already means "wake up" */
}

void vq_workers_quiesce(struct vq_workers *w)
{
    pthread_rwlock_wrlock(&w->io_lock);
    pthread_rwlock_unlock(&w->io_lock);
}
