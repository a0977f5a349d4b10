/* virtio-blk DISCARD and WRITE_ZEROES through the whole device (the test is the driver, as in
 * test_virtio_blk.c): what they do to a real image file, every refusal (and that a refused
 * request leaves the image alone), and the limits the configuration space advertises. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "../../devices/blk_discard.h"
#include "../../devices/pci.h"
#include "../../devices/virtio_blk.h"
#include "fake_machine.h"
#include "virtio_driver.h"

#define IMG_SIZE (256u << 10)
#define F_RO (1ull << 5)
#define F_DISCARD (1ull << 13)
#define F_ZEROES (1ull << 14)
#define F_BOTH (VERSION_1 | F_DISCARD | F_ZEROES)
#define T_IN 0
#define T_DISCARD 11
#define T_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define UNMAP 1u

#include "blk_driver.h"

static uint8_t pattern[IMG_SIZE];

struct seg {
    uint64_t sector;
    uint32_t n, flags;
};

/* The disk made anew with opts (the previous one destroyed). */
static void create(const char *opts)
{
    virtio_blk_destroy(b);
    b = NULL;
    assert_int_equal(blk_create(opts), 0);
}

/* A fresh image of IMG_SIZE bytes of pattern in dir (a file system of the test's choice). */
static int make_image(const char *dir)
{
    snprintf(img, sizeof(img), "%s/minivmm-dwz-XXXXXX", dir);
    img_fd = mkstemp(img);
    for (unsigned i = 0; i < IMG_SIZE; i++)
        pattern[i] = (uint8_t)(i * 7 + i / 512 + 1);   /* no zero sector */
    if (img_fd < 0 || pwrite(img_fd, pattern, IMG_SIZE, 0) != IMG_SIZE || fsync(img_fd) != 0)
        return -1;
    return 0;
}

static int setup_dwz(void **state)
{
    b = NULL;
    avail_idx = 0;
    if (setup_with_bridge(state, &host, 4u << 20) || make_image("/tmp"))
        return -1;
    create("");
    return 0;
}

static int teardown_dwz(void **state)
{
    virtio_blk_destroy(b);
    b = NULL;
    close(img_fd);
    unlink(img);
    return teardown(state);
}


/* Offers the chain at head 0 and returns its status (asserting only the status byte was
 * reported written). */
static int run(void)
{
    m.mem.host[STATUS] = 0xee;
    uint16_t used = (uint16_t)get(USED + 2, 2);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(get(USED + 2, 2), (uint16_t)(used + 1));
    assert_int_equal(get(USED + 8 + 8 * (used % QS), 4), 1);
    return m.mem.host[STATUS];
}

/* A DISCARD or WRITE_ZEROES request with segments s[0..n), whose data the driver says is
 * len bytes long (16 * n for a well-formed one). */
