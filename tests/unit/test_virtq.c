/* Split virtqueues (devices/virtq.c) on rings built by hand in calloc'd guest memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "virtq_rings.h"

static void test_check_rings(void **state)
{
    (void)state;
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    static const uint16_t bad_sizes[] = {0, 3, 6, 12, 255, 512, 1024, 0xffff};
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        q.size = bad_sizes[i];
        assert_int_equal(virtq_check_rings(&q, &gm), -1);
    }
    q.size = 1;
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    q.size = VIRTQ_MAX_SIZE;
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    q.size = QSIZE;

    struct virtq good = q;
    static const struct { int ring; uint64_t addr; int ok; } cases[] = {
        {0, DESC + 8, -1}, {0, DESC + 1, -1}, {1, AVAIL + 1, -1}, {2, USED + 2, -1},
        {2, USED + 1, -1}, {1, AVAIL + 2, 0}, {2, USED + 4, 0}, {0, DESC + 16, 0},
        /* at or straddling the end of RAM */
        {0, RAM_SIZE, -1}, {0, RAM_SIZE - 16 * QSIZE, 0}, {0, RAM_SIZE - 16 * QSIZE + 16, -1},
        {1, RAM_SIZE - (6 + 2 * QSIZE), 0}, {1, RAM_SIZE - (6 + 2 * QSIZE) + 2, -1},
        {2, RAM_SIZE - 72, 0} /* 70 bytes */, {2, RAM_SIZE - 68, -1},
        {0, UINT64_MAX & ~15ull, -1}, {1, UINT64_MAX - 1, -1}, {2, UINT64_MAX - 3, -1},
        {0, 1ull << 40, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        q = good;
        uint64_t *ring = cases[i].ring == 0 ? &q.desc : cases[i].ring == 1 ? &q.avail : &q.used;
        *ring = cases[i].addr;
        assert_int_equal(virtq_check_rings(&q, &gm), cases[i].ok);
    }
}

static void test_pop_chain(void **state)
{
    (void)state;
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);           /* nothing available */
    desc(0, DATA, 16, F_NEXT, 5);
    desc(5, DATA + 0x100, 100, F_NEXT, 2);
    desc(2, DATA + 0x200, 1, F_WRITE, 7);                      /* next ignored without NEXT */
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_int_equal(chain.head, 0);
    assert_true(chain.n_out == 2 && chain.n_in == 1);
    assert_true(chain.out_len == 116 && chain.in_len == 1);
    assert_ptr_equal(chain.iov[0].iov_base, gm.host + DATA);
    assert_int_equal(chain.iov[0].iov_len, 16);
    assert_ptr_equal(chain.iov[1].iov_base, gm.host + DATA + 0x100);
    assert_int_equal(chain.iov[1].iov_len, 100);
    assert_ptr_equal(chain.iov[2].iov_base, gm.host + DATA + 0x200);
    assert_int_equal(chain.iov[2].iov_len, 1);
    assert_int_equal(q.last_avail, 1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);

    /* a single descriptor, zero-length, at the very end of RAM */
    desc(3, RAM_SIZE, 0, 0, 0);
    offer(3);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.head == 3 && chain.n_out == 1 && chain.n_in == 0 && chain.out_len == 0);

    /* a chain through every descriptor is as long as a chain may be */
    for (uint16_t i = 0; i < QSIZE; i++)
        desc(i, DATA + 8 * i, 8, i + 1 < QSIZE ? F_NEXT : F_WRITE, (uint16_t)(i + 1));
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == QSIZE - 1 && chain.n_in == 1 && chain.out_len == 8 * (QSIZE - 1));
    assert_int_equal(q.last_avail, 3);
}

/* Offers chain `head` (already described) on a fresh ring and expects virtq_pop to refuse it. */
static void expect_broken(uint16_t head)
{
    offer(head);
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
    q.last_avail = avail_idx;     /* as after a reset: the next case starts clean */
    memset(gm.host + DESC, 0, 16 * QSIZE);
}

