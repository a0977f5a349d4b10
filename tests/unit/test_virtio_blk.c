/* A whole virtio-blk device without KVM: the test is the driver, through the PCI BAR on the
 * MMIO bus and virtqueues in fake guest memory; virtio_blk_process() stands in for the I/O
 * thread. Also disk_parse() and the errors of virtio_blk_create(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "../../devices/pci.h"
#include "../../devices/virtio_blk.h"
#include "../../devices/virtq.h"
#include "fake_machine.h"
#include "virtio_driver.h"

#define BIG_RAM (4u << 20)
#define IMG_SIZE (64u << 10)
#define IRQ (PCI_IRQ_BASE + 0)
#define F_FLUSH (1ull << 9)

#include "blk_driver.h"

static uint8_t pattern[IMG_SIZE];


static int setup_blk(void **state)
{
    if (setup(state))
        return -1;
    free(m.mem.host);
    m.mem.host = calloc(1, BIG_RAM);
    m.mem.size = BIG_RAM;
    m.pci = &host;
    b = NULL;
    avail_idx = 0;
    snprintf(img, sizeof(img), "/tmp/minivmm-blk-XXXXXX");
    img_fd = mkstemp(img);
    for (unsigned i = 0; i < IMG_SIZE; i++)
        pattern[i] = (uint8_t)(i * 7 + i / 512);
    if (!m.mem.host || img_fd < 0 || pwrite(img_fd, pattern, IMG_SIZE, 0) != IMG_SIZE)
        return -1;
    return blk_create(",serial=abc");
}

static int teardown_blk(void **state)
{
    virtio_blk_destroy(b);
    close(img_fd);
    unlink(img);
    return teardown(state);
}


/* One request: header, then `len` data bytes at DATA (device-writable for reads and
 * GET_ID), then the status byte. Returns the status; *used_len gets the used length. */
