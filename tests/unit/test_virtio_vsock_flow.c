/* The vsock device's flow control and its thread, without KVM (vsock_driver.h): the guest's
 * credit respected and updated, a guest flooding past ours reset with memory bounded, 4 MiB
 * each way with a guest that keeps the rules, a listener out of descriptors, and the
 * device's own thread woken by a host program and by a queue notification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "../../devices/device.h"
#include "../../devices/pci.h"
#include "../../devices/virtio_pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"
#include "vsock_driver.h"

static uint8_t data[VSOCK_MAX_PAYLOAD + 64];

/* The device never sends more than the guest's credit, and sends more as it grows. */
static void test_credit_respected(void **state)
{
    (void)state;
    rx_fill(QS);
    char where[160];
    snprintf(where, sizeof(where), "%s_5001", path);
    int lfd = unix_listen(where);
    tx(OP_REQUEST, 40002, 5001, NULL, 0, 0, 1000, 0);
    rx_op(OP_RESPONSE);
    int fd = accept(lfd, NULL, NULL);
    memset(data, 'a', 5000);
    assert_int_equal(write(fd, data, 5000), 5000);
    uint32_t total = 0;
    struct pkt p;
    for (int round = 0; round < 3; round++) {
        pump();
        while (rx(&p, NULL)) {
            assert_int_equal(p.op, OP_RW);
            total += p.len;
        }
    }
    assert_int_equal(total, 1000);   /* buf_alloc 1000, nothing passed on yet */
    /* The guest passes 1000 on: 1000 more. */
    tx(OP_CREDIT_UPDATE, 40002, 5001, NULL, 0, 0, 1000, 1000);
    pump();
    while (rx(&p, NULL))
        total += p.len;
    assert_int_equal(total, 2000);
    /* A guest that shrinks its buffer below what is in flight gets nothing (no wrap). */
    tx(OP_CREDIT_UPDATE, 40002, 5001, NULL, 0, 0, 500, 1000);
    pump();
    no_rx();
    /* A credit request is answered with our counters. */
    tx(OP_CREDIT_REQUEST, 40002, 5001, NULL, 0, 0, 500, 1000);
    p = rx_op(OP_CREDIT_UPDATE);
    assert_int_equal(p.buf_alloc, VSOCK_BUF_ALLOC);
    assert_int_equal(p.fwd_cnt, 0);
    close(fd), close(lfd);
}

/* As the host takes the guest's data, the guest hears of the room (CREDIT_UPDATE). */
static void test_credit_updates(void **state)
{
    (void)state;
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(99, &hp);
    memset(data, 'b', VSOCK_MAX_PAYLOAD);
    uint32_t sent = 0;
    for (int i = 0; i < 2; i++) {
        tx(OP_RW, 99, hp, data, VSOCK_MAX_PAYLOAD, 0, GBUF, 0);
        sent += VSOCK_MAX_PAYLOAD;
    }
    uint32_t got = 0;
    while (got < sent && readable(fd, 1000)) {
        ssize_t n = read(fd, data, sizeof(data));
        assert_true(n > 0);
        got += (uint32_t)n;
        pump();
    }
    assert_int_equal(got, sent);
    struct pkt p = rx_op(OP_CREDIT_UPDATE);
    assert_true(p.fwd_cnt >= VSOCK_BUF_ALLOC / 4);
    assert_true(p.fwd_cnt <= sent);
    close(fd);
}

/* A guest that sends past our buf_alloc to a host that does not read: the connection is
 * reset and what minivmm holds stays within buf_alloc. */
static void test_flood(void **state)
{
    (void)state;
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(100, &hp);
    memset(data, 'c', VSOCK_MAX_PAYLOAD);
    int i;
    for (i = 0; i < 200 && stats().floods == 0; i++) {
        tx(OP_RW, 100, hp, data, VSOCK_MAX_PAYLOAD, 0, GBUF, 0);
        assert_true(stats().buffered <= VSOCK_BUF_ALLOC);
    }
    assert_int_equal(stats().floods, 1);
    assert_int_equal(m.flood_resets, 1);
    assert_int_equal(stats().buffered, 0);
    struct pkt p;   /* credit updates as the socket took data, then the RST */
    while (rx(&p, NULL) && p.op == OP_CREDIT_UPDATE)
        ;
    assert_int_equal(p.op, OP_RST);
    assert_int_equal(stats().conns, 0);
    /* The host reads what the socket held, then EOF. */
    ssize_t n;
    while ((n = read(fd, data, sizeof(data))) > 0)
        ;
    assert_int_equal(n, 0);
    close(fd);
}

/* Out of descriptors: the connection waits in the listener's backlog, and the thread does
 * not spin on a listener that stays readable; it accepts once it can. */
static void test_out_of_fds(void **state)
{
    (void)state;
    int fd = unix_connect(path);
    int top = dup(fd);   /* the highest descriptor now */
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)top + 1;
    close(top);
    int spare = dup(fd);   /* takes `top` again: none is left for accept4 */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    virtio_vsock_poll(vs, 0);
    assert_int_equal(stats().conns, 0);
    uint64_t t0 = vsock_test_ms();
    virtio_vsock_poll(vs, 60);   /* the listener is still readable: it must not wake us */
    assert_true(vsock_test_ms() - t0 >= 50);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(spare);
    usleep(120 * 1000);
    pump();
    assert_int_equal(stats().conns, 1);
    close(fd);
}

