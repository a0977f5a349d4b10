/* The single-port virtio console (devices/virtio_console.c) and its queue thread
 * (devices/vcon_queues.c) without KVM: the test is the guest's driver, through the PCI BAR
 * and the transmit queue in fake guest memory; the console's output is a small pipe.
 *
 * A notification arrives either as KVM would signal it (the queue's eventfd: ioeventfd) or as
 * an MMIO exit (the notify register); the device's thread drains the queue either way, so a
 * full stdout holds no vCPU. A reset waits for output in hand, a stop lets it go, and a
 * power-off writes what the guest queued before it asked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "../../devices/device.h"
#include "../../devices/pci.h"
#include "../../devices/virtio_console.h"
#include "../../devices/virtio_pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"
#include "papr_calls.h"

extern const struct device_kind virtio_console_kind;

#define TXQ 1
#define TX_DESC 0x10000u
#define TX_AVAIL 0x10400u
#define TX_USED 0x10800u
#define QS 8
#define DATA 0x30000u           /* buffer i at DATA + i * 0x100 */

static struct pci_host host;
static struct virtio_console *con;
static int out[2];              /* the console: the test reads [0] */
static uint64_t bar;
static uint16_t avail_idx;

static void wr(uint64_t off, uint32_t len, uint64_t v) { mmio_wr(bar + off, len, v); }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int setup_con(void **state)
{
    if (setup_with_bridge(state, &host, RAM) || pipe2(out, O_NONBLOCK))
        return -1;
    fcntl(out[1], F_SETPIPE_SZ, 4096);   /* one page: a test fills it at once */
    struct mvm_err e = {0};
    if (virtio_console_create(&con, &m, out[1], &e))
        return -1;
    /* What the board does at power-off: the kind's hook, on the console's state. */
    fake_flush = virtio_console_kind.flush, fake_flush_dev = con;
    bar = PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
    avail_idx = 0;
    return pci_config_write(&host, 0, 0, 4, 2, 2) ? 0 : -1;   /* memory decoding on */
}

static int teardown_con(void **state)
{
    virtio_console_destroy(con);
    close(out[0]), close(out[1]);
    return teardown(state);
}

/* A fresh driver: VERSION_1, the transmit queue on empty rings, DRIVER_OK. */
static void bring_up(void)
{
    memset(m.mem.host + TX_DESC, 0, 0x1000);
    avail_idx = 0;
    wr(0x14, 1, 0), wr(0x14, 1, 3);
    wr(0x08, 4, 1), wr(0x0c, 4, 1);
    wr(0x14, 1, 0xb);
    wr(0x16, 2, TXQ), wr(0x18, 2, QS);
    wr(0x20, 4, TX_DESC), wr(0x28, 4, TX_AVAIL), wr(0x30, 4, TX_USED);
    wr(0x1c, 2, 1);
    wr(0x14, 1, 0xf);
}

enum how { NO_NOTIFY, BY_MMIO, BY_EVENTFD };

/* The driver queues text and notifies as told: the notify register (an MMIO exit), or the
 * queue's eventfd as KVM signals it on that write when it has ioeventfd. */
static void send(const char *text, enum how how)
{
    uint16_t slot = avail_idx % QS;
    uint32_t buf = DATA + slot * 0x100u;
    memcpy(m.mem.host + buf, text, strlen(text));
    put(TX_DESC + 16 * slot, 8, buf), put(TX_DESC + 16 * slot + 8, 4, strlen(text));
    put(TX_DESC + 16 * slot + 12, 2, 0);
    put(TX_AVAIL + 4 + 2 * slot, 2, slot);
    __atomic_store_n((uint16_t *)(m.mem.host + TX_AVAIL + 2), ++avail_idx, __ATOMIC_RELEASE);
    struct virtio_dev *v = virtio_console_dev(con);
    if (how == BY_MMIO) {
        wr(0x300 + 4 * TXQ, 2, TXQ);
    } else if (how == BY_EVENTFD) {
        assert_non_null(v->ops->queue_eventfd);
        int fd = v->ops->queue_eventfd(v, TXQ);
        assert_true(fd >= 0);
        uint64_t one = 1;
        assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    }
}

static uint16_t used_idx(void)
{
    return __atomic_load_n((uint16_t *)(m.mem.host + TX_USED + 2), __ATOMIC_ACQUIRE);
}

/* Reads the console until it has shown `want` (2 s at most); returns what it read. */
static const char *expect_output(const char *want)
{
    static char got[8192];
    size_t n = 0, len = strlen(want);
    for (int i = 0; i < 2000 && n < len; i++) {
        ssize_t r = read(out[0], got + n, sizeof(got) - 1 - n);
        if (r > 0)
            n += (size_t)r;
        else
            usleep(1000);
    }
    got[n] = '\0';
    assert_string_equal(got, want);
    return got;
}

static void start(void)
{
    struct mvm_err e = {0};
    assert_int_equal(virtio_console_start(con, &e), 0);
}

