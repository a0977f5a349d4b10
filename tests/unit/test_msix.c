/* MSI-X on a virtio function (a console: two queues, three vectors) as pseries Linux drives
 * it: the capability, the firmware's calls (ibm,change-msi, ibm,query-interrupt-source-number)
 * that fill the table, vectors chosen in the common configuration, messages per queue, masking
 * and pending bits, and what a driver that writes nonsense gets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "../../devices/msix.h"
#include "../../devices/pci.h"
#include "../../devices/virtio_console.h"
#include "../../devices/virtio_pci.h"
#include "fake_machine.h"
#include "papr_calls.h"
#include "virtio_driver.h"

#define TXQ_DESC 0x10000u
#define TXQ_AVAIL 0x10400u
#define TXQ_USED 0x10800u
#define QS 8
#define DATA 0x30000u
#define NVEC 3                       /* receive, transmit, configuration */
#define FIRST (PCI_MSI_BASE + 0)     /* slot 0's first source */
#define HI ((uint32_t)(PHB_BUID >> 32))
#define LO ((uint32_t)PHB_BUID)
#define TABLE 0x800                  /* in BAR 0, as virtio_pci.c places it */
#define PBA 0xc00
#define NO_VECTOR 0xffff

static struct pci_host host;
static struct virtio_console *con;
static int out[2];
static uint64_t bar;
static uint16_t avail_idx;
static uint8_t cap;                  /* config offset of the MSI-X capability */

static void wr(uint64_t off, uint32_t len, uint64_t v) { mmio_wr(bar + off, len, v); }
static uint64_t rd(uint64_t off, uint32_t len) { return mmio_rd(bar + off, len); }

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
    uint32_t v;
    assert_true(pci_config_read(&host, 0, 0, off, len, &v));
    return v;
}

static void cfg_wr(uint32_t off, uint32_t len, uint32_t v)
{
    assert_true(pci_config_write(&host, 0, 0, off, len, v));
}

static int setup_msix(void **state)
{
    if (setup_with_bridge(state, &host, RAM) || pipe2(out, O_NONBLOCK))
        return -1;
    struct mvm_err e = {0};
    if (pci_register_rtas(&m) || virtio_console_create(&con, &m, out[1], &e))
        return -1;
    bar = PHB_MEM_CPU + (host.dev[0]->bar_bus - PHB_MEM_BUS);
    avail_idx = 0;
    memset(fake.msi_count, 0, sizeof(fake.msi_count));
    fake.msi_calls = fake.irq_calls = 0;
    m.msi_sent = m.msi_dropped = m.intx_raised = 0;
    cap = 0;
    for (uint8_t p = (uint8_t)cfg_rd(0x34, 1); p; p = (uint8_t)cfg_rd(p + 1u, 1))
        if (cfg_rd(p, 1) == 0x11)
            cap = p;
    cfg_wr(4, 2, 2);   /* memory decoding on */
    return cap ? 0 : -1;
}

static int teardown_msix(void **state)
{
    virtio_console_destroy(con);
    close(out[0]), close(out[1]);
    return teardown(state);
}

/* ibm,change-msi for the console's function; returns the status, *n the vectors given. */
static int32_t change_msi(uint32_t fn, uint32_t n, uint32_t *given)
{
    int32_t r = rtas("ibm,change-msi", 6, 4, (uint32_t[]){0, HI, LO, fn, n, 1});
    if (given)
        *given = rtas_ret(BUF, 1);
    if (r == 0) {
        assert_int_equal(rtas_ret(BUF, 2), 2);   /* the sequence number moves on */
        assert_int_equal(rtas_ret(BUF, 3), 2);   /* MSI-X */
    }
    return r;
}

static int64_t query(uint32_t vec)
{
    int32_t r = rtas("ibm,query-interrupt-source-number", 4, 3, (uint32_t[]){0, HI, LO, vec});
    if (r)
        return r;
    assert_int_equal(rtas_ret(BUF, 2), 1);   /* an edge */
    return rtas_ret(BUF, 1);
}

/* What Linux does: the function enabled and masked, vectors from the firmware, entries
 * unmasked, the function unmasked; then the device brought up with the transmit queue on
 * vector 1 and the configuration on vector 2. */