static int request(uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len)
{
    bool in = type != 1;
    put(HDR, 4, type), put(HDR + 4, 4, 0), put(HDR + 8, 8, sector);
    m.mem.host[STATUS] = 0xee;
    desc(0, HDR, 16, F_NEXT, 1);
    desc(1, DATA, len, F_NEXT | (in ? F_WRITE : 0), 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    if (!len)
        desc(0, HDR, 16, F_NEXT, 2);
    uint16_t used_before = (uint16_t)get(USED + 2, 2);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(get(USED + 2, 2), (uint16_t)(used_before + 1));
    uint64_t elem = USED + 4 + 8 * (used_before % QS);
    assert_int_equal(get(elem, 4), 0);
    if (used_len)
        *used_len = (uint32_t)get(elem + 4, 4);
    return m.mem.host[STATUS];
}


static void test_features_and_config(void **state)
{
    (void)state;
    wr(0x00, 4, 0);
    uint32_t lo = (uint32_t)rd(0x04, 4);
    assert_true((lo & F_FLUSH) && !(lo & (1u << 5)));
    wr(0x00, 4, 1);
    assert_int_equal(rd(0x04, 4), 1);                       /* VERSION_1 */
    wr(0x00, 4, 2);
    assert_true(rd(0x04, 4) == 0 && rd(0x00, 4) == 2);
    assert_int_equal(rd(0x12, 2), 1);                       /* num_queues */
    assert_int_equal(rd(0x200, 8), IMG_SIZE / 512);         /* capacity */
    assert_true(rd(0x200, 4) == IMG_SIZE / 512 && rd(0x204, 4) == 0);
    assert_int_equal(rd(0x20c, 4), VIRTQ_MAX_SIZE - 2);     /* seg_max */
    assert_int_equal(rd(0x214, 4), 512);                    /* blk_size */
    assert_int_equal(rd(0x218, 4), 0);                      /* topology: not offered */
    assert_int_equal(rd(0x23c, 4), 0xffffffff);             /* past the device config */
    assert_int_equal(rd(0x238, 8), UINT64_MAX);             /* straddles its end */

    /* an unknown feature bit, or no VERSION_1: FEATURES_OK does not stick */
    assert_int_equal(negotiate(VERSION_1 | F_FLUSH | (1u << 20)), 3);
    assert_int_equal(negotiate(VERSION_1 | (1ull << 40)), 3);
    assert_int_equal(negotiate(F_FLUSH), 3);
    wr(0x0c, 4, 1), wr(0x08, 4, 0), wr(0x0c, 4, 0);         /* now VERSION_1 only */
    wr(0x14, 1, 0xb);
    assert_int_equal(rd(0x14, 1), 0xb);
    assert_int_equal(negotiate(VERSION_1), 0xb);
    wr(0x08, 4, 0), wr(0x0c, 4, F_FLUSH);                  /* too late: ignored */
    assert_int_equal(rd(0x0c, 4), 0);
    wr(0x14, 1, 0);                                         /* reset */
    assert_true(rd(0x14, 1) == 0 && rd(0x0c, 4) == 0);
    driver_init(VERSION_1 | F_FLUSH);
}

static void test_read(void **state)
{
    (void)state;
    uint32_t used_len;
    driver_init(VERSION_1 | F_FLUSH);
    assert_int_equal(virtio_blk_process(b), 0);
    assert_int_equal(fake.irq_calls, 0);
    wr(0x300, 2, 0);                                        /* notify (no threads run here) */
    wr(0x304, 2, 1);                                        /* no queue 1: ignored */
    assert_int_equal(rd(0x300, 2), 0);
    assert_int_equal(request(0, 1, 512, &used_len), 0);
    assert_int_equal(used_len, 513);
    assert_memory_equal(m.mem.host + DATA, pattern + 512, 512);
    assert_true(fake.irq_calls == 1 && fake.irq_level[IRQ] == 1);
    assert_int_equal(rd(0x100, 1), 1);                      /* ISR: queue; reading acks */
    assert_true(fake.irq_calls == 2 && fake.irq_level[IRQ] == 0);
    assert_int_equal(rd(0x100, 1), 0);
    assert_int_equal(fake.irq_calls, 2);

    /* the last sector, into a buffer that also holds the status byte */
    put(HDR, 4, 0), put(HDR + 8, 8, IMG_SIZE / 512 - 1);
    desc(0, HDR, 16, F_NEXT, 5), desc(5, DATA, 513, F_WRITE, 0);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_memory_equal(m.mem.host + DATA, pattern + IMG_SIZE - 512, 512);
    assert_true(m.mem.host[DATA + 512] == 0 && get(USED + 16, 4) == 513);
    assert_int_equal(rd(0x100, 1), 1);
    assert_int_equal(fake.irq_calls, 4);

    /* the driver asked not to be interrupted */
    put(AVAIL, 2, 1);
    assert_int_equal(request(0, 0, 512, NULL), 0);
    assert_int_equal(fake.irq_calls, 4);
    assert_int_equal(rd(0x100, 1), 0);
}

/* A request (see request()) that must end with `status` and `used_len` bytes used. */
static void expect(uint32_t type, uint64_t sector, uint32_t len, int status, uint32_t used_len)
{
    uint32_t used;
    assert_int_equal(request(type, sector, len, &used), status);
    assert_int_equal(used, used_len);
}

static void test_other_requests(void **state)
{
    (void)state;
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(VERSION_1 | F_FLUSH);
    for (unsigned i = 0; i < 1024; i++)
        m.mem.host[DATA + i] = want[3 * 512 + i] = (uint8_t)(0xc3 ^ i);
    expect(1, 3, 1024, 0, 1);                                       /* write */
    image_is(want);
    expect(4, 0, 0, 0, 1);                                          /* flush */
    memset(m.mem.host + DATA, 0x77, 32);
    expect(8, 0, 20, 0, 21);                                        /* GET_ID */
    assert_memory_equal(m.mem.host + DATA, "abc\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x77", 21);
    memset(m.mem.host + DATA, 0x77, 32);
    expect(8, 0, 2, 0, 3);                                          /* a short ID buffer */
    assert_memory_equal(m.mem.host + DATA, "ab\x77", 3);
    expect(99, 0, 512, 2, 1);                                       /* UNSUPP */

    /* out of range, overflowing, not whole sectors: IOERR, image untouched */
    expect(0, IMG_SIZE / 512, 512, 1, 1);
    expect(0, IMG_SIZE / 512 - 1, 1024, 1, 1);
    expect(1, IMG_SIZE / 512 - 1, 1024, 1, 1);
    expect(1, IMG_SIZE / 512, 512, 1, 1);
    static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX / 512, UINT64_MAX / 512 + 1,
                                    1ull << 55, (1ull << 55) - 2};
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
        expect(0, huge[i], 512, 1, 1), expect(1, huge[i], 512, 1, 1);
    expect(0, 0, 100, 1, 1), expect(1, 0, 513, 1, 1), expect(1, 0, 511, 1, 1);
    image_is(want);
    expect(0, 0, 0, 0, 1);                                          /* an empty read */
}

