/* The command's stdio device as its two files share it: virtio_stdio.c (the ports, the
 * control queues, the transport's callbacks) and stdio_stdin.c (the thread that feeds the
 * command's stdin). Private to them. */
#ifndef MINIVMM_STDIO_IMPL_H
#define MINIVMM_STDIO_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stdio_status.h"
#include "vcon_queues.h"
#include "virtio_pci.h"
#include "vty.h"

enum { PORT_CONSOLE, PORT_STDIN, PORT_STDOUT, PORT_STDERR, PORT_STATUS, NPORTS };

/* Queues: port 0's receive and transmit, the control pair, then each further port's pair. */
#define NQUEUES (2 * (NPORTS + 1))
#define CTRL_RXQ 2                  /* device -> driver control messages */
#define CTRL_TXQ 3                  /* driver -> device */
#define CTRL_PENDING (4 * NPORTS)   /* at most four messages a port wait for buffers */
#define CTRL_LEN 8                  /* id le32, event le16, value le16 */

static inline uint16_t rx_queue(unsigned port)
{
    return (uint16_t)(port == 0 ? 0 : 2 * port + 2);
}


struct port {
    struct virtio_stdio *dev;
    struct vty vty;              /* output to the host descriptor; the console's input ring */
    struct virtq_chain chain;    /* scratch of whoever drains the port's output (tx_lock) */
    pthread_mutex_t tx_lock;
    bool guest_open;             /* a guest program has the port open (under vdev.lock) */
};

struct ctrl_msg {
    uint32_t id;
    uint16_t event, value;
};

struct virtio_stdio {
    struct virtio_dev vdev;      /* first: the transport hands us back this pointer */
    struct port port[NPORTS];
    int in_fd;                   /* the command's stdin on the host; -1: none (end-of-file) */
    bool tty;                    /* the console port takes the host console's input */
    /* Under vdev.lock: messages for the driver waiting for its buffers, and the scratch of
     * everything done under that lock (control traffic, the console's input). */
    struct ctrl_msg pending[CTRL_PENDING];
    unsigned npending;
    struct virtq_chain locked_chain;
    unsigned generation;         /* resets so far: a buffer taken before one is stale */
    uint16_t stdin_posted;       /* receive buffers the guest had posted when it opened stdin */
    bool stdin_ended;            /* the host's stdin is over: the port is never opened again */
    bool warned;                 /* the driver's failure to add a port was logged */
    /* The status line as it arrives (under port[PORT_STATUS].tx_lock). */
    char status[STDIO_STATUS_MAX];
    size_t status_len;
    bool status_done;
    struct vcon_queues queues;   /* the thread that serves every queue's notifications */
    /* The stdin feeder (stdio_stdin.c). */
    pthread_t feeder;
    bool feeder_started;
    bool stopping;               /* atomic */
    int kick_fd;                 /* eventfd: the feeder looks again (buffers, open, stop) */
    struct virtq_chain in;       /* the feeder's scratch */
};


/* Makes the feeder look again (buffers, the port opened or closed, a reset, a stop). */
void stdio_kick_feeder(struct virtio_stdio *s);
/* The host's stdin is over: the device closes the port from its side. */
void stdio_stdin_ended(struct virtio_stdio *s);
/* The feeder thread (its argument: the device). */
void *stdio_feeder_main(void *arg);

#endif
