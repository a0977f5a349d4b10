/* A whole virtio-vsock device without KVM: the test is the guest's driver (vsock_driver.h)
 * and the host programs (real UNIX sockets in a temporary directory). Connections both ways,
 * refusals, bad headers, bad CONNECT lines, many connections, a driver reset, the socket
 * file and the SPEC. Credit, floods, bulk transfers and the device's thread:
 * test_virtio_vsock_flow.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include "../../devices/device.h"
#include "../../devices/pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"
#include "vsock_driver.h"

static void test_host_initiated(void **state)
{
    (void)state;
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(1234, &hp);
    /* Host to guest. */
    assert_int_equal(write(fd, "hello", 5), 5);
    pump();
    struct pkt p;
    uint8_t got[4200];
    assert_true(rx(&p, got));
    assert_int_equal(p.op, OP_RW);
    assert_int_equal(p.len, 5);
    assert_memory_equal(got, "hello", 5);
    /* Guest to host. */
    tx(OP_RW, 1234, hp, "world", 5, 0, GBUF, 5);
    char buf[16];
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "world", 5);
    /* The guest closes: the host reads EOF, the guest gets its RST. */
    tx(OP_SHUTDOWN, 1234, hp, NULL, 0, 3, GBUF, 5);
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    rx_op(OP_RST);
    assert_int_equal(stats().conns, 0);
    assert_int_equal(stats().bad_packets, 0);
    close(fd);
}

static void test_guest_initiated(void **state)
{
    (void)state;
    rx_fill(QS);
    char where[160];
    snprintf(where, sizeof(where), "%s_5000", path);
    int lfd = unix_listen(where);
    int fd = guest_connect(lfd, 40000, 5000);
    tx(OP_RW, 40000, 5000, "ping", 4, 0, GBUF, 0);
    char buf[16];
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, buf, sizeof(buf)), 4);
    assert_int_equal(write(fd, "pong!", 5), 5);
    pump();
    struct pkt p;
    uint8_t got[4200];
    assert_true(rx(&p, got));
    assert_int_equal(p.op, OP_RW);
    assert_memory_equal(got, "pong!", 5);
    assert_int_equal(p.fwd_cnt, 4);   /* what we passed on of the guest's */
    /* The host half-closes: the guest hears SHUTDOWN(SEND) and can still send. */
    shutdown(fd, SHUT_WR);
    pump();
    p = rx_op(OP_SHUTDOWN);
    assert_int_equal(p.flags, 2);
    tx(OP_RW, 40000, 5000, "late", 4, 0, GBUF, 5);
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, buf, sizeof(buf)), 4);
    /* The guest shuts its sending side: both are done, the connection ends with an RST. */
    tx(OP_SHUTDOWN, 40000, 5000, NULL, 0, 2, GBUF, 5);
    rx_op(OP_RST);
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    assert_int_equal(stats().conns, 0);
    close(fd), close(lfd);
}

static void test_no_listener(void **state)
{
    (void)state;
    rx_fill(4);
    tx(OP_REQUEST, 40001, 6000, NULL, 0, 0, GBUF, 0);
    struct pkt p = rx_op(OP_RST);
    assert_int_equal(p.src_port, 6000);
    assert_int_equal(p.dst_port, 40001);
    assert_int_equal(stats().connect_failed, 1);
    assert_int_equal(stats().conns, 0);
    /* A packet of no connection: RST too; an RST of none: nothing. */
    tx(OP_RW, 40001, 6000, "x", 1, 0, GBUF, 0);
    rx_op(OP_RST);
    tx(OP_RST, 40001, 6000, NULL, 0, 0, GBUF, 0);
    no_rx();
}

static void test_guest_refuses(void **state)
{
    (void)state;
    rx_fill(4);
    int fd = unix_connect(path);
    assert_int_equal(write(fd, "CONNECT 77\n", 11), 11);
    pump();
    struct pkt p = rx_op(OP_REQUEST);
    tx(OP_RST, 77, p.src_port, NULL, 0, 0, 0, 0);
    assert_true(readable(fd, 1000));
    char buf[8];
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    /* And a guest that never answers: closed after the reply timeout, the guest told. */
    fd = unix_connect(path);
    assert_int_equal(write(fd, "CONNECT 78\n", 11), 11);
    pump();
    rx_op(OP_REQUEST);
    usleep(350 * 1000);
    pump();
    rx_op(OP_RST);
    assert_true(readable(fd, 1000));
    assert_true(read(fd, buf, sizeof(buf)) <= 0);
    assert_int_equal(stats().timeouts, 1);
    close(fd);
}

