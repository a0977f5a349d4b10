/* Event indices (VIRTIO_RING_F_EVENT_IDX) in devices/virtq.c: when the device interrupts
 * (used_event), what it asks of the driver (avail_event), across the indices' wrap-around;
 * and a queue without the feature, which ignores both. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "virtq_rings.h"

#define USED_EVENT (AVAIL + 4 + 2 * QSIZE)   /* after the avail ring's entries */
#define AVAIL_EVENT (USED + 4 + 8 * QSIZE)   /* after the used ring's entries */

static int setup_event(void **state)
{
    int r = setup(state);
    q.event_idx = true;
    return r;
}

/* n pushes, then the notification decision for them all. */
static bool push_n(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        virtq_push(&q, &gm, 0, 0);
    return virtq_should_notify(&q, &gm);
}

static void test_used_event(void **state)
{
    (void)state;
    st16(USED_EVENT, 0);                 /* after the first buffer (and the 65537th) */
    assert_true(push_n(1));
    assert_false(push_n(1));
    st16(USED_EVENT, 3);                 /* the entry at 3: used idx 2 -> 3 -> 4 */
    assert_false(push_n(1));
    assert_true(push_n(1));
    assert_int_equal(ld16(USED + 2), 4);
    assert_false(push_n(1));
    /* a batch of three (used idx 5 -> 8) covers entries 5, 6 and 7 */
    static const struct { uint16_t event; bool want; } batch[] = {
        {4, false}, {5, true}, {6, true}, {7, true}, {8, false}, {0xffff, false},
    };
    for (size_t i = 0; i < sizeof(batch) / sizeof(batch[0]); i++) {
        q.used_idx = q.signalled_used = 5;
        st16(USED_EVENT, batch[i].event);
        assert_int_equal(push_n(3), batch[i].want);
    }
    /* no push since the last decision: nothing to signal */
    assert_false(virtq_should_notify(&q, &gm));
    /* the lower bit of flags is ignored (§2.6.7.2) */
    st16(AVAIL, 1);
    st16(USED_EVENT, q.used_idx);
    assert_true(push_n(1));
    st16(AVAIL, 0);
    assert_false(push_n(1));
}

/* The used index passes 65535 -> 0: vring_need_event's 16-bit arithmetic. */
static void test_used_event_wraps(void **state)
{
    (void)state;
    q.used_idx = q.signalled_used = 0xffff;
    st16(USED_EVENT, 0xffff);
    assert_true(push_n(1));
    assert_true(q.used_idx == 0 && ld16(USED + 2) == 0);
    assert_false(push_n(1));                                     /* 0 -> 1, event 65535 */
    static const struct { uint16_t event; bool want; } across[] = {
        {0xfffd, false}, {0xfffe, true}, {0xffff, true}, {0, true}, {1, false}, {0x8000, false},
    };
    for (size_t i = 0; i < sizeof(across) / sizeof(across[0]); i++) {
        q.used_idx = q.signalled_used = 0xfffe;   /* three pushes: 65534 -> 1 */
        st16(USED_EVENT, across[i].event);
        assert_int_equal(push_n(3), across[i].want);
        assert_int_equal(q.used_idx, 1);
    }
}

/* The device asks for a notification whenever it finds the ring empty, and only then. */
static void test_avail_event(void **state)
{
    (void)state;
    st16(AVAIL_EVENT, 0x5555);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 0);
    desc(0, DATA, 8, 0, 0), desc(1, DATA, 8, 0, 0);
    offer(0), offer(1);
    st16(AVAIL_EVENT, 0x5555);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_int_equal(ld16(AVAIL_EVENT), 0x5555);              /* busy: no need to ask */
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 2);                   /* "notify when entry 2 comes" */

    /* across the wrap-around */
    q.last_avail = avail_idx = 0xffff;
    st16(AVAIL + 2, 0xffff);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 0xffff);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 0);

    /* asking for a later entry, and looking again: what is pending now */
    assert_int_equal(virtq_ask_kick(&q, &gm, 7), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 7);
    offer(1), offer(0);
    assert_int_equal(virtq_ask_kick(&q, &gm, 3), 2);
    assert_int_equal(ld16(AVAIL_EVENT), 3);
}

/* The event fields end their rings, which virtq_check_rings sizes with them: rings placed
 * as late in RAM as it allows still hold them (ASan sees any byte past the end). */
static void test_fields_at_end_of_ram(void **state)
{
    (void)state;
    q.avail = RAM_SIZE - (6 + 2 * QSIZE);                     /* used_event: RAM's last 2 bytes */
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    st16(RAM_SIZE - 2, 0);
    assert_true(push_n(1));
    st16(RAM_SIZE - 2, 5);
    assert_false(push_n(1));
    q.avail += 2;
    assert_int_equal(virtq_check_rings(&q, &gm), -1);

    q.avail = AVAIL;
    q.used = RAM_SIZE - 72;                                   /* 70 bytes, 4-byte aligned */
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    st16(RAM_SIZE - 4, 0x5555), st16(RAM_SIZE - 2, 0x6666);
    q.last_avail = avail_idx = 3;
    st16(AVAIL + 2, 3);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(ld16(RAM_SIZE - 4), 3);                  /* avail_event */
    assert_int_equal(ld16(RAM_SIZE - 2), 0x6666);
    q.used += 4;
    assert_int_equal(virtq_check_rings(&q, &gm), -1);
}

/* A driver that did not negotiate EVENT_IDX: flags decide, the event fields are not used. */
static void test_without_event_idx(void **state)
{
    (void)state;
    q.event_idx = false;
    st16(USED_EVENT, 0x4444), st16(AVAIL_EVENT, 0x5555);
    assert_true(push_n(1));
    assert_true(push_n(1));                                   /* every buffer */
    st16(AVAIL, 1);
    assert_false(push_n(1));
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
    assert_int_equal(virtq_ask_kick(&q, &gm, 9), 0);
    assert_int_equal(ld16(AVAIL_EVENT), 0x5555);
    assert_int_equal(ld16(USED_EVENT), 0x4444);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_event, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_used_event), T(test_used_event_wraps), T(test_avail_event),
        T(test_fields_at_end_of_ram), T(test_without_event_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