static void bring_up_msix(void)
{
    cfg_wr(4, 2, 6);                                  /* memory decoding, bus master */
    cfg_wr(cap + 2u, 2, 0xc000);
    uint32_t n;
    assert_int_equal(change_msi(4, NVEC, &n), 0);
    assert_int_equal(n, NVEC);
    for (unsigned i = 0; i < NVEC; i++)
        wr(TABLE + 16 * i + 12, 4, 0);
    cfg_wr(cap + 2u, 2, 0x8000);
    wr(0x14, 1, 0), wr(0x14, 1, 3);
    wr(0x08, 4, 1), wr(0x0c, 4, 1);   /* VERSION_1 */
    wr(0x14, 1, 0xb);
    wr(0x10, 2, 2);
    assert_int_equal(rd(0x10, 2), 2);
    wr(0x16, 2, 1), wr(0x18, 2, QS);
    wr(0x1a, 2, 1);
    assert_int_equal(rd(0x1a, 2), 1);
    wr(0x20, 4, TXQ_DESC), wr(0x28, 4, TXQ_AVAIL), wr(0x30, 4, TXQ_USED);
    wr(0x1c, 2, 1);
    wr(0x14, 1, 0xf);
}

/* One buffer of output on the transmit queue, notified the MMIO way (drained at once). */
static void send(const char *s)
{
    uint16_t d = avail_idx % QS;
    memcpy(m.mem.host + DATA, s, strlen(s));
    put(TXQ_DESC + 16u * d, 8, DATA), put(TXQ_DESC + 16u * d + 8, 4, strlen(s));
    put(TXQ_DESC + 16u * d + 12, 2, 0);
    put(TXQ_AVAIL + 4 + 2u * d, 2, d);
    put(TXQ_AVAIL + 2, 2, ++avail_idx);
    wr(0x300 + 4, 2, 1);
    char got[64];
    assert_int_equal(read(out[0], got, sizeof(got)), (ssize_t)strlen(s));
}

static void test_capability(void **state)
{
    (void)state;
    assert_int_equal(cfg_rd(cap + 2u, 2), NVEC - 1);        /* table size - 1, off, unmasked */
    assert_int_equal(cfg_rd(cap + 4u, 4), TABLE);           /* BIR 0 */
    assert_int_equal(cfg_rd(cap + 8u, 4), PBA);
    cfg_wr(cap + 2u, 2, 0xffff);                            /* only enable and mask stick */
    assert_int_equal(cfg_rd(cap + 2u, 2), 0xc000 | (NVEC - 1));
    cfg_wr(cap + 4u, 4, 0x1234);                            /* the rest is read-only */
    assert_int_equal(cfg_rd(cap + 4u, 4), TABLE);
    for (unsigned i = 0; i < NVEC; i++)                      /* masked after reset */
        assert_int_equal(rd(TABLE + 16 * i + 12, 4), 1);
    assert_int_equal(host.dev[0]->msix->nvec, NVEC);
}

static void test_firmware_fills_table(void **state)
{
    (void)state;
    uint32_t n;
    assert_int_equal(change_msi(4, 4, &n), 0);   /* Linux rounds up to a power of two */
    assert_int_equal(n, NVEC);
    for (unsigned i = 0; i < NVEC; i++) {
        assert_int_equal(query(i), FIRST + i);
        assert_int_equal(rd(TABLE + 16 * i, 8), MSIX_MSG_ADDR);
        assert_int_equal(rd(TABLE + 16 * i + 8, 4), FIRST + i);
    }
    assert_int_equal(query(NVEC), RTAS_PARAM_ERROR);
    assert_int_equal(change_msi(4, 1, &n), 0);   /* fewer: the rest are taken back */
    assert_int_equal(n, 1);
    assert_int_equal(query(1), RTAS_PARAM_ERROR);
    assert_int_equal(rd(TABLE + 16 + 8, 4), 0);
    assert_int_equal(change_msi(3, 0, &n), 0);   /* Linux disables with the MSI function */
    assert_int_equal(n, 0);
    assert_int_equal(query(0), RTAS_PARAM_ERROR);
    assert_int_equal(change_msi(3, 2, NULL), RTAS_PARAM_ERROR);   /* no MSI capability */
    assert_int_equal(change_msi(0, 2, NULL), RTAS_PARAM_ERROR);   /* query: not ours */
    /* Another PHB, or a slot with nothing in it. */
    assert_int_equal(rtas("ibm,change-msi", 6, 3, (uint32_t[]){0, HI, LO + 1, 4, 1, 1}),
                     RTAS_PARAM_ERROR);
    assert_int_equal(rtas("ibm,change-msi", 6, 3, (uint32_t[]){1u << 11, HI, LO, 4, 1, 1}),
                     RTAS_PARAM_ERROR);
}