/* A read whose buffers add up to more than 4 GiB (the same 32 MiB of guest memory, many
 * times over) from a disk that large: the used ring's 32-bit length could not say how much
 * was read, so the device must refuse it rather than report the length modulo 4 GiB. */
static void test_read_past_4g(void **state)
{
    (void)state;
    enum { N = 128 };
    const uint64_t ram = 64u << 20, big = 0x1000000, chunk = 32u << 20;
    virtio_blk_destroy(b);
    b = NULL;
    free(m.mem.host);
    m.mem.host = calloc(1, ram);
    m.mem.size = ram;
    assert_non_null(m.mem.host);
    assert_int_equal(ftruncate(img_fd, (4ll << 30) + (1 << 20)), 0);    /* sparse */
    assert_int_equal(blk_create(""), 0);
    driver_init_size(VERSION_1, VIRTQ_MAX_SIZE);
    put(HDR, 4, 0), put(HDR + 4, 4, 0), put(HDR + 8, 8, 0);
    desc(0, HDR, 16, F_NEXT, 1);
    for (uint16_t i = 1; i <= N; i++)                                /* N * 32 MiB = 4 GiB */
        desc(i, big, chunk, F_NEXT | F_WRITE, i + 1);
    desc(N + 1, big, 512, F_NEXT | F_WRITE, N + 2);                 /* and one sector more */
    desc(N + 2, STATUS, 1, F_WRITE, 0);
    m.mem.host[STATUS] = 0xee;
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(get(USED + 2, 2), 1);
    assert_int_equal(get(USED + 4, 4), 0);                          /* head */
    assert_int_equal(get(USED + 8, 4), 1);                          /* the status byte only */
    assert_int_equal(m.mem.host[STATUS], 1);                        /* IOERR */
}

static void test_read_only(void **state)
{
    (void)state;
    virtio_blk_destroy(b);
    b = NULL;
    assert_int_equal(blk_create(",ro"), 0);
    wr(0x00, 4, 0);
    assert_true(rd(0x04, 4) & (1u << 5));
    driver_init(VERSION_1 | (1u << 5));
    memset(m.mem.host + DATA, 0, 512);
    assert_int_equal(request(1, 0, 512, NULL), 1);
    image_is(pattern);
    assert_int_equal(request(0, 2, 512, NULL), 0);
    assert_memory_equal(m.mem.host + DATA, pattern + 1024, 512);
    assert_int_equal(request(4, 0, 0, NULL), 0);
}

/* The driver offers a malformed chain: the device must ask for a reset. */
static void expect_needs_reset(void)
{
    int calls = fake.irq_calls;
    offer(0);
    assert_int_equal(virtio_blk_process(b), 0);
    assert_true(rd(0x14, 1) & 0x40);
    assert_int_equal(get(USED + 2, 2), 0);
    assert_true(fake.irq_calls > calls && fake.irq_level[IRQ] == 1);
    assert_int_equal(rd(0x100, 1), 2);                              /* ISR: config */
    assert_int_equal(fake.irq_level[IRQ], 0);
    assert_int_equal(rd(0x1c, 2), 0);                               /* queue stopped */
    wr(0x14, 1, 0xf);
    assert_true(rd(0x14, 1) & 0x40);                                /* the driver cannot clear it */
    offer(0);
    assert_int_equal(virtio_blk_process(b), 0);                     /* and stays so */
    wr(0x14, 1, 0);                                                 /* reset */
    assert_int_equal(rd(0x14, 1), 0);
    driver_init(VERSION_1);
    assert_int_equal(request(0, 1, 512, NULL), 0);                  /* usable again */
    assert_memory_equal(m.mem.host + DATA, pattern + 512, 512);
    driver_init(VERSION_1);                                        /* a clean slate */
}

