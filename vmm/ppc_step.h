/* Where one POWER instruction can send execution next: what a debugger needs to step a vCPU
 * with breakpoints when KVM cannot single-step it (KVM-HV ignores KVM_GUESTDBG_SINGLESTEP;
 * only KVM-PR traces). A temporary breakpoint on every successor, then the vCPU runs: the
 * first one it reaches ends the step. Interrupts taken meanwhile run to completion, as with
 * gdb's own software single step (rs6000_software_single_step, which this follows).
 * Pure: no KVM headers (tests/unit/test_ppc_step.c). */
#ifndef MINIVMM_PPC_STEP_H
#define MINIVMM_PPC_STEP_H

#include <stdbool.h>
#include <stdint.h>

/* The registers a branch can take its target from. */
struct ppc_step_regs {
    uint64_t pc, msr, lr, ctr, tar, srr0, srr1;
};

/* A successor and the MSR it runs under: the current one, or the one rfid (SRR1) or rfscv
 * (CTR) installs, by which its address is translated; without MSR[SF] it wraps at 4 GiB. */
struct ppc_step_next {
    uint64_t addr, msr;
};

/* The successors of insn (as the vCPU fetches it, already in its byte order) at r->pc: one
 * or two, distinct, into next[]; returns how many. A conditional branch gives both the
 * fall-through and the target (its condition is not evaluated: either is right to stop at);
 * sc and scv give the next instruction (the step ends when the call returns). */
unsigned ppc_step_successors(uint32_t insn, const struct ppc_step_regs *r,
                             struct ppc_step_next next[2]);

#endif
