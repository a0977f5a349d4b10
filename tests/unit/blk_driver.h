/* The driver side of a virtio-blk device under test, shared by test_virtio_blk.c and
 * test_virtio_blk_discard.c: the device on a fresh PCI host, its BAR on the MMIO bus, one
 * queue of QS entries in fake guest memory, and an image file. The includer defines IMG_SIZE
 * and includes fake_machine.h and virtio_driver.h first. */
#ifndef MINIVMM_TEST_BLK_DRIVER_H
#define MINIVMM_TEST_BLK_DRIVER_H

#include <sys/stat.h>

#include "../../devices/pci.h"
#include "../../devices/virtio_blk.h"

#define QS 16
#define DESC 0x10000u
#define AVAIL 0x11000u
#define USED 0x12000u
#define HDR 0x20000u
#define DATA 0x21000u
#define STATUS 0x30000u
#define F_NEXT 1
#define F_WRITE 2
#define VERSION_1 (1ull << 32)

static struct pci_host host;
static struct virtio_blk *b;
static char img[64];
static int img_fd = -1;
static uint64_t bar;               /* CPU address of BAR 0 */
static uint16_t avail_idx;

/* MMIO to BAR 0 (the device must claim it). */
static inline uint64_t rd(uint64_t off, uint32_t len)
{
    return mmio_rd(bar + off, len);
}

static inline void wr(uint64_t off, uint32_t len, uint64_t v)
{
    mmio_wr(bar + off, len, v);
}

/* Creates the disk (img with opts appended to its spec) on a fresh PCI host and bus;
 * returns virtio_blk_create's result. */
static inline int blk_create(const char *opts)
{
    char spec[128];
    struct disk_config d;
    struct mvm_err e = {0};
    memset(&host, 0, sizeof(host));
    memset(&m.bus, 0, sizeof(m.bus));
    snprintf(spec, sizeof(spec), "%s%s", img, opts);
    assert_int_equal(disk_parse(spec, &d, &e), 0);
    int r = virtio_blk_create(&b, &m, &d, &e);
    if (r == 0) {
        bar = PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
        assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));   /* memory decoding on */
    }
    return r;
}

/* Resets the device and negotiates `features`; returns the status read back. */
static inline uint64_t negotiate(uint64_t features)
{
    wr(0x14, 1, 0), wr(0x14, 1, 1), wr(0x14, 1, 3);
    wr(0x08, 4, 0), wr(0x0c, 4, (uint32_t)features), wr(0x08, 4, 1), wr(0x0c, 4, features >> 32);
    wr(0x14, 1, 0xb);
    return rd(0x14, 1);
}

/* Negotiates `features` (asserting FEATURES_OK sticks) and sets up queue 0 with `size`
 * entries (the rings' places leave room for VIRTQ_MAX_SIZE). */
static inline void driver_init_size(uint64_t features, uint16_t size)
{
    assert_int_equal(negotiate(features), 0xb);
    memset(m.mem.host + DESC, 0, 0x3000);
    avail_idx = 0;
    wr(0x16, 2, 0), wr(0x18, 2, size);
    wr(0x20, 4, DESC), wr(0x24, 4, 0), wr(0x28, 4, AVAIL), wr(0x2c, 4, 0);
    wr(0x30, 4, USED), wr(0x34, 4, 0);
    wr(0x1c, 2, 1);
    assert_int_equal(rd(0x1c, 2), 1);
    wr(0x14, 1, 0xf);
    assert_int_equal(rd(0x14, 1), 0xf);
}

static inline void driver_init(uint64_t features)
{
    driver_init_size(features, QS);
}

static inline void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    put(DESC + 16 * i, 8, addr), put(DESC + 16 * i + 8, 4, len);
    put(DESC + 16 * i + 12, 2, flags), put(DESC + 16 * i + 14, 2, next);
}

/* Publishes a chain as a driver does: the ring entry, then the index with a release store
 * (I/O threads may be reading it right now). */
static inline void offer(uint16_t head)
{
    put(AVAIL + 4 + 2 * (avail_idx % QS), 2, head);
    __atomic_store_n((uint16_t *)(m.mem.host + AVAIL + 2), htole16(++avail_idx), __ATOMIC_RELEASE);
}

/* The image file holds exactly want (IMG_SIZE bytes). */
static inline void image_is(const uint8_t *want)
{
    static uint8_t now[IMG_SIZE];
    struct stat st;
    assert_true(fstat(img_fd, &st) == 0 && st.st_size == IMG_SIZE);
    assert_int_equal(pread(img_fd, now, IMG_SIZE, 0), IMG_SIZE);
    assert_memory_equal(now, want, IMG_SIZE);
}

#endif
