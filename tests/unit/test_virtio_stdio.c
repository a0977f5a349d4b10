/* The command's stdio device (devices/virtio_stdio.c) without KVM: the test is the guest's
 * multiport virtio console driver, through the PCI BAR and the queues in fake guest memory;
 * the host side is pipes. And the status line's meaning (devices/stdio_status.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>

#include "../../devices/device.h"
#include "../../devices/pci.h"
#include "../../devices/stdio_status.h"
#include "../../devices/virtio_pci.h"
#include "fake_machine.h"
#include "papr_calls.h"
#include "virtio_driver.h"

#define BIG_RAM (1u << 20)
#define NQ 12
#define QS 8
#define RINGS 0x10000u          /* queue q's rings at RINGS + q * 0x1000 */
#define BUFS 0x40000u           /* queue q's buffers at BUFS + q * 0x8000, 4 KiB each */
#define MULTIPORT (1ull << VIRTIO_CONSOLE_F_MULTIPORT)
enum { CONSOLE, STDIN, STDOUT, STDERR, STATUS };

extern const struct device_kind virtio_stdio_kind;

static struct pci_host host;
static void *dev;
static int in_pipe[2], out_pipe2[2], err_pipe[2];
static uint16_t avail_idx[NQ], used_seen[NQ];

static uint64_t bar(void)
{
    return PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
}

static uint64_t rd(uint64_t off, uint32_t len)
{
    return mmio_rd(bar() + off, len);
}

static void wr(uint64_t off, uint32_t len, uint64_t v)
{
    mmio_wr(bar() + off, len, v);
}

static uint16_t rxq(unsigned port) { return (uint16_t)(port ? 2 * port + 2 : 0); }
static uint16_t txq(unsigned port) { return (uint16_t)(rxq(port) + 1); }
static uint32_t desc(uint16_t q) { return RINGS + q * 0x1000u; }
static uint32_t avail(uint16_t q) { return desc(q) + 0x400; }
static uint32_t used(uint16_t q) { return desc(q) + 0x800; }

/* The driver negotiated VIRTIO_RING_F_EVENT_IDX: it notifies only when avail_event asks. */
static bool event_idx;
/* How a notification reaches the device: an MMIO exit (the notify register), the queue's
 * eventfd as KVM signals it (ioeventfd), or not yet (its thread has not got to it). */
static enum { BY_MMIO, BY_EVENTFD, NOT_YET } notify_by;

static void notify(uint16_t q)
{
    struct virtio_dev *v = virtio_stdio_kind.virtio(dev);
    uint64_t one = 1;
    if (notify_by == BY_MMIO) {
        wr(0x300 + 4 * q, 2, q);
    } else if (notify_by == BY_EVENTFD) {
        assert_non_null(v->ops->queue_eventfd);
        assert_int_equal(write(v->ops->queue_eventfd(v, q), &one, sizeof(one)), sizeof(one));
    }
}

/* Posts one buffer of len bytes on queue q (writable for the device, or holding data), and
 * notifies as the driver must: always, or when avail_event names it (vring_need_event). */
