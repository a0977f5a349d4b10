/* A guest effective (virtual) address translated to a guest real address, as a stopped vCPU
 * would translate it: for the GDB stub (kernel memory by virtual address, breakpoints) and the
 * state dump (the instruction words around NIP).
 *
 * The mode comes from what the VMM read from the vCPU and the machine:
 *  - real mode (MSR[DR] clear for a data access, MSR[IR] clear for an instruction fetch): the
 *    real address is the EA without its top 4 bits, as QEMU's ppc_radix64/ppc_hash64 debug
 *    translations do for a guest under a (virtual) hypervisor;
 *  - Radix (the guest registered a process table with H_REGISTER_PROC_TBL): the
 *    process-scoped walk of ISA 3.0 Book III, in the geometry POWER9/10 implement;
 *  - Hash: the SLB entry of the EA, then its PTE group in the hashed page table (primary,
 *    then secondary hash), in the pre-ISA-3.0 HPTE format KVM_PPC_GET_HTAB_FD returns.
 * Under KVM (HV and PR) a guest real address is the guest physical address minivmm maps, so
 * there is no partition-scoped step.
 *
 * Everything the guest wrote (process table, page directories, PTEs, HPTEs) may be hostile:
 * each table is checked to lie wholly in guest RAM (gpa_ptr), aligned to its size and of a
 * geometry the hardware accepts, each entry is read once, and a walk reads at most 4
 * directories or 2 PTE groups, so a looping or corrupt table ends in an error, never outside
 * RAM. Protection (PP, keys, EAA, no-execute) is not checked: a debugger reads and writes what
 * the kernel could, read-only text included. Nothing is cached and there is no global state.
 * Pure: no KVM headers (tests/unit/test_gva.c, tests/fuzz/fuzz_gva.c).
 */
#ifndef MINIVMM_GVA_H
#define MINIVMM_GVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

#define GVA_HPTES_PER_GROUP 8

/* One SLB entry as KVM_GET_SREGS gives it (u.s.ppc64.slb[i].slbe / .slbv): ESID and V in
 * esid (its low 12 bits, the entry's index, are ignored), B, VSID, L and LP in vsid. */
struct gva_slb {
    uint64_t esid, vsid;
};

/* What the VMM reads from the stopped vCPU and the machine. */
struct gva_cpu {
    uint64_t msr;                 /* only IR and DR are used */
    bool radix;                   /* the guest registered a Radix process table */
    /* Radix: the partition-table entry's second doubleword as h_register_proc_tbl builds it
     * (devices/hcall.c): PATE_GR | process-table base | table size (2^(12+size) bytes). */
    uint64_t process_table;
    uint64_t pidr;                /* Radix: the PID register, for quadrant 0 (user) addresses */
    /* Hash: the SLB (entries without V are skipped; NULL with nslb 0 is an empty SLB). */
    const struct gva_slb *slb;
    unsigned nslb;
    /* Hash: fills hpte[i] = {dword 0 (v), dword 1 (r)}, converted from big-endian, for the 8
     * HPTEs of PTE group `group` (< htab_groups), in the pre-ISA-3.0 format (B in v). Under
     * KVM-HV that is KVM_PPC_GET_HTAB_FD; under KVM-PR the table is minivmm's own. Returns 0
     * or -errno, which the translation returns. */
    int (*read_group)(void *opaque, uint64_t group, uint64_t hpte[GVA_HPTES_PER_GROUP][2]);
    void *opaque;
    uint64_t htab_groups;         /* Hash: number of PTE groups, a power of two (mask + 1) */
};

/* Translates ea for a data access (instruction false: MSR[DR] decides real mode) or an
 * instruction fetch (MSR[IR]). Returns 0 with *gpa and, if page_size is not NULL, the size of
 * the page (the span, aligned to it, over which the translation is linear: 4 KiB, 64 KiB,
 * 2 MiB, 16 MiB or 1 GiB; 2^60 in real mode). *gpa may lie outside RAM (MMIO, or a bad PTE):
 * gpa_ptr() decides. Errors: -EFAULT when ea is not mapped (invalid entry, no SLB entry, no
 * matching HPTE, a quadrant or EA bits the guest cannot use, a PID beyond the process table
 * or without an entry), -EINVAL when a table is malformed or lies outside RAM, or the context
 * is (a hash MMU without a readable table; a 16 GiB page size, which minivmm never offers),
 * or what read_group returned. The EA is used whole: MSR[SF] is not applied, as in QEMU's
 * debug translations, so a debugger can name a 64-bit address while a 32-bit process runs. */
int gva_translate(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
                  bool instruction, uint64_t *gpa, uint64_t *page_size);

/* Copies len bytes at ea into buf (gva_read) or from buf into guest memory (gva_write), page
 * by page, each page translated afresh. Returns the number of bytes copied, short when a page
 * is unmapped or outside RAM after the first byte, or the error of the first byte (as
 * gva_translate, -EFAULT also for a real address outside RAM; -EINVAL for len > LONG_MAX).
 * The EA wraps at 2^64 as the hardware's does. */
long gva_read(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea, void *buf,
              size_t len, bool instruction);
long gva_write(const struct guest_mem *m, const struct gva_cpu *c, uint64_t ea,
               const void *buf, size_t len, bool instruction);

#endif