static void test_bad_headers(void **state)
{
    (void)state;
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(200, &hp);
    struct pkt good = {GUEST_CID, 2, 200, hp, 0, 1, OP_CREDIT_UPDATE, 0, GBUF, 0};
    struct pkt p = good;
    p.src_cid = 4;              /* not this guest: dropped, no answer */
    tx_raw(&p, NULL, 0);
    p = good, p.dst_cid = 5;    /* not for the host */
    tx_raw(&p, NULL, 0);
    p = good, p.src_cid = GUEST_CID | 1ull << 32;
    tx_raw(&p, NULL, 0);
    no_rx();
    assert_int_equal(stats().bad_packets, 3);
    /* Wrong type, len past the chain, len past the maximum, unknown op, short chain: the
     * connection is reset (orphans get RSTs). */
    p = good, p.dst_port = 9, p.type = 2;
    tx_raw(&p, NULL, 0);
    rx_op(OP_RST);
    p = good, p.dst_port = 9, p.op = OP_RW, p.len = 100;
    tx_raw(&p, NULL, 10);
    rx_op(OP_RST);
    p = good, p.dst_port = 9, p.op = OP_RW, p.len = VSOCK_MAX_PAYLOAD + 1;
    tx_raw(&p, NULL, VSOCK_MAX_PAYLOAD + 1);
    rx_op(OP_RST);
    p = good, p.dst_port = 9, p.op = 99;
    tx_raw(&p, NULL, 0);
    rx_op(OP_RST);
    p = good, p.dst_port = 9, p.op = 0;
    tx_raw(&p, NULL, 0);
    rx_op(OP_RST);
    uint16_t i = avail_idx[1] % QS;   /* 20 bytes: no header */
    desc_q(1, i, TXBUF, 20, 0, 0);
    offer_q(1, i);
    pump();
    no_rx();
    assert_int_equal(stats().bad_packets, 9);
    assert_int_equal(m.bad_packets, 9);
    /* The live connection survived all that; an unknown op on it ends it. */
    assert_int_equal(stats().conns, 1);
    p = good, p.op = 42;
    tx_raw(&p, NULL, 0);
    rx_op(OP_RST);
    assert_int_equal(stats().conns, 0);
    char b[8];
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, b, sizeof(b)), 0);
    close(fd);
}

/* A bad, long or slow CONNECT line closes the host's socket; the guest hears nothing. */
static void test_bad_lines(void **state)
{
    (void)state;
    rx_fill(QS);
    static const char *const lines[] = {
        "HELLO\n", "CONNECT\n", "CONNECT x\n", "CONNECT 4294967296\n", "CONNECT 12 \n",
        "connect 12\n", "CONNECT -1\n", "CONNECT 123456789012345678901234567890\n",
        "CONNECT 12\r\r\n", "CONNECT \r\n", "CONNECT 1\r2\n",
    };
    unsigned n = sizeof(lines) / sizeof(lines[0]);
    for (unsigned i = 0; i < n; i++) {
        int fd = unix_connect(path);
        assert_int_equal(write(fd, lines[i], strlen(lines[i])), (ssize_t)strlen(lines[i]));
        pump();
        char b[8];
        assert_true(readable(fd, 1000));
        assert_true(read(fd, b, sizeof(b)) <= 0);   /* unread bytes: ECONNRESET */
        close(fd);
    }
    assert_int_equal(stats().bad_lines, n);
    /* Slow: half a line, then nothing past the line timeout. */
    int fd = unix_connect(path);
    assert_int_equal(write(fd, "CONN", 4), 4);
    pump();
    usleep(250 * 1000);
    pump();
    assert_true(readable(fd, 1000));
    char b[8];
    assert_int_equal(read(fd, b, sizeof(b)), 0);
    close(fd);
    assert_int_equal(stats().bad_lines, n + 1);
    no_rx();
    assert_int_equal(stats().conns, 0);
    /* A carriage return before the newline is a good line (socat's crlf). */
    fd = unix_connect(path);
    assert_int_equal(write(fd, "CONNECT 77\r\n", 12), 12);
    pump();
    assert_int_equal(rx_op(OP_REQUEST).dst_port, 77);
    assert_int_equal(stats().bad_lines, n + 1);
    close(fd);
    /* The largest port, and data right behind the line, are fine. */
    fd = unix_connect(path);
    assert_int_equal(write(fd, "CONNECT 4294967295\nabc", 22), 22);
    pump();
    struct pkt p = rx_op(OP_REQUEST);
    assert_int_equal(p.dst_port, 4294967295u);
    tx(OP_RESPONSE, p.dst_port, p.src_port, NULL, 0, 0, GBUF, 0);
    uint8_t got[4200];
    assert_true(rx(&p, got));
    assert_int_equal(p.op, OP_RW);
    assert_memory_equal(got, "abc", 3);
    close(fd);
}