static uint32_t post(uint16_t q, const void *data, uint32_t len, bool writable)
{
    uint16_t slot = avail_idx[q] % QS;
    uint32_t buf = BUFS + q * 0x8000u + slot * 0x1000u;
    if (data)
        memcpy(m.mem.host + buf, data, len);
    put(desc(q) + 16 * slot, 8, buf), put(desc(q) + 16 * slot + 8, 4, len);
    put(desc(q) + 16 * slot + 12, 2, writable ? 2 : 0);
    put(avail(q) + 4 + 2 * slot, 2, slot);
    __atomic_store_n((uint16_t *)(m.mem.host + avail(q) + 2), ++avail_idx[q], __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t event = __atomic_load_n((uint16_t *)(m.mem.host + used(q) + 4 + 8 * QS),
                                     __ATOMIC_RELAXED);
    if (!event_idx || (uint16_t)(avail_idx[q] - event - 1) < 1)
        notify(q);
    return buf;
}

static uint16_t used_idx(uint16_t q)
{
    return __atomic_load_n((uint16_t *)(m.mem.host + used(q) + 2), __ATOMIC_ACQUIRE);
}

/* The next control message the device sent: its event, value, id and text (if any). */
static bool next_ctrl(uint32_t *id, uint16_t *event, uint16_t *value, char *text)
{
    const uint16_t q = 2;
    if (used_idx(q) == used_seen[q])
        return false;
    uint32_t e = used(q) + 4 + 8 * (used_seen[q]++ % QS);
    uint32_t slot = (uint32_t)get(e, 4), len = (uint32_t)get(e + 4, 4);
    uint32_t buf = BUFS + q * 0x8000u + slot * 0x1000u;
    *id = (uint32_t)get(buf, 4), *event = (uint16_t)get(buf + 4, 2);
    *value = (uint16_t)get(buf + 6, 2);
    memcpy(text, m.mem.host + buf + 8, len - 8);
    text[len - 8] = '\0';
    post(q, NULL, 4096, true);   /* the driver gives the buffer back */
    return true;
}

/* Waits (up to 2 s) for the device's I/O thread to have used n buffers of queue q. */
static void wait_used(uint16_t q, uint16_t n)
{
    for (int i = 0; i < 2000 && used_idx(q) != n; i++)
        usleep(1000);
    assert_int_equal(used_idx(q), n);
}

/* Waits (up to 2 s) for the next control message. */
static void wait_ctrl(uint32_t *id, uint16_t *event, uint16_t *value, char *text)
{
    for (int i = 0; i < 2000; i++, usleep(1000))
        if (next_ctrl(id, event, value, text))
            return;
    fail_msg("no control message came");
}

/* Sends a control message and waits for the device to have acted on it: once started, its
 * queue thread serves notifications, not the notifying thread. Its answers are then in the
 * control receive queue (they are queued under the transport's lock, with the message given
 * back: taking that lock once after it is given back waits them out). */
static void send_ctrl(uint32_t id, uint16_t event, uint16_t value)
{
    uint8_t msg[8];
    le_put(msg, 4, id), le_put(msg + 4, 2, event), le_put(msg + 6, 2, value);
    post(3, msg, sizeof(msg), false);
    wait_used(3, avail_idx[3]);
    struct virtio_dev *v = virtio_stdio_kind.virtio(dev);
    pthread_mutex_lock(&v->lock);
    pthread_mutex_unlock(&v->lock);
}

static const char *spec_extra = "";   /* ",tty": the console port takes the console's input */

static int setup_stdio(void **state)
{
    if (setup_with_bridge(state, &host, BIG_RAM))
        return -1;
    memset(avail_idx, 0, sizeof(avail_idx)), memset(used_seen, 0, sizeof(used_seen));
    event_idx = false;
    notify_by = BY_MMIO;
    m.virtio_port = NULL;
    fake.command_calls = 0;
    if (pipe(in_pipe) || pipe(out_pipe2) || pipe(err_pipe))
        return -1;
    char spec[64];
    snprintf(spec, sizeof(spec), "in=%d,out=%d,err=%d%s", in_pipe[0], out_pipe2[1], err_pipe[1],
             spec_extra);
    struct mvm_err e = {0};
    dev = virtio_stdio_kind.create(&m, spec, false, &e);
    fake_flush = virtio_stdio_kind.flush, fake_flush_dev = dev;   /* the board's, at power-off */
    return dev ? 0 : -1;
}

static int teardown_stdio(void **state)
{
    virtio_stdio_kind.destroy(dev);
    for (int i = 0; i < 2; i++)
        close(in_pipe[i]), close(out_pipe2[i]), close(err_pipe[i]);
    return teardown(state);
}

/* The driver's bring-up: MULTIPORT negotiated, every queue, its control buffers posted,
 * DEVICE_READY; the device then adds each of its five ports. */
static void bring_up(void)
{
    assert_true(pci_config_write(&host, 0, 0, 4, 2, 2));
    wr(0x14, 1, 0), wr(0x14, 1, 3);
    wr(0x00, 4, 0);
    assert_true(rd(0x04, 4) & MULTIPORT);
    uint32_t ring = event_idx ? 1u << VIRTIO_RING_F_EVENT_IDX : 0;
    wr(0x08, 4, 0), wr(0x0c, 4, MULTIPORT | ring), wr(0x08, 4, 1), wr(0x0c, 4, 1);
    wr(0x14, 1, 0xb);
    assert_int_equal(rd(0x12, 2), NQ);
    assert_int_equal(rd(0x200 + 4, 4), 5);                     /* max_nr_ports */
    for (uint16_t q = 0; q < NQ; q++) {
        wr(0x16, 2, q), wr(0x18, 2, QS);
        wr(0x20, 4, desc(q)), wr(0x28, 4, avail(q)), wr(0x30, 4, used(q));
        wr(0x1c, 2, 1);
    }
    wr(0x14, 1, 0xf);
    for (int i = 0; i < 4; i++)
        post(2, NULL, 4096, true);
    send_ctrl(VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
    uint32_t id;
    uint16_t ev, val;
    char text[64];
    for (uint32_t p = 0; p < 5; p++) {
        wait_ctrl(&id, &ev, &val, text);   /* the fifth waits for a buffer given back */
        assert_int_equal(ev, VIRTIO_CONSOLE_PORT_ADD);
        assert_int_equal(id, p);
    }
    assert_false(next_ctrl(&id, &ev, &val, text));
}

/* PORT_READY for `port`: the device names it and opens it from its side. */
static void ready(uint32_t port, const char *name)
{
    uint32_t id;
    uint16_t ev, val;
    char text[64];
    send_ctrl(port, VIRTIO_CONSOLE_PORT_READY, 1);
    wait_ctrl(&id, &ev, &val, text);
    assert_int_equal(id, port);
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_NAME);
    assert_string_equal(text, name);
    wait_ctrl(&id, &ev, &val, text);
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_OPEN);
    assert_int_equal(val, 1);
}

