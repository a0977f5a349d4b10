/* The driver side of a virtio-vsock device under test: the device on a fresh PCI host, its
 * three queues (rx 0, tx 1, event 2) of QS entries in fake guest memory, RX buffers the test
 * offers and TX packets it sends; virtio_vsock_poll() stands in for the device's thread. The
 * host side is real UNIX sockets in a temporary directory. Include after fake_machine.h and
 * virtio_driver.h. */
#ifndef MINIVMM_TEST_VSOCK_DRIVER_H
#define MINIVMM_TEST_VSOCK_DRIVER_H

#include <linux/virtio_vsock.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "../../devices/pci.h"
#include "../../devices/virtio_vsock.h"

#define QS 64
#define QBASE(q) (0x10000u + (q) * 0x4000u)       /* desc; avail +0x1000, used +0x2000 */
#define RXBUF 0x100000u                            /* QS buffers of RXSTRIDE bytes */
#define RXSTRIDE 0x2000u
#define TXBUF 0x200000u                            /* one packet at a time */
#define VS_RAM (4u << 20)
#define GUEST_CID 3
#define F_NEXT 1
#define F_WRITE 2
#define VERSION_1 (1ull << 32)

static struct pci_host host;
static struct virtio_vsock *vs;
static uint64_t bar;
static uint16_t avail_idx[3], used_seen[3];
static uint32_t rx_len = 4096 + 44;               /* each RX buffer, header included */
static char dir[64], path[128];

/* Copies a path the test made (always short) where a fixed-size field holds it. */
static inline void copy_path(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    assert_true(n < size);
    memcpy(dst, src, n + 1);
}

static inline uint64_t rd(uint64_t off, uint32_t len)
{
    return mmio_rd(bar + off, len);
}

static inline void wr(uint64_t off, uint32_t len, uint64_t v)
{
    mmio_wr(bar + off, len, v);
}

static inline void offer_q(unsigned q, uint16_t head)
{
    put(QBASE(q) + 0x1000 + 4 + 2 * (avail_idx[q] % QS), 2, head);
    __atomic_store_n((uint16_t *)(m.mem.host + QBASE(q) + 0x1000 + 2), htole16(++avail_idx[q]),
                     __ATOMIC_RELEASE);
}

static inline void desc_q(unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                          uint16_t next)
{
    uint64_t d = QBASE(q) + 16 * i;
    put(d, 8, addr), put(d + 8, 4, len), put(d + 12, 2, flags), put(d + 14, 2, next);
}

/* One RX buffer (descriptor i) offered again. */
static inline void rx_give(uint16_t i)
{
    desc_q(0, i, RXBUF + RXSTRIDE * i, rx_len, F_WRITE, 0);
    offer_q(0, i);
}

static inline void rx_fill(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rx_give((uint16_t)(avail_idx[0] % QS));
}

/* Creates the device (CID 3, PATH in a fresh temporary directory) and brings the driver up
 * with every queue ready; no RX buffers yet. */
static inline void vs_up(void)
{
    struct mvm_err e = {0};
    struct vsock_config c = {.cid = GUEST_CID};
    memset(&host, 0, sizeof(host));
    memset(&m.bus, 0, sizeof(m.bus));
    copy_path(c.uds, sizeof(c.uds), path);
    assert_int_equal(virtio_vsock_create(&vs, &m, &c, &e), 0);
    bar = PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
    assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));
    wr(0x14, 1, 0), wr(0x14, 1, 1), wr(0x14, 1, 3);
    wr(0x08, 4, 0), wr(0x0c, 4, 1), wr(0x08, 4, 1), wr(0x0c, 4, VERSION_1 >> 32);
    wr(0x14, 1, 0xb);
    assert_int_equal(rd(0x14, 1), 0xb);
    for (unsigned q = 0; q < 3; q++) {
        avail_idx[q] = used_seen[q] = 0;
        wr(0x16, 2, q), wr(0x18, 2, QS);
        wr(0x20, 4, QBASE(q)), wr(0x24, 4, 0), wr(0x28, 4, QBASE(q) + 0x1000), wr(0x2c, 4, 0);
        wr(0x30, 4, QBASE(q) + 0x2000), wr(0x34, 4, 0);
        wr(0x1c, 2, 1);
    }
    wr(0x14, 1, 0xf);
    assert_int_equal(rd(0x14, 1), 0xf);
    virtio_vsock_set_timeouts(vs, 200, 300);
}

static inline void pump(void)
{
    for (int i = 0; i < 4; i++)
        virtio_vsock_poll(vs, 0);
}

struct pkt {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port, len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
};

/* A packet from the guest (header + len bytes of data) in one descriptor, or two when split
 * (header, data), then a pass of the device. chain_len: what the descriptors hold (0: the
 * header's len). */