/* 16 connections each way at once, each with its own data; then more than the maximum. */
static void test_many(void **state)
{
    (void)state;
    rx_fill(QS);
    enum { N = 16 };
    int hfd[N], gfd[N];
    uint32_t hport[N];
    char where[160];
    snprintf(where, sizeof(where), "%s_7000", path);
    int lfd = unix_listen(where);
    for (int i = 0; i < N; i++) {
        hfd[i] = host_connect(300 + (uint32_t)i, &hport[i]);
        gfd[i] = guest_connect(lfd, 50000 + (uint32_t)i, 7000);
    }
    assert_int_equal(stats().conns, 2 * N);
    for (int i = 0; i < N; i++) {
        uint8_t b = (uint8_t)i;
        tx(OP_RW, 300 + (uint32_t)i, hport[i], &b, 1, 0, GBUF, 0);
        tx(OP_RW, 50000 + (uint32_t)i, 7000, &b, 1, 0, GBUF, 0);
        assert_int_equal(write(hfd[i], &b, 1), 1);
    }
    for (int i = 0; i < N; i++) {
        uint8_t b = 0xff;
        assert_int_equal(read(hfd[i], &b, 1), 1);
        assert_int_equal(b, i);
        assert_int_equal(read(gfd[i], &b, 1), 1);
        assert_int_equal(b, i);
    }
    pump();
    struct pkt p;
    uint8_t got[4200];
    unsigned seen = 0;
    while (rx(&p, got)) {
        assert_int_equal(p.op, OP_RW);
        assert_int_equal(got[0], p.dst_port - 300);
        seen |= 1u << got[0];
    }
    assert_int_equal(seen, 0xffff);
    for (int i = 0; i < N; i++)
        close(hfd[i]), close(gfd[i]);
    close(lfd);
}