static void test_stdout_binary_and_status(void **state)
{
    (void)state;
    bring_up();
    ready(STDOUT, "minivmm.stdout");
    ready(STDERR, "minivmm.stderr");
    ready(STATUS, "minivmm.status");
    static const char bytes[] = "bin\0ary\r\n\x01\xff";
    post(txq(STDOUT), bytes, sizeof(bytes), false);
    post(txq(STDERR), "oops", 4, false);
    char got[64];
    assert_int_equal(read(out_pipe2[0], got, sizeof(got)), sizeof(bytes));   /* every byte */
    assert_memory_equal(got, bytes, sizeof(bytes));
    assert_int_equal(read(err_pipe[0], got, sizeof(got)), 4);                /* kept apart */
    assert_int_equal(used_idx(txq(STDOUT)), 1);
    post(txq(STATUS), "exi", 3, false);                    /* a line arrives in pieces */
    assert_int_equal(fake.command_calls, 0);
    post(txq(STATUS), "t 7\nexit 9\n", 11, false);         /* only the first line counts */
    assert_int_equal(fake.command_calls, 1);
    assert_int_equal(fake.command_status, 7);
    assert_string_equal(fake.command_why, "");
}

/* Linux drops what arrives on a port no guest program has open: stdin waits for the open,
 * flows as the guest posts buffers, and its end closes the port from the host's side. */
static void test_stdin_waits_for_the_guest_then_ends(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    bring_up();
    assert_int_equal(virtio_stdio_kind.start(dev, &e), 0);
    ready(STDIN, "minivmm.stdin");
    uint32_t buf = post(rxq(STDIN), NULL, 4096, true);
    assert_int_equal(write(in_pipe[1], "abc", 3), 3);
    usleep(50000);
    assert_int_equal(used_idx(rxq(STDIN)), 0);             /* not open in the guest yet */
    send_ctrl(STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
    wait_used(rxq(STDIN), 1);
    assert_int_equal(get(used(rxq(STDIN)) + 8, 4), 3);
    assert_memory_equal(m.mem.host + buf, "abc", 3);
    post(rxq(STDIN), NULL, 4096, true);                    /* the driver's next buffer */
    close(in_pipe[1]);
    in_pipe[1] = -1;
    uint32_t id = 0;
    uint16_t ev = 0, val = 1;
    char text[64];
    wait_ctrl(&id, &ev, &val, text);
    assert_int_equal(id, STDIN);
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_OPEN);
    assert_int_equal(val, 0);                              /* end-of-file for the guest */
}

/* stdin is read ahead by one buffer at most: the next is filled only once the guest has used
 * the last one up and given it back, as a pipe holds what its reader has not taken yet. */
static void test_stdin_one_buffer_ahead(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    bring_up();
    assert_int_equal(virtio_stdio_kind.start(dev, &e), 0);
    ready(STDIN, "minivmm.stdin");
    post(rxq(STDIN), NULL, 4096, true);
    uint32_t second = post(rxq(STDIN), NULL, 4096, true);
    send_ctrl(STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
    assert_int_equal(write(in_pipe[1], "abc", 3), 3);
    wait_used(rxq(STDIN), 1);
    assert_int_equal(write(in_pipe[1], "def", 3), 3);
    usleep(50000);
    assert_int_equal(used_idx(rxq(STDIN)), 1);             /* "abc" not read in the guest yet */
    post(rxq(STDIN), NULL, 4096, true);                    /* it was: the buffer comes back */
    wait_used(rxq(STDIN), 2);
    assert_memory_equal(m.mem.host + second, "def", 3);
}

/* The same with a driver that notifies only when asked (EVENT_IDX): the feeder, which waits
 * for its buffer to come back without finding the ring empty, must ask. */
static void test_stdin_one_buffer_ahead_event_idx(void **state)
{
    event_idx = true;
    test_stdin_one_buffer_ahead(state);
}

/* A reader of stdout that goes away ends the command as SIGPIPE would on the host (status
 * 141), and the run with it; output the console port gets in command mode goes nowhere. */
static void test_stdout_reader_gone(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);   /* as minivmm's main() does */
    bring_up();
    ready(STDOUT, "minivmm.stdout");
    post(txq(CONSOLE), "not the command's", 17, false);
    close(out_pipe2[0]);
    out_pipe2[0] = -1;
    int before = fake.shutdown_calls;
    post(txq(STDOUT), "lost", 4, false);
    assert_int_equal(fake.command_calls, 1);
    assert_int_equal(fake.command_status, 128 + SIGPIPE);
    assert_int_equal(fake.shutdown_calls, before + 1);
    assert_int_equal(fake.status, MVM_OK);
}

