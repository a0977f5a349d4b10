/* gva_translate(), gva_read(), gva_write() in real mode and on Radix trees built here, in a
 * calloc'd guest RAM (gva_fixture.h), the way Linux builds them. Every refusal is checked with
 * a tree that translates otherwise, so each test fails if the check it is about is missing.
 * The hashed page table: test_gva_hash.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gva_fixture.h"

/* ---- Radix, as Linux builds it (52-bit space; 13, 9, 9, then 9 or 5 index bits) ---- */

#define R_V (1ULL << 63)
#define R_L (1ULL << 62)
#define R_LEAF_FLAGS 0x10fULL                 /* R, privileged, read/write/execute */
#define PATE_GR (1ULL << 63)
/* RTS = 52 - 31 = 21 = 0b10101: 0b10 in bits 61:62, 0b101 in bits 5:7. */
#define PRTE_52BIT ((2ULL << 61) | (5ULL << 5))

static uint64_t radix_root(struct fake *f)
{
    return alloc(f, 8 << 13);
}

/* A process table of 2^(12+prts) bytes whose entry `pid` points at root (RPDS 13). */
static uint64_t proc_table(struct fake *f, unsigned prts)
{
    return alloc(f, 1ULL << (12 + prts));
}

static void proc_entry(struct fake *f, uint64_t table, uint64_t pid, uint64_t root)
{
    put64(f, table + 16 * pid, PRTE_52BIT | root | 13);
}

/* Maps the page of 2^page_shift bytes holding ea to gpa: 30 (a leaf in level 1), 21 (level 2),
 * 16 or 12 (level 3, of 2^5 or 2^9 entries). Creates missing directories. */
static void radix_map(struct fake *f, uint64_t root, uint64_t ea, uint64_t gpa,
                      unsigned page_shift)
{
    unsigned last = page_shift == 16 ? 5 : 9;
    const unsigned nls[4] = {13, 9, 9, last};
    unsigned leaf = page_shift == 30 ? 1 : page_shift == 21 ? 2 : 3;
    uint64_t dir = root;
    unsigned shift = 52;
    for (unsigned level = 0;; level++) {
        shift -= nls[level];
        uint64_t slot = dir + 8 * ((ea >> shift) & ((1ULL << nls[level]) - 1));
        if (level == leaf) {
            assert_int_equal(shift, page_shift);
            put64(f, slot, R_V | R_L | (gpa & ~((1ULL << shift) - 1)) | R_LEAF_FLAGS);
            return;
        }
        uint64_t e = get64(f, slot);
        if (!e) {
            e = R_V | alloc(f, 8ULL << nls[level + 1]) | nls[level + 1];
            put64(f, slot, e);
        }
        dir = e & 0x0fffffffffffff00ULL;
    }
}

/* The slot of ea at `level` in the tree of root (which must exist down to it). */
static uint64_t radix_slot(struct fake *f, uint64_t root, uint64_t ea, unsigned level)
{
    const unsigned nls[4] = {13, 9, 9, 9};
    uint64_t dir = root;
    unsigned shift = 52;
    for (unsigned l = 0;; l++) {
        shift -= nls[l];
        uint64_t slot = dir + 8 * ((ea >> shift) & ((1ULL << nls[l]) - 1));
        if (l == level)
            return slot;
        dir = get64(f, slot) & 0x0fffffffffffff00ULL;
    }
}

/* A radix machine: process table of 4 KiB (256 PIDs) with PID 0's tree. */
struct radix {
    struct fake *f;
    uint64_t table, root;
    struct gva_cpu c;
};

static void radix_setup(struct radix *r, uint64_t ram)
{
    r->f = fake_new(ram);
    r->table = proc_table(r->f, 0);
    r->root = radix_root(r->f);
    proc_entry(r->f, r->table, 0, r->root);
    r->c = (struct gva_cpu){.msr = MSR_VIRT, .radix = true, .process_table = PATE_GR | r->table};
}

static int xlate(struct radix *r, uint64_t ea, uint64_t *gpa, uint64_t *size)
{
    return gva_translate(&r->f->m, &r->c, ea, false, gpa, size);
}

static void expect(struct radix *r, uint64_t ea, uint64_t want_gpa, uint64_t want_size)
{
    uint64_t gpa = 0, size = 0;
    assert_int_equal(xlate(r, ea, &gpa, &size), 0);
    assert_int_equal(gpa, want_gpa);
    assert_int_equal(size, want_size);
}

static void expect_err(struct radix *r, uint64_t ea, int err)
{
    uint64_t gpa = 0x5a5a, size = 0x5a5a;
    assert_int_equal(xlate(r, ea, &gpa, &size), err);
    assert_int_equal(gpa, 0x5a5a);    /* nothing written on failure */
    assert_int_equal(size, 0x5a5a);
}