static int dwz_len(uint32_t type, const struct seg *s, unsigned n, uint32_t len)
{
    put(HDR, 4, type), put(HDR + 4, 4, 0), put(HDR + 8, 8, 0);
    for (unsigned i = 0; i < n; i++) {
        put(DATA + 16 * i, 8, s[i].sector);
        put(DATA + 16 * i + 8, 4, s[i].n), put(DATA + 16 * i + 12, 4, s[i].flags);
    }
    desc(0, HDR, 16, F_NEXT, len ? 1 : 2);
    desc(1, DATA, len, F_NEXT, 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    return run();
}

static int dwz(uint32_t type, const struct seg *s, unsigned n)
{
    return dwz_len(type, s, n, 16 * n);
}

static int dwz1(uint32_t type, uint64_t sector, uint32_t n, uint32_t flags)
{
    struct seg s = {sector, n, flags};
    return dwz(type, &s, 1);
}


static long long blocks(void)
{
    struct stat st;
    assert_int_equal(fstat(img_fd, &st), 0);
    return (long long)st.st_blocks;
}

/* Whether the image's file system punches holes (it then frees whole blocks). */
static bool punches(void)
{
    char p[80];
    snprintf(p, sizeof(p), "%s-probe", img);
    int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    unlink(p);
    bool yes = pwrite(fd, pattern, 8192, 0) == 8192 &&
               fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
    close(fd);
    return yes;
}

static void test_config(void **state)
{
    (void)state;
    wr(0x00, 4, 0);
    assert_true((rd(0x04, 4) & (F_DISCARD | F_ZEROES)) == (F_DISCARD | F_ZEROES));
    assert_int_equal(rd(0x224, 4), BLK_DISCARD_MAX_SECTORS);       /* max_discard_sectors */
    assert_int_equal(rd(0x228, 4), BLK_DWZ_MAX_SEG);               /* max_discard_seg */
    assert_int_equal(rd(0x22c, 4), 8);                             /* discard_sector_alignment */
    assert_int_equal(rd(0x230, 4), BLK_ZEROES_MAX_SECTORS);        /* max_write_zeroes_sectors */
    assert_int_equal(rd(0x234, 4), BLK_DWZ_MAX_SEG);               /* max_write_zeroes_seg */
    assert_int_equal(rd(0x238, 4), 1);                             /* may unmap; unused1 0 */
    assert_int_equal(negotiate(F_BOTH), 0xb);

    create(",snapshot");                          /* offered, but zeroing never unmaps */
    wr(0x00, 4, 0);
    assert_true((rd(0x04, 4) & (F_DISCARD | F_ZEROES)) == (F_DISCARD | F_ZEROES));
    assert_int_equal(rd(0x238, 1), 0);

    create(",ro");                                /* never offered: they change the image */
    wr(0x00, 4, 0);
    assert_true((rd(0x04, 4) & (F_DISCARD | F_ZEROES | F_RO)) == F_RO);
    assert_int_equal(negotiate(VERSION_1 | F_RO | F_DISCARD), 3);
    assert_int_equal(negotiate(VERSION_1 | F_RO | F_ZEROES), 3);
}

/* A discard of two whole 4 KiB blocks and one of a block's tail, in one request: reads give
 * zeros there (the file system punched holes) and the blocks are freed; the rest is kept. */
static void test_discard(void **state)
{
    (void)state;
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(F_BOTH);
    bool holes = punches();
    long long before = blocks();
    struct seg s[] = {{16, 16, 0}, {100, 4, 0}};
    assert_int_equal(dwz(T_DISCARD, s, 2), S_OK);
    if (!holes) {
        print_message("no hole punching on /tmp: the discard was ignored\n");
        image_is(want);
        return;
    }
    memset(want + 16 * 512, 0, 16 * 512);
    memset(want + 100 * 512, 0, 4 * 512);
    image_is(want);
    assert_true(blocks() <= before - 16);         /* two 4 KiB blocks at least */
    assert_int_equal(dwz1(T_DISCARD, IMG_SIZE / 512 - 1, 1, 0), S_OK);   /* the last sector */
    assert_int_equal(dwz1(T_DISCARD, IMG_SIZE / 512, 0, 0), S_OK);       /* nothing, at the end */
    memset(want + IMG_SIZE - 512, 0, 512);
    image_is(want);
}

/* Write zeroes: an unaligned range without unmap (ZERO_RANGE), an aligned one with unmap (a
 * hole: the blocks are freed), both read back as zeros. */
static void test_write_zeroes(void **state)
{
    (void)state;
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(F_BOTH);
    bool holes = punches();
    assert_int_equal(dwz1(T_ZEROES, 3, 3, 0), S_OK);
    memset(want + 3 * 512, 0, 3 * 512);
    image_is(want);
    long long before = blocks();
    assert_int_equal(dwz1(T_ZEROES, 64, 64, UNMAP), S_OK);
    memset(want + 64 * 512, 0, 64 * 512);
    image_is(want);
    if (holes)
        assert_true(blocks() <= before - 64);
    /* and through the device, as the guest reads it */
    put(HDR, 4, T_IN), put(HDR + 8, 8, 2);
    memset(m.mem.host + DATA, 0x55, 4 * 512);
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 4 * 512, F_NEXT | F_WRITE, 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    m.mem.host[STATUS] = 0xee;
    put(AVAIL + 4 + 2 * (avail_idx % QS), 2, 0), put(AVAIL + 2, 2, ++avail_idx);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(m.mem.host[STATUS], S_OK);
    assert_memory_equal(m.mem.host + DATA, want + 2 * 512, 4 * 512);
}

/* tmpfs punches holes but has no ZERO_RANGE: write zeroes without unmap writes zeros, more
 * than the 64 KiB the device writes at a time. */
static void test_write_zeroes_fallback(void **state)
{
    (void)state;
    struct statfs fs;
    if (statfs("/dev/shm", &fs) != 0 || fs.f_type != 0x01021994 /* TMPFS_MAGIC */) {
        skip();
        return;
    }
    virtio_blk_destroy(b);
    b = NULL;
    close(img_fd);
    unlink(img);
    assert_int_equal(make_image("/dev/shm"), 0);
    create("");
    errno = 0;
    assert_int_equal(fallocate(img_fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 512), -1);
    assert_int_equal(errno, EOPNOTSUPP);          /* so the fallback is what runs */
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(F_BOTH);
    assert_int_equal(dwz1(T_ZEROES, 1, 300, 0), S_OK);
    memset(want + 512, 0, 300 * 512);
    image_is(want);
}

/* A snapshot: zeroes in this run's view (its private map), the image untouched; a discard is
 * accepted and does nothing. */
static void test_snapshot(void **state)
{
    (void)state;
    create(",snapshot");
    driver_init(F_BOTH);
    assert_int_equal(dwz1(T_DISCARD, 0, 8, 0), S_OK);
    assert_int_equal(dwz1(T_ZEROES, 8, 2, UNMAP), S_OK);
    image_is(pattern);
    /* A discard does nothing here, yet is checked as anywhere: a range past the end would
     * have the next write zeroes clear memory outside the map. */
    for (uint32_t t = T_DISCARD; t <= T_ZEROES; t += T_ZEROES - T_DISCARD) {
        assert_int_equal(dwz1(t, IMG_SIZE / 512, 1, 0), S_IOERR);
        assert_int_equal(dwz1(t, UINT64_MAX / 512, 1, 0), S_IOERR);
        assert_int_equal(dwz1(t, UINT64_MAX / 512 + 1, 8, 0), S_IOERR);
    }
    put(HDR, 4, T_IN), put(HDR + 8, 8, 7);
    memset(m.mem.host + DATA, 0x55, 3 * 512);
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 3 * 512, F_NEXT | F_WRITE, 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    m.mem.host[STATUS] = 0xee;
    put(AVAIL + 4 + 2 * (avail_idx % QS), 2, 0), put(AVAIL + 2, 2, ++avail_idx);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(m.mem.host[STATUS], S_OK);
    assert_memory_equal(m.mem.host + DATA, pattern + 7 * 512, 512);   /* discard: kept */
    static const uint8_t zero[1024];
    assert_memory_equal(m.mem.host + DATA + 512, zero, 1024);
}

/* Every malformed request is refused and the image stays as it was: both kinds alike. */
static void test_refused(void **state)
{
    (void)state;
    const uint64_t end = IMG_SIZE / 512;
    driver_init(F_BOTH);
    for (uint32_t t = T_DISCARD; t <= T_ZEROES; t += T_ZEROES - T_DISCARD) {
        /* outside the disk, or overflowing on the way there: IOERR */
        assert_int_equal(dwz1(t, end - 1, 2, 0), S_IOERR);
        assert_int_equal(dwz1(t, end, 1, 0), S_IOERR);
        assert_int_equal(dwz1(t, end + 1, 0, 0), S_IOERR);
        assert_int_equal(dwz1(t, UINT64_MAX / 512 + 1, 1, 0), S_IOERR);   /* sector * 512 */
        assert_int_equal(dwz1(t, UINT64_MAX / 512, 1, 0), S_IOERR);       /* + length */
        assert_int_equal(dwz1(t, UINT64_MAX, 0, 0), S_IOERR);
        /* flags the spec does not know: UNSUPP */
        assert_int_equal(dwz1(t, 0, 1, 2), S_UNSUPP);
        assert_int_equal(dwz1(t, 0, 1, 0x80000000u), S_UNSUPP);
        assert_int_equal(dwz1(t, 0, 1, UNMAP | 4), S_UNSUPP);
        /* too many segments, or none */
        struct seg many[BLK_DWZ_MAX_SEG + 1];
        for (unsigned i = 0; i <= BLK_DWZ_MAX_SEG; i++)
            many[i] = (struct seg){i, 1, 0};
        assert_int_equal(dwz(t, many, BLK_DWZ_MAX_SEG + 1), S_IOERR);
        assert_int_equal(dwz(t, many, 0), S_IOERR);
        /* data that is not whole segments */
        assert_int_equal(dwz_len(t, many, 1, 15), S_IOERR);
        assert_int_equal(dwz_len(t, many, 2, 17), S_IOERR);
        assert_int_equal(dwz_len(t, many, 2, 31), S_IOERR);
        /* a good segment, then a bad one: the good one is not carried out either */
        struct seg two[] = {{0, 8, 0}, {end, 1, 0}};
        assert_int_equal(dwz(t, two, 2), S_IOERR);
        two[1] = (struct seg){8, 1, 8};
        assert_int_equal(dwz(t, two, 2), S_UNSUPP);
    }
    assert_int_equal(dwz1(T_DISCARD, 0, 1, UNMAP), S_UNSUPP);   /* unmap: write zeroes only */
    image_is(pattern);
    /* the most segments there may be, each whole */
    struct seg max[BLK_DWZ_MAX_SEG];
    for (unsigned i = 0; i < BLK_DWZ_MAX_SEG; i++)
        max[i] = (struct seg){2 * i, 1, i % 2 ? UNMAP : 0};
    assert_int_equal(dwz(T_ZEROES, max, BLK_DWZ_MAX_SEG), S_OK);
    assert_int_equal(dwz(T_DISCARD, max, 1), S_OK);
}

/* A segment's bytes split over descriptors are read as one. */
static void test_split_segments(void **state)
{
    (void)state;
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(F_BOTH);
    put(HDR, 4, T_ZEROES), put(HDR + 4, 4, 0), put(HDR + 8, 8, 0);
    put(DATA, 8, 5), put(DATA + 8, 4, 2), put(DATA + 12, 4, 0);
    put(DATA + 0x100, 8, 9), put(DATA + 0x108, 4, 1), put(DATA + 0x10c, 4, 0);
    desc(0, HDR, 16, F_NEXT, 1);
    desc(1, DATA, 12, F_NEXT, 2), desc(2, DATA + 12, 4, F_NEXT, 3);    /* segment 0 */
    desc(3, DATA + 0x100, 16, F_NEXT, 4), desc(4, STATUS, 1, F_WRITE, 0);
    assert_int_equal(run(), S_OK);
    memset(want + 5 * 512, 0, 2 * 512);
    memset(want + 9 * 512, 0, 512);
    image_is(want);
    /* a header and 15 segment bytes in one buffer, the 16th missing */
    put(HDR + 16, 8, 0), put(HDR + 24, 4, 1), put(HDR + 28, 4, 0);
    desc(0, HDR, 31, F_NEXT, 4);
    assert_int_equal(run(), S_IOERR);
}

/* The per-segment sector limits, on a disk large enough that only they can refuse. */
static void test_sector_limits(void **state)
{
    (void)state;
    assert_int_equal(ftruncate(img_fd, (4ll << 30) + IMG_SIZE), 0);   /* sparse */
    create("");
    driver_init(F_BOTH);
    assert_int_equal(dwz1(T_DISCARD, 0, BLK_DISCARD_MAX_SECTORS + 1, 0), S_IOERR);
    assert_int_equal(dwz1(T_DISCARD, 0, UINT32_MAX, 0), S_IOERR);
    assert_int_equal(dwz1(T_ZEROES, 0, BLK_ZEROES_MAX_SECTORS + 1, 0), S_IOERR);
    assert_int_equal(dwz1(T_ZEROES, 0, UINT32_MAX, UNMAP), S_IOERR);
    assert_int_equal(ftruncate(img_fd, IMG_SIZE), 0);
    image_is(pattern);
    assert_int_equal(ftruncate(img_fd, (4ll << 30) + IMG_SIZE), 0);
    assert_int_equal(dwz1(T_DISCARD, 0, BLK_DISCARD_MAX_SECTORS, 0), S_OK);
    assert_int_equal(dwz1(T_ZEROES, 8, BLK_ZEROES_MAX_SECTORS, UNMAP), S_OK);
}

/* A read-only disk refuses both as it refuses writes (a driver that sends them anyway); a
 * driver that did not negotiate a feature gets UNSUPP for its request. */
static void test_not_allowed(void **state)
{
    (void)state;
    driver_init(VERSION_1 | F_ZEROES);
    assert_int_equal(dwz1(T_DISCARD, 0, 8, 0), S_UNSUPP);
    assert_int_equal(dwz1(T_ZEROES, 0, 1, 0), S_OK);
    driver_init(VERSION_1 | F_DISCARD);
    assert_int_equal(dwz1(T_ZEROES, 1, 1, 0), S_UNSUPP);
    memset(pattern, 0, 512);                      /* that first zeroing */
    image_is(pattern);
    create(",ro");
    driver_init(VERSION_1 | F_RO);
    assert_int_equal(dwz1(T_DISCARD, 0, 8, 0), S_IOERR);
    assert_int_equal(dwz1(T_ZEROES, 8, 8, 0), S_IOERR);
    assert_int_equal(dwz1(T_ZEROES, 8, 8, UNMAP), S_IOERR);
    image_is(pattern);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_dwz, teardown_dwz)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config), T(test_discard), T(test_write_zeroes), T(test_write_zeroes_fallback),
        T(test_snapshot), T(test_refused), T(test_split_segments), T(test_sector_limits),
        T(test_not_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
