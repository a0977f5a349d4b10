/* gva_translate() and gva_read() in Hash mode: an SLB and a sparse hashed page table built
 * here, with hashes and AVPNs also worked out by hand, so a test helper and the code cannot
 * share a mistake. Every refusal is checked against a table that translates otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gva_fixture.h"

#define GROUPS 2048ULL
#define SLBE_V 0x08000000ULL
#define SLBV_1T (1ULL << 62)
#define SLBV_L 0x100ULL
#define HV_LARGE 4ULL
#define HV_H 2ULL
#define HV_V 1ULL
#define HR_FLAGS 0x192ULL   /* R, C, M, PP = read/write */

/* A sparse hashed page table: the few groups a test fills; the others read as empty. That
 * lets a test use a table of 2^28 groups, where the hash's high bits count. */
struct htab {
    struct {
        bool used;
        uint64_t group;
        uint64_t e[GVA_HPTES_PER_GROUP][2];
    } g[8];
    uint64_t groups;        /* what the translation may ask for */
    unsigned reads;
    int fail;
};

static int read_group(void *opaque, uint64_t group, uint64_t out[GVA_HPTES_PER_GROUP][2])
{
    struct htab *h = opaque;
    assert_true(group < h->groups);
    h->reads++;
    if (h->fail)
        return h->fail;
    memset(out, 0, sizeof(h->g[0].e));
    for (size_t i = 0; i < sizeof(h->g) / sizeof(h->g[0]); i++)
        if (h->g[i].used && h->g[i].group == group)
            memcpy(out, h->g[i].e, sizeof(h->g[i].e));
    return 0;
}

/* HPTE i of group (created empty). */
static uint64_t *hpte(struct htab *h, uint64_t group, int i)
{
    size_t n = 0;
    for (; n < sizeof(h->g) / sizeof(h->g[0]) && h->g[n].used; n++)
        if (h->g[n].group == group)
            return h->g[n].e[i];
    assert_true(n < sizeof(h->g) / sizeof(h->g[0]));
    h->g[n].used = true;
    h->g[n].group = group;
    return h->g[n].e[i];
}

/* Adds an HPTE in the first free slot of group. */
static void hpte_put(struct htab *h, uint64_t group, uint64_t v, uint64_t r)
{
    for (int i = 0; i < GVA_HPTES_PER_GROUP; i++) {
        uint64_t *e = hpte(h, group, i);
        if (!e[0]) {
            e[0] = v, e[1] = r;
            return;
        }
    }
    fail();
}

struct hash {
    struct fake *f;
    struct htab h;
    struct gva_slb slb[4];
    struct gva_cpu c;
};

static void hash_setup(struct hash *s)
{
    s->f = fake_new(RAM);
    s->h = (struct htab){.groups = GROUPS};
    /* 0x0000000010000000: 256 MiB segment, VSID 0x123456, 4 KiB pages (entry 3).
     * 0xc000000000000000: 1 TiB, VSID 0x1234567, 16 MiB pages (the linear map).
     * 0xd000000000000000: 256 MiB, VSID 0xd0d0d, 64 KiB pages (vmalloc). */
    s->slb[0] = (struct gva_slb){0x10000000 | SLBE_V | 3, 0x123456ULL << 12 | 0x400};
    s->slb[1] = (struct gva_slb){0xc000000000000000ULL | SLBE_V, SLBV_1T | 0x1234567ULL << 24 |
                                 SLBV_L | 0x400};
    s->slb[2] = (struct gva_slb){0xd000000000000000ULL | SLBE_V, 0xd0d0dULL << 12 | SLBV_L |
                                 0x10 | 0x400};
    s->slb[3] = (struct gva_slb){0};
    s->c = (struct gva_cpu){.msr = MSR_VIRT, .slb = s->slb, .nslb = 4,
                            .read_group = read_group, .opaque = &s->h, .htab_groups = GROUPS};
}

