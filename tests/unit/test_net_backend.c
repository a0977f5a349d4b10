/* The host side of virtio-net: --net SPECs and their refusals, the default MAC, passt's
 * command line, passt missing (PATH faked) and, where Debian's passt is installed, the real
 * one answering DHCP over the socketpair and its end reported when it is killed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../devices/device.h"
#include "../../devices/net_backend.h"
#include "../../devices/net_uplink.h"

static struct net_config c;
static struct mvm_err e;

static int parse(const char *spec)
{
    memset(&e, 0, sizeof(e));
    return net_parse(spec, &c, &e);
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(c.kind, NET_PASST);
    assert_string_equal(c.passt, "");
    assert_false(c.mac_set);
    assert_int_equal(parse("passt"), 0);
    assert_int_equal(c.kind, NET_PASST);
    assert_int_equal(parse("passt=/opt/passt/bin/passt,mac=02:AB:cd:00:00:01"), 0);
    assert_string_equal(c.passt, "/opt/passt/bin/passt");
    assert_true(c.mac_set);
    const uint8_t mac[6] = {0x02, 0xab, 0xcd, 0, 0, 1};
    assert_memory_equal(c.mac, mac, 6);
    assert_int_equal(parse("mac=52:54:00:12:34:56"), 0);   /* options alone: passt */
    assert_int_equal(c.kind, NET_PASST);
    assert_true(c.mac_set);
    assert_int_equal(parse("tap=tap0"), 0);
    assert_int_equal(c.kind, NET_TAP);
    assert_string_equal(c.tap, "tap0");
    assert_int_equal(parse("tap=abcdefghijklmno"), 0);      /* 15 characters: IFNAMSIZ - 1 */
    assert_int_equal(parse("tap=x,passt"), 0);              /* the last backend wins */
    assert_int_equal(c.kind, NET_PASST);
}

/* Each refusal is one line that names what is wrong and how to write it. */
static void test_parse_refusals(void **state)
{
    (void)state;
    const struct { const char *spec, *says; } bad[] = {
        {"mac=02:00:00:00:00", "is not a MAC address: write six hex bytes"},
        {"mac=02:00:00:00:00:0g", "is not a MAC address"},
        {"mac=02-00-00-00-00-01", "is not a MAC address"},
        {"mac=01:00:5e:00:00:01", "multicast address; a NIC needs a unicast one"},
        {"mac=00:00:00:00:00:00", "all-zero MAC"},
        {"vhost", "unknown option 'vhost' (use passt, passt=PATH, tap=NAME"},
        {"passt,mtu=9000", "unknown option 'mtu=9000'"},
        {"tap=abcdefghijklmnop", "1 to 15 characters"},
        {"tap=", "1 to 15 characters"},
        {"tap=a/b", "no '/'"},
        {"passt=", "passt= needs a program path"},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i].spec), -1);
        assert_int_equal(e.status, MVM_E_INPUT);
        if (!strstr(e.msg, bad[i].says) || !strstr(e.msg, bad[i].spec) || strchr(e.msg, '\n'))
            fail_msg("%s: %s", bad[i].spec, e.msg);
    }
    /* The device kind refuses the same, before anything is created. */
    const struct device_kind *k = device_kind_find("net");
    assert_non_null(k);
    assert_int_equal(k->check("mac=ff:ff:ff:ff:ff:ff", &e), -1);
    assert_int_equal(k->check("", &e), 0);
    assert_non_null(strstr(k->usage, "--net SPEC"));
}

static void test_default_mac(void **state)
{
    (void)state;
    uint8_t a[6], b[6], a2[6], t0[6], t1[6], t0b[6];
    net_default_mac(1, NULL, a);
    net_default_mac(2, NULL, b);
    net_default_mac(1, NULL, a2);
    assert_memory_equal(a, a2, 6);          /* every run */
    assert_memory_not_equal(a, b, 6);       /* every NIC */
    assert_int_equal(a[0] & 3, 2);          /* locally administered, unicast */
    /* Two guests' taps in the same slot (one bridge): different MACs, each the same every run. */
    net_default_mac(1, "tap0", t0);
    net_default_mac(1, "tap1", t1);
    net_default_mac(1, "tap0", t0b);
    assert_memory_not_equal(t0, t1, 6);
    assert_memory_equal(t0, t0b, 6);
    assert_int_equal(t0[0] & 3, 2);
    assert_int_equal(t1[0] & 3, 2);
}