static void test_radix_4k(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    /* Two neighbouring pages, backwards in RAM; the top of the 52-bit space too. */
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    radix_map(r.f, r.root, 0xc000000000011000ULL, 0x180000, 12);
    radix_map(r.f, r.root, 0xc00ffffffffff000ULL, 0x3000, 12);
    expect(&r, 0xc000000000010abcULL, 0x200abc, 4 * KiB);
    expect(&r, 0xc000000000011fffULL, 0x180fff, 4 * KiB);
    expect(&r, 0xc00fffffffffffffULL, 0x3fff, 4 * KiB);
    expect_err(&r, 0xc000000000012000ULL, -EFAULT);     /* never mapped */
    expect_err(&r, 0xc000000000000000ULL, -EFAULT);

    /* A read across the two pages gathers both. */
    for (int i = 0; i < 8; i++) {
        r.f->m.host[0x200ff8 + i] = (uint8_t)(0x10 + i);
        r.f->m.host[0x180000 + i] = (uint8_t)(0x20 + i);
    }
    uint8_t buf[16];
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000010ff8ULL, buf, 16, false), 16);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(buf[i], 0x10 + i);
        assert_int_equal(buf[8 + i], 0x20 + i);
    }
    fake_free(r.f);
}

static void test_radix_64k_2m_1g(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    radix_map(r.f, r.root, 0xc008000000030000ULL, 0x340000, 16);     /* vmalloc, 64 KiB */
    radix_map(r.f, r.root, 0xc000000040200000ULL, 0x600000, 21);     /* 2 MiB */
    radix_map(r.f, r.root, 0xc000000000000000ULL, 0, 30);            /* the linear map, 1 GiB */
    expect(&r, 0xc00800000003abcdULL, 0x34abcd, 64 * KiB);
    expect_err(&r, 0xc008000000040000ULL, -EFAULT);                 /* the next 64 KiB */
    expect(&r, 0xc000000040212345ULL, 0x612345, 2 * MiB);
    expect_err(&r, 0xc000000040400000ULL, -EFAULT);
    expect(&r, 0xc000000000345678ULL, 0x345678, GiB);
    expect(&r, 0xc00000003fffffffULL, 0x3fffffff, GiB);              /* beyond RAM: translated */
    uint8_t b;
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc00000003fffffffULL, &b, 1, false), -EFAULT);
    fake_free(r.f);
}

static void test_radix_user(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    uint64_t user = radix_root(r.f);
    proc_entry(r.f, r.table, 7, user);
    radix_map(r.f, user, 0x10000, 0x500000, 12);
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    r.c.pidr = 7;
    expect(&r, 0x10010, 0x500010, 4 * KiB);
    expect(&r, 0xc000000000010010ULL, 0x200010, 4 * KiB);          /* the kernel's is PID 0 */
    r.c.pidr = 0;       /* PID 0's tree, where the kernel page has the same index bits */
    expect(&r, 0x10010, 0x200010, 4 * KiB);
    r.c.pidr = 8;
    expect_err(&r, 0x10010, -EFAULT);                               /* an empty entry */
    r.c.pidr = 256;
    put64(r.f, r.table + 16 * 256, PRTE_52BIT | user | 13);         /* unused RAM after it */
    expect_err(&r, 0x10010, -EFAULT);                               /* beyond the table */
    r.c.pidr = 1ULL << 60;
    expect_err(&r, 0x10010, -EFAULT);
    fake_free(r.f);
}

static void test_radix_bad_ea(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    uint64_t user = radix_root(r.f);
    proc_entry(r.f, r.table, 1, user);
    radix_map(r.f, user, 0x0000000000010000ULL, 0x200000, 12);
    r.c.pidr = 1;
    expect(&r, 0x10000, 0x200000, 4 * KiB);
    /* Quadrants 1 and 2 are not a guest's, even where the index bits would find a page. */
    expect_err(&r, 0x4000000000010000ULL, -EFAULT);
    expect_err(&r, 0x8000000000010000ULL, -EFAULT);
    /* EA bits 2:11 beyond the 52-bit space: each one alone (the walk never looks at them). */
    for (int bit = 52; bit < 62; bit++) {
        expect_err(&r, 0xc000000000010000ULL | 1ULL << bit, -EFAULT);
        expect_err(&r, 0x10000 | 1ULL << bit, -EFAULT);
    }
    fake_free(r.f);
}

