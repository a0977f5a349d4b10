/* gva_translate(), gva_read() and gva_write() with the guest's tables, the vCPU's state and the
 * addresses all from the input: guest RAM of about 128 KiB (calloc'd each run, so AddressSanitizer
 * sees any access past it), a hashed page table of up to 16 groups behind the read_group
 * callback, an SLB of up to 7 entries. Checks that the walk stays bounded (at most 2 PTE
 * groups per translation, never a group beyond the table), that errors are the documented
 * ones, and that a translation is consistent: the page size one of the supported ones, the
 * offset inside the page kept, gva_read agreeing with gva_translate.
 *
 * Input: data[0] = n, data[1..1+n) the program, the rest copied to guest physical 0 (as
 * fuzz_common.h describes). The program, little-endian, missing bytes zero:
 *   u8 flags   bit 0 radix, bit 1 MSR[DR], bit 2 MSR[IR], bit 3 the HPT reader fails,
 *              bits 4-6 SLB entries
 *   u8 ram     RAM = 128 KiB + (ram - 128) * 8 bytes
 *   u64 process_table, u16 pidr, u8 groups (< 0xf0: 2^(groups % 5), else groups & 15)
 *   SLB entries: u64 esid, u64 vsid each
 *   u8 writes, then each: u8 kind (bit 0: HPT, else RAM), u16 index (RAM: index of a big-endian
 *              doubleword; HPT: of a host-order one, v and r of each HPTE in turn), u64 value
 *   then addresses to the end: u8 sel, then u64 ea if sel bit 0, else u32 added to the prefix
 *              {0, 0xc000..., 0xd000..., 0x4000...}[sel bits 1-2]; sel bits 3-5 pick the
 *              length of a read, bit 6 an instruction fetch, bit 7 a write-back of what was read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../../vmm/gva.h"

#define RAM_BASE 0x20000u
#define HTAB_GROUPS 16
#define MAX_SLB 7
#define MAX_WRITES 64

struct fz_htab {
    uint64_t e[HTAB_GROUPS][GVA_HPTES_PER_GROUP][2];
    uint64_t groups;
    unsigned reads;
    bool fail;
};

static int fz_read_group(void *opaque, uint64_t group, uint64_t out[GVA_HPTES_PER_GROUP][2])
{
    struct fz_htab *h = opaque;
    if (group >= h->groups || group >= HTAB_GROUPS)
        abort();
    h->reads++;
    if (h->fail)
        return -EIO;
    memcpy(out, h->e[group], sizeof(h->e[group]));
    return 0;
}

static bool known_error(long r)
{
    return r == -EFAULT || r == -EINVAL || r == -EIO;
}

/* Translates ea and checks what comes back; returns the error or 0 with *gpa. */
static int check_translate(const struct guest_mem *m, const struct gva_cpu *c,
                           struct fz_htab *h, uint64_t ea, bool insn, uint64_t *gpa)
{
    uint64_t size = 0;
    h->reads = 0;
    int r = gva_translate(m, c, ea, insn, gpa, &size);
    if (h->reads > 2)
        abort();
    if (r) {
        if (!known_error(r))
            abort();
        return r;
    }
    static const uint64_t sizes[] = {1ULL << 12, 1ULL << 16, 1ULL << 21, 1ULL << 24,
                                     1ULL << 30, 1ULL << 60};
    bool ok = false;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        ok |= size == sizes[i];
    if (!ok || ((*gpa ^ ea) & (size - 1)))
        abort();
    return 0;
}

static uint8_t buf[16384];

/* One address: translate, then read (and maybe write back) a few bytes. */
static void one_address(const struct guest_mem *m, const struct gva_cpu *c, struct fz_htab *h,
                        struct fz *prog)
{
    static const uint64_t prefix[4] = {0, 0xc000000000000000ULL, 0xd000000000000000ULL,
                                       0x4000000000000000ULL};
    static const size_t lens[8] = {0, 1, 4, 8, 64, 4096, 8192, sizeof(buf)};
    uint8_t sel = fz_u8(prog);
    uint64_t ea = (sel & 1) ? fz_u64(prog) : prefix[(sel >> 1) & 3] | fz_u32(prog);
    size_t len = lens[(sel >> 3) & 7];
    bool insn = sel & 0x40;

    uint64_t gpa = 0;
    int t = check_translate(m, c, h, ea, insn, &gpa);
    h->reads = 0;
    long n = gva_read(m, c, ea, buf, len, insn);
    if (h->reads > 2 * (len / 4096 + 2))
        abort();
    if (n < 0 ? !known_error(n) : (size_t)n > len)
        abort();
    /* The first byte is the translation's: the same error, or the byte at gpa. */
    if (len && t && n != t)
        abort();
    if (len && !t && gpa < m->size && (n < 1 || buf[0] != m->host[gpa]))
        abort();
    if ((sel & 0x80) && n > 0 && gva_write(m, c, ea, buf, (size_t)n, insn) != n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    uint8_t flags = fz_u8(&prog);
    uint64_t ram = RAM_BASE + ((int64_t)fz_u8(&prog) - 128) * 8;
    struct guest_mem m = {.host = calloc(1, ram), .size = ram, .page_size = 4096};
    static struct fz_htab h;
    static struct gva_slb slb[MAX_SLB];
    if (!m.host)
        abort();
    memcpy(m.host, mem.p, mem.n < ram ? mem.n : ram);
    memset(&h, 0, sizeof(h));

    struct gva_cpu c = {.msr = (uint64_t)(flags & 6) << 3, .radix = flags & 1,
                        .slb = slb, .read_group = fz_read_group, .opaque = &h};
    h.fail = flags & 8;
    c.nslb = (flags >> 4) & 7;
    c.process_table = fz_u64(&prog);
    c.pidr = fz_u16(&prog);
    uint8_t g = fz_u8(&prog);
    c.htab_groups = h.groups = g < 0xf0 ? 1ULL << (g % 5) : g & 15;
    for (unsigned i = 0; i < c.nslb; i++) {
        slb[i].esid = fz_u64(&prog);
        slb[i].vsid = fz_u64(&prog);
    }

    unsigned writes = fz_u8(&prog) % (MAX_WRITES + 1);
    for (unsigned i = 0; i < writes; i++) {
        uint8_t kind = fz_u8(&prog);
        uint16_t index = fz_u16(&prog);
        uint64_t v = fz_u64(&prog);
        if (kind & 1) {
            (&h.e[0][0][0])[index % (HTAB_GROUPS * GVA_HPTES_PER_GROUP * 2)] = v;
        } else {
            uint8_t *p = m.host + (index % (ram / 8)) * 8;
            for (int b = 0; b < 8; b++)
                p[b] = (uint8_t)(v >> (56 - 8 * b));
        }
    }
    while (prog.n)
        one_address(&m, &c, &h, &prog);
    free(m.host);
    return 0;
}
