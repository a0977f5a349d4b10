/* The I/O threads that serve a device's requests, off the vCPUs: shared by every device whose
 * requests block on the host (a disk image, a shared directory).
 *
 * A notification (the queue's eventfd, which KVM signals itself on the guest's notify write:
 * ioeventfd) wakes one worker; a worker that takes a request wakes another before doing it,
 * so as many requests are in hand at once as the driver queued, up to the pool's size, and
 * an idle pool costs nothing. A driver reset waits for the requests in hand, so none of the
 * old driver's completes into the new one's rings. Every thread restricts itself first
 * (seccomp, through the machine) and stops the VM if it cannot.
 *
 * A pool may batch the driver's interrupts (vq_workers_batch): a worker that completes while
 * another still has a quick request in hand (one the device says takes no longer than its
 * size's worth of I/O: a read or a write, not a flush) leaves the signal to that one, so
 * completions that finish close together cost the guest one interrupt, as a VMM with one
 * completion loop gives. The wait is bounded: by the quick requests then in hand, and by the
 * pool's size (no more completions than workers go unsignalled, so a steady stream, never a
 * moment with every worker idle, is still signalled).
 */
#ifndef MINIVMM_VQ_WORKERS_H
#define MINIVMM_VQ_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/err.h"
#include "virtq.h"

#define VQ_WORKERS_MAX 4

struct vq_workers;

/* Takes the next request into the scratch chain c: 1, or 0 when there is none (or the driver
 * broke the ring). Then does it and completes it. Called by the workers, any number at once;
 * between the two, the worker wakes another to look for more. */
typedef int (*vq_take_fn)(void *opaque, struct virtq_chain *c);
typedef void (*vq_do_fn)(void *opaque, struct virtq_chain *c);
/* What a worker thread does first (restrict itself); 0 or -1: the thread then serves nothing
 * and the run is stopped with `why`. */
typedef int (*vq_thread_init_fn)(void *opaque);
/* Signals the driver for every request completed since the last call (batched pools only). */
typedef void (*vq_signal_fn)(void *opaque);
/* Whether the request just taken is quick: its completion is soon enough for others' to wait
 * for it (batched pools only). */
typedef bool (*vq_quick_fn)(void *opaque, const struct virtq_chain *c);

struct vq_worker {
    struct vq_workers *pool;
    pthread_t thread;
    bool running;
    struct virtq_chain chain;        /* the request in hand (big: not on the stack) */
};

struct vq_workers {
    vq_take_fn take;
    vq_do_fn serve;
    vq_thread_init_fn thread_init;
    vq_signal_fn signal;             /* set: serve() completes quietly, the pool signals */
    vq_quick_fn quick;
    void *opaque;
    const char *what;                /* "disk", "shared directory": for messages */
    unsigned n;
    int kick_fd;                     /* eventfd: the driver notified, or we are stopping */
    pthread_t kick_thread;           /* turns kick_fd into wake-ups of the workers */
    bool kick_running;
    bool stopping;                   /* atomic */
    /* A worker sleeps until `wakes` moves on from the value it last saw: a wake-up that
     * comes while it is busy is not lost, it just makes one more (maybe empty) pass. */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    uint64_t wakes;                  /* guarded by wake_lock */
    /* Read-held by whoever has requests in hand; a reset takes it for writing to wait them
     * out. No writer preference is needed (glibc and musl have none): once the queue is not
     * ready, readers take nothing and let go at once. */
    pthread_rwlock_t io_lock;
    unsigned in_hand;                /* atomic: quick requests taken, not yet completed */
    unsigned unsignalled;            /* atomic: completed since the last signal (batched) */
    struct vq_worker worker[VQ_WORKERS_MAX];
    struct virtq_chain chain;        /* for vq_workers_process() on the caller's thread */
};

/* Sets up a pool of n (1..VQ_WORKERS_MAX) workers; no thread runs yet. -1: no eventfd. */
int vq_workers_init(struct vq_workers *w, unsigned n, const char *what, vq_take_fn take,
                    vq_do_fn serve, vq_thread_init_fn thread_init, void *opaque,
                    struct mvm_err *e);
/* Makes the pool batch the driver's interrupts: serve() must then complete without a signal
 * (virtio_complete_quiet) and the pool calls signal() when one is due; quick() says which
 * requests others' signals may wait for. Before the start. */
void vq_workers_batch(struct vq_workers *w, vq_signal_fn signal, vq_quick_fn quick);
int vq_workers_start(struct vq_workers *w, struct mvm_err *e);
/* Stops and joins the threads (each finishes the request in hand), frees the rest. Safe on a
 * pool that was only initialised, or never (zeroed). */
void vq_workers_destroy(struct vq_workers *w);
/* The eventfd that stands for "the driver notified" (for ioeventfd). */
int vq_workers_eventfd(const struct vq_workers *w);
/* The driver notified through an MMIO exit instead (no ioeventfd). */
void vq_workers_notify(struct vq_workers *w);
/* After the transport marked the queues not ready: returns once no request is in hand. */
void vq_workers_quiesce(struct vq_workers *w);
/* Serves every available request now, one at a time on the calling thread (what the unit
 * tests and fuzzers drive). Returns how many were completed. */
unsigned vq_workers_process(struct vq_workers *w);

#endif