static void hash_free(struct hash *s)
{
    fake_free(s->f);
}

static void hexpect(struct hash *s, uint64_t ea, uint64_t want_gpa, uint64_t want_size)
{
    uint64_t gpa = 0, size = 0;
    s->h.reads = 0;
    assert_int_equal(gva_translate(&s->f->m, &s->c, ea, false, &gpa, &size), 0);
    assert_int_equal(gpa, want_gpa);
    assert_int_equal(size, want_size);
    assert_in_range(s->h.reads, 1, 2);
}

static void hexpect_err(struct hash *s, uint64_t ea, int err)
{
    uint64_t gpa = 0x5a5a;
    s->h.reads = 0;
    assert_int_equal(gva_translate(&s->f->m, &s->c, ea, false, &gpa, NULL), err);
    assert_int_equal(gpa, 0x5a5a);
    assert_true(s->h.reads <= 2);
}

/* Hashes and AVPNs worked out by hand (ISA 2.07 Book III 5.7.7.3, "Page Table Search"):
 *  4 KiB in 256 MiB, EA 0x12345678: offset 0x2345678, hash 0x123456 ^ 0x2345 = 0x121713,
 *    group 0x713 (secondary 0xec); AVPN (VSID << 12 | offset >> 16) & ~0x7f = 0x123456200.
 *  16 MiB in 1 TiB, EA 0xc000000001234567: hash 0x1234567 ^ 0x1234567 << 25 ^ 1
 *    = 0x2468acf234566, group 0x566 (0xf234566 of 2^28); AVPN (B | VSID << 24 | 0x123) & ~0xff
 *    = B | 0x1234567000100: EA bit 23 (0x800000) lies inside the page and is not compared.
 *  64 KiB in 256 MiB, EA 0xd00000000abcdef0: hash 0xd0d0d ^ 0xabc = 0xd07b1, group 0x7b1;
 *    AVPN 0xd0d0dabc & ~0x7f = 0xd0d0da80. */
static void test_hash_pages(void **state)
{
    (void)state;
    struct hash s;
    hash_setup(&s);
    hpte_put(&s.h, 0x713, 0x123456200ULL | HV_V, 0xabc000 | HR_FLAGS);
    hpte_put(&s.h, 0x566, 0x4001234567000100ULL | HV_LARGE | HV_V, 0x3000000 | HR_FLAGS);
    hpte_put(&s.h, 0x7b1, 0xd0d0da80ULL | HV_LARGE | HV_V, 0x450000 | 0x1000 | HR_FLAGS);
    hexpect(&s, 0x12345678, 0xabc678, 4 * KiB);
    hexpect(&s, 0xc000000001234567ULL, 0x3234567, 16 * MiB);
    hexpect(&s, 0xc000000001834567ULL, 0x3834567, 16 * MiB);
    hexpect(&s, 0xd00000000abcdef0ULL, 0x45def0, 64 * KiB);
    hexpect(&s, 0xd00000000abc0000ULL, 0x450000, 64 * KiB);
    /* The neighbouring pages have no HPTE. */
    hexpect_err(&s, 0x12346678, -EFAULT);
    hexpect_err(&s, 0xc000000002234567ULL, -EFAULT);
    hexpect_err(&s, 0xd00000000abd0000ULL, -EFAULT);

    uint8_t buf[4];
    memcpy(s.f->m.host + 0x45def0, "\x7f\xe0\x00\x08", 4);
    assert_int_equal(gva_read(&s.f->m, &s.c, 0xd00000000abcdef0ULL, buf, 4, true), 4);
    assert_memory_equal(buf, "\x7f\xe0\x00\x08", 4);

    /* A table of 2^28 groups, where the 1 TiB hash's VSID << 25 term shows. */
    s.c.htab_groups = s.h.groups = 1ULL << 28;
    hexpect_err(&s, 0xc000000001234567ULL, -EFAULT);
    hpte_put(&s.h, 0xf234566, 0x4001234567000100ULL | HV_LARGE | HV_V, 0x4000000 | HR_FLAGS);
    hexpect(&s, 0xc000000001234567ULL, 0x4234567, 16 * MiB);
    hash_free(&s);
}

