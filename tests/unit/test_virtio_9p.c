/* The virtio-9p device (devices/virtio_9p.c) without KVM: the test is the driver, through
 * the PCI BAR and the virtqueue in fake guest memory, with the device's own I/O threads.
 * (The 9P server behind it has its own tests: test_p9.c, test_p9_escape.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/stat.h>

#include "../../devices/device.h"
#include "../../devices/pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"

#define BIG_RAM (1u << 20)
#define QS 16
#define DESC 0x10000u
#define AVAIL 0x11000u
#define USED 0x12000u
#define REQ 0x20000u
#define REPLY 0x30000u
#define VERSION_1 (1ull << 32)
#define MOUNT_TAG 1ull

extern const struct device_kind virtio_9p_kind;

static struct pci_host host;
static char dir[] = "/tmp/minivmm-9pdev-XXXXXX";
static void *shares[3];

static uint64_t bar_of(unsigned slot)
{
    return PHB_MEM_CPU + (host.dev[slot]->bar_bus - PHB_MEM_BUS);
}

static uint64_t rd(unsigned slot, uint64_t off, uint32_t len)
{
    return mmio_rd(bar_of(slot) + off, len);
}

static void wr(unsigned slot, uint64_t off, uint32_t len, uint64_t v)
{
    mmio_wr(bar_of(slot) + off, len, v);
}

static void *create(const char *options, struct mvm_err *e)
{
    char spec[256];
    snprintf(spec, sizeof(spec), "%s%s", dir, options);
    if (virtio_9p_kind.check(spec, e))
        return NULL;
    return virtio_9p_kind.create(&m, spec, false, e);
}

static int setup_9p(void **state)
{
    if (setup_with_bridge(state, &host, BIG_RAM))
        return -1;
    memset(shares, 0, sizeof(shares));
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_9p(void **state)
{
    for (unsigned i = 0; i < 3; i++)
        if (shares[i])
            virtio_9p_kind.destroy(shares[i]);
    rmdir(dir);
    strcpy(dir, "/tmp/minivmm-9pdev-XXXXXX");
    return teardown(state);
}

/* The tag as the guest reads it: tag_len, then the bytes. */
static void assert_tag(unsigned slot, const char *tag)
{
    size_t n = (size_t)rd(slot, 0x200, 2);
    assert_int_equal(n, strlen(tag));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rd(slot, 0x202 + i, 1), (uint8_t)tag[i]);
}

static void test_specs_and_tags(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    assert_non_null(shares[0] = create("", &e));
    assert_non_null(shares[1] = create(",tag=results,ro", &e));
    assert_null(create(",tag=results", &e));                 /* a tag is one share's */
    assert_non_null(strstr(e.msg, "tag 'results' is taken"));
    assert_non_null(shares[2] = create("", &e));
    for (unsigned s = 0; s < 3; s++)
        assert_true(pci_config_write(&host, 0, (uint32_t)s << 3, 4, 2, 2));   /* memory on */
    assert_tag(0, "share0");
    assert_tag(1, "results");
    assert_tag(2, "share2");                                /* counted among the shares */
    assert_int_equal(rd(0, 0x04, 4) & MOUNT_TAG, MOUNT_TAG);  /* the feature is offered */
    static const char *const bad[] = {",rw", ",tag=", ",tag=0123456789012345678901234567890"
                                      "1234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_null(create(bad[i], &e));
        assert_int_equal(e.status, MVM_E_INPUT);
    }
    memset(&e, 0, sizeof(e));
    assert_int_equal(virtio_9p_kind.check("/nonexistent-minivmm-dir", &e), -1);
    assert_int_equal(virtio_9p_kind.check("/etc/hostname", &e), -1);   /* not a directory */
}

/* One Tversion through the queue, answered by the device's I/O threads. */
static void test_request_through_the_queue(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    assert_non_null(shares[0] = create(",tag=t", &e));
    assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));
    assert_int_equal(virtio_9p_kind.start(shares[0], &e), 0);
    wr(0, 0x14, 1, 0), wr(0, 0x14, 1, 3);
    wr(0, 0x08, 4, 0), wr(0, 0x0c, 4, MOUNT_TAG), wr(0, 0x08, 4, 1), wr(0, 0x0c, 4, 1);
    wr(0, 0x14, 1, 0xb);
    wr(0, 0x16, 2, 0), wr(0, 0x18, 2, QS);
    wr(0, 0x20, 4, DESC), wr(0, 0x28, 4, AVAIL), wr(0, 0x30, 4, USED);
    wr(0, 0x1c, 2, 1), wr(0, 0x14, 1, 0xf);
    /* Tversion: size[4] type=100 tag=0xffff msize[4]=8192 version[s]="9P2000.L" */
    static const char ver[] = "9P2000.L";
    put(REQ, 4, 4 + 1 + 2 + 4 + 2 + 8), put(REQ + 4, 1, 100), put(REQ + 5, 2, 0xffff);
    put(REQ + 7, 4, 8192), put(REQ + 11, 2, 8);
    memcpy(m.mem.host + REQ + 13, ver, 8);
    put(DESC, 8, REQ), put(DESC + 8, 4, 21), put(DESC + 12, 2, 1), put(DESC + 14, 2, 1);
    put(DESC + 16, 8, REPLY), put(DESC + 24, 4, 4096), put(DESC + 28, 2, 2);
    put(AVAIL + 4, 2, 0);
    __atomic_store_n((uint16_t *)(m.mem.host + AVAIL + 2), 1, __ATOMIC_RELEASE);
    wr(0, 0x300, 2, 0);                                        /* notify queue 0 */
    const uint16_t *used = (const uint16_t *)(m.mem.host + USED + 2);
    for (int i = 0; i < 5000 && __atomic_load_n(used, __ATOMIC_ACQUIRE) != 1; i++)
        usleep(1000);
    assert_int_equal(__atomic_load_n(used, __ATOMIC_ACQUIRE), 1);
    assert_int_equal(le_get(m.mem.host + USED + 8, 4), 21);   /* Rversion's size */
    assert_int_equal(m.mem.host[REPLY + 4], 101);              /* Rversion */
    assert_int_equal(le_get(m.mem.host + REPLY + 7, 4), 8192);
    assert_memory_equal(m.mem.host + REPLY + 13, ver, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_specs_and_tags, setup_9p, teardown_9p),
        cmocka_unit_test_setup_teardown(test_request_through_the_queue, setup_9p, teardown_9p),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
