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

#include "config.h"
#include "err.h"

struct vm;

/* Validates the configuration and the host, loads the kernel and initrd, builds the device
 * tree and creates the VM and its vCPUs. Bad input fails before anything is created. When
 * c->dump_dtb is set this writes the tree and returns 0 with *out == NULL. */
int vm_create(struct vm **out, const struct vm_config *c, struct mvm_err *e);

/* Runs the guest until it powers off, reboots (unless c->reboot), panics, stop_fd fires, or
 * the VMM fails. Returns the resulting status (MVM_OK for a clean power-off); e says why for
 * anything else. */
enum mvm_status vm_run(struct vm *vm, struct mvm_err *e);

/* Asks a running VM to stop with `status`; safe from any thread. */
void vm_request_stop(struct vm *vm, enum mvm_status status, const char *why);

void vm_destroy(struct vm *vm);

#endif