static void test_passt_argv(void **state)
{
    (void)state;
    struct passt_words w;
    assert_int_equal(parse(""), 0);
    char **argv = net_passt_argv(&c, 3, false, NULL, &w);
    const char *want[] = {"passt", "-f", "-q", "--fd", "3", NULL};
    for (unsigned i = 0; want[i]; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[5]);
    assert_int_equal(parse("passt=/usr/local/bin/passt"), 0);
    argv = net_passt_argv(&c, 7, true, NULL, &w);
    assert_string_equal(argv[0], "/usr/local/bin/passt");
    assert_string_equal(argv[2], "-e");   /* -v: passt's messages too */
    assert_string_equal(argv[4], "7");
    /* The uplink given explicitly, and DNS to the gateway forwarded. */
    const struct net_uplink u = {.addr = 0xc0a8010a, .gateway = 0xc0a80101, .prefix = 24};
    argv = net_passt_argv(&c, 3, false, &u, &w);
    const char *want_u[] = {"/usr/local/bin/passt", "-f", "-q", "--fd", "3", "-a", "192.168.1.10",
                            "-n", "24", "-g", "192.168.1.1", "--dns-forward", "192.168.1.1", NULL};
    for (unsigned i = 0; want_u[i]; i++)
        assert_string_equal(argv[i], want_u[i]);
    assert_null(argv[13]);
}

/* No passt on PATH, or not at the path given: one line with the fix. */
static void test_passt_missing(void **state)
{
    (void)state;
    static struct net_backend b;
    char dir[] = "/tmp/minivmm-nopasst-XXXXXX", *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    assert_non_null(mkdtemp(dir));
    setenv("PATH", dir, 1);
    assert_int_equal(parse(""), 0);
    assert_int_equal(net_backend_open(&b, &c, -1, false, &e), -1);
    if (saved)
        setenv("PATH", saved, 1);
    free(saved);
    rmdir(dir);
    assert_string_equal(e.msg, "passt not found on PATH: install Debian's passt (apt-get install "
                               "passt) or give --net passt=PATH");
    assert_int_equal(e.status, MVM_E_HOST);
    assert_int_equal(parse("passt=/nonexistent/passt"), 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(net_backend_open(&b, &c, -1, false, &e), -1);
    assert_non_null(strstr(e.msg, "cannot start passt /nonexistent/passt"));
}

/* A DHCP DISCOVER from 02:6d:76:6d:00:01, as a guest's udhcpc sends it. */
static size_t dhcp_discover(uint8_t *f)
{
    memset(f, 0, 342);
    memset(f, 0xff, 6);
    const uint8_t mac[6] = {0x02, 0x6d, 0x76, 0x6d, 0x00, 0x01};
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8;
    size_t blen = 240 + 4, ulen = 8 + blen;
    ip[0] = 0x45, ip[2] = (uint8_t)((20 + ulen) >> 8), ip[3] = (uint8_t)(20 + ulen);
    ip[8] = 64, ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    uint32_t sum = 0;
    for (unsigned i = 0; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = ~(sum + (sum >> 16)) & 0xffff;
    ip[10] = (uint8_t)(sum >> 8), ip[11] = (uint8_t)sum;
    udp[1] = 68, udp[3] = 67, udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
    bp[0] = 1, bp[1] = 1, bp[2] = 6, bp[4] = 0x12, bp[10] = 0x80;
    memcpy(bp + 28, mac, 6);
    bp[236] = 0x63, bp[237] = 0x82, bp[238] = 0x53, bp[239] = 0x63;
    bp[240] = 53, bp[241] = 1, bp[242] = 1, bp[243] = 255;
    return 14 + 20 + ulen;
}

/* The first frame within ms milliseconds: 1, 0 (none), -1 (gone). */
static int wait_frame(struct net_backend *b, const uint8_t **f, size_t *len, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        int r = net_backend_peek(b, f, len);
        if (r)
            return r;
        struct pollfd p = {.fd = b->fd, .events = POLLIN};
        poll(&p, 1, 10);
    }
    return 0;
}

static bool have_passt(void)
{
    const char *path = getenv("PATH");
    char buf[4096], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
    for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[4200];
        snprintf(p, sizeof(p), "%s/passt", d);
        if (access(p, X_OK) == 0)
            return true;
    }
    return false;
}

