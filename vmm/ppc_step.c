/* Power ISA 3.1 Book I, "Branch Facility" and "Branch Instructions"; Book III rfid/rfscv. */
#include "ppc_step.h"

#define OP_PREFIX 1    /* a prefixed (8-byte) instruction, Power ISA 3.1 */
#define OP_BC 16
#define OP_B 18
#define OP_XL 19
#define XL_BCLR 16
#define XL_RFID 18
#define XL_RFSCV 82
#define XL_BCCTR 528
#define XL_BCTAR 560
#define MSR_SF (1ULL << 63)
#define BO_ALWAYS 0x14  /* BO bits 0 and 2 set: neither the CR bit nor CTR is tested */

static uint64_t sext(uint64_t v, unsigned bits)
{
    uint64_t sign = 1ULL << (bits - 1);
    return (v ^ sign) - sign;
}

static unsigned add(struct ppc_step_next next[2], unsigned n, uint64_t addr, uint64_t msr)
{
    if (!(msr & MSR_SF))
        addr &= 0xffffffffULL;
    if (n == 1 && next[0].addr == addr && next[0].msr == msr)
        return n;
    next[n].addr = addr;
    next[n].msr = msr;
    return n + 1;
}

unsigned ppc_step_successors(uint32_t insn, const struct ppc_step_regs *r,
                             struct ppc_step_next next[2])
{
    unsigned op = insn >> 26, xo = (insn >> 1) & 0x3ff, bo = (insn >> 21) & 0x1f;
    bool aa = insn & 2, always = (bo & BO_ALWAYS) == BO_ALWAYS;
    uint64_t fall = r->pc + 4;
    switch (op) {
    case OP_PREFIX:
        return add(next, 0, r->pc + 8, r->msr);
    case OP_B: {
        uint64_t off = sext(insn & 0x03fffffc, 26);
        return add(next, 0, aa ? off : r->pc + off, r->msr);
    }
    case OP_BC: {
        uint64_t off = sext(insn & 0xfffc, 16);
        unsigned n = always ? 0 : add(next, 0, fall, r->msr);
        return add(next, n, aa ? off : r->pc + off, r->msr);
    }
    case OP_XL:
        switch (xo) {
        case XL_BCLR:
        case XL_BCCTR:
        case XL_BCTAR: {
            uint64_t to = xo == XL_BCLR ? r->lr : xo == XL_BCCTR ? r->ctr : r->tar;
            unsigned n = always ? 0 : add(next, 0, fall, r->msr);
            return add(next, n, to & ~3ULL, r->msr);
        }
        case XL_RFID:
            return add(next, 0, r->srr0 & ~3ULL, r->srr1);
        case XL_RFSCV:   /* back to LR, under the MSR in CTR */
            return add(next, 0, r->lr & ~3ULL, r->ctr);
        }
        break;
    }
    return add(next, 0, fall, r->msr);
}
