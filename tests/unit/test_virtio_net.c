/* A whole virtio-net device without KVM: the test is the driver (BAR on the MMIO bus, rings in
 * fake guest memory) and passt (the other end of the socketpair the device sends frames
 * into); virtio_net_process() stands in for the NIC's thread, except in the last test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "../../devices/pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"
#include "net_driver.h"

#define IRQ (PCI_IRQ_BASE + 0)
#define ISR 0x100
#define CFG 0x200

static void test_config_space(void **state)
{
    (void)state;
    uint64_t f = (rd(0x04, 4));
    wr(0x00, 4, 1);
    f |= rd(0x04, 4) << 32;
    const uint64_t want_f = F_MAC | F_STATUS | F_MRG | VERSION_1;
    assert_true((f & want_f) == want_f);
    assert_false(f & (1ull << 0 | 1ull << 11 | 1ull << 17));   /* no CSUM, HOST_TSO4, CTRL_VQ */
    /* Slot 0's default: locally administered, unicast, the same every run. */
    const uint8_t want[6] = {0x02, 0x6d, 0x76, 0x6d, 0x00, 0x00};
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(rd(CFG + i, 1), want[i]);
    assert_int_equal(rd(CFG + 6, 2), 1);   /* VIRTIO_NET_S_LINK_UP */
    /* Another NIC in the next slot differs; mac= wins. */
    struct net_config c;
    struct mvm_err e = {0};
    struct virtio_net *n2, *n3;
    assert_int_equal(net_parse("", &c, &e), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(virtio_net_create_fd(&n2, &m, &c, sv[0], true, &e), 0);
    assert_int_equal(net_parse("mac=52:54:00:ab:cd:ef", &c, &e), 0);
    assert_int_equal(virtio_net_create_fd(&n3, &m, &c, sv[1], true, &e), 0);
    uint64_t bar1 = PHB_MEM_CPU + (host.dev[1]->bar_bus - PHB_MEM_BUS);
    uint64_t bar2 = PHB_MEM_CPU + (host.dev[2]->bar_bus - PHB_MEM_BUS);
    assert_true(pci_config_write(&host, 0, 1 << 3, 4, 2, 2));
    assert_true(pci_config_write(&host, 0, 2 << 3, 4, 2, 2));
    assert_int_equal(mmio_rd(bar1 + CFG + 5, 1), 1);
    assert_int_equal(mmio_rd(bar2 + CFG, 4), 0xab005452);   /* 52:54:00:ab, read LE */
    virtio_net_destroy(n2);
    virtio_net_destroy(n3);
}