/* The end of stdin survives a reset of the device (a driver probing again): the port is
 * added again but never reopened, so the guest reads end-of-file, not a wait for ever. */
static void test_stdin_end_survives_reset(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    close(in_pipe[1]);
    in_pipe[1] = -1;
    bring_up();
    assert_int_equal(virtio_stdio_kind.start(dev, &e), 0);
    ready(STDIN, "minivmm.stdin");
    post(rxq(STDIN), NULL, 4096, true);
    send_ctrl(STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1);
    uint32_t id = 0;
    uint16_t ev = 0, val = 1;
    char text[64];
    wait_ctrl(&id, &ev, &val, text);
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_OPEN);
    assert_int_equal(val, 0);
    /* As a driver does, reset the device before it reuses the rings' memory: the feeder may
     * have read the rings a moment ago, and only the reset (under the device's lock) orders
     * that read before the memset below. */
    wr(0x14, 1, 0);
    memset(avail_idx, 0, sizeof(avail_idx)), memset(used_seen, 0, sizeof(used_seen));
    event_idx = false;
    memset(m.mem.host + RINGS, 0, BUFS - RINGS);
    bring_up();                                            /* resets, then again */
    send_ctrl(STDIN, VIRTIO_CONSOLE_PORT_READY, 1);
    assert_true(next_ctrl(&id, &ev, &val, text));
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_NAME);
    assert_false(next_ctrl(&id, &ev, &val, text));         /* no PORT_OPEN 1 */
}

/* A driver's nonsense: ports that do not exist, short messages, a console port it never
 * readied; nothing is answered, nothing breaks, the real ports still work. */
static void test_hostile_driver(void **state)
{
    (void)state;
    bring_up();
    send_ctrl(1000, VIRTIO_CONSOLE_PORT_READY, 1);
    send_ctrl(5, VIRTIO_CONSOLE_PORT_OPEN, 1);
    send_ctrl(0, 77, 1);
    post(3, "\x01\x02", 2, false);                         /* shorter than a message */
    uint32_t id;
    uint16_t ev, val;
    char text[64];
    assert_false(next_ctrl(&id, &ev, &val, text));
    assert_int_equal(used_idx(3), 5);                       /* each returned */
    post(txq(STATUS), "garbage\n", 8, false);
    assert_int_equal(fake.command_status, STDIO_NOT_RUN);
    assert_non_null(strstr(fake.command_why, "\"garbage\""));
    ready(STDOUT, "minivmm.stdout");
}