/* Primary, then secondary with H; H must match the group it is found in. */
static void test_hash_secondary(void **state)
{
    (void)state;
    struct hash s;
    hash_setup(&s);
    hpte_put(&s.h, 0xec, 0x123456200ULL | HV_V, 0xabc000 | HR_FLAGS);   /* no H */
    hexpect_err(&s, 0x12345678, -EFAULT);
    hpte_put(&s.h, 0x713, 0x123456200ULL | HV_H | HV_V, 0x111000 | HR_FLAGS); /* H in primary */
    hexpect_err(&s, 0x12345678, -EFAULT);
    hpte_put(&s.h, 0xec, 0x123456200ULL | HV_H | HV_V, 0xdef000 | HR_FLAGS);
    hexpect(&s, 0x12345678, 0xdef678, 4 * KiB);
    assert_int_equal(s.h.reads, 2);
    /* A smaller table: both hashes masked to its 256 groups (0x13 and 0xec). */
    s.c.htab_groups = s.h.groups = 256;
    hpte_put(&s.h, 0x13, 0x123456200ULL | HV_V, 0x222000 | HR_FLAGS);
    hexpect(&s, 0x12345678, 0x222678, 4 * KiB);
    hpte(&s.h, 0x13, 0)[0] = 0;
    hexpect(&s, 0x12345678, 0xdef678, 4 * KiB);
    hash_free(&s);
}

/* Mixed page-size segments, hashed at the base page size: 16 MiB in a 64 KiB segment (Linux's
 * transparent huge pages: EA 0xd000000001abcdef, hash 0xd0d0d ^ 0x1ab = 0xd0ca6, group 0x4a6,
 * AVPN 0xd0d0d180), 64 KiB and 16 MiB in a 4 KiB segment; HPTEs of another base page size or an
 * encoding not supported are skipped. */
static void test_hash_mpss(void **state)
{
    (void)state;
    struct hash s;
    hash_setup(&s);
    hpte_put(&s.h, 0x4a6, 0xd0d0d180ULL | HV_LARGE | HV_V, 0x5000000 | 0x8000 | HR_FLAGS);
    hexpect(&s, 0xd000000001abcdefULL, 0x5abcdef, 16 * MiB);
    hpte_put(&s.h, 0x713, 0x123456200ULL | HV_LARGE | HV_V, 0x7a0000 | 0x7000 | HR_FLAGS);
    hexpect(&s, 0x12345678, 0x7a5678, 64 * KiB);
    hpte(&s.h, 0x713, 0)[1] = 0x9000000 | 0x38000 | HR_FLAGS;    /* LP 8, LPHI 3 */
    hexpect(&s, 0x12345678, 0x9345678, 16 * MiB);

    /* 64 KiB segment: a 4 KiB HPTE, a 16 MiB-in-16 MiB one and a 16 GiB one, each with the
     * right AVPN, are skipped; then one that matches. */
    hpte_put(&s.h, 0x7b1, 0xd0d0da80ULL | HV_V, 0x660000 | HR_FLAGS);
    hpte_put(&s.h, 0x7b1, 0xd0d0da80ULL | HV_LARGE | HV_V, 0x1000000 | HR_FLAGS);
    hpte_put(&s.h, 0x7b1, 0xd0d0da80ULL | HV_LARGE | HV_V, 0x2000000 | 0x3000 | HR_FLAGS);
    hexpect_err(&s, 0xd00000000abcdef0ULL, -EFAULT);
    hpte_put(&s.h, 0x7b1, 0xd0d0da80ULL | HV_LARGE | HV_V, 0x450000 | 0x1000 | HR_FLAGS);
    hexpect(&s, 0xd00000000abcdef0ULL, 0x45def0, 64 * KiB);
    /* 16 MiB segment: LP 0 with LPHI 1 is no encoding. */
    hpte_put(&s.h, 0x566, 0x4001234567000100ULL | HV_LARGE | HV_V, 0x3010000 | HR_FLAGS);
    hexpect_err(&s, 0xc000000001234567ULL, -EFAULT);
    hash_free(&s);
}