static void test_pop_broken(void **state)
{
    (void)state;
    desc(0, DATA, 8, F_NEXT, 1), desc(1, DATA, 8, F_NEXT, 0);                 /* 0 -> 1 -> 0 */
    expect_broken(0);
    desc(4, DATA, 8, F_NEXT, 4);                                             /* 4 -> 4 */
    expect_broken(4);
    for (uint16_t i = 0; i < QSIZE; i++)                                     /* size + 1 long */
        desc(i, DATA, 8, F_NEXT, (uint16_t)((i + 1) % QSIZE));
    expect_broken(0);
    desc(0, DATA, 8, F_NEXT, QSIZE);                                         /* next >= size */
    expect_broken(0);
    desc(0, DATA, 8, F_NEXT, 0xffff);
    expect_broken(0);
    expect_broken(QSIZE);                                                    /* head >= size */
    expect_broken(0xffff);
    desc(0, RAM_SIZE - 8, 16, 0, 0);                                         /* past RAM */
    expect_broken(0);
    desc(0, RAM_SIZE, 1, 0, 0);
    expect_broken(0);
    desc(0, UINT64_MAX - 4, 16, 0, 0);                                       /* addr + len wraps */
    expect_broken(0);
    desc(0, 1ull << 40, 1, F_WRITE, 0);
    expect_broken(0);
    desc(0, DATA, 8, F_NEXT, 1), desc(1, DATA + 0x100, 0xffffffff, F_WRITE, 0);
    expect_broken(0);
    desc(0, DATA, 8, F_NEXT | F_WRITE, 1), desc(1, DATA, 8, 0, 0);            /* out after in */
    expect_broken(0);
    desc(0, DATA, 16, F_INDIRECT, 0);                                        /* indirect */
    expect_broken(0);
    desc(0, DATA, 8, F_NEXT, 1), desc(1, DATA, 16, F_INDIRECT | F_WRITE, 0);
    expect_broken(0);

    /* the avail index runs more than a ring ahead */
    desc(0, DATA, 8, 0, 0);
    st16(q.avail + 4 + 2 * (q.last_avail % QSIZE), 0);
    st16(q.avail + 2, (uint16_t)(q.last_avail + QSIZE + 1));
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
    st16(q.avail + 2, (uint16_t)(q.last_avail - 1));
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
    st16(q.avail + 2, (uint16_t)(q.last_avail + QSIZE));                     /* exactly full */
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
}

/* The largest ring: a chain may use every descriptor, one more means a loop. */
static void test_pop_max_size(void **state)
{
    (void)state;
    q.size = VIRTQ_MAX_SIZE;
    assert_int_equal(virtq_check_rings(&q, &gm), 0);
    for (uint16_t i = 0; i < VIRTQ_MAX_SIZE; i++)
        desc(i, DATA + i, 1, F_NEXT, (uint16_t)(i + 1));
    desc(VIRTQ_MAX_SIZE - 1, DATA, 1, F_WRITE, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == VIRTQ_MAX_SIZE - 1 && chain.n_in == 1);
    desc(VIRTQ_MAX_SIZE - 1, DATA, 1, F_NEXT | F_WRITE, 0);    /* ... -> 255 -> 0 */
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
    desc(7, DATA, 1, F_NEXT, 7);                               /* 7 -> 7 */
    offer(7);
    assert_int_equal(virtq_pop(&q, &gm, &chain), -1);
}

static void test_avail_wraparound(void **state)
{
    (void)state;
    q.last_avail = avail_idx = 65534;
    for (uint16_t i = 0; i < 3; i++) {
        desc(i, DATA + 16 * i, 16, 0, 0);
        offer((uint16_t)(2 - i));
    }
    assert_int_equal(ld16(AVAIL + 2), 1);
    for (uint16_t i = 0; i < 3; i++) {
        assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
        assert_int_equal(chain.head, 2 - i);
        assert_ptr_equal(chain.iov[0].iov_base, gm.host + DATA + 16 * (2 - i));
    }
    assert_int_equal(q.last_avail, 1);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 0);
}