/* Fills the console's pipe: the device's next write waits for the reader. Returns how much. */
static size_t fill_stdout(void)
{
    static const char junk[512] = {0};
    size_t n = 0;
    ssize_t r;
    while ((r = write(out[1], junk, sizeof(junk))) > 0)
        n += (size_t)r;
    return n;
}

static void empty_stdout(size_t n)
{
    char buf[512];
    while (n > 0) {
        ssize_t r = read(out[0], buf, n < sizeof(buf) ? n : sizeof(buf));
        if (r > 0)
            n -= (size_t)r;
        else
            usleep(1000);
    }
}

static void wait_used(uint16_t n)
{
    for (int i = 0; i < 2000 && used_idx() != n; i++)
        usleep(1000);
    assert_int_equal(used_idx(), n);
}

/* KVM signals the eventfd: no exit, no notify(); the thread writes the output, in order. */
static void test_eventfd_output_reaches_console(void **state)
{
    (void)state;
    bring_up();
    start();
    send("hello ", BY_EVENTFD);
    send("from ", NO_NOTIFY);        /* one signal may stand for several buffers */
    send("the guest\n", BY_EVENTFD);
    expect_output("hello from the guest\n");
    wait_used(3);
}

/* No ioeventfd: the MMIO exit's notify() hands the queue to the same thread. */
static void test_mmio_notify_reaches_console(void **state)
{
    (void)state;
    bring_up();
    start();
    send("one ", BY_MMIO);
    send("two ", BY_EVENTFD);        /* both paths mixed: still in the guest's order */
    send("three", BY_MMIO);
    expect_output("one two three");
    wait_used(3);
}

/* No thread (a harness that never started the device): notify() drains on the caller. */
static void test_mmio_notify_without_thread(void **state)
{
    (void)state;
    bring_up();
    send("inline", BY_MMIO);
    assert_int_equal(used_idx(), 1);   /* before notify() returned */
    expect_output("inline");
}

/* Unblocks the device's write after a while, as the end of the run would (let_go). */
static void *let_go_later(void *arg)
{
    (void)arg;
    usleep(1500 * 1000);
    virtio_console_let_go(con);
    return NULL;
}

/* The notifying vCPU returns at once even when stdout is full: the thread waits, not the
 * vCPU (before the thread, the MMIO exit wrote the output itself and waited for room). */
static void test_full_stdout_holds_no_vcpu(void **state)
{
    (void)state;
    bring_up();
    start();
    size_t filled = fill_stdout();
    pthread_t t;
    pthread_create(&t, NULL, let_go_later, NULL);   /* a bound on a wrong (blocking) notify */
    double t0 = now_s();
    send("after the flood", BY_MMIO);
    double took = now_s() - t0;
    assert_true(took < 0.5);
    empty_stdout(filled);
    pthread_join(t, NULL);
}

static void *reset_device(void *arg)
{
    (void)arg;
    wr(0x14, 1, 0);
    return NULL;
}

/* A driver reset while the thread is writing a buffer of the old rings: the reset waits for
 * that write, the buffer is not completed into the reset rings, and the new driver's output
 * flows after it. */
static void test_reset_while_draining(void **state)
{
    (void)state;
    bring_up();
    start();
    size_t filled = fill_stdout();
    send("old", BY_EVENTFD);
    usleep(100 * 1000);                /* the thread is now waiting to write "old" */
    pthread_t t;
    pthread_create(&t, NULL, reset_device, NULL);
    usleep(100 * 1000);
    assert_int_equal(used_idx(), 0);
    empty_stdout(filled);              /* room: "old" is written, then the reset completes */
    pthread_join(t, NULL);
    expect_output("old");
    assert_int_equal(used_idx(), 0);   /* never completed into rings the driver took back */
    bring_up();
    send("new", BY_EVENTFD);
    expect_output("new");
    wait_used(1);
}

/* The run ends while the thread waits for room on stdout: destroying the device lets go of
 * the write and stops the thread at once. */
static void test_stop_while_busy(void **state)
{
    (void)state;
    bring_up();
    start();
    fill_stdout();
    send("never read", BY_EVENTFD);
    usleep(100 * 1000);
    double t0 = now_s();
    virtio_console_let_go(con);
    virtio_console_destroy(con);
    con = NULL;
    assert_true(now_s() - t0 < 0.5);
}

/* The guest powers off right after queueing output its notification has not got written yet
 * (the thread is slow, or, here, not started): the power-off writes it before the run ends. */
static void test_power_off_flushes(void **state)
{
    (void)state;
    bring_up();
    send("last words\n", BY_EVENTFD);   /* signalled, but nobody serves it yet */
    assert_int_equal(used_idx(), 0);
    uint32_t args[2] = {0xffffffffu, 0xffffffffu};
    assert_int_equal(rtas("power-off", 2, 1, args), 0);
    assert_int_equal(used_idx(), 1);
    assert_int_equal(fake.shutdown_calls, 1);
    expect_output("last words\n");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_con, teardown_con)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_eventfd_output_reaches_console), T(test_mmio_notify_reaches_console),
        T(test_mmio_notify_without_thread), T(test_full_stdout_holds_no_vcpu),
        T(test_reset_while_draining), T(test_stop_while_busy), T(test_power_off_flushes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
