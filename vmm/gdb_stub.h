/* --gdb: the GDB remote stub of a VM (the KVM side; gdb_proto.c speaks the protocol).
 *
 * All-stop. One thread (gdb_stub.c) owns the socket and the session and does every debug
 * ioctl, always while the vCPUs it touches are out of KVM_RUN: each vCPU holds before its
 * next entry (gdb_vcpu_hold) while the VM is halted. A vCPU that takes a debug exit (a
 * breakpoint, or the end of a step) halts the VM, kicks the others out of the guest and
 * wakes the stub thread, which waits until every vCPU holds (or is stopped by RTAS) before it
 * tells gdb. gdb_target.c is what the session asks of the VM: registers, memory by guest
 * virtual address (gva.c, as the vCPU translates), breakpoints and steps.
 *
 * Breakpoints are KVM's software ones: the word KVM_REG_PPC_DEBUG_INST names (0x00dddd00, an
 * illegal instruction: KVM-HV and KVM-PR turn it into KVM_EXIT_DEBUG when the vCPUs have
 * KVM_GUESTDBG_USE_SW_BP) written over the instruction. KVM-PR single-steps
 * (KVM_CAP_PPC_GUEST_DEBUG_SSTEP); KVM-HV does not, so a step there is temporary breakpoints
 * on the instruction's successors (ppc_step.c).
 */
#ifndef MINIVMM_GDB_STUB_H
#define MINIVMM_GDB_STUB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "gdb_proto.h"

struct vm;
struct vcpu;
struct mvm_err;

#define GDB_MAX_BPS 64
#define GDB_INSN 4

struct gdb_bp {
    uint64_t addr, gpa;          /* as gdb named it; where its word is in guest memory */
    uint8_t orig[GDB_INSN];      /* the instruction it covers */
    bool temp;                   /* a step's: removed when the VM stops */
};

struct gdb_cpu {
    enum gdb_action act;         /* what gdb last asked of this vCPU */
    bool parked;                 /* holding before KVM_RUN */
    bool stepping;               /* a step is under way */
    unsigned nnext;              /* a step by breakpoints: where it may end */
    uint64_t next[2];
    uint64_t stale_addr;         /* the last debug exit nobody claimed, and bp_gen then */
    unsigned stale_gen;
};

struct gdb_stub {
    struct vm *vm;
    int listen_fd, conn_fd, wake_fd;
    char desc[160];              /* how to connect, for the log */
    pthread_t thread;
    bool thread_started;
    bool native_step;            /* KVM single-steps (KVM-PR) */
    bool warned_heir;            /* said that KVM-HV's breakpoints may not work here */
    bool warned_debug;           /* said that KVM_SET_GUEST_DEBUG failed */
    uint8_t bp_insn[GDB_INSN];   /* KVM's breakpoint word, in guest memory order */
    struct gdb_session session;  /* the stub thread's alone */
    struct gdb_out out;
    /* Guarded by vm->lock. */
    bool attached;               /* a debugger is connected */
    bool halted;                 /* every vCPU holds at its next entry */
    bool ended;                  /* the run is over: nothing holds any more */
    bool stop_pending;           /* a stop for gdb: stop_cpu, stop_why */
    unsigned stop_cpu;
    enum gdb_stop_reason stop_why;
    struct gdb_bp bps[GDB_MAX_BPS];
    unsigned nbps, bp_gen;       /* bp_gen counts changes to bps[] */
    struct gdb_cpu cpu[VM_MAX_CPUS];
};

/* gdb_stub.c: the lifecycle (vm.c opens, run.c starts and stops, vm.c frees) and the vCPUs'
 * side. */
int gdb_stub_open(struct vm *vm, struct mvm_err *e);
int gdb_stub_start(struct vm *vm, struct mvm_err *e);
void gdb_stub_stop(struct vm *vm);
void gdb_stub_free(struct vm *vm);
void gdb_vcpu_hold(struct vcpu *c);          /* before each KVM_RUN */
int gdb_vcpu_debug_exit(struct vcpu *c);     /* KVM_EXIT_DEBUG: 0, run on */
/* Halts the VM for a stop on cpu, to be told to gdb (vm->lock held; a stop already owed to
 * gdb stays the one it hears). */
void gdb_halt(struct gdb_stub *g, unsigned cpu, enum gdb_stop_reason why);

/* gdb_target.c: what the session asks, on the stub thread with the vCPUs out of the guest. */
extern const struct gdb_target_ops gdb_kvm_ops;
int gdb_target_init(struct gdb_stub *g, struct mvm_err *e);
/* The VM stopped: a step's breakpoints and KVM single-step go. */
void gdb_target_stopped(struct gdb_stub *g);
/* Every breakpoint out, the guest's own instructions back, KVM's debugging off. */
void gdb_target_clear(struct gdb_stub *g);
/* vm->lock held: the breakpoint at addr, or NULL. */
const struct gdb_bp *gdb_bp_at(const struct gdb_stub *g, uint64_t addr);

#endif
