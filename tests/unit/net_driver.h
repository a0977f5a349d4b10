/* The driver side of a virtio-net device under test, and a fake passt: the device on a fresh
 * PCI host with its backend on one end of a socketpair (the test holds the other, `peer`),
 * both queues of QS entries in fake guest memory. The includer includes fake_machine.h and
 * virtio_driver.h first. */
#ifndef MINIVMM_TEST_NET_DRIVER_H
#define MINIVMM_TEST_NET_DRIVER_H

#include <poll.h>
#include <sys/socket.h>

#include "../../devices/pci.h"
#include "../../devices/virtio_net.h"
#include "../../devices/virtio_pci.h"

#define NET_RAM (4u << 20)
#define QS 16
#define F_NEXT 1
#define F_WRITE 2
#define VERSION_1 (1ull << 32)
#define F_MAC (1ull << 5)
#define F_MRG (1ull << 15)
#define F_STATUS (1ull << 16)
#define F_EVENT_IDX (1ull << 29)
#define HDR 12
/* Queue q's rings, and where the test puts buffers. */
#define QDESC(q) (0x10000u + 0x4000u * (q))
#define QAVAIL(q) (QDESC(q) + 0x1000u)
#define QUSED(q) (QDESC(q) + 0x2000u)
#define RXBUF 0x20000u            /* receive buffer i at RXBUF + 0x20000 * i: room for any frame */
#define TXBUF 0x300000u
#define RX 0
#define TX 1

static struct pci_host host;
static struct virtio_net *n;
static int peer = -1;             /* passt's end */
static uint64_t bar;
static uint16_t avail_idx[2];

static inline uint64_t rd(uint64_t off, uint32_t len)
{
    return mmio_rd(bar + off, len);
}

static inline void wr(uint64_t off, uint32_t len, uint64_t v)
{
    mmio_wr(bar + off, len, v);
}

/* The NIC from spec over a fresh socketpair (peer non-blocking). */
static inline int net_create(const char *spec)
{
    struct net_config c;
    struct mvm_err e = {0};
    int sv[2];
    memset(&host, 0, sizeof(host));
    memset(&m.bus, 0, sizeof(m.bus));
    m.pci = &host;
    assert_int_equal(net_parse(spec, &c, &e), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    peer = sv[0];
    fcntl(peer, F_SETFL, O_NONBLOCK);
    int r = virtio_net_create_fd(&n, &m, &c, sv[1], true, &e);
    if (r == 0) {
        bar = PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
        assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));   /* memory decoding on */
    }
    avail_idx[0] = avail_idx[1] = 0;
    return r;
}

static inline int setup_net(void **state)
{
    if (setup_with_bridge(state, &host, NET_RAM))
        return -1;
    return net_create("");
}

static inline int teardown_net(void **state)
{
    virtio_net_destroy(n);
    n = NULL;
    if (peer >= 0)
        close(peer);
    peer = -1;
    return teardown(state);
}

/* Resets the device, negotiates `features`, sets up both queues; asserts DRIVER_OK stuck. */
static inline void driver_init(uint64_t features)
{
    wr(0x14, 1, 0), wr(0x14, 1, 1), wr(0x14, 1, 3);
    wr(0x08, 4, 0), wr(0x0c, 4, (uint32_t)features), wr(0x08, 4, 1), wr(0x0c, 4, features >> 32);
    wr(0x14, 1, 0xb);
    assert_int_equal(rd(0x14, 1), 0xb);
    for (unsigned q = 0; q < 2; q++) {
        memset(m.mem.host + QDESC(q), 0, 0x3000);
        avail_idx[q] = 0;
        wr(0x16, 2, q), wr(0x18, 2, QS);
        wr(0x20, 4, QDESC(q)), wr(0x24, 4, 0), wr(0x28, 4, QAVAIL(q)), wr(0x2c, 4, 0);
        wr(0x30, 4, QUSED(q)), wr(0x34, 4, 0);
        wr(0x1c, 2, 1);
    }
    wr(0x14, 1, 0xf);
    assert_int_equal(rd(0x14, 1), 0xf);
}

static inline void qdesc(unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                         uint16_t next)
{
    uint64_t d = QDESC(q) + 16 * i;
    put(d, 8, addr), put(d + 8, 4, len), put(d + 12, 2, flags), put(d + 14, 2, next);
}

static inline void qoffer(unsigned q, uint16_t head)
{
    put(QAVAIL(q) + 4 + 2 * (avail_idx[q] % QS), 2, head);
    __atomic_store_n((uint16_t *)(m.mem.host + QAVAIL(q) + 2), htole16(++avail_idx[q]),
                     __ATOMIC_RELEASE);
}

/* Receive buffer i (descriptor i of the receive queue): len device-writable bytes. */
static inline void rx_buffer(uint16_t i, uint32_t len)
{
    qdesc(RX, i, RXBUF + 0x20000u * i, len, F_WRITE, 0);
    qoffer(RX, i);
}

static inline uint16_t used_idx(unsigned q)
{
    return (uint16_t)get(QUSED(q) + 2, 2);
}

/* The used element e of queue q: its id, and its length in *len. */
static inline uint32_t used_id(unsigned q, uint16_t e, uint32_t *len)
{
    uint64_t el = QUSED(q) + 4 + 8 * (e % QS);
    if (len)
        *len = (uint32_t)get(el + 4, 4);
    return (uint32_t)get(el, 4);
}

/* passt's side: writes a frame of len bytes (byte i = seed + i) with its BE length. */
static inline void peer_frame(uint32_t len, uint8_t seed)
{
    uint8_t buf[4 + 70000];
    buf[0] = (uint8_t)(len >> 24), buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8), buf[3] = (uint8_t)len;
    for (uint32_t i = 0; i < len; i++)
        buf[4 + i] = (uint8_t)(seed + i);
    assert_int_equal(write(peer, buf, 4 + len), (ssize_t)(4 + len));
}

/* What passt received: up to max bytes now there (0 if none). */
static inline size_t peer_read(uint8_t *buf, size_t max)
{
    ssize_t r = read(peer, buf, max);
    return r > 0 ? (size_t)r : 0;
}

/* Whether the bytes at gpa are seed, seed+1, ... for len bytes. */
static inline bool is_pattern(uint64_t gpa, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        if (m.mem.host[gpa + i] != (uint8_t)(seed + i))
            return false;
    return true;
}

#endif
