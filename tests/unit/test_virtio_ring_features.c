/* The ring features through the virtio-pci transport, on a virtio console: both offered, and
 * each honoured only when the driver accepted it with FEATURES_OK. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "../../devices/pci.h"
#include "../../devices/virtio_console.h"
#include "../../devices/virtio_pci.h"
#include "fake_machine.h"
#include "virtio_driver.h"

#define TXQ_DESC 0x10000u
#define TXQ_AVAIL 0x10400u
#define TXQ_USED 0x10800u
#define QS 8
#define TABLE 0x20000u
#define DATA 0x30000u
#define IRQ (PCI_IRQ_BASE + 0)
#define VERSION_1 (1ull << 32)
#define INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)

static struct pci_host host;
static struct virtio_console *con;
static int out[2];
static uint64_t bar;
static uint16_t avail_idx;

static void wr(uint64_t off, uint32_t len, uint64_t v) { mmio_wr(bar + off, len, v); }
static uint64_t rd(uint64_t off, uint32_t len) { return mmio_rd(bar + off, len); }

static int setup_con(void **state)
{
    /* Console output is written before the notify returns: a missing write fails at once. */
    if (setup_with_bridge(state, &host, RAM) || pipe2(out, O_NONBLOCK))
        return -1;
    struct mvm_err e = {0};
    if (virtio_console_create(&con, &m, out[1], &e))
        return -1;
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

/* The bring-up with `features`, the transmit queue (1) set up, DRIVER_OK. */
static void bring_up(uint64_t features)
{
    wr(0x14, 1, 0), wr(0x14, 1, 3);
    wr(0x08, 4, 0), wr(0x0c, 4, (uint32_t)features), wr(0x08, 4, 1), wr(0x0c, 4, features >> 32);
    wr(0x14, 1, 0xb);
    assert_int_equal(rd(0x14, 1), 0xb);
    wr(0x16, 2, 1), wr(0x18, 2, QS);
    wr(0x20, 4, TXQ_DESC), wr(0x28, 4, TXQ_AVAIL), wr(0x30, 4, TXQ_USED);
    wr(0x1c, 2, 1);
    wr(0x14, 1, 0xf);
}

static void desc_at(uint64_t d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    put(d, 8, addr), put(d + 8, 4, len), put(d + 12, 2, flags), put(d + 14, 2, next);
}

/* Sends "hello world" as descriptor 0 pointing at a table of two readable entries. */
static void send_indirect(void)
{
    memcpy(m.mem.host + DATA, "hello world", 11);
    desc_at(TABLE, DATA, 5, VRING_DESC_F_NEXT, 1), desc_at(TABLE + 16, DATA + 5, 6, 0, 0);
    desc_at(TXQ_DESC, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
    put(TXQ_AVAIL + 4 + 2 * (avail_idx % QS), 2, 0);
    put(TXQ_AVAIL + 2, 2, ++avail_idx);
    wr(0x300 + 4, 2, 1);
}

static void test_offered(void **state)
{
    (void)state;
    wr(0x00, 4, 0);
    assert_int_equal(rd(0x04, 4) & (INDIRECT | EVENT_IDX), INDIRECT | EVENT_IDX);
}

static void test_indirect_negotiated(void **state)
{
    (void)state;
    bring_up(VERSION_1 | INDIRECT);
    send_indirect();
    char got[16] = {0};
    assert_int_equal(read(out[0], got, sizeof(got)), 11);
    assert_string_equal(got, "hello world");
    assert_int_equal(get(TXQ_USED + 2, 2), 1);
    assert_int_equal(rd(0x14, 1) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

/* Declined (or never negotiated: features without FEATURES_OK count for nothing): the
 * INDIRECT flag is a broken ring. */
static void test_indirect_declined(void **state)
{
    (void)state;
    bring_up(VERSION_1 | EVENT_IDX);
    send_indirect();
    assert_int_equal(rd(0x14, 1) & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_int_equal(get(TXQ_USED + 2, 2), 0);
}

/* EVENT_IDX: the interrupt follows used_event (flags ignored), avail_event is written. */
static void test_event_idx_negotiated(void **state)
{
    (void)state;
    bring_up(VERSION_1 | INDIRECT | EVENT_IDX);
    put(TXQ_AVAIL, 2, VRING_AVAIL_F_NO_INTERRUPT);
    put(TXQ_AVAIL + 4 + 2 * QS, 2, 0);                     /* used_event: the first buffer */
    send_indirect();
    assert_int_equal(get(TXQ_USED + 2, 2), 1);
    assert_int_equal(get(TXQ_USED + 4 + 8 * QS, 2), 1);    /* avail_event: "the next one" */
    assert_int_equal(fake.irq_level[IRQ], 1);
    assert_int_equal(rd(0x100, 1), VIRTIO_ISR_QUEUE);      /* acknowledged */
    send_indirect();                                       /* used_event 0 again: no interrupt */
    assert_int_equal(get(TXQ_USED + 2, 2), 2);
    assert_int_equal(fake.irq_level[IRQ], 0);
    assert_int_equal(get(TXQ_USED + 4 + 8 * QS, 2), 2);
}

/* Without EVENT_IDX the flags decide and the event fields stay as the driver left them. */
static void test_event_idx_declined(void **state)
{
    (void)state;
    put(TXQ_USED + 4 + 8 * QS, 2, 0x5555);
    bring_up(VERSION_1 | INDIRECT);
    put(TXQ_AVAIL + 4 + 2 * QS, 2, 7);                     /* used_event: means nothing */
    send_indirect();
    assert_int_equal(fake.irq_level[IRQ], 1);
    assert_int_equal(rd(0x100, 1), VIRTIO_ISR_QUEUE);
    put(TXQ_AVAIL, 2, VRING_AVAIL_F_NO_INTERRUPT);
    send_indirect();
    assert_int_equal(get(TXQ_USED + 2, 2), 2);
    assert_int_equal(fake.irq_level[IRQ], 0);
    assert_int_equal(get(TXQ_USED + 4 + 8 * QS, 2), 0x5555);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_con, teardown_con)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_offered), T(test_indirect_negotiated), T(test_indirect_declined),
        T(test_event_idx_negotiated), T(test_event_idx_declined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
