/* Indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC) in devices/virtq.c: chains of
 * several shapes, and every way a table can be broken. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "virtq_rings.h"

#define TABLE 0x8000u   /* an indirect table's place in guest memory */

/* Entry i of the indirect table at TABLE. */
static void ent(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    desc_at(TABLE + 16ull * i, addr, len, flags, next);
}

static int setup_indirect(void **state)
{
    int r = setup(state);
    q.indirect = true;
    return r;
}

static void iov_is(unsigned i, uint64_t gpa, size_t len)
{
    assert_ptr_equal(chain.iov[i].iov_base, gm.host + gpa);
    assert_int_equal(chain.iov[i].iov_len, len);
}

/* One descriptor pointing at a table: readable, readable, writable, chained out of order. */
static void test_lone_table(void **state)
{
    (void)state;
    ent(0, DATA, 16, F_NEXT, 2);
    ent(2, DATA + 0x100, 8, F_NEXT, 1);
    ent(1, DATA + 0x200, 4, F_WRITE, 0);
    desc(3, TABLE, 3 * 16, F_INDIRECT, 0);
    offer(3);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.head == 3 && chain.n_out == 2 && chain.n_in == 1);
    assert_true(chain.out_len == 24 && chain.in_len == 4);
    iov_is(0, DATA, 16), iov_is(1, DATA + 0x100, 8), iov_is(2, DATA + 0x200, 4);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);

    /* a table of one writable entry, placed at the very end of RAM */
    desc_at(RAM_SIZE - 16, DATA + 0x300, 32, F_WRITE, 0);
    desc(0, RAM_SIZE - 16, 16, F_INDIRECT, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == 0 && chain.n_in == 1 && chain.in_len == 32);
    iov_is(0, DATA + 0x300, 32);

    /* entries no chain uses are allowed: 0 -> 4 of 6, NEXT of the last ignored */
    ent(0, DATA, 1, F_NEXT, 4), ent(4, DATA + 1, 2, F_WRITE, 0);
    desc(1, TABLE, 6 * 16, F_INDIRECT, 0);
    offer(1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == 1 && chain.n_in == 1 && chain.in_len == 2);
}

/* Direct descriptors followed by a table (the device MUST handle it, §2.6.5.3.2), whose WRITE
 * flag means nothing; and the data that a device reads and writes through such a chain. */
static void test_prefix_then_table(void **state)
{
    (void)state;
    desc(5, DATA, 3, F_NEXT, 6);
    desc(6, TABLE, 3 * 16, F_INDIRECT | F_WRITE, 0);
    ent(0, DATA + 0x100, 5, F_NEXT, 1);
    ent(1, DATA + 0x200, 4, F_WRITE | F_NEXT, 2);
    ent(2, DATA + 0x300, 6, F_WRITE, 0);
    memcpy(gm.host + DATA, "abc", 3), memcpy(gm.host + DATA + 0x100, "defgh", 5);
    offer(5);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.head == 5 && chain.n_out == 2 && chain.n_in == 2);
    assert_true(chain.out_len == 8 && chain.in_len == 10);
    char buf[16] = {0};
    assert_int_equal(virtq_read_out(&chain, 1, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "bcdefgh");
    assert_int_equal(virtq_write_in(&chain, 2, "0123456789", 10), 8);
    assert_memory_equal(gm.host + DATA + 0x200, "\0\0" "01", 4);
    assert_memory_equal(gm.host + DATA + 0x300, "234567", 6);

    /* a readable-only table after writable direct ones is out of order */
    desc(5, DATA, 3, F_NEXT | F_WRITE, 6);
    desc(6, TABLE, 16, F_INDIRECT, 0);
    ent(0, DATA + 0x100, 5, 0, 0);
    offer(5);
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
}

/* The longest chains: as many buffers as the queue has entries, the table's included. */
static void test_longest(void **state)
{
    (void)state;
    for (uint16_t i = 0; i < QSIZE; i++)
        ent(i, DATA + i, 1, i + 1 < QSIZE ? F_NEXT : F_WRITE, (uint16_t)(i + 1));
    desc(0, TABLE, QSIZE * 16, F_INDIRECT, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == QSIZE - 1 && chain.n_in == 1);
    desc(1, DATA, 1, F_NEXT, 2);                                  /* 1 direct + 7 in the table */
    desc(2, TABLE + 16, (QSIZE - 1) * 16, F_INDIRECT, 0);
    for (uint16_t i = 0; i < QSIZE - 1; i++)
        ent((uint16_t)(i + 1), DATA + i, 1, i + 2 < QSIZE ? F_NEXT : 0, (uint16_t)(i + 1));
    offer(1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == QSIZE && chain.n_in == 0);

    /* the largest queue: a table of 256 entries fills iov[] exactly */
    q.size = VIRTQ_MAX_SIZE;
    q.last_avail = avail_idx = 0;
    for (uint16_t i = 0; i < VIRTQ_MAX_SIZE; i++)
        ent(i, DATA + i, 1, F_NEXT | (i >= 200 ? F_WRITE : 0), (uint16_t)(i + 1));
    ent(VIRTQ_MAX_SIZE - 1, DATA, 1, F_WRITE, 0);
    desc(0, TABLE, VIRTQ_MAX_SIZE * 16, F_INDIRECT, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == 200 && chain.n_in == VIRTQ_MAX_SIZE - 200);
    iov_is(VIRTQ_MAX_SIZE - 1, DATA, 1);
}