/* 4 MiB each way on one connection between a host program and a guest that keeps to the
 * credit rules (as Linux does): it sends only what our credit allows and tells us of the room
 * it frees; no flood, no stall, every byte in order. */
static void test_bulk(void **state)
{
    (void)state;
    enum { TOTAL = 4 << 20, GB = 65536 };
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(500, &hp);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static uint8_t buf[65536];
    uint64_t h_sent = 0, h_recv = 0, g_sent = 0, g_recv = 0;
    uint32_t g_fwd = 0, g_fwd_told = 0, our_alloc = VSOCK_BUF_ALLOC, our_fwd = 0;
    for (int round = 0; round < 100000 && (h_recv < TOTAL || g_recv < TOTAL); round++) {
        if (h_sent < TOTAL) {   /* the host program writes what its socket takes */
            size_t n = TOTAL - h_sent < sizeof(buf) ? TOTAL - h_sent : sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)((h_sent + i) * 7);
            ssize_t w = write(fd, buf, n);
            if (w > 0)
                h_sent += (uint64_t)w;
        }
        ssize_t r;
        while ((r = read(fd, buf, sizeof(buf))) > 0) {   /* and reads what comes */
            for (ssize_t i = 0; i < r; i++)
                assert_int_equal(buf[i], (uint8_t)((h_recv + (uint64_t)i) * 3));
            h_recv += (uint64_t)r;
        }
        uint32_t credit = our_alloc - (uint32_t)(g_sent - our_fwd);
        if (g_sent < TOTAL && credit) {   /* the guest sends within our credit */
            uint32_t n = credit < 4096 ? credit : 4096;
            if (n > TOTAL - g_sent)
                n = (uint32_t)(TOTAL - g_sent);
            for (uint32_t i = 0; i < n; i++)
                data[i] = (uint8_t)((g_sent + i) * 3);
            tx(OP_RW, 500, hp, data, n, 0, GB, g_fwd);
            g_sent += n;
            g_fwd_told = g_fwd;
        }
        pump();
        struct pkt p;
        while (rx(&p, data)) {
            assert_true(p.op == OP_RW || p.op == OP_CREDIT_UPDATE);
            our_alloc = p.buf_alloc, our_fwd = p.fwd_cnt;
            for (uint32_t i = 0; i < p.len; i++)
                assert_int_equal(data[i], (uint8_t)((g_recv + i) * 7));
            g_recv += p.len;
            g_fwd += p.len;   /* the guest's reader takes it at once */
            /* Never more than the guest's buffer in flight. */
            assert_true(g_recv - g_fwd_told <= GB);
        }
        if (g_fwd - g_fwd_told >= GB / 2) {   /* room freed: tell the device */
            tx(OP_CREDIT_UPDATE, 500, hp, NULL, 0, 0, GB, g_fwd);
            g_fwd_told = g_fwd;
        }
    }
    assert_int_equal(h_recv, TOTAL);
    assert_int_equal(g_recv, TOTAL);
    assert_int_equal(stats().floods, 0);
    assert_int_equal(stats().bad_packets, 0);
    close(fd);
}

/* The device's own thread: it restricts itself (the fake machine's no-op), wakes for a host
 * program's connection and for the TX queue's notification, and stops when destroyed. */
static void test_thread(void **state)
{
    (void)state;
    rx_fill(QS);
    struct mvm_err e = {0};
    assert_int_equal(virtio_vsock_start(vs, &e), 0);
    int fd = unix_connect(path);
    assert_int_equal(write(fd, "CONNECT 9\n", 10), 10);
    uint16_t *used = (uint16_t *)(m.mem.host + QBASE(0) + 0x2000 + 2);
    for (int i = 0; i < 2000 && __atomic_load_n(used, __ATOMIC_ACQUIRE) == 0; i++)
        usleep(1000);
    struct pkt p = rx_op(OP_REQUEST);
    /* The answer, then a notification as KVM would signal it (ioeventfd). */
    struct pkt r = {GUEST_CID, 2, 9, p.src_port, 0, 1, OP_RESPONSE, 0, GBUF, 0};
    uint8_t *h = m.mem.host + TXBUF;
    le_put(h, 8, r.src_cid), le_put(h + 8, 8, r.dst_cid), le_put(h + 16, 4, r.src_port);
    le_put(h + 20, 4, r.dst_port), le_put(h + 24, 4, 0), le_put(h + 28, 2, 1);
    le_put(h + 30, 2, OP_RESPONSE), le_put(h + 32, 4, 0), le_put(h + 36, 4, GBUF);
    le_put(h + 40, 4, 0);
    desc_q(1, 0, TXBUF, 44, 0, 0);
    offer_q(1, 0);
    uint64_t one = 1;
    assert_int_equal(write(virtio_vsock_dev(vs)->ops->queue_eventfd(virtio_vsock_dev(vs), 1),
                           &one, 8), 8);
    assert_true(readable(fd, 2000));
    char ok[32] = {0};
    assert_true(read(fd, ok, sizeof(ok)) > 0);
    assert_memory_equal(ok, "OK ", 3);
    close(fd);
    /* teardown_vs destroys it: the thread must stop. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_credit_respected, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_credit_updates, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_flood, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_out_of_fds, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_bulk, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_thread, setup_vs, teardown_vs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
