#include "gva.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* MSR[IR] and MSR[DR], instruction and data relocation (ISA Book III, Machine State Register:
 * bits 58 and 59, i.e. 1 << 5 and 1 << 4). */
#define MSR_IR (1ULL << 5)
#define MSR_DR (1ULL << 4)

/* Real mode ignores the top 4 EA bits (QEMU ppc_hash64_xlate / ppc_radix64_xlate_impl: "the
 * top 4 effective address bits are (mostly) ignored"), so the translation is linear over each
 * aligned 2^60 bytes. */
#define REAL_MASK 0x0fffffffffffffffULL
#define REAL_SPAN (1ULL << 60)

/* ---- Radix (ISA 3.0 Book III "Radix Tree Translation"; constants as in QEMU's
 * mmu-radix64.h and mmu-book3s-v3.h and Linux's book3s/64/radix.h) ---- */

/* The partition-table entry's second doubleword: guest radix, process-table base and size. */
#define PATE1_GR (1ULL << 63)
#define PATE1_PRTB 0x0ffffffffffff000ULL
#define PATE1_PRTS 0x1fULL
/* A process-table entry's first doubleword: the radix tree size RTS (5 bits split in two
 * fields; the address space is 2^(RTS+31) bytes), root directory base and size (log2 of its
 * entries). */
#define PRTE_RTS1 0x6000000000000000ULL      /* RTS bits 0:1, >> 58 gives their value << 3 */
#define PRTE_RTS2 0x00000000000000e0ULL      /* RTS bits 2:4 */
#define PRTE_RPDB 0x0fffffffffffff00ULL
#define PRTE_RPDS 0x1fULL
/* A directory entry: valid, leaf; a non-leaf gives the next level's base and size, a leaf
 * the real page number. */
#define RPTE_V (1ULL << 63)
#define RPTE_L (1ULL << 62)
#define RPDE_NLB 0x0fffffffffffff00ULL
#define RPDE_NLS 0x1fULL
#define RPTE_RPN 0x01fffffffffff000ULL
/* EA bits 2:11 must be zero (outside the 52-bit space): a segment interrupt otherwise (QEMU
 * R_EADDR_VALID_MASK, "When EA(2:11) are nonzero, raise a segment interrupt"). */
#define RADIX_EA_RESERVED 0x3ff0000000000000ULL
#define RADIX_SPACE_SHIFT 52
#define RADIX_LEVELS 4

/* ---- Hash (ISA 2.07 Book III "Segmentation" and "Hashed Page Table"; constants as in
 * QEMU's mmu-hash64.h and Linux's book3s/64/mmu-hash.h) ---- */

#define SLBE_V 0x0000000008000000ULL
#define SLBV_B 0xc000000000000000ULL         /* segment size: 00 256 MiB, 01 1 TiB */
#define SLBV_B_1T 0x4000000000000000ULL
#define SLBV_VSID 0x3ffffffffffff000ULL      /* >> 12 for 256 MiB, >> 24 for 1 TiB */
#define SLBV_L 0x100ULL                      /* large base page, size in LP */
#define SLBV_LP 0x030ULL
#define SEG_SHIFT_256M 28
#define SEG_SHIFT_1T 40
#define HPTE_V_B 0xc000000000000000ULL
#define HPTE_V_AVPN 0x3fffffffffffff80ULL
#define HPTE_V_LARGE 0x4ULL
#define HPTE_V_SECONDARY 0x2ULL
#define HPTE_V_VALID 0x1ULL
/* What an HPTE must match: B, AVPN, H and V (QEMU HPTE64_V_COMPARE). */
#define HPTE_V_COMPARE (HPTE_V_B | HPTE_V_AVPN | HPTE_V_SECONDARY | HPTE_V_VALID)
#define HPTE_R_RPN 0x0ffffffffffff000ULL