/* Reads n bytes from fd, waiting 2 s at most for each piece. */
static void read_within(int fd, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

/* With the queue thread running, output signalled as KVM does (ioeventfd, no MMIO exit) is
 * written, in order; and a status line the thread has not got to yet when the guest powers
 * off is taken then, or the run would end as if the command never reported. */
static void test_eventfd_output_and_power_off(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    bring_up();
    assert_int_equal(virtio_stdio_kind.start(dev, &e), 0);
    ready(STDOUT, "minivmm.stdout");
    ready(STATUS, "minivmm.status");
    notify_by = BY_EVENTFD;
    post(txq(STDOUT), "by ", 3, false);
    post(txq(STDOUT), "ioeventfd", 9, false);
    char got[16] = {0};
    read_within(out_pipe2[0], got, 12);
    assert_string_equal(got, "by ioeventfd");
    notify_by = NOT_YET;
    post(txq(STDOUT), "last", 4, false);
    post(txq(STATUS), "exit 3\n", 7, false);
    assert_int_equal(fake.command_calls, 0);
    uint32_t args[2] = {0xffffffffu, 0xffffffffu};
    assert_int_equal(rtas("power-off", 2, 1, args), 0);
    assert_int_equal(fake.command_calls, 1);               /* before the run ended */
    assert_int_equal(fake.command_status, 3);
    assert_int_equal(fake.shutdown_calls, 1);
    memset(got, 0, sizeof(got));
    read_within(out_pipe2[0], got, 4);
    assert_string_equal(got, "last");
}

static int setup_stdio_tty(void **state)
{
    spec_extra = ",tty";
    int r = setup_stdio(state);
    spec_extra = "";
    return r;
}

/* Typed-ahead input waits until the console port is the guest's terminal (Linux drops what
 * arrives on a port before that), then flows; output goes to the console's descriptor. */
static void test_console_input_waits_for_the_terminal(void **state)
{
    (void)state;
    bring_up();
    assert_non_null(m.virtio_port);
    uint32_t id;
    uint16_t ev, val;
    char text[64];
    send_ctrl(CONSOLE, VIRTIO_CONSOLE_PORT_READY, 1);
    assert_true(next_ctrl(&id, &ev, &val, text));
    assert_int_equal(ev, VIRTIO_CONSOLE_CONSOLE_PORT);
    assert_true(next_ctrl(&id, &ev, &val, text));
    assert_int_equal(ev, VIRTIO_CONSOLE_PORT_OPEN);
    uint32_t buf = post(rxq(CONSOLE), NULL, 4096, true);
    vty_push_input(m.virtio_port, (const uint8_t *)"ls\n", 3);
    m.virtio_port->input_pushed(m.virtio_port);
    assert_int_equal(used_idx(rxq(CONSOLE)), 0);           /* not a terminal yet */
    send_ctrl(CONSOLE, VIRTIO_CONSOLE_PORT_OPEN, 1);       /* init_port_console() */
    assert_int_equal(used_idx(rxq(CONSOLE)), 1);
    assert_memory_equal(m.mem.host + buf, "ls\n", 3);
    post(txq(CONSOLE), "$ ", 2, false);
    char got[8];
    assert_int_equal(read(out_pipe2[0], got, sizeof(got)), 2);
}

static void test_status_lines(void **state)
{
    (void)state;
    static const struct { const char *line; int status; const char *why; } cases[] = {
        {"exit 0", 0, ""}, {"exit 255", 255, ""}, {"signal 9", 137, ""},
        {"signal 15", 143, ""}, {"error 127 frob: command not found", 127,
                                 "frob: command not found"},
        {"error 126 /etc: not executable", 126, "/etc: not executable"},
        {"error 125 no 9p", 125, "no 9p"}, {"error 3 odd", 125, "odd"},
        {"exit 256", 125, NULL}, {"exit -1", 125, NULL}, {"exit 7x", 125, NULL},
        {"exit", 125, NULL}, {"signal 0", 125, NULL}, {"error 127", 125, NULL},
        {"exit 0001", 125, NULL}, {"", 125, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = -1;
        char why[128];
        stdio_status_parse(cases[i].line, &status, why, sizeof(why));
        assert_int_equal(status, cases[i].status);
        if (cases[i].why)
            assert_string_equal(why, cases[i].why);
        else
            assert_non_null(strstr(why, "does not understand"));
    }
}

static void test_specs(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    assert_int_equal(virtio_stdio_kind.check("in=0,out=1,err=2,tty", &e), 0);
    assert_int_equal(virtio_stdio_kind.check("in=-1", &e), 0);
    static const char *const bad[] = {"in=", "in=x", "out=-2", "tty,foo", "err=1,", "in=0x1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(virtio_stdio_kind.check(bad[i], &e), -1);
        assert_int_equal(e.status, MVM_E_INPUT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stdout_binary_and_status, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test_setup_teardown(test_stdin_waits_for_the_guest_then_ends, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test_setup_teardown(test_hostile_driver, setup_stdio, teardown_stdio),
        cmocka_unit_test_setup_teardown(test_stdout_reader_gone, setup_stdio, teardown_stdio),
        cmocka_unit_test_setup_teardown(test_stdin_one_buffer_ahead, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test_setup_teardown(test_stdin_one_buffer_ahead_event_idx, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test_setup_teardown(test_stdin_end_survives_reset, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test_setup_teardown(test_console_input_waits_for_the_terminal,
                                        setup_stdio_tty, teardown_stdio),
        cmocka_unit_test_setup_teardown(test_eventfd_output_and_power_off, setup_stdio,
                                        teardown_stdio),
        cmocka_unit_test(test_status_lines),
        cmocka_unit_test(test_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
