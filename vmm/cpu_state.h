/* What a vCPU was doing, for the reports minivmm gives about a guest that hangs (--timeout,
 * SIGUSR1) or fails: its registers, the instruction words around its NIP, and the kernel
 * symbols they fall in. Portable: the KVM layer fills it (vcpu_state.c), this formats it.
 */
#ifndef MINIVMM_CPU_STATE_H
#define MINIVMM_CPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ksym.h"
#include "mem.h"

#define MSR_IR (1ULL << 5)     /* instruction relocation: off is real mode for fetches */
#define MSR_LE 1ULL            /* little-endian mode */

#define CPU_STATE_WORDS 8      /* instruction words shown: 4 before NIP, NIP, 3 after */
#define CPU_STATE_SYM 112      /* "name+0xoff" */

struct cpu_state {
    unsigned index;
    uint32_t id;
    enum { CPU_STATE_RUNNING, CPU_STATE_STOPPED, CPU_STATE_BUSY } how;  /* BUSY: in minivmm */
    bool have_regs;
    uint64_t gpr[32], nip, msr, lr, ctr, cr, xer, srr0, srr1;
    unsigned nwords;           /* words read at code_at, in the guest's byte order of the time */
    uint64_t code_at;
    uint32_t code[CPU_STATE_WORDS];
    char nip_sym[CPU_STATE_SYM], lr_sym[CPU_STATE_SYM];   /* "" when unknown */
};

/* Where the words shown start: four words before NIP. */
static inline uint64_t cpu_state_code_at(const struct cpu_state *s)
{
    return (s->nip & ~3ULL) - 4 * 4;
}

/* The words around s->nip from guest memory: in real mode (MSR[IR] clear) and in the Linux
 * kernel's linear map (0xc000... minus KERNELBASE is the real address); code elsewhere
 * (modules, vmalloc, user space) needs the guest's page tables and is left out. */
void cpu_state_read_code(struct cpu_state *s, const struct guest_mem *m);
/* Sets the code words from the 4 * CPU_STATE_WORDS bytes at s->code_at (= NIP - 16, rounded),
 * read in the guest's byte order of the moment (MSR[LE]). */
void cpu_state_set_code(struct cpu_state *s, const uint8_t *bytes);
/* Names NIP and LR from the kernel's symbols (k may be NULL). */
void cpu_state_symbolize(struct cpu_state *s, const struct ksym *k);
/* The report, one line at a time (without newline), as minivmm's log and stderr show it. */
void cpu_state_lines(const struct cpu_state *s, void (*line)(void *opaque, const char *text),
                     void *opaque);

#endif
