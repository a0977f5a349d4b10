#include "gdb_regs.h"

/* gdb's powerpc:common64 core and FPU features (binutils gdb/features/rs6000/power64-core.xml
 * and power-fpu.xml), in one inline document so gdb asks for no other annex. Every register
 * carries its regnum: gdb lays out 'g' by these numbers, not by document order. Nothing in
 * it needs escaping in a qXfer reply ('$', '#', '}', '*'). */
#define GPR(n) "<reg name=\"r" #n "\" bitsize=\"64\" type=\"uint64\" regnum=\"" #n "\"/>\n"
#define GPR4(a, b, c, d) GPR(a) GPR(b) GPR(c) GPR(d)
#define FPR(n, num) \
    "<reg name=\"f" #n "\" bitsize=\"64\" type=\"ieee_double\" regnum=\"" #num "\"/>\n"
const char gdb_target_xml[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n<architecture>powerpc:common64</architecture>\n"
    "<feature name=\"org.gnu.gdb.power.core\">\n"
    GPR4(0, 1, 2, 3) GPR4(4, 5, 6, 7) GPR4(8, 9, 10, 11) GPR4(12, 13, 14, 15)
    GPR4(16, 17, 18, 19) GPR4(20, 21, 22, 23) GPR4(24, 25, 26, 27) GPR4(28, 29, 30, 31)
    "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"64\"/>\n"
    "<reg name=\"msr\" bitsize=\"64\" type=\"uint64\" regnum=\"65\"/>\n"
    "<reg name=\"cr\" bitsize=\"32\" type=\"uint32\" regnum=\"66\"/>\n"
    "<reg name=\"lr\" bitsize=\"64\" type=\"code_ptr\" regnum=\"67\"/>\n"
    "<reg name=\"ctr\" bitsize=\"64\" type=\"uint64\" regnum=\"68\"/>\n"
    "<reg name=\"xer\" bitsize=\"32\" type=\"uint32\" regnum=\"69\"/>\n"
    "</feature>\n<feature name=\"org.gnu.gdb.power.fpu\">\n"
    FPR(0, 32) FPR(1, 33) FPR(2, 34) FPR(3, 35)
    FPR(4, 36) FPR(5, 37) FPR(6, 38) FPR(7, 39)
    FPR(8, 40) FPR(9, 41) FPR(10, 42) FPR(11, 43)
    FPR(12, 44) FPR(13, 45) FPR(14, 46) FPR(15, 47)
    FPR(16, 48) FPR(17, 49) FPR(18, 50) FPR(19, 51)
    FPR(20, 52) FPR(21, 53) FPR(22, 54) FPR(23, 55)
    FPR(24, 56) FPR(25, 57) FPR(26, 58) FPR(27, 59)
    FPR(28, 60) FPR(29, 61) FPR(30, 62) FPR(31, 63)
    "<reg name=\"fpscr\" bitsize=\"32\" group=\"float\" regnum=\"70\"/>\n"
    "</feature>\n</target>\n";

const size_t gdb_target_xml_len = sizeof(gdb_target_xml) - 1;

unsigned gdb_reg_size(unsigned n)
{
    return n == 66 || n == 69 || n == 70 ? 4 : 8;
}

static uint64_t reg_get(const struct gdb_regs *r, unsigned n)
{
    if (n < 32)
        return r->gpr[n];
    if (n < 64)
        return r->fpr[n - 32];
    const uint64_t v[] = {r->pc, r->msr, r->cr, r->lr, r->ctr, r->xer, r->fpscr};
    return v[n - 64];
}

static void reg_set(struct gdb_regs *r, unsigned n, uint64_t v)
{
    if (n < 32)
        r->gpr[n] = v;
    else if (n < 64)
        r->fpr[n - 32] = v;
    else
        switch (n) {
        case 64: r->pc = v; break;
        case 65: r->msr = v; break;
        case 66: r->cr = (uint32_t)v; break;
        case 67: r->lr = v; break;
        case 68: r->ctr = v; break;
        case 69: r->xer = (uint32_t)v; break;
        default: r->fpscr = (uint32_t)v; break;
        }
}

void gdb_reg_encode(const struct gdb_regs *r, unsigned n, bool big_endian, uint8_t *b)
{
    unsigned size = gdb_reg_size(n);
    uint64_t v = reg_get(r, n);
    for (unsigned i = 0; i < size; i++)
        b[big_endian ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

void gdb_reg_decode(struct gdb_regs *r, unsigned n, bool big_endian, const uint8_t *b)
{
    unsigned size = gdb_reg_size(n);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)b[big_endian ? size - 1 - i : i] << (8 * i);
    reg_set(r, n, v);
}

void gdb_regs_encode(const struct gdb_regs *r, bool big_endian, uint8_t *b)
{
    for (unsigned n = 0; n < GDB_NREGS; b += gdb_reg_size(n), n++)
        gdb_reg_encode(r, n, big_endian, b);
}

void gdb_regs_decode(struct gdb_regs *r, bool big_endian, const uint8_t *b)
{
    for (unsigned n = 0; n < GDB_NREGS; b += gdb_reg_size(n), n++)
        gdb_reg_decode(r, n, big_endian, b);
}
