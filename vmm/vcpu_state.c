/* What the vCPUs were doing, reported when a guest hangs: at --timeout (after the run, from
 * the vCPUs as they stopped) and at any time on request (SIGUSR1 in the command: the vCPUs
 * pause at their next exit, each records itself, and they run on). Names come from the
 * kernel's symbols (the vmlinux's own table, or --system-map), loaded on first use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gva.h"
#include "loader.h"
#include "vm_internal.h"

/* The code around NIP. A Radix guest's is found through its page tables (gva.c), so code in
 * modules and vmalloc space is read too; otherwise (real mode, a Hash guest) the kernel's
 * linear map and real addresses are what cpu_state_read_code() can read. */
static void read_code(struct vcpu *c, struct cpu_state *s)
{
    const struct machine *m = &c->vm->m;
    uint64_t table = __atomic_load_n(&m->process_table, __ATOMIC_SEQ_CST);
    uint64_t pidr = 0;
    if ((s->msr & MSR_IR) && table && __atomic_load_n(&m->radix, __ATOMIC_SEQ_CST) &&
        kvm_get_one_reg(c->fd, KVM_REG_PPC_PID, &pidr) == 0) {
        struct gva_cpu g = {.msr = s->msr, .radix = true, .process_table = table, .pidr = pidr};
        uint8_t bytes[4 * CPU_STATE_WORDS];
        s->code_at = cpu_state_code_at(s);
        if (gva_read(&m->mem, &g, s->code_at, bytes, sizeof(bytes), true) == sizeof(bytes))
            cpu_state_set_code(s, bytes);
        return;
    }
    cpu_state_read_code(s, &m->mem);
}

/* The vCPU's registers and code words. Its own thread calls this at a pause, or another
 * thread when this one is not in KVM_RUN (stopped, or the run is over). */
static void capture(struct vcpu *c, struct cpu_state *s, int how)
{
    memset(s, 0, sizeof(*s));
    s->index = c->index;
    s->id = c->id;
    s->how = how;
    struct kvm_regs r;
    if (kvm_get_regs(c->fd, &r) != 0)
        return;
    s->have_regs = true;
    memcpy(s->gpr, r.gpr, sizeof(s->gpr));
    s->nip = r.pc, s->msr = r.msr, s->lr = r.lr, s->ctr = r.ctr, s->cr = r.cr, s->xer = r.xer;
    s->srr0 = r.srr0, s->srr1 = r.srr1;
    read_code(c, s);
}

static void log_line(void *opaque, const char *text)
{
    machine_log(opaque, "%s", text);
}

void vcpu_log_state(struct vcpu *c)
{
    struct cpu_state s;
    capture(c, &s, CPU_STATE_RUNNING);
    cpu_state_lines(&s, log_line, &c->vm->m);
}

void vcpu_pause_point(struct vcpu *c)
{
    struct vm *vm = c->vm;
    pthread_mutex_lock(&vm->lock);
    if (vm->pausing && c->paused_gen != vm->pause_gen) {
        /* Recorded outside the lock (ioctls, guest memory), kept only if the report still
         * waits for it: one that gave up on this vCPU has its slot marked busy already. */
        unsigned gen = vm->pause_gen;
        struct cpu_state s;
        pthread_mutex_unlock(&vm->lock);
        capture(c, &s, CPU_STATE_RUNNING);
        pthread_mutex_lock(&vm->lock);
        if (vm->pausing && vm->pause_gen == gen) {
            vm->states[c->index] = s;
            c->paused_gen = gen;
            pthread_cond_broadcast(&vm->cond);
        }
    }
    while (vm->pausing && !vm->stopping)
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
}

static bool in_guest(const struct vcpu *c)
{
    return c->thread_started && !c->exited && c->state == CPU_RUNNING;
}

/* Every running vCPU to its pause point (kicked every 100 ms, for at most 2 s: one stuck in
 * minivmm, say on a full console, is reported as busy), the others read from here. */
static void pause_and_capture(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    unsigned gen = ++vm->pause_gen;
    __atomic_store_n(&vm->pausing, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&vm->cond);   /* vCPUs waiting on it (gdb holds) pause too */
    for (int tries = 0; tries < 20; tries++) {
        bool all = true;
        for (unsigned i = 0; i < vm->m.ncpus; i++)
            if (in_guest(&vm->cpus[i]) && vm->cpus[i].paused_gen != gen) {
                all = false;
                vcpu_kick(&vm->cpus[i]);
            }
        if (all || vm->stopping)
            break;
        struct timespec until = vm_deadline_ms(100);
        pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
    }
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        struct vcpu *c = &vm->cpus[i];
        if (!in_guest(c))
            capture(c, &vm->states[i], CPU_STATE_STOPPED);   /* not in KVM_RUN: ours to read */
        else if (c->paused_gen != gen)
            vm->states[i] = (struct cpu_state){.index = i, .id = c->id, .how = CPU_STATE_BUSY};
    }
    __atomic_store_n(&vm->pausing, false, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

/* The kernel's symbols: --system-map, else the vmlinux's own table. NULL when neither has
 * any (a stripped vmlinux): the report then gives addresses only. */
static const struct ksym *symbols(struct vm *vm)
{
    if (vm->ksym_tried)
        return vm->ksym.n ? &vm->ksym : NULL;
    vm->ksym_tried = true;
    const char *path = vm->cfg.system_map ? vm->cfg.system_map : vm->cfg.kernel;
    struct file_map f;
    struct mvm_err e = {0};
    if (file_map_open(&f, path, vm->cfg.system_map ? "System.map" : "kernel", &e) != 0) {
        machine_log(&vm->m, "%s", e.msg);
        return NULL;
    }
    int r = vm->cfg.system_map ? ksym_load_map(&vm->ksym, (const char *)f.data, f.size)
                               : ksym_load_elf(&vm->ksym, f.data, f.size);
    file_map_close(&f);
    if (r)
        machine_log(&vm->m, "%s has no symbols: the report gives addresses only (give a "
                    "vmlinux with its symbol table, or --system-map FILE)", path);
    return r ? NULL : &vm->ksym;
}

void vm_report_cpus(struct vm *vm, bool live)
{
    if (!vm->states && !(vm->states = calloc(vm->m.ncpus, sizeof(*vm->states))))
        return;
    if (live) {
        pause_and_capture(vm);
    } else {   /* the run is over and every vCPU thread joined */
        for (unsigned i = 0; i < vm->m.ncpus; i++)
            capture(&vm->cpus[i], &vm->states[i], vm->cpus[i].state == CPU_RUNNING
                    ? CPU_STATE_RUNNING : CPU_STATE_STOPPED);
    }
    const struct ksym *k = symbols(vm);
    machine_log(&vm->m, "what the vCPUs were doing%s:", live ? " (asked for)" : "");
    struct vm_result *res = &vm->result;
    res->nstates = 0;
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        cpu_state_symbolize(&vm->states[i], k);
        cpu_state_lines(&vm->states[i], log_line, &vm->m);
        if (res->nstates < VM_RESULT_STATES)
            res->states[res->nstates++] = vm->states[i];
    }
}
