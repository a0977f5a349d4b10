/* devices/net_uplink.c: which route, address and prefix passt will give a guest, found the
 * way passt finds them, and the record the --rootfs init gets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../devices/device.h"
#include "../../devices/net_uplink.h"

#define HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

/* A 32-bit address as /proc/net/route prints it on this host: its stored bytes as a number. */
static unsigned as_printed(uint32_t host_order)
{
    unsigned char b[4] = {host_order >> 24, host_order >> 16 & 0xff, host_order >> 8 & 0xff,
                          host_order & 0xff};
    unsigned v;
    memcpy(&v, b, 4);
    return v;
}

static void test_parse_routes(void **state)
{
    (void)state;
    char text[1024], ifname[16];
    uint32_t gw = 0;
    /* A subnet route, a default route with metric 600 and one with 100 (chosen), one that is
     * down and one without a gateway (both ignored). */
    snprintf(text, sizeof(text), HEADER
             "wlan0\t%08X\t00000000\t0001\t0\t0\t0\t%08X\t0\t0\t0\n"
             "wlan0\t00000000\t%08X\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
             "eth0\t00000000\t%08X\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
             "eth1\t00000000\t%08X\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"
             "eth2\t00000000\t00000000\t0001\t0\t0\t1\t00000000\t0\t0\t0\n",
             as_printed(0xc0a80000), as_printed(0xffffff00), as_printed(0xc0a80001),
             as_printed(0x0a000202), as_printed(0x0a000909));
    assert_int_equal(net_uplink_parse_routes(text, ifname, &gw), 0);
    assert_string_equal(ifname, "eth0");
    assert_int_equal(gw, 0x0a000202);
    /* Equal metrics: the first. */
    snprintf(text, sizeof(text), HEADER
             "a\t00000000\t%08X\t0003\t0\t0\t5\t00000000\t0\t0\t0\n"
             "b\t00000000\t%08X\t0003\t0\t0\t5\t00000000\t0\t0\t0\n",
             as_printed(0x01010101), as_printed(0x02020202));
    assert_int_equal(net_uplink_parse_routes(text, ifname, &gw), 0);
    assert_string_equal(ifname, "a");
    /* None, a header only, nothing, a name too long for an interface, garbage. */
    assert_int_equal(net_uplink_parse_routes(HEADER
        "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n", ifname, &gw), -1);
    assert_int_equal(net_uplink_parse_routes(HEADER, ifname, &gw), -1);
    assert_int_equal(net_uplink_parse_routes("", ifname, &gw), -1);
    assert_int_equal(net_uplink_parse_routes(HEADER
        "abcdefghijklmnopq\t00000000\t01010101\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", ifname, &gw), -1);
    assert_int_equal(net_uplink_parse_routes(HEADER "eth0 zz\n\n\t\n", ifname, &gw), -1);
}

static void test_record(void **state)
{
    (void)state;
    struct net_uplink u = {.addr = 0x0a00020f, .gateway = 0x0a000202, .prefix = 24};
    char rec[64];
    net_uplink_record(&u, rec, sizeof(rec));
    assert_string_equal(rec, "10.0.2.15/24,10.0.2.2,65520");
    net_uplink_ipv4(0xffffffff, rec, sizeof(rec));
    assert_string_equal(rec, "255.255.255.255");
}

/* This host as it is: if it has a default route, what is found agrees with itself (the
 * gateway inside the prefix); if not, the reason names the fix. */
static void check_here(void)
{
    struct net_uplink u;
    struct mvm_err e = {0};
    if (net_uplink_find(&u, &e) == 0) {
        assert_true(u.prefix >= 1 && u.prefix <= 31);
        assert_int_equal((u.addr ^ u.gateway) >> (32 - u.prefix), 0);
        assert_true(u.ifname[0]);
    } else {
        assert_int_equal(e.status, MVM_E_INPUT);
        assert_non_null(strstr(e.msg, "--net tap=NAME"));
    }
}

static void test_find_here(void **state)
{
    (void)state;
    check_here();
}

/* Both ways on any machine: a new network namespace has no route at all (root only; a
 * printed skip otherwise). */
static void test_find_without_route(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0)
            _exit(77);
        struct net_uplink u;
        struct mvm_err e = {0};
        int r = net_uplink_find(&u, &e);
        _exit(r == -1 && e.status == MVM_E_INPUT && strstr(e.msg, "no IPv4 default route") ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        print_message("  skipped: no new network namespace here (not root)\n");
        return;
    }
    assert_int_equal(WEXITSTATUS(st), 0);
}

static char records[256];
static size_t nrecords;

static void add(void *ctx, const char *key, const char *value)
{
    (void)ctx;
    nrecords += (size_t)snprintf(records + nrecords, sizeof(records) - nrecords, "%s=%s;", key,
                                 value);
}

/* What the net kind tells the --rootfs init: eth0's address and the nameserver for the first
 * NIC behind passt (as the uplink says), nothing for a tap or a second NIC, and the reason
 * where there is no uplink. */
static void test_guest_setup(void **state)
{
    (void)state;
    const struct device_kind *k = device_kind_find("net");
    assert_non_null(k);
    assert_non_null(k->guest_setup);
    assert_string_equal(k->guest_modules[0], "virtio_net");
    assert_string_equal(device_kind_find("vsock")->guest_modules[0], "vmw_vsock_virtio_transport");
    struct mvm_err e = {0};
    nrecords = 0, records[0] = 0;
    assert_int_equal(k->guest_setup("tap=tap0", 0, add, NULL, &e), 0);
    assert_int_equal(k->guest_setup("", 1, add, NULL, &e), 0);
    assert_int_equal(nrecords, 0);
    assert_int_equal(k->guest_setup("frob", 0, add, NULL, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    struct net_uplink u;
    struct mvm_err ue = {0};
    e = (struct mvm_err){0};
    int have = net_uplink_find(&u, &ue) == 0;
    int r = k->guest_setup("passt", 0, add, NULL, &e);
    if (!have) {
        assert_int_equal(r, -1);
        assert_string_equal(e.msg, ue.msg);
        return;
    }
    char want[128], rec[64], gw[16];
    net_uplink_record(&u, rec, sizeof(rec));
    net_uplink_ipv4(u.gateway, gw, sizeof(gw));
    snprintf(want, sizeof(want), "net=%s;nameserver=%s;", rec, gw);
    assert_int_equal(r, 0);
    assert_string_equal(records, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_routes),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_find_here),
        cmocka_unit_test(test_find_without_route),
        cmocka_unit_test(test_guest_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
