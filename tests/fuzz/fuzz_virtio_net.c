/* A whole virtio-net NIC: per input a fresh machine whose RAM (64 KiB) holds the rest of the
 * input, a driver bring-up of both queues (0 receive, 1 transmit) through BAR 0, then BAR
 * accesses, notifications, the backend's bytes and virtio_net_process() as the program says.
 * The backend is the other end of a socketpair: a stream with passt's framing (mode bit 0
 * clear), whose bytes come raw from the program or as well-framed frames, or datagrams as a
 * tap device delivers them (bit 0 set). What the device sends is read and thrown away; the
 * backend may hang up (the link goes down). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../devices/virtio_net.h"
#include "../../devices/virtio_pci.h"
#include "fuzz_common.h"

#define RAM 0x10000u
#define MAX_OPS 64

/* The NIC's thread blocks SIGPIPE; here the device writes on the fuzzer's thread, to a
 * backend that may have hung up. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    signal(SIGPIPE, SIG_IGN);
    if (fz_null_fd() < 0)
        abort();
    return 0;
}

static uint8_t bytes[4 + NET_FRAME_MAX + 16];

/* Sends len bytes to the device (whatever the socket takes). */
static void feed(int peer, const uint8_t *p, size_t len)
{
    if (peer >= 0) {
        ssize_t r = send(peer, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)r;
    }
}

/* A frame of the length the program says (boundaries included), framed as the backend
 * frames it. */
static void feed_frame(int peer, bool stream, struct fz *prog)
{
    uint64_t want = fz_small(prog) | (uint64_t)fz_u8(prog) << 8;
    size_t len = want > NET_FRAME_MAX + 8 ? NET_FRAME_MAX + 8 : (size_t)want;
    uint8_t seed = fz_u8(prog);
    size_t at = stream ? 4 : 0;
    bytes[0] = (uint8_t)(len >> 24), bytes[1] = (uint8_t)(len >> 16);
    bytes[2] = (uint8_t)(len >> 8), bytes[3] = (uint8_t)len;
    for (size_t i = 0; i < len; i++)
        bytes[at + i] = (uint8_t)(seed + i);
    feed(peer, bytes, at + len);
}

static void drain_peer(int peer)
{
    while (peer >= 0 && recv(peer, bytes, sizeof(bytes), MSG_DONTWAIT) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct machine *m = fz_machine_new(RAM, &mem);
    struct mvm_err e = {0};
    struct net_config c;
    struct virtio_net *n;
    uint8_t mode = fz_u8(&prog);
    bool stream = !(mode & 1);
    int sv[2];
    if (net_parse((mode & 2) ? "mac=02:00:00:00:00:01" : "", &c, &e) ||
        socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0, sv))
        abort();
    if (virtio_net_create_fd(&n, m, &c, sv[1], stream, &e) != 0)
        abort();
    int peer = sv[0];
    struct pci_device *pdev = &virtio_net_dev(n)->pci;

    fz_virtio_setup(m, pdev, 2, &prog);
    for (unsigned i = 0; i < MAX_OPS && prog.n; i++) {
        unsigned op = fz_virtio_op(m, pdev, &prog);
        switch (op) {
        case 3: {   /* raw bytes from the backend: lengths, partial frames, garbage */
            size_t len = fz_u8(&prog) % 64, k = 0;
            for (; k < len && prog.n; k++)
                bytes[k] = fz_u8(&prog);
            feed(peer, bytes, k);
            break;
        }
        case 4:
            feed_frame(peer, stream, &prog);
            break;
        case 5:
            virtio_net_process(n);
            break;
        case 6:
            drain_peer(peer);
            break;
        case 7:   /* the backend goes away */
            if (peer >= 0 && fz_u8(&prog) < 16) {
                close(peer);
                peer = -1;
            }
            break;
        default:
            break;
        }
    }
    drain_peer(peer);
    virtio_net_process(n);

    virtio_net_destroy(n);
    if (peer >= 0)
        close(peer);
    fz_machine_free(m);
    return 0;
}