/* A frame over two descriptors after the header reaches passt as its BE length and bytes. */
static void test_tx_framed(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    for (unsigned i = 0; i < 100; i++)
        m.mem.host[TXBUF + HDR + i] = (uint8_t)(0x40 + i);
    qdesc(TX, 0, TXBUF, HDR, F_NEXT, 1);
    qdesc(TX, 1, TXBUF + HDR, 30, F_NEXT, 2);
    qdesc(TX, 2, TXBUF + HDR + 30, 70, 0, 0);
    qoffer(TX, 0);
    virtio_net_process(n);
    assert_int_equal(used_idx(TX), 1);
    uint32_t len;
    assert_int_equal(used_id(TX, 0, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(fake.irq_level[IRQ], 1);
    uint8_t got[200];
    assert_int_equal(peer_read(got, sizeof(got)), 104);
    assert_memory_equal(got, "\0\0\0\x64", 4);
    for (unsigned i = 0; i < 100; i++)
        assert_int_equal(got[4 + i], (uint8_t)(0x40 + i));
    assert_int_equal(m.net_bad_frames, 0);
}

/* Short headers, runts and giants are dropped and counted; the boundaries pass. */
static void test_tx_bad_frames_dropped(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    const struct { uint32_t hdr, frame; bool ok; } c[] = {
        {10, 0, false}, {HDR, 13, false}, {HDR, 14, true}, {HDR, NET_FRAME_MAX + 1, false},
        {HDR, NET_FRAME_MAX, true}, {0, 0, false},
    };
    unsigned bad = 0;
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        qdesc(TX, 0, TXBUF, c[i].hdr, c[i].frame ? F_NEXT : 0, 1);
        qdesc(TX, 1, TXBUF + 0x100, c[i].frame, 0, 0);
        qoffer(TX, 0);
        virtio_net_process(n);
        assert_int_equal(used_idx(TX), i + 1);
        bad += !c[i].ok;
        assert_int_equal(m.net_bad_frames, bad);
        static uint8_t got[4 + NET_FRAME_MAX + 8];
        size_t total = 0, r;
        while ((r = peer_read(got + total, sizeof(got) - total)) > 0)
            total += r;
        assert_int_equal(total, c[i].ok ? 4 + c[i].frame : 0);
    }
}

/* Without MRG_RXBUF: header and frame in one buffer, num_buffers 1. */
static void test_rx_one_buffer(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    rx_buffer(0, 2048);
    peer_frame(100, 7);
    virtio_net_process(n);
    assert_int_equal(used_idx(RX), 1);
    uint32_t len;
    assert_int_equal(used_id(RX, 0, &len), 0);
    assert_int_equal(len, HDR + 100);
    assert_int_equal(get(RXBUF, 2), 0);        /* flags, gso NONE */
    assert_int_equal(get(RXBUF + 10, 2), 1);   /* num_buffers */
    assert_true(is_pattern(RXBUF + HDR, 100, 7));
    assert_int_equal(fake.irq_level[IRQ], 1);
}

/* With MRG_RXBUF: a frame of 150 bytes over buffers of 64: three, published together. */
static void test_rx_mergeable(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    for (uint16_t i = 0; i < 4; i++)
        rx_buffer(i, 64);
    peer_frame(150, 3);
    virtio_net_process(n);
    assert_int_equal(used_idx(RX), 3);
    uint32_t len;
    const uint32_t want[3] = {64, 64, HDR + 150 - 128};
    for (uint16_t e = 0; e < 3; e++) {
        assert_int_equal(used_id(RX, e, &len), e);
        assert_int_equal(len, want[e]);
    }
    assert_int_equal(get(RXBUF + 10, 2), 3);
    assert_true(is_pattern(RXBUF + HDR, 52, 3));
    assert_true(is_pattern(RXBUF + 0x20000, 64, 3 + 52));
    assert_true(is_pattern(RXBUF + 0x40000, 34, 3 + 116));
    /* The fourth buffer is still the driver's: a small frame takes it alone. */
    peer_frame(20, 9);
    virtio_net_process(n);
    assert_int_equal(used_idx(RX), 4);
    assert_int_equal(used_id(RX, 3, &len), 3);
    assert_int_equal(len, HDR + 20);
    assert_int_equal(get(RXBUF + 0x60000 + 10, 2), 1);
}

/* A frame in pieces (length split too) arrives once whole. */
static void test_rx_partial_reads(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    rx_buffer(0, 4096);
    uint8_t frame[4 + 300];
    frame[0] = 0, frame[1] = 0, frame[2] = 1, frame[3] = 44;
    for (unsigned i = 0; i < 300; i++)
        frame[4 + i] = (uint8_t)(5 + i);
    const unsigned cut[] = {0, 2, 4, 50, 200, 304};
    for (unsigned i = 0; i + 1 < sizeof(cut) / sizeof(cut[0]); i++) {
        assert_int_equal(used_idx(RX), 0);
        assert_int_equal(write(peer, frame + cut[i], cut[i + 1] - cut[i]),
                         (ssize_t)(cut[i + 1] - cut[i]));
        virtio_net_process(n);
    }
    assert_int_equal(used_idx(RX), 1);
    assert_true(is_pattern(RXBUF + HDR, 300, 5));
}

/* No buffers: nothing is read past the frame at hand and nothing is dropped; buffers that do
 * not hold the whole frame go back unused. Then buffers come and the frames follow in order. */
static void test_rx_backpressure(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG | F_EVENT_IDX);
    peer_frame(150, 1);
    peer_frame(40, 2);
    virtio_net_process(n);
    assert_true(virtio_net_rx_stalled(n));
    assert_int_equal(used_idx(RX), 0);
    /* It asked to be notified of the next buffer (avail_event = 0). */
    assert_int_equal(get(QUSED(RX) + 4 + 8 * QS, 2), 0);
    rx_buffer(0, 64);
    rx_buffer(1, 64);   /* 128 bytes: the 162 the first frame needs do not fit */
    virtio_net_process(n);   /* no notification yet: still waiting */
    assert_true(virtio_net_rx_stalled(n));
    wr(0x300, 2, RX);        /* the driver notifies */
    virtio_net_process(n);
    assert_true(virtio_net_rx_stalled(n));
    assert_int_equal(used_idx(RX), 0);     /* the two went back, unused */
    assert_int_equal(get(QUSED(RX) + 4 + 8 * QS, 2), 2);   /* notify me of the third */
    rx_buffer(2, 64);
    rx_buffer(3, 64);
    wr(0x300, 2, RX);
    virtio_net_process(n);
    assert_false(virtio_net_rx_stalled(n));
    assert_int_equal(used_idx(RX), 4);
    uint32_t len;
    for (uint16_t e = 0; e < 3; e++)
        assert_int_equal(used_id(RX, e, NULL), e);
    assert_int_equal(used_id(RX, 3, &len), 3);
    assert_int_equal(len, HDR + 40);
    assert_int_equal(get(RXBUF + 10, 2), 3);
    assert_true(is_pattern(RXBUF + HDR, 52, 1));
    assert_true(is_pattern(RXBUF + 0x60000 + HDR, 40, 2));
    assert_int_equal(m.net_rx_dropped, 0);
}