static void test_queue_vector_message(void **state)
{
    (void)state;
    bring_up_msix();
    send("hello");
    assert_int_equal(fake.msi_count[FIRST + 1], 1);   /* the transmit queue's vector */
    assert_int_equal(fake.msi_calls, 1);
    assert_int_equal(fake.irq_calls, 0);              /* no INTx, no ISR bit */
    assert_int_equal(rd(0x100, 1), 0);
    assert_int_equal(m.msi_sent, 1);
}

static void test_masked_vector_pends(void **state)
{
    (void)state;
    bring_up_msix();
    wr(TABLE + 16 + 12, 4, 1);                        /* mask vector 1 */
    send("a");
    assert_int_equal(fake.msi_calls, 0);
    assert_int_equal(rd(PBA, 8), 1u << 1);
    wr(TABLE + 16 + 12, 4, 0);                        /* unmask: it goes now, once */
    assert_int_equal(fake.msi_count[FIRST + 1], 1);
    assert_int_equal(rd(PBA, 8), 0);
    cfg_wr(cap + 2u, 2, 0xc000);                      /* the function mask holds them too */
    send("b");
    send("c");
    assert_int_equal(fake.msi_count[FIRST + 1], 1);
    cfg_wr(cap + 2u, 2, 0x8000);
    assert_int_equal(fake.msi_count[FIRST + 1], 2);
}

static void test_bad_vectors_and_messages(void **state)
{
    (void)state;
    bring_up_msix();
    wr(0x16, 2, 1);
    wr(0x1a, 2, NVEC);                                /* beyond the table: refused */
    assert_int_equal(rd(0x1a, 2), NO_VECTOR);
    send("x");                                        /* no vector: nothing at all */
    assert_int_equal(fake.msi_calls + fake.irq_calls, 0);
    wr(0x1a, 2, 1);
    wr(TABLE + 16 + 8, 4, FIRST + 2);                 /* another vector's source */
    send("y");
    wr(TABLE + 16 + 8, 4, 0x10);                      /* an IPI's */
    send("z");
    wr(TABLE + 16, 4, 0x1000);                        /* its address */
    wr(TABLE + 16 + 8, 4, FIRST + 1);
    send("w");
    assert_int_equal(fake.msi_calls, 0);
    assert_int_equal(m.msi_dropped, 3);
    /* Odd sizes and places read as zero and change nothing. */
    assert_int_equal(rd(TABLE + 8, 2), 0);
    wr(TABLE + 8, 1, 0x55);
    wr(TABLE + 2, 4, 0x55);
    assert_int_equal(rd(TABLE + 8, 4), FIRST);
    wr(PBA, 8, ~0ull);                                /* the pending bits are read-only */
    assert_int_equal(rd(PBA, 8), 0);
}

/* With Bus Master Enable clear the function may not write to memory: its messages, pending
 * ones included, are dropped (and counted), and the next after it is set again goes out. */
static void test_bus_master_off(void **state)
{
    (void)state;
    bring_up_msix();
    cfg_wr(4, 2, 2);                                  /* what Linux does to quiesce it */
    send("a");
    assert_int_equal(fake.msi_calls, 0);
    assert_int_equal(m.msi_dropped, 1);
    wr(TABLE + 16 + 12, 4, 1);                        /* masked: pending, then unmasked */
    send("b");
    assert_int_equal(rd(PBA, 8), 1u << 1);
    wr(TABLE + 16 + 12, 4, 0);
    assert_int_equal(fake.msi_calls, 0);
    assert_int_equal(m.msi_dropped, 2);
    assert_int_equal(rd(PBA, 8), 0);
    assert_int_equal(fake.irq_calls, 0);              /* and not INTx instead */
    cfg_wr(4, 2, 6);
    send("c");
    assert_int_equal(fake.msi_count[FIRST + 1], 1);
    assert_int_equal(m.msi_sent, 1);
}