static void test_broken_chains(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    put(HDR, 4, 0), put(HDR + 8, 8, 1);
    desc(0, HDR, 8, F_NEXT, 2), desc(2, STATUS, 1, F_WRITE, 0);      /* 8-byte header */
    expect_needs_reset();
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 512, 0, 0);         /* no writable byte */
    expect_needs_reset();
    desc(0, HDR, 16, F_NEXT, 1), desc(1, STATUS, 0, F_WRITE, 0);   /* empty status buffer */
    expect_needs_reset();
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 512, F_NEXT | F_WRITE, 0);   /* a loop */
    expect_needs_reset();
    desc(0, 2 * BIG_RAM, 16, F_NEXT, 1), desc(1, STATUS, 1, F_WRITE, 0);    /* outside RAM */
    expect_needs_reset();

    /* a header split over two descriptors is fine */
    desc(0, HDR, 8, F_NEXT, 1), desc(1, HDR + 8, 8, F_NEXT, 2);
    desc(2, DATA, 512, F_NEXT | F_WRITE, 3), desc(3, STATUS, 1, F_WRITE, 0);
    put(HDR + 8, 8, 2);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_memory_equal(m.mem.host + DATA, pattern + 1024, 512);
    assert_int_equal(m.mem.host[STATUS], 0);
}

static void test_queue_setup(void **state)
{
    (void)state;
    driver_init(VERSION_1);
    wr(0x16, 2, 1);                                                 /* no queue 1 */
    assert_true(rd(0x18, 2) == 0 && rd(0x1c, 2) == 0);
    assert_int_equal(negotiate(VERSION_1), 0xb);
    wr(0x16, 2, 0);
    assert_int_equal(rd(0x18, 2), VIRTQ_MAX_SIZE);
    wr(0x18, 2, 3), wr(0x18, 2, 512), wr(0x18, 2, 0);               /* refused sizes */
    assert_int_equal(rd(0x18, 2), VIRTQ_MAX_SIZE);
    wr(0x18, 2, QS);
    wr(0x20, 4, 0), wr(0x24, 4, 1);                                 /* desc at 4 GiB */
    wr(0x28, 4, AVAIL), wr(0x30, 4, USED);
    assert_int_equal(rd(0x24, 4), 1);
    wr(0x1c, 2, 1);
    assert_true(rd(0x1c, 2) == 0 && (rd(0x14, 1) & 0x40));
    wr(0x24, 4, 0), wr(0x20, 4, DESC), wr(0x1c, 2, 1);             /* fixed, but not reset */
    desc(0, HDR, 16, F_NEXT, 1), desc(1, STATUS, 1, F_WRITE, 0);
    put(HDR, 4, 4);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 0);
    assert_int_equal(get(USED + 2, 2), 0);
    wr(0x14, 1, 0);
    assert_true(rd(0x14, 1) == 0 && rd(0x24, 4) == 0);
    driver_init(VERSION_1);
    assert_int_equal(request(0, 1, 512, NULL), 0);
}

/* Waits (up to 10 s) for the I/O threads to have used `n` chains and raised the line. */
static void wait_used(uint16_t n)
{
    const uint16_t *idx = (const uint16_t *)(m.mem.host + USED + 2);   /* little-endian host */
    for (int i = 0; i < 10000; i++) {
        if (__atomic_load_n(idx, __ATOMIC_ACQUIRE) == n &&
            __atomic_load_n(&fake.irq_level[IRQ], __ATOMIC_ACQUIRE) == 1)
            return;
        usleep(1000);
    }
    fail_msg("the I/O threads used %u of %u chains", (unsigned)get(USED + 2, 2), (unsigned)n);
}

/* The threads of a running VM: several requests queued under one notification all complete,
 * in whatever order, and a reset with the threads running leaves the device usable. */