/* The stream is read only as far as one frame beyond the one waiting: memory stays bounded
 * whatever passt sends while the guest gives no buffers. */
static void test_rx_backpressure_bounded(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    unsigned sent = 0;
    for (; sent < 100000; sent++) {
        uint8_t buf[4 + 1500] = {0, 0, 0x05, 0xdc};
        if (write(peer, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;   /* the socket is full: passt would wait */
        virtio_net_process(n);
    }
    assert_true(sent < 100000);
    assert_true(virtio_net_rx_stalled(n));
    assert_int_equal(used_idx(RX), 0);
    assert_int_equal(m.net_rx_dropped, 0);
}

/* Without MRG_RXBUF a frame larger than the buffer is dropped and counted; the buffer stays
 * for the next frame. */
static void test_rx_too_big(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    rx_buffer(0, 100);
    peer_frame(200, 1);
    peer_frame(50, 2);
    virtio_net_process(n);
    assert_int_equal(m.net_rx_dropped, 1);
    assert_int_equal(used_idx(RX), 1);
    assert_true(is_pattern(RXBUF + HDR, 50, 2));
    /* With MRG_RXBUF, a frame no ring of 16 buffers of 16 bytes can hold. */
    driver_init(VERSION_1 | F_MRG);
    for (uint16_t i = 0; i < QS; i++)
        rx_buffer(i, 16);
    peer_frame(1000, 3);
    virtio_net_process(n);
    assert_int_equal(m.net_rx_dropped, 2);
    assert_int_equal(used_idx(RX), 0);
    assert_int_equal(get(QUSED(RX) + 2, 2), 0);
}

/* A receive buffer smaller than the header breaks the ring: the device wants a reset. */
static void test_rx_buffer_below_header(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    rx_buffer(0, 8);
    peer_frame(60, 1);
    virtio_net_process(n);
    assert_int_equal(m.broken_rings, 1);
    assert_true(rd(0x14, 1) & 0x40);   /* NEEDS_RESET */
    assert_int_equal(used_idx(RX), 0);
}

static void assert_link_down(void)
{
    assert_int_equal(rd(CFG + 6, 2), 0);
    assert_int_equal(m.net_links_down, 1);
    assert_int_equal(rd(0x15, 1), 1);   /* config_generation moved (virtio 4.1.4.3.1) */
    assert_true(rd(ISR, 1) & 2);   /* the configuration interrupt */
}

/* The link goes down before any driver runs (or after a reset): the status and the generation
 * change, but no interrupt is raised for a driver that is not there. */
static void test_link_down_without_driver(void **state)
{
    (void)state;
    assert_int_equal(rd(0x15, 1), 0);
    close(peer);
    peer = -1;
    virtio_net_process(n);
    assert_int_equal(rd(CFG + 6, 2), 0);
    assert_int_equal(rd(0x15, 1), 1);
    assert_int_equal(m.net_links_down, 1);
    assert_int_equal(rd(ISR, 1), 0);
}

/* A length out of bounds means passt's stream is broken: the link goes down. */
static void test_broken_stream(void **state)
{
    (void)state;
    const uint32_t bad[] = {NET_FRAME_MAX + 1, 13, 0};
    for (unsigned i = 0; i < 3; i++) {
        if (i) {
            teardown_net(state);
            setup_net(state);
        }
        driver_init(VERSION_1);
        rx_buffer(0, 2048);
        uint8_t b4[4] = {(uint8_t)(bad[i] >> 24), (uint8_t)(bad[i] >> 16), (uint8_t)(bad[i] >> 8),
                         (uint8_t)bad[i]};
        assert_int_equal(write(peer, b4, 4), 4);
        virtio_net_process(n);
        assert_link_down();
        assert_int_equal(used_idx(RX), 0);
    }
}

/* passt gone (end of file): the link goes down once; the guest's frames drain into nothing. */
static void test_link_down_on_eof(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    close(peer);
    peer = -1;
    virtio_net_process(n);
    assert_link_down();
    qdesc(TX, 0, TXBUF, HDR, F_NEXT, 1);
    qdesc(TX, 1, TXBUF + 0x100, 60, 0, 0);
    qoffer(TX, 0);
    qoffer(TX, 0);
    virtio_net_process(n);
    virtio_net_process(n);
    assert_int_equal(used_idx(TX), 2);
    assert_int_equal(m.net_links_down, 1);
    assert_int_equal(m.net_bad_frames, 0);
}

/* passt gone while frames wait for buffers the guest does not give: the link goes down all
 * the same (the hang-up is seen without reading). */
static void test_link_down_while_stalled(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_MRG);
    peer_frame(100, 1);
    virtio_net_process(n);
    assert_true(virtio_net_rx_stalled(n));
    assert_int_equal(rd(CFG + 6, 2), 1);
    virtio_net_process(n);
    assert_int_equal(m.net_links_down, 0);   /* still there: nothing happens */
    close(peer);
    peer = -1;
    virtio_net_process(n);
    assert_link_down();
}

/* A sent frame that passt's full socket takes only part of: the rest follows when it reads. */
static void test_tx_short_writes(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    int small = 4096;
    setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    for (unsigned i = 0; i < 60000; i++)
        m.mem.host[TXBUF + HDR + i] = (uint8_t)(i * 13);
    for (unsigned k = 0; k < 4; k++) {
        qdesc(TX, (uint16_t)(2 * k), TXBUF, HDR, F_NEXT, (uint16_t)(2 * k + 1));
        qdesc(TX, (uint16_t)(2 * k + 1), TXBUF + HDR, 60000, 0, 0);
        qoffer(TX, (uint16_t)(2 * k));
    }
    static uint8_t got[4 * 60004];
    size_t total = 0;
    for (unsigned rounds = 0; rounds < 10000 && total < sizeof(got); rounds++) {
        virtio_net_process(n);
        total += peer_read(got + total, sizeof(got) - total);
    }
    assert_int_equal(total, sizeof(got));
    for (unsigned k = 0; k < 4; k++) {
        assert_memory_equal(got + 60004 * k, "\0\0\xea\x60", 4);
        for (unsigned i = 0; i < 60000; i += 997)
            assert_int_equal(got[60004 * k + 4 + i], (uint8_t)(i * 13));
    }
    assert_int_equal(used_idx(TX), 4);
}

/* After a reset the device touches no ring; the frame waits for the new driver. */
static void test_reset(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    rx_buffer(0, 2048);
    wr(0x14, 1, 0);
    peer_frame(80, 4);
    virtio_net_process(n);
    assert_int_equal(used_idx(RX), 0);
    assert_int_equal(m.mem.host[RXBUF + HDR], 0);
    driver_init(VERSION_1);   /* DRIVER_OK notifies every queue */
    rx_buffer(0, 2048);
    virtio_net_process(n);
    assert_int_equal(used_idx(RX), 1);
    assert_true(is_pattern(RXBUF + HDR, 80, 4));
}

/* The NIC's own thread: notifications through the eventfds, frames both ways. */
static void test_thread(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    driver_init(VERSION_1 | F_MRG | F_EVENT_IDX);
    assert_int_equal(virtio_net_start(n, &e), 0);
    peer_frame(300, 8);
    rx_buffer(0, 4096);
    wr(0x300, 2, RX);
    qdesc(TX, 0, TXBUF, HDR, F_NEXT, 1);
    qdesc(TX, 1, TXBUF + HDR, 64, 0, 0);
    qoffer(TX, 0);
    wr(0x304, 2, TX);
    uint8_t got[68];
    size_t total = 0;
    for (int i = 0; i < 2000 && (total < sizeof(got) ||
                                 __atomic_load_n((uint16_t *)(m.mem.host + QUSED(RX) + 2),
                                                 __ATOMIC_ACQUIRE) == 0); i++) {
        struct pollfd p = {.fd = peer, .events = POLLIN};
        poll(&p, 1, 1);
        total += peer_read(got + total, sizeof(got) - total);
    }
    assert_int_equal(total, sizeof(got));
    assert_int_equal(__atomic_load_n((uint16_t *)(m.mem.host + QUSED(RX) + 2),
                                     __ATOMIC_ACQUIRE), 1);
    assert_true(is_pattern(RXBUF + HDR, 300, 8));
}

/* Debian's passt, started by the device (through a wrapper that says its pid), killed while
 * the NIC's thread runs: the link goes down and one line says how passt ended. */
static void test_real_passt_killed(void **state)
{
    (void)state;
    if (system("command -v passt >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skipped: no passt on PATH (apt-get install passt runs this test)\n");
        skip();
    }
    char dir[] = "/tmp/minivmm-passt-XXXXXX", wrapper[64], pidfile[64], spec[96];
    assert_non_null(mkdtemp(dir));
    snprintf(wrapper, sizeof(wrapper), "%s/passt", dir);
    snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
    FILE *f = fopen(wrapper, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho $$ > %s\nexec passt \"$@\"\n", pidfile);
    fclose(f);
    chmod(wrapper, 0755);
    virtio_net_destroy(n);   /* the socketpair one */
    struct net_config c;
    struct mvm_err e = {0};
    snprintf(spec, sizeof(spec), "passt=%s", wrapper);
    assert_int_equal(net_parse(spec, &c, &e), 0);
    memset(&host, 0, sizeof(host));
    memset(&m.bus, 0, sizeof(m.bus));
    int log[2];
    assert_int_equal(pipe(log), 0);
    fcntl(log[0], F_SETFL, O_NONBLOCK);
    m.log_fd = log[1];
    assert_int_equal(virtio_net_create(&n, &m, &c, &e), 0);
    assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));
    driver_init(VERSION_1 | F_MRG);
    assert_int_equal(virtio_net_start(n, &e), 0);
    int pid = 0;
    for (int i = 0; i < 200 && pid <= 0; i++) {
        FILE *p = fopen(pidfile, "r");
        if (!p || fscanf(p, "%d", &pid) != 1)
            pid = 0;
        if (p)
            fclose(p);
        if (pid <= 0)
            poll(NULL, 0, 10);
    }
    assert_true(pid > 0);
    assert_int_equal(rd(CFG + 6, 2), 1);
    kill(pid, SIGKILL);
    for (int i = 0; i < 200 && rd(CFG + 6, 2) != 0; i++)
        poll(NULL, 0, 10);
    assert_int_equal(rd(CFG + 6, 2), 0);
    char line[512] = "";
    for (int i = 0; i < 200 && read(log[0], line, sizeof(line) - 1) <= 0; i++)
        poll(NULL, 0, 10);
    assert_string_equal(line, "minivmm: net0: passt closed its connection; passt was killed by "
                              "signal 9: the guest's link is down (the run goes on); -v shows "
                              "passt's own messages\n");
    assert_int_equal(m.net_links_down, 1);
    virtio_net_destroy(n);
    n = NULL;
    m.log_fd = -1;
    close(log[0]);
    close(log[1]);
    unlink(wrapper);
    unlink(pidfile);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_space, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_tx_framed, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_tx_bad_frames_dropped, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_one_buffer, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_partial_reads, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_backpressure, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_backpressure_bounded, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_too_big, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_rx_buffer_below_header, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_broken_stream, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_link_down_on_eof, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_link_down_without_driver, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_link_down_while_stalled, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_tx_short_writes, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_reset, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_thread, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_real_passt_killed, setup_net, teardown_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