static void test_radix_invalid_entries(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    radix_map(r.f, r.root, 0xc000000000011000ULL, 0x201000, 12);
    uint64_t leaf = radix_slot(r.f, r.root, 0xc000000000010000ULL, 3);
    put64(r.f, leaf, get64(r.f, leaf) & ~R_V);
    expect_err(&r, 0xc000000000010000ULL, -EFAULT);
    expect(&r, 0xc000000000011000ULL, 0x201000, 4 * KiB);
    uint64_t l1 = radix_slot(r.f, r.root, 0xc000000000010000ULL, 1);
    put64(r.f, l1, get64(r.f, l1) & ~R_V);                           /* a directory */
    expect_err(&r, 0xc000000000011000ULL, -EFAULT);
    fake_free(r.f);
}

/* A PDE pointing at its own directory: the walk ends, with -EINVAL, inside RAM. */
static void test_radix_loops(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    uint64_t ea = 0xc000000000010000ULL;
    radix_map(r.f, r.root, ea, 0x200000, 12);
    expect(&r, ea, 0x200000, 4 * KiB);
    uint64_t root_slot = radix_slot(r.f, r.root, ea, 0);
    uint64_t l1 = get64(r.f, root_slot) & 0x0fffffffffffff00ULL;

    /* Every entry of the level-1 directory points back at it: levels 2 and 3 read it again
     * and no level ever holds a leaf. */
    for (uint64_t i = 0; i < 512; i++)
        put64(r.f, l1 + 8 * i, R_V | l1 | 9);
    expect_err(&r, ea, -EINVAL);
    /* The root pointing at itself: a 2^13-entry directory below the root is refused. */
    put64(r.f, root_slot, R_V | r.root | 13);
    expect_err(&r, ea, -EINVAL);
    fake_free(r.f);
}

/* Each refusal of a malformed or misplaced table, from a tree that translates before. */
static void test_radix_malformed(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    uint64_t ea = 0xc000000040212345ULL;
    radix_map(r.f, r.root, ea, 0x600000, 21);
    expect(&r, ea, 0x612345, 2 * MiB);
    uint64_t s0 = radix_slot(r.f, r.root, ea, 0), s1 = radix_slot(r.f, r.root, ea, 1);
    uint64_t s2 = radix_slot(r.f, r.root, ea, 2);
    uint64_t e0 = get64(r.f, s0), e1 = get64(r.f, s1), e2 = get64(r.f, s2);
    uint64_t prte = get64(r.f, r.table), dir1 = e0 & ~0xffULL;
    const struct {
        uint64_t slot, value;
    } bad[] = {
        {s0, R_V | RAM | 9},                       /* a directory outside RAM */
        {s0, R_V | (RAM - 4 * KiB + 0x800) | 9},   /* misaligned, and past the end */
        {s0, R_V | (dir1 + 0x800) | 9},            /* misaligned */
        {s0, e0 - 1},                              /* level 1 of 2^8 entries */
        {s1, e1 + 1},                              /* level 2 of 2^10 */
        {s0, R_V | R_L | R_LEAF_FLAGS},            /* a 512 GiB leaf in the root */
        {s2, e2 + 0x1000},                         /* a 2 MiB leaf not aligned to 2 MiB */
        {r.table, prte & ~(7ULL << 5)},            /* RTS 16: a 47-bit space */
        {r.table, (prte & ~(7ULL << 5)) | 6ULL << 5},   /* RTS 22: 53 bits */
        {r.table, prte - 1},                       /* a root of 2^12 entries */
        {r.table, (prte & ~0x0fffffffffffff00ULL) | RAM},   /* the root outside RAM */
        {r.table, prte + 0x100},                   /* the root misaligned */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t old = get64(r.f, bad[i].slot);
        put64(r.f, bad[i].slot, bad[i].value);
        expect_err(&r, ea, -EINVAL);
        put64(r.f, bad[i].slot, old);
        expect(&r, ea, 0x612345, 2 * MiB);
    }
    /* A level-3 directory of 2^6 entries. */
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    uint64_t s = radix_slot(r.f, r.root, 0xc000000000010000ULL, 2);
    uint64_t e = get64(r.f, s);
    put64(r.f, s, (e & ~0x1fULL) | 6);
    expect_err(&r, 0xc000000000010000ULL, -EINVAL);

    /* The process table: not radix, larger than RAM, misaligned, outside RAM. */
    const uint64_t pt[] = {r.table, r.table | 25, (r.table + 4 * KiB) | 1, RAM};
    for (size_t i = 0; i < sizeof(pt) / sizeof(pt[0]); i++) {
        r.c.process_table = i ? PATE_GR | pt[i] : pt[i];
        expect_err(&r, ea, -EINVAL);
    }
    fake_free(r.f);
}