/* Debian's passt, started as minivmm starts it: it offers an address (DHCP OFFER, from the
 * gateway's MAC to ours); killed, it is reported so. */
static void test_real_passt(void **state)
{
    (void)state;
    static struct net_backend b;
    if (!have_passt()) {
        fprintf(stderr, "skipped: no passt on PATH (apt-get install passt runs this test)\n");
        skip();
    }
    assert_int_equal(parse("mac=02:6d:76:6d:00:01"), 0);
    assert_int_equal(net_backend_open(&b, &c, -1, false, &e), 0);
    assert_true(b.pid > 0);
    uint8_t frame[400];
    size_t len = dhcp_discover(frame), got;
    uint8_t *p = net_backend_tx_space(&b, len);
    assert_non_null(p);
    memcpy(p, frame, len);
    assert_int_equal(net_backend_flush(&b), 1);
    const uint8_t *f;
    int r = wait_frame(&b, &f, &got, 1500);
    if (r != 1) {
        net_backend_close(&b);
        fail_msg("passt did not answer the DHCP DISCOVER within 1.5 s (%d)", r);
    }
    assert_true(got > 14 + 20 + 8 + 240);
    assert_memory_equal(f, frame + 6, 6);            /* to us */
    assert_int_equal(f[14 + 20 + 8], 2);             /* BOOTREPLY */
    net_backend_consume(&b);
    kill(b.pid, SIGKILL);
    r = 0;
    for (int i = 0; i < 50 && r >= 0; i++, net_backend_consume(&b))
        r = wait_frame(&b, &f, &got, 100);
    assert_int_equal(r, -1);
    char line[256];
    net_backend_gone(&b, line, sizeof(line));
    assert_string_equal(line, "passt closed its connection; passt was killed by signal 9");
    assert_int_equal(b.pid, 0);
    net_backend_close(&b);
}

/* minivmm blocks its stop signals (they arrive on a signalfd): passt must not inherit that,
 * or the SIGTERM that stops it would wait for ever. */
static void test_real_passt_signals(void **state)
{
    (void)state;
    static struct net_backend b;
    if (!have_passt()) {
        fprintf(stderr, "skipped: no passt on PATH (apt-get install passt runs this test)\n");
        skip();
    }
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, &old);
    assert_int_equal(parse(""), 0);
    int r = net_backend_open(&b, &c, -1, false, &e);
    sigprocmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(r, 0);
    assert_int_equal(getpgid(b.pid), b.pid);   /* its own group: a terminal's ^C is ours */
    kill(b.pid, SIGTERM);
    const uint8_t *f;
    size_t len;
    r = 0;
    for (int i = 0; i < 50 && r >= 0; i++, net_backend_consume(&b))
        r = wait_frame(&b, &f, &len, 20);
    char line[256];
    net_backend_gone(&b, line, sizeof(line));
    net_backend_close(&b);
    assert_int_equal(r, -1);   /* it ended (passt handles SIGTERM: status 0) */
    if (strcmp(line, "passt closed its connection; passt exited with status 0") != 0)
        assert_string_equal(line, "passt closed its connection; passt was killed by signal 15");
}