static void test_hash_refusals(void **state)
{
    (void)state;
    struct hash s;
    hash_setup(&s);
    uint64_t ea = 0x12345678;
    hpte_put(&s.h, 0x713, 0x123456200ULL | HV_V, 0xabc000 | HR_FLAGS);
    hexpect(&s, ea, 0xabc678, 4 * KiB);

    /* No SLB entry: none, another segment, not valid, a reserved segment size (even with
     * HPTEs where B = 2 read as 256 MiB or as 1 TiB would lead: group 0x266, VSID 0x123). */
    s.c.nslb = 0;
    hexpect_err(&s, ea, -EFAULT);
    s.c.nslb = 4;
    hexpect_err(&s, 0x22345678, -EFAULT);
    s.slb[0].esid &= ~SLBE_V;
    hexpect_err(&s, ea, -EFAULT);
    s.slb[0].esid |= SLBE_V;
    s.slb[0].vsid |= 2ULL << 62;
    hpte_put(&s.h, 0x713, 2ULL << 62 | 0x123456200ULL | HV_V, 0xabc000 | HR_FLAGS);
    hpte_put(&s.h, 0x266, 0x8000000123001200ULL | HV_V, 0xabc000 | HR_FLAGS);
    hexpect_err(&s, ea, -EFAULT);
    s.slb[0].vsid &= ~(3ULL << 62);
    hpte(&s.h, 0x713, 1)[0] = 0;
    /* The 1 TiB entry covers the whole terabyte, the 256 MiB one only its segment. */
    hexpect_err(&s, 0xc0000000f1234567ULL, -EFAULT);   /* found the segment, no HPTE */
    assert_int_equal(s.h.reads, 2);
    hexpect_err(&s, 0xc000010001234567ULL, -EFAULT);   /* no segment: no HPT read */
    assert_int_equal(s.h.reads, 0);

    /* No matching HPTE: not valid, AVPN off by one bit. */
    hpte(&s.h, 0x713, 0)[0] &= ~HV_V;
    hexpect_err(&s, ea, -EFAULT);
    hpte(&s.h, 0x713, 0)[0] |= HV_V | 0x80;
    hexpect_err(&s, ea, -EFAULT);
    hpte(&s.h, 0x713, 0)[0] &= ~0x80ULL;
    hexpect(&s, ea, 0xabc678, 4 * KiB);

    /* Segments of 16 GiB or reserved pages; an unusable hash table; the reader's error. */
    s.slb[0].vsid |= SLBV_L | 0x20;
    hexpect_err(&s, ea, -EINVAL);
    s.slb[0].vsid |= 0x30;
    hexpect_err(&s, ea, -EINVAL);
    s.slb[0].vsid &= ~(SLBV_L | 0x30);
    const uint64_t groups[] = {0, 3, 1ULL << 63 | 1};
    for (int i = 0; i < 3; i++) {
        s.c.htab_groups = groups[i];
        hexpect_err(&s, ea, -EINVAL);
    }
    s.c.htab_groups = GROUPS;
    s.c.read_group = NULL;
    hexpect_err(&s, ea, -EINVAL);
    s.c.read_group = read_group;
    s.h.fail = -EIO;
    hexpect_err(&s, ea, -EIO);
    s.h.fail = 0;
    hexpect(&s, ea, 0xabc678, 4 * KiB);
    hash_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_pages),
        cmocka_unit_test(test_hash_secondary),
        cmocka_unit_test(test_hash_mpss),
        cmocka_unit_test(test_hash_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