/* A directory that starts in RAM, aligned, and ends past it. */
static void test_radix_table_past_ram(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM + 2 * KiB);
    uint64_t ea = 0xc000000000010000ULL;
    radix_map(r.f, r.root, ea, 0x200000, 12);
    uint64_t s = radix_slot(r.f, r.root, ea, 2), old = get64(r.f, s);
    put64(r.f, s, R_V | RAM | 9);
    expect_err(&r, ea, -EINVAL);
    /* The same for the process table, of 4 KiB at the end of RAM. */
    put64(r.f, s, old);
    expect(&r, ea, 0x200000, 4 * KiB);
    put64(r.f, RAM, PRTE_52BIT | r.root | 13);
    r.c.process_table = PATE_GR | RAM;
    expect_err(&r, ea, -EINVAL);
    fake_free(r.f);
}

/* MSR[DR] decides for data, MSR[IR] for instructions; the top 4 EA bits are ignored. */
static void test_real_mode(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    radix_map(r.f, r.root, 0xc000000000123000ULL, 0x700000, 12);
    uint64_t gpa, size;
    r.c.msr = 0x8000000000000000ULL | MSR_IR;       /* data in real mode */
    assert_int_equal(gva_translate(&r.f->m, &r.c, 0xc000000000123456ULL, false, &gpa, &size), 0);
    assert_int_equal(gpa, 0x123456);
    assert_int_equal(size, 1ULL << 60);
    assert_int_equal(gva_translate(&r.f->m, &r.c, 0xc000000000123456ULL, true, &gpa, &size), 0);
    assert_int_equal(gpa, 0x700456);
    assert_int_equal(size, 4 * KiB);
    r.c.msr = 0x8000000000000000ULL | MSR_DR;       /* instructions in real mode */
    assert_int_equal(gva_translate(&r.f->m, &r.c, 0xc000000000123456ULL, true, &gpa, NULL), 0);
    assert_int_equal(gpa, 0x123456);
    assert_int_equal(gva_translate(&r.f->m, &r.c, 0xc000000000123456ULL, false, &gpa, NULL), 0);
    assert_int_equal(gpa, 0x700456);
    r.c.msr = 0;
    const uint64_t eas[] = {0xf000000000001000ULL, 0x3000000000001000ULL, 0x1000};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gva_translate(&r.f->m, &r.c, eas[i], false, &gpa, NULL), 0);
        assert_int_equal(gpa, 0x1000);
    }
    /* Reads stop at the end of RAM. */
    uint8_t buf[16];
    memset(r.f->m.host + RAM - 8, 0xab, 8);
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000000000ULL + RAM - 8, buf, 16, false), 8);
    assert_int_equal(buf[7], 0xab);
    assert_int_equal(gva_read(&r.f->m, &r.c, RAM, buf, 16, false), -EFAULT);
    fake_free(r.f);
}

static void test_read_write(void **state)
{
    (void)state;
    struct radix r;
    radix_setup(&r, RAM);
    radix_map(r.f, r.root, 0xc000000000010000ULL, 0x200000, 12);
    radix_map(r.f, r.root, 0xc000000000011000ULL, 0x180000, 12);
    uint8_t in[32], out[32];
    for (int i = 0; i < 32; i++)
        in[i] = (uint8_t)(0xc0 + i);
    assert_int_equal(gva_write(&r.f->m, &r.c, 0xc000000000010ff0ULL, in, 32, false), 32);
    assert_memory_equal(r.f->m.host + 0x200ff0, in, 16);
    assert_memory_equal(r.f->m.host + 0x180000, in + 16, 16);
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000010ff0ULL, out, 32, false), 32);
    assert_memory_equal(in, out, 32);
    /* Short at the first unmapped page; an error when it is the first. */
    static uint8_t big[3 * 4096];
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000010000ULL, big, sizeof(big), false),
                     8192);
    assert_int_equal(gva_write(&r.f->m, &r.c, 0xc000000000011800ULL, big, 4096, false), 2048);
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000012000ULL, big, 1, false), -EFAULT);
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000012000ULL, big, 0, false), 0);
    assert_int_equal(gva_read(&r.f->m, &r.c, 0xc000000000010000ULL, big, (size_t)-1, false),
                     -EINVAL);
    fake_free(r.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_radix_4k),
        cmocka_unit_test(test_radix_64k_2m_1g),
        cmocka_unit_test(test_radix_user),
        cmocka_unit_test(test_radix_bad_ea),
        cmocka_unit_test(test_radix_invalid_entries),
        cmocka_unit_test(test_radix_loops),
        cmocka_unit_test(test_radix_malformed),
        cmocka_unit_test(test_radix_table_past_ram),
        cmocka_unit_test(test_real_mode),
        cmocka_unit_test(test_read_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
