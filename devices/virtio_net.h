/* virtio-net (modern virtio-pci, device id 1): one receive and one transmit queue, the MAC
 * and link status in configuration space, mergeable receive buffers; no offloads (every
 * frame travels whole, checksummed by the guest). Frames go to passt or a tap device
 * (net_backend.h) on one thread per NIC, which polls the backend and both queues' eventfds.
 *
 * The guest is hostile: a transmit chain must hold the 12-byte header and a frame of 14 to
 * NET_FRAME_MAX bytes, else it is dropped and counted (m->net_bad_frames). A received frame
 * waits in the backend while the guest has no buffers for it (nothing is dropped and memory
 * does not grow); one the guest's buffers can never hold is dropped and counted. When the
 * backend goes away, the link goes down (a configuration interrupt) and the run goes on.
 */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>

#include "../vmm/err.h"
#include "net_backend.h"

struct machine;
struct virtio_dev;
struct virtio_net;

/* Creates the NIC on m's PCI host bridge with its backend (passt started, or the tap opened). */
int virtio_net_create(struct virtio_net **out, struct machine *m, const struct net_config *c,
                      struct mvm_err *e);
/* The same over an open descriptor instead (stream: passt's framing): the tests' and the
 * fuzzer's way in. The descriptor becomes the device's. */
int virtio_net_create_fd(struct virtio_net **out, struct machine *m, const struct net_config *c,
                         int fd, bool stream, struct mvm_err *e);
int virtio_net_start(struct virtio_net *n, struct mvm_err *e);
/* Stops the thread, passt and frees the NIC. NULL is fine. */
void virtio_net_destroy(struct virtio_net *n);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);

/* What the thread does on each wake-up, on the caller's thread (the tests and the fuzzer
 * drive it so, with no thread started): takes the queues' notifications (one for the receive
 * queue ends a stall), sends what the guest queued while the backend takes it, then hands
 * over received frames while the guest has room. */
void virtio_net_process(struct virtio_net *n);
/* Whether received frames wait for the guest's buffers (the backend is not read meanwhile). */
bool virtio_net_rx_stalled(const struct virtio_net *n);

#endif