static void test_intx_until_enabled(void **state)
{
    (void)state;
    bring_up_msix();
    cfg_wr(cap + 2u, 2, 0);                           /* the driver went back to INTx */
    send("i");
    assert_int_equal(fake.msi_calls, 0);
    assert_int_equal(fake.irq_level[PCI_IRQ_BASE], 1);
    cfg_wr(cap + 2u, 2, 0x8000);                      /* MSI-X again: the line goes down */
    assert_int_equal(fake.irq_level[PCI_IRQ_BASE], 0);
    assert_int_equal(rd(0x100, 1), 1);                /* the ISR still says why */
}

/* A configuration change goes to the configuration vector, with its ISR bit; back on INTx,
 * that bit raises the line at once, unless the driver disabled INTx. */
static void test_config_vector(void **state)
{
    (void)state;
    bring_up_msix();
    wr(0x16, 2, 0);                                   /* queue 0 on rings beyond RAM: broken */
    wr(0x20, 4, RAM), wr(0x24, 4, 0);
    wr(0x1c, 2, 1);
    assert_int_equal(fake.msi_count[FIRST + 2], 1);
    assert_int_equal(fake.irq_calls, 0);
    cfg_wr(4, 2, 0x402);                              /* INTx disabled, memory on */
    cfg_wr(cap + 2u, 2, 0);
    assert_int_equal(fake.irq_calls, 0);
    cfg_wr(4, 2, 0x002);
    assert_int_equal(fake.irq_level[PCI_IRQ_BASE], 1);
    assert_int_equal(rd(0x100, 1), 2);                /* read: acknowledged, line down */
    assert_int_equal(fake.irq_level[PCI_IRQ_BASE], 0);
}

/* What waits while MSI-X is off waits for it to come back; vectors taken back forget it; a
 * valid-looking message in an entry the firmware did not give goes nowhere. */
static void test_pending_and_taken_back(void **state)
{
    (void)state;
    bring_up_msix();
    wr(TABLE + 16 + 12, 4, 1);
    send("p");
    cfg_wr(cap + 2u, 2, 0);
    wr(TABLE + 16 + 12, 4, 0);                        /* unmasked, but MSI-X is off */
    assert_int_equal(fake.msi_calls, 0);
    cfg_wr(cap + 2u, 2, 0x8000);
    assert_int_equal(fake.msi_count[FIRST + 1], 1);
    wr(TABLE + 16 + 12, 4, 1);
    send("q");
    assert_int_equal(rd(PBA, 8), 1u << 1);
    uint32_t n;
    assert_int_equal(change_msi(4, 1, &n), 0);
    assert_int_equal(rd(PBA, 8), 0);                  /* vector 1 is gone, and what pended */
    wr(TABLE + 16, 8, MSIX_MSG_ADDR), wr(TABLE + 16 + 8, 4, FIRST + 1);
    wr(TABLE + 16 + 12, 4, 0);
    send("r");
    assert_int_equal(fake.msi_count[FIRST + 1], 1);
    assert_int_equal(m.msi_dropped, 1);
}

/* The firmware calls with what a hostile or an old kernel may pass. */
static void test_firmware_edges(void **state)
{
    (void)state;
    uint32_t n;
    assert_int_equal(change_msi(4, 0xffffffff, &n), 0);   /* clamped to the table */
    assert_int_equal(n, NVEC);
    assert_int_equal(query(0xffffffff), RTAS_PARAM_ERROR);
    /* The old interface's count of 0, with three returns: taken back. */
    assert_int_equal(rtas("ibm,change-msi", 6, 3, (uint32_t[]){0, HI, LO, 1, 0, 7}), RTAS_OK);
    assert_int_equal(rtas_ret(BUF, 1), 0);
    assert_int_equal(rtas_ret(BUF, 2), 8);
    assert_int_equal(query(0), RTAS_PARAM_ERROR);
    assert_int_equal(rd(PBA + 4, 4), 0);              /* the pending bits' far end */
    assert_int_equal(rd(PBA + 8, 4), 0xffffffff);     /* past them: nothing there */
}

/* A device thread signals while the driver masks, unmasks, turns MSI-X off and on and the
 * firmware gives vectors again (ThreadSanitizer runs this too): no deadlock, and once all is
 * unmasked and on, nothing is left pending. */
