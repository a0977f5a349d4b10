/* gdb's view of a pseries vCPU, for vmm/gdb_proto.c: the target description it is sent and
 * the register layout of 'g', 'G', 'p' and 'P' (vmm/gdb_proto.h lists it). */
#ifndef MINIVMM_GDB_REGS_H
#define MINIVMM_GDB_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_proto.h"

/* target.xml: powerpc:common64, features org.gnu.gdb.power.core and .fpu. */
extern const char gdb_target_xml[];
extern const size_t gdb_target_xml_len;

/* Register n's size on the wire (n < GDB_NREGS): 4 for cr, xer and fpscr, else 8. */
unsigned gdb_reg_size(unsigned n);

/* Register n as it travels, gdb_reg_size(n) bytes in the target's byte order, and back. */
void gdb_reg_encode(const struct gdb_regs *r, unsigned n, bool big_endian, uint8_t *b);
void gdb_reg_decode(struct gdb_regs *r, unsigned n, bool big_endian, const uint8_t *b);

/* Every register in number order: the 'g' block of GDB_G_BYTES, and back. */
void gdb_regs_encode(const struct gdb_regs *r, bool big_endian, uint8_t *b);
void gdb_regs_decode(struct gdb_regs *r, bool big_endian, const uint8_t *b);

#endif