static void test_io_threads(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    static uint8_t want[IMG_SIZE];
    memcpy(want, pattern, IMG_SIZE);
    driver_init(VERSION_1 | F_FLUSH);
    assert_int_equal(virtio_blk_start(b, &e), 0);
    enum { N = 5, LEN = 1024, WSECT = 100 };
    for (uint16_t i = 0; i < N; i++) {
        bool write = i == N - 1;
        uint64_t hdr = HDR + 16 * i, data = DATA + 0x1000 * i;
        put(hdr, 4, write), put(hdr + 4, 4, 0), put(hdr + 8, 8, write ? WSECT : 2 * i);
        memset(m.mem.host + data, write ? 0x5a : 0, LEN);
        m.mem.host[STATUS + i] = 0xee;
        desc(3 * i, hdr, 16, F_NEXT, 3 * i + 1);
        desc(3 * i + 1, data, LEN, F_NEXT | (write ? 0 : F_WRITE), 3 * i + 2);
        desc(3 * i + 2, STATUS + i, 1, F_WRITE, 0);
        offer(3 * i);
    }
    memset(want + WSECT * 512, 0x5a, LEN);
    wr(0x300, 2, 0);                                                /* one notification */
    wait_used(N);
    bool seen[N] = {false};
    for (unsigned k = 0; k < N; k++) {
        uint32_t head = (uint32_t)get(USED + 4 + 8 * k, 4), len = (uint32_t)get(USED + 8 + 8 * k, 4);
        assert_true(head % 3 == 0 && head / 3 < N && !seen[head / 3]);
        seen[head / 3] = true;
        assert_int_equal(len, head / 3 == N - 1 ? 1 : LEN + 1);
    }
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(m.mem.host[STATUS + i], 0);
        if (i < N - 1)
            assert_memory_equal(m.mem.host + DATA + 0x1000 * i, pattern + 1024 * i, LEN);
    }
    image_is(want);
    assert_int_equal(rd(0x100, 1), 1);                              /* ISR: queue */

    /* a reset (the threads are idle by now), then a new driver's request through them */
    wr(0x14, 1, 0);
    driver_init(VERSION_1 | F_FLUSH);
    put(HDR, 4, 0), put(HDR + 8, 8, 3);
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 512, F_NEXT | F_WRITE, 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    offer(0);
    wr(0x300, 2, 0);
    wait_used(1);
    assert_memory_equal(m.mem.host + DATA, pattern + 3 * 512, 512);
    assert_int_equal(m.mem.host[STATUS], 0);
}   /* teardown stops the threads */

static void test_disk_parse(void **state)
{
    (void)state;
    struct disk_config d;
    struct mvm_err e;
    static const char *const good[] = {"img", "img,ro", "img,cache=none", "img,cache=writeback",
                                       "img,serial=12345678901234567890",
                                       "/a/b c,ro,cache=none,serial=x"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(disk_parse(good[i], &d, &e), 0);
    }
    assert_true(strcmp(d.path, "/a/b c") == 0 && d.ro && d.direct && strcmp(d.serial, "x") == 0);
    assert_int_equal(disk_parse("img,serial=12345678901234567890", &d, &e), 0);
    assert_true(strcmp(d.serial, "12345678901234567890") == 0 && !d.ro && !d.direct);
    assert_int_equal(disk_parse("img,cache=none,cache=writeback", &d, &e), 0);
    assert_false(d.direct);
    /* ",," is a comma of the path (a lone one ends it), as the library writes such paths. */
    assert_int_equal(disk_parse("a,,b,,,ro", &d, &e), 0);
    assert_true(strcmp(d.path, "a,b,") == 0 && d.ro);
    assert_int_equal(disk_parse(",,", &d, &e), 0);
    assert_string_equal(d.path, ",");
    static const char *const bad[] = {",ro", "", "img,serial=123456789012345678901", "img,bogus",
                                      "img,cache=sometimes", "img,", "img,ro,", "img,RO",
                                      "img,rox", "img,cache=nonesuch"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(disk_parse(bad[i], &d, &e), -1);
        assert_int_equal(e.status, MVM_E_INPUT);
        assert_true(e.msg[0] != '\0');
    }
}

static void test_disk_parse_serial_twice(void **state)
{
    (void)state;
    /* Regression: a second serial= was once copied over the first without
     * clearing it: "serial=abcdef,serial=xy" gives "xycdef". */
    struct disk_config d;
    struct mvm_err e = {0};
    assert_int_equal(disk_parse("img,serial=abcdef,serial=xy", &d, &e), 0);
    assert_string_equal(d.serial, "xy");
}

static void create_fails(const char *path)
{
    struct disk_config d;
    struct mvm_err e = {0};
    struct virtio_blk *x = (struct virtio_blk *)&d;
    memset(&d, 0, sizeof(d));
    snprintf(d.path, sizeof(d.path), "%s", path);
    assert_int_equal(virtio_blk_create(&x, &m, &d, &e), -1);
    assert_null(x);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_true(e.msg[0] != '\0');
}

static void test_create_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/minivmm-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    create_fails("/nonexistent/minivmm/disk.img");
    create_fails(dir);
    rmdir(dir);
    create_fails("/dev/null");
    host.ndev = PCI_MAX_DEVICES;                                    /* no free slot */
    create_fails(img);
    host.ndev = 1;
    assert_int_equal(ftruncate(img_fd, 0), 0);                      /* empty */
    create_fails(img);
    assert_int_equal(ftruncate(img_fd, 511), 0);                    /* not one sector */
    create_fails(img);
    assert_int_equal(host.ndev, 1);                                 /* nothing plugged in */
    assert_int_equal(m.bus.n, 1);

    assert_int_equal(ftruncate(img_fd, 1000), 0);                   /* 1.95 sectors: 1 */
    virtio_blk_destroy(b);
    b = NULL;
    assert_int_equal(blk_create(""), 0);
    assert_int_equal(rd(0x200, 8), 1);
}