static void test_push_and_notify(void **state)
{
    (void)state;
    memset(gm.host + USED, 0xee, 4 + 8 * QSIZE);
    st16(USED, 0);
    virtq_push(&q, &gm, 3, 0x12345678);
    assert_true(ld32(USED + 4) == 3 && ld32(USED + 8) == 0x12345678);
    assert_true(gm.host[USED + 4] == 3 && gm.host[USED + 8] == 0x78);      /* little-endian */
    assert_true(ld16(USED + 2) == 1 && q.used_idx == 1 && ld16(USED) == 0);
    assert_int_equal(ld32(USED + 12), 0xeeeeeeee);                          /* entry 1 untouched */
    q.used_idx = 7;
    virtq_push(&q, &gm, 5, 0);
    assert_true(ld32(USED + 4 + 8 * 7) == 5 && ld32(USED + 8 + 8 * 7) == 0 && ld16(USED + 2) == 8);
    q.used_idx = 0xffff;
    virtq_push(&q, &gm, 6, 1);
    assert_true(ld32(USED + 4 + 8 * 7) == 6 && ld16(USED + 2) == 0 && q.used_idx == 0);
    virtq_push(&q, &gm, 7, 2);
    assert_true(ld32(USED + 4) == 7 && ld32(USED + 8) == 2 && ld16(USED + 2) == 1);
    assert_int_equal(ld32(USED + 4 + 8 * QSIZE), 0);                        /* nothing past it */

    assert_true(virtq_should_notify(&q, &gm));
    assert_false(virtq_should_notify(&q, &gm));     /* nothing used since: nothing to tell */
    st16(AVAIL, 1);
    virtq_push(&q, &gm, 8, 0);
    assert_false(virtq_should_notify(&q, &gm));
    st16(AVAIL, 2);
    virtq_push(&q, &gm, 9, 0);
    assert_true(virtq_should_notify(&q, &gm));
    st16(AVAIL, 0x8001);
    virtq_push(&q, &gm, 10, 0);
    assert_false(virtq_should_notify(&q, &gm));
}

static void test_copy(void **state)
{
    (void)state;
    /* readable 3 + 5 + 0 + 8 bytes, then writable 4 + 6 */
    static const uint32_t lens[] = {3, 5, 0, 8, 4, 6};
    uint8_t flat[16], buf[32];
    for (uint16_t i = 0; i < 6; i++)
        desc(i, DATA + 0x100 * i, lens[i], (uint16_t)((i < 5 ? F_NEXT : 0) | (i >= 4 ? F_WRITE : 0)),
             (uint16_t)(i + 1));
    for (unsigned i = 0, k = 0; i < 4; i++)
        for (unsigned j = 0; j < lens[i]; j++, k++)
            gm.host[DATA + 0x100 * i + j] = flat[k] = (uint8_t)(0x40 + k);
    offer(0);
    assert_int_equal(virtq_pop(&q, &gm, &chain), 1);
    assert_true(chain.n_out == 4 && chain.out_len == 16 && chain.n_in == 2 && chain.in_len == 10);

    memset(buf, 0, sizeof(buf));
    assert_int_equal(virtq_read_out(&chain, 0, buf, 16), 16);
    assert_memory_equal(buf, flat, 16);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(virtq_read_out(&chain, 2, buf, 10), 10);      /* crosses 3 boundaries */
    assert_memory_equal(buf, flat + 2, 10);
    assert_int_equal(buf[10], 0);
    assert_int_equal(virtq_read_out(&chain, 8, buf, 32), 8);       /* more than there is */
    assert_memory_equal(buf, flat + 8, 8);
    assert_int_equal(virtq_read_out(&chain, 3, buf, 5), 5);        /* exactly one buffer */
    assert_memory_equal(buf, flat + 3, 5);
    assert_int_equal(virtq_read_out(&chain, 16, buf, 4), 0);
    assert_int_equal(virtq_read_out(&chain, 1000, buf, 4), 0);
    assert_int_equal(virtq_read_out(&chain, 0, buf, 0), 0);

    uint8_t src[32];
    for (unsigned i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(virtq_write_in(&chain, 3, src, 5), 5);        /* 1 + 4 across the boundary */
    assert_true(gm.host[DATA + 0x400 + 2] == 0 && gm.host[DATA + 0x400 + 3] == 0xa0);
    assert_memory_equal(gm.host + DATA + 0x500, src + 1, 4);
    assert_int_equal(gm.host[DATA + 0x500 + 4], 0);
    assert_int_equal(virtq_write_in(&chain, 2, src, 32), 8);       /* what fitted */
    assert_memory_equal(gm.host + DATA + 0x400 + 2, src, 2);
    assert_memory_equal(gm.host + DATA + 0x500, src + 2, 6);
    assert_int_equal(gm.host[DATA + 0x500 + 6], 0);                /* not a byte further */
    assert_int_equal(virtq_write_in(&chain, 10, src, 1), 0);
    assert_memory_equal(gm.host + DATA, flat, 3);                  /* readable part untouched */
    assert_memory_equal(gm.host + DATA + 0x300, flat + 8, 8);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_check_rings), T(test_pop_chain), T(test_pop_broken), T(test_pop_max_size),
        T(test_avail_wraparound),
        T(test_push_and_notify), T(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