static void *signaller(void *arg)
{
    struct virtio_dev *v = arg;
    for (int i = 0; i < 2000; i++)
        virtio_notify_queue(v, 1);
    return NULL;
}

static void test_signal_while_toggled(void **state)
{
    (void)state;
    bring_up_msix();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, signaller, virtio_console_dev(con)), 0);
    for (int i = 0; i < 200; i++) {
        wr(TABLE + 16 + 12, 4, i & 1);
        cfg_wr(cap + 2u, 2, (i % 3 == 0) ? 0xc000 : (i % 7 == 0) ? 0 : 0x8000);
        if (i % 50 == 0)
            assert_int_equal(change_msi(4, NVEC, NULL), 0);
    }
    pthread_join(t, NULL);
    wr(TABLE + 16 + 12, 4, 0);
    cfg_wr(cap + 2u, 2, 0x8000);
    assert_int_equal(rd(PBA, 8), 0);
    assert_true(__atomic_load_n(&fake.msi_calls, __ATOMIC_RELAXED) > 0);
    assert_int_equal(m.msi_dropped, 0);
}

/* The driver's config writes race the device's threads and each other (a hostile guest
 * makes RTAS calls from two vCPUs at once): INTx toggled on and off while a device thread
 * signals over INTx, and MSI-X switched on by one thread and off by another. ThreadSanitizer
 * sees no race, and the device's idea of MSI-X is what config space says once both stop. */
static bool stop_raising;

static void *raiser(void *arg)
{
    while (!__atomic_load_n(&stop_raising, __ATOMIC_RELAXED)) {
        virtio_notify_queue(arg, 1);
        rd(0x100, 1);                              /* the ISR read lowers the line */
    }
    return NULL;
}

static pthread_barrier_t both;

/* One write of the MSI-X control word, at the same moment as the other thread's. */
static void *write_ctrl(void *arg)
{
    pthread_barrier_wait(&both);
    pci_config_write(&host, 0, 0, cap + 2u, 2, (uint32_t)(uintptr_t)arg);   /* (no cmocka here) */
    return NULL;
}

static void test_config_writes_race(void **state)
{
    (void)state;
    pthread_t t;
    stop_raising = false;
    assert_int_equal(pthread_create(&t, NULL, raiser, virtio_console_dev(con)), 0);
    for (int i = 0; i < 2000; i++)
        cfg_wr(4, 2, i & 1 ? 0x402 : 0x2);         /* Interrupt Disable on, off */
    __atomic_store_n(&stop_raising, true, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    assert_int_equal(fake.irq_level[PCI_IRQ_BASE], 0);   /* the last write disabled INTx */
    bring_up_msix();
    for (int i = 0; i < 300; i++) {
        pthread_t on, off;
        assert_int_equal(pthread_barrier_init(&both, NULL, 2), 0);
        assert_int_equal(pthread_create(&on, NULL, write_ctrl, (void *)0x8000), 0);
        assert_int_equal(pthread_create(&off, NULL, write_ctrl, (void *)0), 0);
        pthread_join(on, NULL), pthread_join(off, NULL);
        pthread_barrier_destroy(&both);
        assert_int_equal(msix_enabled(&virtio_console_dev(con)->msix),
                         (cfg_rd(cap + 2u, 2) & 0x8000) != 0);
    }
}

static void test_reset_forgets_vectors(void **state)
{
    (void)state;
    bring_up_msix();
    wr(0x14, 1, 0);
    assert_int_equal(rd(0x10, 2), NO_VECTOR);
    wr(0x16, 2, 1);
    assert_int_equal(rd(0x1a, 2), NO_VECTOR);
    assert_int_equal(cfg_rd(cap + 2u, 2) & 0x8000, 0x8000);   /* PCI state is not virtio's */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_msix, teardown_msix)
    const struct CMUnitTest tests[] = {
        T(test_capability), T(test_firmware_fills_table), T(test_queue_vector_message),
        T(test_masked_vector_pends), T(test_bad_vectors_and_messages), T(test_bus_master_off),
        T(test_intx_until_enabled), T(test_config_vector), T(test_pending_and_taken_back),
        T(test_firmware_edges), T(test_signal_while_toggled), T(test_config_writes_race),
        T(test_reset_forgets_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