/* passt ends by itself once its socket closes (--fd implies --one-off): stopped and reaped. */
static void test_real_passt_close(void **state)
{
    (void)state;
    static struct net_backend b;
    if (!have_passt()) {
        fprintf(stderr, "skipped: no passt on PATH (apt-get install passt runs this test)\n");
        skip();
    }
    assert_int_equal(parse(""), 0);
    assert_int_equal(net_backend_open(&b, &c, -1, false, &e), 0);
    pid_t pid = b.pid;
    net_backend_close(&b);
    assert_int_equal(b.pid, 0);
    assert_int_equal(kill(pid, 0), -1);   /* reaped: no such process */
    assert_int_equal(errno, ESRCH);
}

/* The tap backend, in a network namespace of the test's own (nothing on the host changes):
 * created (CAP_NET_ADMIN), given an address and brought up, the kernel's ARP request for a
 * neighbour arrives as a frame, a frame goes out, and deleting the device is the backend
 * going away. Returns 0, 77 (cannot make a namespace: skipped) or the failed step. */
static int tap_child(void)
{
    static struct net_backend b;
    if (unshare(CLONE_NEWNET) != 0)
        return 77;
    if (parse("tap=mvmtest0") || net_backend_open(&b, &c, -1, false, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mvmtest0");
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(0x0af90001);   /* 10.249.0.1 */
    if (ioctl(s, SIOCSIFADDR, &ifr))
        return 3;
    a->sin_addr.s_addr = htonl(0xffffff00);
    if (ioctl(s, SIOCSIFNETMASK, &ifr) || ioctl(s, SIOCGIFFLAGS, &ifr))
        return 4;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr))
        return 5;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(0x0af90002)};
    sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
    const uint8_t *f;
    size_t len;
    bool arp = false;
    for (int i = 0; i < 100 && !arp; i++, net_backend_consume(&b)) {
        int r = wait_frame(&b, &f, &len, 20);
        arp = r == 1 && len >= 42 && f[12] == 0x08 && f[13] == 0x06 &&
              memcmp(f + 38, "\x0a\xf9\x00\x02", 4) == 0;
    }
    if (!arp)
        return 6;
    uint8_t *p = net_backend_tx_space(&b, 60);
    memset(p, 0xff, 6);
    memset(p + 6, 0x02, 6);
    memset(p + 12, 0x08, 1);
    if (net_backend_flush(&b) != 1)
        return 7;
    if (system("ip link del mvmtest0 2>/dev/null") != 0)
        return 77;   /* no iproute2 */
    int r = 0;
    for (int i = 0; i < 100 && r >= 0; i++, net_backend_consume(&b))
        r = wait_frame(&b, &f, &len, 10);
    char line[256];
    net_backend_gone(&b, line, sizeof(line));
    if (r != -1 || !strstr(line, "the tap device failed")) {
        fprintf(stderr, "%d %s\n", r, line);
        return 8;
    }
    net_backend_close(&b);
    return 0;
}

/* Without the privilege (as nobody), one line with the fix. */
static int tap_unprivileged_child(void)
{
    static struct net_backend b;
    if (unshare(CLONE_NEWNET) != 0 || setgid(65534) || setuid(65534))
        return 77;
    if (parse("tap=mvmtest1") || net_backend_open(&b, &c, -1, false, &e) == 0)
        return 2;
    fprintf(stderr, "(unprivileged: %s)\n", e.msg);
    bool fix = strstr(e.msg, "ip tuntap add dev mvmtest1 mode tap user") ||
               strstr(e.msg, "rw for this user");
    return strstr(e.msg, "tap mvmtest1") && fix ? 0 : 3;
}

static void run_child(int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        fprintf(stderr, "skipped: no network namespace (not root?) or no iproute2\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_tap(void **state)
{
    (void)state;
    run_child(tap_child);
}

static void test_tap_unprivileged(void **state)
{
    (void)state;
    run_child(tap_unprivileged_child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_default_mac),
        cmocka_unit_test(test_passt_argv),
        cmocka_unit_test(test_passt_missing),
        cmocka_unit_test(test_real_passt),
        cmocka_unit_test(test_real_passt_signals),
        cmocka_unit_test(test_real_passt_close),
        cmocka_unit_test(test_tap),
        cmocka_unit_test(test_tap_unprivileged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