/* Page tables are big-endian whatever the guest's byte order. */
static uint64_t be64_load(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The directory geometry POWER9 and POWER10 implement and KVM accepts (Linux
 * book3s_64_mmu_radix.c p9_supported_radix_bits; QEMU ppc_radix64_is_valid_level, after the
 * processors' user manuals): a 52-bit space, a root of 2^13 entries, two levels of 2^9, and a
 * last level of 2^9 (4 KiB pages) or 2^5 (64 KiB pages). Fixing it also bounds the walk. */
static bool radix_level_ok(unsigned level, uint64_t nls)
{
    switch (level) {
    case 0:
        return nls == 13;
    case 1:
    case 2:
        return nls == 9;
    default:
        return nls == 9 || nls == 5;
    }
}

/* Walks the tree whose root is `base` of 2^nls entries. Leaves may sit at level 1 (1 GiB),
 * 2 (2 MiB) or 3, never in the root (512 GiB pages: KVM refuses them too). */
static int radix_walk(const struct guest_mem *m, uint64_t ea, uint64_t base, uint64_t nls,
                      uint64_t *gpa, uint64_t *page_size)
{
    unsigned shift = RADIX_SPACE_SHIFT;
    for (unsigned level = 0; level < RADIX_LEVELS; level++) {
        if (!radix_level_ok(level, nls))
            return -EINVAL;
        /* A directory is aligned to its size (ISA 3.1B Book III 6.7.6, programming note;
         * KVM's kvmppc_mmu_walk_radix_tree refuses a misaligned one) and lies in RAM. */
        uint64_t bytes = 8ULL << nls;
        const uint8_t *dir = gpa_ptr(m, base, bytes);
        if ((base & (bytes - 1)) || !dir)
            return -EINVAL;
        shift -= (unsigned)nls;
        uint64_t pte = be64_load(dir + 8 * ((ea >> shift) & ((1ULL << nls) - 1)));
        if (!(pte & RPTE_V))
            return -EFAULT;
        if (pte & RPTE_L) {
            uint64_t size = 1ULL << shift;
            /* A leaf's RPN is aligned to its page (KVM refuses it otherwise). */
            if (level == 0 || (pte & RPTE_RPN & (size - 1)))
                return -EINVAL;
            *gpa = (pte & RPTE_RPN) | (ea & (size - 1));
            *page_size = size;
            return 0;
        }
        base = pte & RPDE_NLB;
        nls = pte & RPDE_NLS;
    }
    return -EINVAL;   /* a directory where the last level must hold leaves */
}

/* Quadrant 3 (EA 0b11...) is the guest kernel's, PID 0; quadrant 0 the process of PIDR; a
 * guest cannot use 1 and 2 (QEMU ppc_radix64_get_fully_qualified_addr, MSR[HV] = 0). */
static int radix_translate(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
                           uint64_t *gpa, uint64_t *page_size)
{
    uint64_t pid;
    switch (ea >> 62) {
    case 3:
        pid = 0;
        break;
    case 0:
        pid = c->pidr;
        break;
    default:
        return -EFAULT;
    }
    if (ea & RADIX_EA_RESERVED)
        return -EFAULT;

    /* The process table: registered as radix, aligned to its size (QEMU
     * ppc_radix64_process_scoped_xlate), wholly in RAM. */
    uint64_t prts = c->process_table & PATE1_PRTS, prtb = c->process_table & PATE1_PRTB;
    if (!(c->process_table & PATE1_GR))
        return -EINVAL;
    uint64_t size = 1ULL << (12 + prts);
    const uint8_t *table = gpa_ptr(m, prtb, size);
    if ((prtb & (size - 1)) || !table)
        return -EINVAL;
    if (pid >= size / 16)
        return -EFAULT;   /* no entry for that PID (QEMU: DSISR_NOPTE) */

    uint64_t prte = be64_load(table + 16 * pid);
    if (!prte)
        return -EFAULT;   /* Linux clears the entry of a context it destroyed */
    uint64_t rts = ((prte & PRTE_RTS1) >> 58) | ((prte & PRTE_RTS2) >> 5);
    if (rts + 31 != RADIX_SPACE_SHIFT)
        return -EINVAL;
    return radix_walk(m, ea, prte & PRTE_RPDB, prte & PRTE_RPDS, gpa, page_size);
}

/* The first valid SLB entry whose segment holds ea; *seg_shift gets its size. A reserved B
 * never matches (QEMU slb_lookup matches 256 MiB and 1 TiB entries only). */
static const struct gva_slb *slb_find(const struct gva_cpu *c, uint64_t ea,
                                      unsigned *seg_shift)
{
    for (unsigned i = 0; c->slb && i < c->nslb; i++) {
        const struct gva_slb *s = &c->slb[i];
        unsigned shift;
        if ((s->vsid & SLBV_B) == 0)
            shift = SEG_SHIFT_256M;
        else if ((s->vsid & SLBV_B) == SLBV_B_1T)
            shift = SEG_SHIFT_1T;
        else
            continue;
        if ((s->esid & SLBE_V) && !((s->esid ^ ea) >> shift)) {
            *seg_shift = shift;
            return s;
        }
    }
    return NULL;
}

/* The segment's base page size from SLB L||LP (Linux book3s_hv_rm_mmu.c
 * slb_base_page_shift: LP 00 16 MiB, 01 64 KiB, 10 16 GiB, 11 reserved); 0 when unsupported. */
static unsigned slb_base_shift(uint64_t slbv)
{
    if (!(slbv & SLBV_L))
        return 12;
    switch ((slbv & SLBV_LP) >> 4) {
    case 0:
        return 24;
    case 1:
        return 16;
    default:
        return 0;   /* 16 GiB: minivmm never offers it; 11: reserved */
    }
}

/* The base and actual page shifts an HPTE encodes in its L bit and the LP field, the low bits
 * of its RPN, as POWER7/8/9 read them: KVM's kvmppc_hpte_page_shifts()
 * (arch/powerpc/include/asm/kvm_book3s_64.h), which KVM applies to these same guest HPTEs; the
 * guest learns them from KVM_PPC_GET_SMMU_INFO, which minivmm passes on unchanged. False for an
 * encoding not supported (16 GiB, reserved values). */
static bool hpte_shifts(uint64_t v, uint64_t r, unsigned *base, unsigned *actual)
{
    if (!(v & HPTE_V_LARGE)) {
        *base = *actual = 12;
        return true;
    }
    unsigned lp = (r >> 12) & 0xf, lphi = (r >> 16) & 0xf;
    if (lp == 0 && lphi == 0)
        *base = *actual = 24;           /* 16 MiB in a 16 MiB segment */
    else if (lp == 1)
        *base = *actual = 16;           /* 64 KiB in 64 KiB */
    else if (lp == 7)
        *base = 12, *actual = 16;       /* 64 KiB in 4 KiB */
    else if (lp == 8 && lphi == 0)
        *base = 16, *actual = 24;       /* 16 MiB in 64 KiB (Linux's hash THP) */
    else if (lp == 8 && lphi == 3)
        *base = 12, *actual = 24;       /* 16 MiB in 4 KiB */
    else
        return false;
    return true;
}

/* Searches one PTE group for `want` (B, AVPN, H, V) in a segment of base page shift p. An
 * HPTE of another base page size is skipped, as the hardware and KVM skip it (Linux may leave
 * such HPTEs behind when it demotes a segment, as QEMU's ppc_hash64_pteg_search notes).
 * Returns 1 and the HPTE, 0 if none matches, or the read's error. */
static int hash_search(const struct gva_cpu *c, uint64_t group, uint64_t want, unsigned p,
                       uint64_t *v, uint64_t *r, unsigned *actual)
{
    uint64_t g[GVA_HPTES_PER_GROUP][2] = {{0}};
    int err = c->read_group(c->opaque, group, g);
    if (err)
        return err < 0 ? err : -EIO;
    for (unsigned i = 0; i < GVA_HPTES_PER_GROUP; i++) {
        unsigned base;
        if ((g[i][0] & HPTE_V_COMPARE) == want &&
            hpte_shifts(g[i][0], g[i][1], &base, actual) && base == p) {
            *v = g[i][0], *r = g[i][1];
            return 1;
        }
    }
    return 0;
}

/* The hash, AVPN and group search of KVM's kvmppc_hv_find_lock_hpte and kvmppc_hv_get_hash_value
 * (book3s_hv_rm_mmu.c) and QEMU's ppc_hash64_htab_lookup: the virtual page number is taken at
 * the segment's base page size; a secondary hash is ~primary and wants H set. */
static int hash_translate(const struct gva_cpu *c, uint64_t ea, uint64_t *gpa,
                          uint64_t *page_size)
{
    if (!c->read_group || !c->htab_groups || (c->htab_groups & (c->htab_groups - 1)))
        return -EINVAL;
    unsigned seg;
    const struct gva_slb *s = slb_find(c, ea, &seg);
    if (!s)
        return -EFAULT;   /* a segment interrupt for the guest */
    unsigned p = slb_base_shift(s->vsid);
    if (!p)
        return -EINVAL;

    uint64_t somask = (1ULL << seg) - 1, off = ea & somask;
    uint64_t vsid = (s->vsid & SLBV_VSID) >> (seg == SEG_SHIFT_1T ? 24 : 12);
    uint64_t hash = vsid ^ (off >> p);
    if (seg == SEG_SHIFT_1T)
        hash ^= vsid << 25;
    /* AVPN: the virtual address >> 16 (B and VSID from the SLB entry, then the segment
     * offset), without the bits inside the base page. */
    uint64_t avpn = (s->vsid & ~(somask >> 16)) | (off >> 16);
    avpn &= p >= 24 ? ~((1ULL << (p - 16)) - 1) : ~0x7fULL;
    uint64_t want = (avpn & (HPTE_V_B | HPTE_V_AVPN)) | HPTE_V_VALID;

    for (int secondary = 0; secondary < 2; secondary++) {
        uint64_t v, r;
        unsigned a;
        uint64_t group = (secondary ? ~hash : hash) & (c->htab_groups - 1);
        int found = hash_search(c, group, want | (secondary ? HPTE_V_SECONDARY : 0), p, &v,
                                &r, &a);
        if (found < 0)
            return found;
        if (found) {
            uint64_t size = 1ULL << a;
            *gpa = (r & HPTE_R_RPN & ~(size - 1)) | (ea & (size - 1));
            *page_size = size;
            return 0;
        }
    }
    return -EFAULT;   /* no HPTE: a page fault the guest would take */
}

int gva_translate(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
                  bool instruction, uint64_t *gpa, uint64_t *page_size)
{
    uint64_t g = 0, size = 0;
    int r;
    if (!(c->msr & (instruction ? MSR_IR : MSR_DR))) {
        g = ea & REAL_MASK;
        size = REAL_SPAN;
        r = 0;
    } else if (c->radix) {
        r = radix_translate(m, c, ea, &g, &size);
    } else {
        r = hash_translate(c, ea, &g, &size);
    }
    if (r == 0) {
        *gpa = g;
        if (page_size)
            *page_size = size;
    }
    return r;
}

/* gva_read and gva_write: one translation per page, the bytes inside RAM copied. */
static long gva_copy(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
                     uint8_t *buf, size_t len, bool instruction, bool write)
{
    if (len > LONG_MAX)
        return -EINVAL;
    size_t done = 0;
    while (done < len) {
        uint64_t gpa, size;
        int r = gva_translate(m, c, ea, instruction, &gpa, &size);
        if (r)
            return done ? (long)done : r;
        uint64_t chunk = size - (ea & (size - 1));
        if (chunk > len - done)
            chunk = len - done;
        if (gpa < m->size && chunk > m->size - gpa)
            chunk = m->size - gpa;   /* the part in RAM now, a short count next time round */
        uint8_t *p = gpa_ptr(m, gpa, chunk);
        if (!p)
            return done ? (long)done : -EFAULT;
        if (write)
            memcpy(p, buf + done, chunk);
        else
            memcpy(buf + done, p, chunk);
        done += chunk;
        ea += chunk;
    }
    return (long)done;
}

long gva_read(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea, void *buf,
              size_t len, bool instruction)
{
    return gva_copy(m, c, ea, buf, len, instruction, false);
}

long gva_write(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
               const void *buf, size_t len, bool instruction)
{
    /* The cast is safe: with write set, gva_copy only reads buf. */
    return gva_copy(m, c, ea, (uint8_t *)(uintptr_t)buf, len, instruction, true);
}