static void test_too_many(void **state)
{
    (void)state;
    rx_fill(QS);
    char where[160];
    snprintf(where, sizeof(where), "%s_7001", path);
    int lfd = unix_listen(where);
    static int fds[VSOCK_MAX_CONNS];
    const unsigned max = stats().max_conns;   /* the descriptors this process may open */
    assert_true(max >= 64 && max <= VSOCK_MAX_CONNS);
    for (uint32_t i = 0; i < max; i++) {
        tx(OP_REQUEST, 10000 + i, 7001, NULL, 0, 0, GBUF, 0);
        rx_op(OP_RESPONSE);
        fds[i] = accept(lfd, NULL, NULL);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(stats().conns, max);
    tx(OP_REQUEST, 20000, 7001, NULL, 0, 0, GBUF, 0);
    rx_op(OP_RST);
    assert_int_equal(stats().refused, 1);
    int fd = unix_connect(path);   /* and the host's: closed at once */
    pump();
    assert_true(readable(fd, 1000));
    char b[4];
    assert_int_equal(read(fd, b, sizeof(b)), 0);
    assert_int_equal(stats().refused, 2);
    close(fd), close(lfd);
    for (uint32_t i = 0; i < max; i++)
        close(fds[i]);
}

/* A driver reset closes every connection. */
static void test_reset(void **state)
{
    (void)state;
    rx_fill(QS);
    uint32_t hp;
    int fd = host_connect(400, &hp);
    wr(0x14, 1, 0);
    assert_int_equal(stats().conns, 0);
    char b[4];
    assert_true(readable(fd, 1000));
    assert_int_equal(read(fd, b, sizeof(b)), 0);
    close(fd);
    pump();   /* nothing left to touch */
}

static void test_config_and_socket_file(void **state)
{
    (void)state;
    /* guest_cid in the device configuration (after the common, ISR and notify areas). */
    assert_int_equal(rd(0x200, 4), GUEST_CID);
    assert_int_equal(rd(0x204, 4), 0);
    assert_int_equal(rd(0x201, 1), 0);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    /* destroy removes it; a socket left over is replaced; a regular file is refused. */
    virtio_vsock_destroy(vs);
    vs = NULL;
    assert_int_not_equal(lstat(path, &st), 0);
    int lfd = unix_listen(path);
    close(lfd);
    vs_up();
    virtio_vsock_destroy(vs);
    vs = NULL;
    FILE *f = fopen(path, "w");
    fclose(f);
    struct vsock_config c = {.cid = 3};
    copy_path(c.uds, sizeof(c.uds), path);
    struct mvm_err e = {0};
    memset(&host, 0, sizeof(host));
    assert_int_equal(virtio_vsock_create(&vs, &m, &c, &e), -1);
    assert_non_null(strstr(e.msg, "is not a socket"));
    assert_int_equal(lstat(path, &st), 0);   /* the user's file stays */
    /* The kind's check says so as the command line is read. */
    char spec[160];
    snprintf(spec, sizeof(spec), "3,uds=%s", path);
    e = (struct mvm_err){0};
    assert_int_equal(device_kind_find("vsock")->check(spec, &e), -1);
    assert_non_null(strstr(e.msg, "is not a socket"));
    unlink(path);
    /* A socket a program still listens on (another VM's) is refused, and stays. */
    lfd = unix_listen(path);
    e = (struct mvm_err){0};
    memset(&host, 0, sizeof(host));
    assert_int_equal(virtio_vsock_create(&vs, &m, &c, &e), -1);
    assert_non_null(strstr(e.msg, "is in use (a program listens on it); choose another uds="));
    assert_int_equal(lstat(path, &st), 0);
    close(lfd);
    unlink(path);
    /* A device removes its own socket file at the end, not one that replaced it since. */
    vs_up();
    assert_int_equal(unlink(path), 0);
    lfd = unix_listen(path);
    virtio_vsock_destroy(vs);
    vs = NULL;
    assert_int_equal(lstat(path, &st), 0);
    close(lfd);
    unlink(path);
    vs_up();
}

/* The connection limit follows the descriptors the process may open: an eighth, at least 64. */
static void test_limit_follows_rlimit(void **state)
{
    (void)state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    rlim_t eighth = old.rlim_cur / 8;
    assert_int_equal(stats().max_conns, eighth >= VSOCK_MAX_CONNS ? VSOCK_MAX_CONNS
                                        : eighth > 64 ? eighth : 64);
    static const struct { rlim_t cur; unsigned want; } cases[] = {{800, 100}, {256, 64}};
    for (unsigned i = 0; i < 2; i++) {
        if (old.rlim_cur < cases[i].cur)
            continue;   /* (never lower than it is) */
        virtio_vsock_destroy(vs);
        vs = NULL;
        low = old;
        low.rlim_cur = cases[i].cur;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        vs_up();
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        assert_int_equal(stats().max_conns, cases[i].want);
    }
}

static void test_parse(void **state)
{
    (void)state;
    struct vsock_config c;
    struct mvm_err e = {0};
    assert_int_equal(vsock_parse("3,uds=/tmp/a,b.sock", &c, &e), 0);
    assert_int_equal(c.cid, 3);
    assert_string_equal(c.uds, "/tmp/a,b.sock");
    assert_int_equal(vsock_parse("4294967294,uds=x", &c, &e), 0);
    static const struct { const char *spec, *says; } bad[] = {
        {"", "no CID"}, {"x,uds=a", "no CID"}, {"-3,uds=a", "no CID"},
        {"2,uds=a", "3 to 4294967294"}, {"0,uds=a", "3 to 4294967294"},
        {"4294967295,uds=a", "3 to 4294967294"}, {"99999999999999999999,uds=a", "no CID"},
        {"3", "no uds=PATH"}, {"3,path=a", "no uds=PATH"}, {"3,uds=", "needs a path"},
        {"3x,uds=a", "no CID"},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e = (struct mvm_err){0};
        assert_int_equal(vsock_parse(bad[i].spec, &c, &e), -1);
        if (!strstr(e.msg, bad[i].says))
            fail_msg("'%s': '%s'", bad[i].spec, e.msg);
        assert_null(strchr(e.msg, '\n'));
    }
    char longp[200] = "3,uds=/";
    memset(longp + 7, 'a', 120);
    e = (struct mvm_err){0};
    assert_int_equal(vsock_parse(longp, &c, &e), -1);
    assert_non_null(strstr(e.msg, "shorter"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_initiated, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_guest_initiated, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_no_listener, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_guest_refuses, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_bad_headers, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_many, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_too_many, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_limit_follows_rlimit, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_reset, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_config_and_socket_file, setup_vs, teardown_vs),
        cmocka_unit_test_setup_teardown(test_parse, setup_vs, teardown_vs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