/* cache=none on a regular file: the guest is told the alignment the kernel says O_DIRECT
 * needs there (statx, Linux 6.1+), not the file system's preferred I/O size (st_blksize). */
static void test_direct_block_size(void **state)
{
    (void)state;
    virtio_blk_destroy(b);
    b = NULL;
    if (blk_create(",cache=none") != 0) {
        skip();   /* no O_DIRECT where mkstemp put the image */
        return;
    }
    struct statx stx;
    uint32_t want = 4096;      /* what the kernel does not say: the safe guess */
    assert_int_equal(statx(img_fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx), 0);
    if (stx.stx_mask & STATX_DIOALIGN) {
        want = stx.stx_dio_offset_align > stx.stx_dio_mem_align ? stx.stx_dio_offset_align
                                                                : stx.stx_dio_mem_align;
        want = want < 512 ? 512 : want;
    }
    print_message("statx: O_DIRECT alignment %u (st_blksize %u)\n", want, stx.stx_blksize);
    assert_int_equal(rd(0x214, 4), want);
    driver_init(VERSION_1);
    put(HDR, 4, 0), put(HDR + 8, 8, 8);
    desc(0, HDR, 16, F_NEXT, 1), desc(1, DATA, 4096, F_NEXT | F_WRITE, 2);
    desc(2, STATUS, 1, F_WRITE, 0);
    offer(0);
    assert_int_equal(virtio_blk_process(b), 1);
    assert_int_equal(m.mem.host[STATUS], 0);          /* and O_DIRECT takes it */
    assert_memory_equal(m.mem.host + DATA, pattern + 4096, 4096);
}

static uint32_t dio_block(bool blockdev, bool statx_dio, uint32_t mem, uint32_t off,
                          uint32_t lbs)
{
    struct dio_facts f = {.blockdev = blockdev, .statx_dio = statx_dio, .mem_align = mem,
                          .offset_align = off, .logical_block = lbs};
    return virtio_blk_dio_block(&f);
}

/* The choice itself, from made-up facts: statx when the kernel reports it, else a block
 * device's logical block, else 4096 for a file; never a size a guest would refuse. */
static void test_dio_block(void **state)
{
    (void)state;
    assert_int_equal(dio_block(false, true, 512, 512, 0), 512);     /* ext4 on 512-byte sectors */
    assert_int_equal(dio_block(false, true, 4, 512, 0), 512);       /* NVMe: buffers need 4 */
    assert_int_equal(dio_block(false, true, 512, 4096, 0), 4096);   /* a 4Kn disk */
    assert_int_equal(dio_block(false, true, 4096, 512, 0), 4096);   /* buffers need more */
    assert_int_equal(dio_block(false, true, 4, 4, 0), 512);         /* never below a sector */
    assert_int_equal(dio_block(false, true, 0, 0, 0), 0);           /* no O_DIRECT for this file */
    assert_int_equal(dio_block(true, true, 512, 4096, 512), 4096);  /* statx wins */
    assert_int_equal(dio_block(true, false, 0, 0, 512), 512);       /* BLKSSZGET */
    assert_int_equal(dio_block(true, false, 0, 0, 4096), 4096);
    assert_int_equal(dio_block(true, false, 0, 0, 0), 4096);        /* nothing known */
    assert_int_equal(dio_block(false, false, 0, 0, 0), 4096);       /* a file, older kernel */
    assert_int_equal(dio_block(false, true, 512, 8192, 0), 0);      /* more than a guest takes */
    assert_int_equal(dio_block(true, false, 0, 0, 65536), 0);
    assert_int_equal(dio_block(false, true, 512, 1536, 0), 0);      /* not a power of two */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_blk, teardown_blk)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_features_and_config), T(test_read), T(test_other_requests), T(test_read_past_4g),
        T(test_read_only),
        T(test_broken_chains), T(test_queue_setup), T(test_disk_parse),
        T(test_disk_parse_serial_twice), T(test_create_errors), T(test_io_threads),
        T(test_direct_block_size), cmocka_unit_test(test_dio_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