static inline void tx_raw(const struct pkt *p, const void *data, uint32_t chain_len)
{
    uint8_t *h = m.mem.host + TXBUF;
    le_put(h, 8, p->src_cid), le_put(h + 8, 8, p->dst_cid), le_put(h + 16, 4, p->src_port);
    le_put(h + 20, 4, p->dst_port), le_put(h + 24, 4, p->len), le_put(h + 28, 2, p->type);
    le_put(h + 30, 2, p->op), le_put(h + 32, 4, p->flags), le_put(h + 36, 4, p->buf_alloc);
    le_put(h + 40, 4, p->fwd_cnt);
    if (data)
        memcpy(h + 44, data, p->len);
    uint16_t i = avail_idx[1] % QS;
    desc_q(1, i, TXBUF, 44 + chain_len, 0, 0);
    offer_q(1, i);
    pump();
}

/* A well-formed packet on (guest port gp -> host port hp). */
static inline void tx(uint16_t op, uint32_t gp, uint32_t hp, const void *data, uint32_t len,
                      uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt)
{
    struct pkt p = {GUEST_CID, 2, gp, hp, len, 1, op, flags, buf_alloc, fwd_cnt};
    tx_raw(&p, data, len);
}

/* The next packet the device put in an RX buffer (its data into data, if any): true, or
 * false when there is none. The buffer is offered again. */
static inline bool rx(struct pkt *p, uint8_t *data)
{
    uint16_t used = (uint16_t)get(QBASE(0) + 0x2000 + 2, 2);
    if (used == used_seen[0])
        return false;
    uint64_t elem = QBASE(0) + 0x2000 + 4 + 8 * (used_seen[0]++ % QS);
    uint16_t id = (uint16_t)get(elem, 4);
    uint32_t len = (uint32_t)get(elem + 4, 4);
    const uint8_t *h = m.mem.host + RXBUF + RXSTRIDE * id;
    assert_true(len >= 44 && len <= rx_len);
    *p = (struct pkt){le_get(h, 8), le_get(h + 8, 8), (uint32_t)le_get(h + 16, 4),
                      (uint32_t)le_get(h + 20, 4), (uint32_t)le_get(h + 24, 4),
                      (uint16_t)le_get(h + 28, 2), (uint16_t)le_get(h + 30, 2),
                      (uint32_t)le_get(h + 32, 4), (uint32_t)le_get(h + 36, 4),
                      (uint32_t)le_get(h + 40, 4)};
    assert_int_equal(p->len, len - 44);
    assert_int_equal(p->src_cid, 2);
    assert_int_equal(p->dst_cid, GUEST_CID);
    assert_int_equal(p->type, 1);
    if (data)
        memcpy(data, h + 44, p->len);
    rx_give(id);
    return true;
}

/* The next packet, which must be there and be op. */
static inline struct pkt rx_op(uint16_t op)
{
    struct pkt p;
    assert_true(rx(&p, NULL));
    assert_int_equal(p.op, op);
    return p;
}

static inline void no_rx(void)
{
    struct pkt p;
    assert_false(rx(&p, NULL));
}

static inline int unix_connect(const char *where)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    copy_path(a.sun_path, sizeof(a.sun_path), where);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static inline int unix_listen(const char *where)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    copy_path(a.sun_path, sizeof(a.sun_path), where);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    unlink(where);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 2048), 0);
    return fd;
}

/* Whether fd has something to read (or EOF) within ms. */
static inline bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* ---- shared by the vsock tests: fixtures, counters, the two handshakes ---- */

#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define GBUF 65536u            /* the guest's buf_alloc in most tests */

static inline int setup_vs(void **state)
{
    if (setup_with_bridge(state, &host, VS_RAM))
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/minivmm-vsock-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/v.sock", dir);
    rx_len = 4096 + 44;
    vs_up();
    return 0;
}

static inline int teardown_vs(void **state)
{
    virtio_vsock_destroy(vs);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return teardown(state);
}

static inline uint64_t vsock_test_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static inline struct vsock_stats stats(void)
{
    struct vsock_stats s;
    virtio_vsock_stats(vs, &s);
    return s;
}

/* A host program connects and asks for guest port `port`; the guest accepts. Returns the
 * host socket; *hp gets the host port the device chose. */
static inline int host_connect(uint32_t port, uint32_t *hp)
{
    int fd = unix_connect(path);
    char line[32];
    int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
    assert_int_equal(write(fd, line, (size_t)n), n);
    pump();
    struct pkt p = rx_op(OP_REQUEST);
    assert_int_equal(p.dst_port, port);
    assert_true(p.src_port >= 1u << 30);
    assert_int_equal(p.buf_alloc, VSOCK_BUF_ALLOC);
    *hp = p.src_port;
    tx(OP_RESPONSE, port, *hp, NULL, 0, 0, GBUF, 0);
    assert_true(readable(fd, 1000));
    char ok[32] = {0};
    n = snprintf(line, sizeof(line), "OK %u\n", *hp);
    assert_int_equal(read(fd, ok, sizeof(ok)), n);
    assert_string_equal(ok, line);
    return fd;
}

/* The guest connects from port gp to host port hp, where a host program listens (lfd);
 * returns the accepted host socket. */
static inline int guest_connect(int lfd, uint32_t gp, uint32_t hp)
{
    tx(OP_REQUEST, gp, hp, NULL, 0, 0, GBUF, 0);
    struct pkt p = rx_op(OP_RESPONSE);
    assert_int_equal(p.src_port, hp);
    assert_int_equal(p.dst_port, gp);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

#endif
