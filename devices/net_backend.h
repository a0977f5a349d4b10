/* Where a virtio-net device's frames go on the host: passt (a user-mode network stack that
 * minivmm starts as its child, over one end of a socketpair) or an existing tap device.
 *
 * passt's framing: each Ethernet frame preceded by its length, 32 bits big-endian, over a
 * stream socket; reads may end anywhere, so frames are reassembled in a fixed buffer, and a
 * write may be short, so the rest of a frame waits in another (one frame each way: memory
 * never grows). A tap device hands over one frame per read and write. passt is trusted-ish,
 * but a length out of bounds means the stream is broken: the backend is then taken as gone.
 */
#ifndef MINIVMM_NET_BACKEND_H
#define MINIVMM_NET_BACKEND_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../vmm/err.h"

#define ETH_HDR_LEN 14
/* The largest frame either way: an IP datagram's largest (65535) behind a VLAN-tagged
 * Ethernet header (18). passt offers an MTU of 65520, so its frames stay below. */
#define NET_FRAME_MAX (65535 + 18)
#define NET_PATH_MAX 256

enum net_kind { NET_PASST, NET_TAP };

/* What --net SPEC says: [passt|passt=PATH|tap=NAME][,mac=XX:XX:XX:XX:XX:XX]. */
struct net_config {
    enum net_kind kind;
    char passt[NET_PATH_MAX];   /* passt's program: "" looks for "passt" on PATH */
    char tap[IFNAMSIZ];
    uint8_t mac[6];
    bool mac_set;               /* else a default derived from the device's PCI slot */
};

/* Reads a SPEC (empty: passt with a default MAC). 0, or -1 and MVM_E_INPUT naming the fix. */
int net_parse(const char *spec, struct net_config *c, struct mvm_err *e);

/* The default MAC of the NIC in PCI slot `slot`: locally administered, unicast, the same in
 * every run, different for each slot. A tap NIC's also depends on the tap's name (tap, else
 * NULL): guests on one bridge each have their own tap, and must not share a MAC. */
void net_default_mac(unsigned slot, const char *tap, uint8_t mac[6]);

/* passt's command line for a socket at descriptor fd (NULL-terminated, pointing into c and
 * w): foreground, one connection, quiet unless verbose. With u (the host's uplink, found as
 * passt finds it: net_uplink.h), its address, prefix and gateway are given explicitly, and DNS
 * queries to the gateway go to the host's resolvers: the --rootfs init sets the guest up with
 * the same values and names the gateway as its nameserver (net_guest_setup). Returns w->argv. */
struct net_uplink;
struct passt_words {
    char fd[16], addr[16], prefix[4], gw[16];
    char *argv[16];
};
char **net_passt_argv(const struct net_config *c, int fd, bool verbose,
                      const struct net_uplink *u, struct passt_words *w);

struct net_backend {
    int fd;                 /* the stream socket or the tap; -1: none (gone) */
    bool stream;            /* passt's framing */
    bool dead;              /* gone: nothing more is read or written (fd stays until close) */
    bool broken;            /* passt broke its stream: it may still run (not waited for) */
    pid_t pid;              /* passt, minivmm's child; 0: none (or reaped) */
    /* Reassembly: bytes [rx_start, rx_end) of rx_buf read but not consumed. */
    size_t rx_start, rx_end;
    bool rx_ready;          /* a whole frame sits at rx_start (see net_backend_peek) */
    size_t rx_frame;        /* its length */
    /* A frame being written: bytes [tx_off, tx_len) of tx_buf still to go. */
    size_t tx_off, tx_len;
    uint64_t tx_dropped;    /* frames the backend refused (a tap that is down) */
    char why[160];          /* why the backend is gone, once it is */
    uint8_t rx_buf[2 * (4 + NET_FRAME_MAX)];
    uint8_t tx_buf[4 + NET_FRAME_MAX];
};

/* Over an existing descriptor (the tests', the fuzzer's; stream: passt's framing). The
 * descriptor becomes the backend's (non-blocking, closed by net_backend_close). */
void net_backend_init_fd(struct net_backend *b, int fd, bool stream);
/* Starts passt (as c says) or opens the tap. 0, or -1 with the fix in e. */
int net_backend_open(struct net_backend *b, const struct net_config *c, int log_fd, bool verbose,
                     struct mvm_err *e);
/* The next whole frame, left in place until net_backend_consume(): 1 (*frame, *len set), 0
 * (none yet: poll for input), -1 (the backend is gone or broke its stream; b->why says). */
int net_backend_peek(struct net_backend *b, const uint8_t **frame, size_t *len);
void net_backend_consume(struct net_backend *b);
/* Whether the backend hung up (passt closed its end, the tap device was deleted), asked
 * without reading: for when frames wait for the guest and nothing is read. */
bool net_backend_hung_up(struct net_backend *b);
/* Space for the next frame to send (len bytes, 14..NET_FRAME_MAX), NULL while one is still
 * being written; then net_backend_send() sends it. */
uint8_t *net_backend_tx_space(struct net_backend *b, size_t len);
/* Writes what is pending: 1 all sent, 0 the backend is full (poll for output), -1 gone. */
int net_backend_flush(struct net_backend *b);
/* The backend is gone: stops using it and says how passt ended, if it was ours (waiting up
 * to a second for it to exit: it closed its end because it is exiting). Writes one line into
 * out. */
void net_backend_gone(struct net_backend *b, char *out, size_t len);
/* Closes the descriptor; passt, if still running, gets SIGTERM and is reaped. */
void net_backend_close(struct net_backend *b);

#endif
