/* A virtual machine: create it from a configuration, run it to the end, destroy it.
 *
 * All state lives in struct vm; any number can exist one after another (or side by side) in
 * one process. vm_run() blocks in the calling thread, which serves the console while one
 * thread per vCPU runs the guest; it returns how the run ended and never exits the process.
 *
 * Process-wide effects an embedding program should know of: vm_run() installs a no-op
 * SIGUSR2 handler (vCPU threads are interrupted with it; other threads keep it blocked), and
 * vCPU threads block SIGPIPE (a closed console reader is an error, not a signal).
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "config.h"
#include "cpu_state.h"
#include "err.h"

struct vm;

/* Validates the configuration and the host, loads the kernel and initrd, builds the device
 * tree and creates the VM and its vCPUs. Bad input fails before anything is created. When
 * c->dump_dtb is set this writes the tree and returns 0 with *out == NULL; c->dump_initramfs,
 * the initrd the guest would get (minivmm's own with --rootfs), before /dev/kvm is opened. */
int vm_create(struct vm **out, const struct vm_config *c, struct mvm_err *e);

/* Runs the guest until it powers off, reboots (unless c->reboot), panics, stop_fd fires, or
 * the VMM fails. Returns the resulting status (MVM_OK for a clean power-off); e says why for
 * anything else. */
enum mvm_status vm_run(struct vm *vm, struct mvm_err *e);

/* How a run ended and what it ran on: what --json reports. */
#define VM_RESULT_STATES 16

struct vm_result {
    enum mvm_status status;
    const char *reason;          /* poweroff, reboot, panic, timeout, pattern, fail-pattern,
                                  * stopped, vmm-error */
    int guest_exit_code;         /* -1: the guest reported none */
    int exit_status;             /* the minivmm command's (report_exit_status) */
    char message[512];           /* why, for anything but a plain power-off */
    char pattern[160];           /* the --expect/--fail-on pattern that ended the run */
    double seconds_to_first_output;   /* from vm_create(); -1: no output */
    double seconds_to_exit;
    uint64_t console_bytes;
    /* The configuration actually used. */
    const char *kvm;             /* "HV" or "PR" */
    const char *mmu;             /* "radix" or "hash" */
    unsigned vcpus;
    uint64_t memory_bytes;
    const char *backing;         /* "anonymous" or "hugetlbfs" */
    uint64_t backing_page_bytes;
    unsigned disks;
    const char *console;         /* "vty" or "virtio" */
    bool kernel_big_endian;
    /* What the vCPUs were doing, when the run was reported on (--timeout, a dump request):
     * the first VM_RESULT_STATES of them (the log has them all). */
    unsigned nstates;
    struct cpu_state states[VM_RESULT_STATES];
};

/* Fills r from a VM that has finished vm_run(). */
void vm_get_result(const struct vm *vm, struct vm_result *r);

/* Asks a running VM to stop with `status`; safe from any thread. */
void vm_request_stop(struct vm *vm, enum mvm_status status, const char *why);

void vm_destroy(struct vm *vm);

/* --check (check.c): prints the host's facts and which guests it can run, then judges the
 * configuration c asks for. 0: it can run here; -1: e says why not. Creates no VM. */
int vm_check_host(const struct vm_config *c, FILE *out, struct mvm_err *e);

#endif