/* Offers head (already described) and expects the ring to be refused. */
static void expect_broken(uint16_t head)
{
    offer(head);
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
    q.last_avail = avail_idx;     /* as after a reset: the next case starts clean */
    memset(gm.host + DESC, 0, 16 * QSIZE);
    memset(gm.host + TABLE, 0, 16 * (VIRTQ_MAX_SIZE + 1));
}

/* A good table for the cases that break the descriptor pointing at it: entry 0 alone is a
 * whole chain, so a table cut short would still be accepted, but for what is checked. */
static void good_table(void)
{
    ent(0, DATA, 8, F_WRITE, 0);
}

static void test_table_refused(void **state)
{
    (void)state;
    static const struct { uint64_t addr; uint32_t len; } bad[] = {
        {RAM_SIZE, 16}, {1ull << 40, 32},                     /* outside RAM */
        {RAM_SIZE - 16, 32}, {RAM_SIZE - 8, 16},              /* straddling its end */
        {UINT64_MAX - 15, 32}, {UINT64_MAX & ~15ull, 16},     /* addr + len wraps */
        {TABLE, 0}, {TABLE, 15}, {TABLE, 17}, {TABLE, 24},    /* empty, not a multiple of 16 */
        {TABLE, 0xfffffff0},
        {TABLE, 16 * (VIRTQ_MAX_SIZE + 1)},                   /* more than the largest queue */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        good_table();
        desc(0, bad[i].addr, bad[i].len, F_INDIRECT, 0);
        expect_broken(0);
    }
    good_table();
    desc(0, TABLE, 32, F_INDIRECT | F_NEXT, 1), desc(1, DATA, 8, F_WRITE, 0);   /* NEXT too */
    expect_broken(0);

    /* not negotiated: the same good chain is a broken ring (§2.6.5.3.1) */
    q.indirect = false;
    good_table();
    desc(0, TABLE, 32, F_INDIRECT, 0);
    expect_broken(0);
    q.indirect = true;
    good_table();
    desc(0, TABLE, 32, F_INDIRECT, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
}

static void test_entries_refused(void **state)
{
    (void)state;
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_NEXT, 1), ent(1, TABLE, 32, F_INDIRECT, 0);    /* a table in a table */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_NEXT, 1), ent(1, DATA, 8, F_NEXT, 0);          /* 0 -> 1 -> 0 */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_NEXT, 0);                                      /* 0 -> 0 */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_NEXT, 4);                                      /* next past the table */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_WRITE | F_NEXT, 1), ent(1, DATA, 8, 0, 0);     /* writable, readable */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, DATA, 8, F_NEXT, 1), ent(1, RAM_SIZE - 4, 8, F_WRITE, 0); /* a buffer past RAM */
    expect_broken(0);
    desc(0, TABLE, 4 * 16, F_INDIRECT, 0);
    ent(0, UINT64_MAX - 3, 8, 0, 0);
    expect_broken(0);

    /* longer than the queue: a table of QSIZE + 1, or a prefix of 2 and a table of QSIZE - 1 */
    for (uint16_t i = 0; i <= QSIZE; i++)
        ent(i, DATA + i, 1, i < QSIZE ? F_NEXT : 0, (uint16_t)(i + 1));
    desc(0, TABLE, (QSIZE + 1) * 16, F_INDIRECT, 0);
    expect_broken(0);
    desc(0, DATA, 1, F_NEXT, 1), desc(1, DATA, 1, F_NEXT, 2);
    desc(2, TABLE, (QSIZE - 1) * 16, F_INDIRECT, 0);
    for (uint16_t i = 0; i < QSIZE - 1; i++)
        ent(i, DATA + i, 1, i + 2 < QSIZE ? F_NEXT : 0, (uint16_t)(i + 1));
    expect_broken(0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_indirect, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_lone_table), T(test_prefix_then_table), T(test_longest), T(test_table_refused),
        T(test_entries_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
