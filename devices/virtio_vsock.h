/* virtio-vsock (device id 19) with Firecracker's "hybrid vsock" host side: the guest's
 * stream sockets become UNIX stream sockets on the host, all in userspace.
 *
 * - A host program connects to the device's socket PATH and writes "CONNECT <port>\n";
 *   minivmm asks the guest to accept a connection on that port and, when it does, answers
 *   "OK <hostport>\n"; the socket then carries the stream both ways.
 * - A guest connection to CID 2 port P becomes a connection to the UNIX socket "PATH_P".
 *
 * One thread of the device's own serves every connection: it polls the listening socket,
 * the connections and the queues' eventfds. The guest is hostile: every header is checked,
 * what is wrong is dropped and counted, and each connection holds at most the buffer it
 * advertised to the guest (credit, virtio 1.2 section 5.10.6.3). A guest that sends past it
 * loses the connection, not minivmm its memory.
 */
#ifndef MINIVMM_VIRTIO_VSOCK_H
#define MINIVMM_VIRTIO_VSOCK_H

#include <stdint.h>

#include "../vmm/err.h"

struct machine;
struct virtio_dev;
struct virtio_vsock;

/* A UNIX socket path holds 107 bytes; PATH_P adds '_' and up to 10 digits. */
#define VSOCK_PATH_MAX (107 - 11)
#define VSOCK_HOST_CID 2
/* Connections at once; more are refused. Fewer where the process may open few descriptors:
 * an eighth of RLIMIT_NOFILE, at least 64 (each holds one; disks, shares, the debugger and an
 * embedding program need theirs too). */
#define VSOCK_MAX_CONNS 1024
#define VSOCK_BUF_ALLOC (256u * 1024) /* what each connection buffers for the host at most */
#define VSOCK_MAX_PAYLOAD (64u * 1024)  /* one packet's data, either way */
#define VSOCK_LINE_MAX 32             /* the CONNECT line, newline included */

struct vsock_config {
    uint64_t cid;                     /* the guest's: 3 .. 0xfffffffe */
    char uds[VSOCK_PATH_MAX + 1];
};

/* What the device saw; the tests read it, --stats reports the guest's faults. */
struct vsock_stats {
    uint64_t bad_packets;     /* headers that were wrong (cid, type, len, op): dropped */
    uint64_t floods;          /* connections reset: the guest sent past its credit */
    uint64_t refused;         /* connections refused: max_conns reached */
    uint64_t connect_failed;  /* guest connections to PATH_P nobody listened on */
    uint64_t bad_lines;       /* host connections closed: bad, long or slow CONNECT line */
    uint64_t timeouts;        /* host connections the guest did not answer in time */
    unsigned conns;           /* connections now (any state) */
    unsigned max_conns;       /* the limit: VSOCK_MAX_CONNS, or fewer where descriptors are few */
    uint64_t buffered;        /* bytes now held for host sockets that were full */
};

/* Reads "CID,uds=PATH" (uds= takes the rest of the SPEC, commas included). */
int vsock_parse(const char *spec, struct vsock_config *c, struct mvm_err *e);

/* Creates the device and its listening socket PATH (an old socket file there is replaced;
 * anything else is refused). */
int virtio_vsock_create(struct virtio_vsock **out, struct machine *m,
                        const struct vsock_config *c, struct mvm_err *e);
int virtio_vsock_start(struct virtio_vsock *v, struct mvm_err *e);
/* Stops its thread, closes every connection, removes PATH. NULL is fine. */
void virtio_vsock_destroy(struct virtio_vsock *v);
struct virtio_dev *virtio_vsock_dev(struct virtio_vsock *v);

/* One pass of the device's loop on the calling thread (the tests and the fuzzer, without
 * start): waits up to timeout_ms for something to do, then does all of it. */
void virtio_vsock_poll(struct virtio_vsock *v, int timeout_ms);
void virtio_vsock_stats(struct virtio_vsock *v, struct vsock_stats *s);
/* How long a host program has to send its CONNECT line and the guest to answer the request
 * (defaults 2 s and 5 s; the tests shorten them). */
void virtio_vsock_set_timeouts(struct virtio_vsock *v, int line_ms, int reply_ms);

#endif
