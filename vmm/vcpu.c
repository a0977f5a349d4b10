/* vCPU threads: one per vCPU, each running KVM_RUN and dispatching exits through a table.
 *
 * Secondary vCPUs start stopped and wait on a condition variable until the guest starts
 * them with RTAS start-cpu, so an idle SMP guest costs no host CPU before Linux brings its
 * CPUs up. A run ends for everyone when any vCPU (or the outside) calls shutdown: each thread
 * is kicked out of KVM_RUN with a signal and immediate_exit, and vm_run() joins them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../devices/hcall.h"
#include "../devices/xics.h"
#include "gdb_stub.h"
#include "vm_internal.h"

#define MSR_SF (1ULL << 63)
#define MSR_ME (1ULL << 12)

/* The signal that interrupts KVM_RUN. Its handler does nothing: the point is the EINTR. */
#define SIG_KICK SIGUSR2

static void kick_handler(int sig)
{
    (void)sig;
}

/* Called with vm->lock held: that is what keeps the thread handle valid (published before,
 * not yet joined, since a thread marks itself exited under the lock before it ends). */
void vcpu_kick(struct vcpu *c)
{
    /* immediate_exit closes the race with a thread that is about to enter KVM_RUN. */
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (c->thread_started && !c->exited)
        pthread_kill(c->thread, SIG_KICK);
}

static void vcpu_fatal(struct vcpu *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vcpu_fatal(struct vcpu *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vcpu_log_state(c);
    char why[512];
    snprintf(why, sizeof(why), "vCPU %u: %s", c->index, msg);
    c->vm->m.ops->shutdown(&c->vm->m, MVM_E_VMM, why);
}

/* ---- exit handlers: 0 = resume the guest, 1 = leave the guest loop ---- */

typedef int (*exit_fn)(struct vcpu *c);

static int exit_hcall(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    stats_count_hcall(&c->stats, run->papr_hcall.nr);
    run->papr_hcall.ret = (uint64_t)hcall_dispatch(&c->vm->m, (int)c->index, run->papr_hcall.nr,
                                                   run->papr_hcall.args);
    pthread_mutex_lock(&c->vm->lock);
    bool stopping = c->state == CPU_STOPPING;   /* RTAS stop-self */
    pthread_mutex_unlock(&c->vm->lock);
    if (stopping) {
        /* KVM writes an hcall's results into r3-r12 on the next KVM_RUN: let it do so now
         * (immediate_exit returns before entering the guest), or it would overwrite the
         * registers start-cpu gives this vCPU when it is started again. */
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        kvm_run(c->fd);
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    return stopping;
}

/* MMIO goes to the device that owns the address. Where there is none, reads float high and
 * writes are dropped, as on real hardware; reported once per vCPU so a broken guest cannot
 * flood the log. */
static int exit_mmio(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    if (run->mmio.is_write)
        c->stats.mmio_writes++;
    else
        c->stats.mmio_reads++;
    if (bus_access(&c->vm->m.bus, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                   run->mmio.is_write))
        return 0;
    if (c->unassigned_mmio++ == 0) {
        machine_log(&c->vm->m, "vCPU %u: %s of %u bytes at unassigned address 0x%llx ignored",
                c->index, run->mmio.is_write ? "write" : "read", run->mmio.len,
                (unsigned long long)run->mmio.phys_addr);
        if (c->vm->m.verbose)   /* where the guest was: usually a guest gone astray */
            vcpu_log_state(c);
    }
    return 0;
}

static int exit_fail_entry(struct vcpu *c)
{
    vcpu_fatal(c, "KVM could not enter the guest (FAIL_ENTRY, reason 0x%llx)",
               (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
    return 1;
}

static int exit_internal_error(struct vcpu *c)
{
    vcpu_fatal(c, "KVM internal error (suberror %u)", c->run->internal.suberror);
    return 1;
}

static int exit_system_event(struct vcpu *c)
{
    vcpu_fatal(c, "unexpected system event %u", c->run->system_event.type);
    return 1;
}

/* A breakpoint or a step's end (gdb_stub.c); without --gdb KVM has none to report. */
static int exit_debug(struct vcpu *c)
{
    if (c->vm->gdb)
        return gdb_vcpu_debug_exit(c);
    vcpu_fatal(c, "unexpected debug exit at 0x%llx",
               (unsigned long long)c->run->debug.arch.address);
    return 1;
}

static const exit_fn exit_table[] = {
    [KVM_EXIT_PAPR_HCALL] = exit_hcall,
    [KVM_EXIT_MMIO] = exit_mmio,
    [KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
    [KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
    [KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
    [KVM_EXIT_DEBUG] = exit_debug,
};

static int apply_lpcr(struct vcpu *c)
{
    struct vm *vm = c->vm;
    pthread_mutex_lock(&vm->lock);
    unsigned gen = vm->lpcr_gen;
    uint64_t mask = vm->lpcr_mask, val = vm->lpcr_val;
    pthread_mutex_unlock(&vm->lock);
    if (gen == c->lpcr_gen)
        return 0;
    uint64_t lpcr;
    int r = kvm_get_one_reg(c->fd, KVM_REG_PPC_LPCR_64, &lpcr);
    if (r == 0) {
        lpcr = (lpcr & ~mask) | (val & mask);
        r = kvm_set_one_reg(c->fd, KVM_REG_PPC_LPCR_64, &lpcr);
    }
    if (r == 0)
        c->lpcr_gen = gen;
    return r;
}

static int load_start_regs(struct vcpu *c)
{
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    pthread_mutex_lock(&c->vm->lock);
    regs.pc = c->start_pc;
    regs.gpr[3] = c->start_r3;
    regs.gpr[4] = c->start_r4;
    pthread_mutex_unlock(&c->vm->lock);
    /* 64-bit, machine checks on, real mode, big-endian, whatever the kernel's byte order: the
     * state PAPR, QEMU's pseries and kexec enter with. A little-endian Linux switches itself
     * in its first instructions (FIXUP_ENDIAN, at its entry and its secondaries' entry). */
    regs.msr = MSR_SF | MSR_ME;
    return kvm_set_regs(c->fd, &regs);
}

static bool vm_stopping(struct vm *vm)
{
    return __atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST);
}

/* Runs the guest on this vCPU until it stops itself or the VM stops. Under seccomp: error
 * text comes from mvm_strerror(), never strerror(). */
static void guest_loop(struct vcpu *c)
{
    int r;
    if ((r = load_start_regs(c)) != 0) {
        vcpu_fatal(c, "cannot set registers: %s", mvm_strerror(-r));
        return;
    }
    for (;;) {
        if ((r = apply_lpcr(c)) != 0) {
            vcpu_fatal(c, "cannot update LPCR: %s", mvm_strerror(-r));
            return;
        }
        if (vm_stopping(c->vm))
            return;
        if (__atomic_load_n(&c->vm->pausing, __ATOMIC_ACQUIRE))
            vcpu_pause_point(c);
        if (c->vm->gdb)
            gdb_vcpu_hold(c);
        r = kvm_run(c->fd);
        if (r == -EINTR || r == -EAGAIN) {
            __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        if (r < 0) {
            vcpu_fatal(c, "KVM_RUN failed: %s", mvm_strerror(-r));
            return;
        }
        uint32_t reason = c->run->exit_reason;
        stats_count_exit(&c->stats, reason);
        exit_fn fn = reason < sizeof(exit_table) / sizeof(exit_table[0]) ? exit_table[reason] : NULL;
        if (reason == KVM_EXIT_INTR)
            continue;
        if (!fn) {
            vcpu_fatal(c, "unexpected KVM exit %u (%s)", reason, stats_exit_name(reason));
            return;
        }
        if (fn(c))
            return;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *c = arg;
    struct vm *vm = c->vm;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIG_KICK);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    /* A console reader that went away must be an error for this VM (EPIPE), not a signal
     * that kills the whole process it is embedded in. */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (vm->m.thread_init && vm->m.thread_init(&vm->m) != 0)
        vm->m.ops->shutdown(&vm->m, MVM_E_HOST, "a vCPU thread could not restrict itself with "
                            "seccomp (kernel without seccomp?); run with --no-seccomp");

    pthread_mutex_lock(&vm->lock);
    for (;;) {
        while (!vm->stopping && c->state == CPU_STOPPED)
            pthread_cond_wait(&vm->cond, &vm->lock);
        if (vm->stopping)
            break;
        pthread_mutex_unlock(&vm->lock);
        guest_loop(c);
        pthread_mutex_lock(&vm->lock);
        if (c->state == CPU_STOPPING)
            c->state = CPU_STOPPED;
    }
    c->exited = true;      /* from here on nobody may kick this thread */
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

/* ---- machine_ops: what hcalls and RTAS may ask of the hypervisor ---- */

static int op_configure_mmu(struct machine *m, bool radix, bool gtse, uint64_t process_table)
{
    /* KVM-PR has no partition table: hash with an SLB, the only mode it runs, needs nothing. */
    if (!vm_of(m)->hv)
        return radix ? -ENODEV : 0;
    uint64_t flags = (radix ? KVM_PPC_MMUV3_RADIX : 0) | (gtse ? KVM_PPC_MMUV3_GTSE : 0);
    return kvm_configure_v3_mmu(vm_of(m)->vm_fd, flags, process_table);
}

static int op_set_lpcr(struct machine *m, int calling_cpu, uint64_t mask, uint64_t val)
{
    struct vm *vm = vm_of(m);
    /* KVM-PR delivers every interrupt in real mode: it would take an AIL setting silently,
     * and a guest that believes in it enables facilities (scv) PR cannot run. */
    if (!vm->hv && (mask & LPCR_AIL) && (val & LPCR_AIL))
        return -EOPNOTSUPP;
    pthread_mutex_lock(&vm->lock);
    vm->lpcr_mask |= mask;
    vm->lpcr_val = (vm->lpcr_val & ~mask) | (val & mask);
    vm->lpcr_gen++;
    /* The caller is between exits, so its own LPCR can change now; the others pick the new
     * value up before their next entry into the guest. */
    for (unsigned i = 0; i < m->ncpus; i++)
        if ((int)i != calling_cpu)
            vcpu_kick(&vm->cpus[i]);
    pthread_mutex_unlock(&vm->lock);
    return apply_lpcr(&vm->cpus[calling_cpu]);
}

/* Between exits of the calling vCPU, so its registers are ours to change: KVM then writes
 * the hcall's results into r3..r12 on the next entry, over what we set here. */
static int op_set_sprg0(struct machine *m, int calling_cpu, uint64_t val)
{
    struct vcpu *c = &vm_of(m)->cpus[calling_cpu];
    struct kvm_regs regs;
    int r = kvm_get_regs(c->fd, &regs);
    if (r == 0) {
        regs.sprg0 = val;
        r = kvm_set_regs(c->fd, &regs);
    }
    return r;
}

static struct vcpu *cpu_by_id(struct vm *vm, uint32_t id)
{
    for (unsigned i = 0; i < vm->m.ncpus; i++)
        if (vm->cpus[i].id == id)
            return &vm->cpus[i];
    return NULL;
}

/* Lets a stopped vCPU run from pc with r3 and r4 set (and every other register 0). */
static int start_stopped(struct vm *vm, struct vcpu *c, uint64_t pc, uint64_t r3, uint64_t r4)
{
    int r = 0;
    pthread_mutex_lock(&vm->lock);
    if (c->state != CPU_STOPPED) {
        r = -EBUSY;
    } else {
        c->state = CPU_RUNNING;
        c->start_pc = pc;
        c->start_r3 = r3;
        c->start_r4 = r4;
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
    return r;
}

static int op_start_cpu(struct machine *m, uint32_t id, uint64_t pc, uint64_t r3)
{
    struct vcpu *c = cpu_by_id(vm_of(m), id);
    return c ? start_stopped(vm_of(m), c, pc, r3, 0) : -ENOENT;
}

static int op_cpu_state(struct machine *m, uint32_t id)
{
    struct vm *vm = vm_of(m);
    struct vcpu *c = cpu_by_id(vm, id);
    if (!c)
        return -ENOENT;
    pthread_mutex_lock(&vm->lock);
    int state = c->state;
    pthread_mutex_unlock(&vm->lock);
    return state;
}

static void op_stop_self(struct machine *m, int calling_cpu)
{
    struct vm *vm = vm_of(m);
    pthread_mutex_lock(&vm->lock);
    /* STOPPED only once the thread has left the guest (vcpu_thread), so a start-cpu from
     * another CPU cannot slip in while this one is still returning from the call. */
    vm->cpus[calling_cpu].state = CPU_STOPPING;
    pthread_mutex_unlock(&vm->lock);
}

static int op_cpu_characteristics(struct machine *m, uint64_t *character, uint64_t *behaviour)
{
    struct kvm_ppc_cpu_char cc;
    int r = kvm_get_cpu_char(vm_of(m)->vm_fd, &cc);
    if (r)
        return r;
    *character = cc.character & cc.character_mask;
    *behaviour = cc.behaviour & cc.behaviour_mask;
    return 0;
}

static int op_irq_set(struct machine *m, uint32_t irq, int level)
{
    if (m->xics) {
        xics_set_level(m->xics, irq, level);
        return 0;
    }
    struct kvm_irq_level l = {.irq = irq, .level = level};
    return kvm_irq_line(vm_of(m)->vm_fd, &l);
}

/* An irqfd where the board made one (KVM's XICS): one write, and KVM raises the source. */
static int op_msi(struct machine *m, uint32_t irq)
{
    if (m->xics) {
        xics_msi(m->xics, irq);
        return 0;
    }
    struct vm *vm = vm_of(m);
    uint32_t i = irq - PCI_MSI_BASE;
    if (irq >= PCI_MSI_BASE && i < sizeof(vm->msi_fd) / sizeof(vm->msi_fd[0]) &&
        vm->msi_fd[i] >= 0) {
        uint64_t one = 1;
        return write(vm->msi_fd[i], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
    }
    struct kvm_irq_level l = {.irq = irq, .level = 1};   /* an edge source fires on 1 */
    return kvm_irq_line(vm->vm_fd, &l);
}

/* KVM_INTERRUPT is one of the vCPU ioctls that may come from any thread: it queues the
 * level and kicks the vCPU out of a wait (H_CEDE). */
static int op_cpu_irq(struct machine *m, uint32_t server, int level)
{
    struct vcpu *c = cpu_by_id(vm_of(m), server);
    if (!c)
        return -ENOENT;
    return kvm_interrupt(c->fd, level ? KVM_INTERRUPT_SET_LEVEL : KVM_INTERRUPT_UNSET);
}

/* Makes every thread serving the guest let go: called with vm->lock held, once when the run
 * ends and again while vcpus_join() waits, since one signal can be spent before it helps (a
 * write that returns short, a thread not yet in the call that blocks). */
static void let_go(struct vm *vm)
{
    struct machine *m = &vm->m;
    vty_abort(m->vty);
    if (m->virtio_port)
        vty_abort(m->virtio_port);
    console_sink_abort(&vm->sink);
    for (unsigned i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].kind->let_go)
            vm->devices[i].kind->let_go(vm->devices[i].state);
    for (unsigned i = 0; i < m->ncpus; i++)
        vcpu_kick(&vm->cpus[i]);
}

void vm_end(struct vm *vm, enum mvm_status status, const char *why, const char *pattern)
{
    /* Everything under the lock: a caller on another thread must be done with the vm before
     * vm_run() can return and the vm be destroyed (vm_destroy takes the lock first). */
    pthread_mutex_lock(&vm->lock);
    if (run_end_record(&vm->end, status, why, pattern)) {
        __atomic_store_n(&vm->stopping, true, __ATOMIC_SEQ_CST);
        pthread_cond_broadcast(&vm->cond);
    }
    let_go(vm);
    uint64_t one = 1;
    ssize_t r = write(vm->wake_fd, &one, sizeof(one));
    (void)r;
    pthread_mutex_unlock(&vm->lock);
}

/* No lock to walk the devices: setup_board() makes them all before vcpus_start(), and
 * vm_free() destroys them after vcpus_join(). */
static void op_flush_output(struct machine *m)
{
    struct vm *vm = vm_of(m);
    for (unsigned i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].kind->flush)
            vm->devices[i].kind->flush(vm->devices[i].state);
}

static void op_shutdown(struct machine *m, enum mvm_status status, const char *why)
{
    vm_end(vm_of(m), status, why, NULL);
}

static void op_command_ended(struct machine *m, int status, const char *why)
{
    struct vm *vm = vm_of(m);
    pthread_mutex_lock(&vm->lock);
    if (vm->command_status < 0) {
        vm->command_status = status;
        snprintf(vm->command_why, sizeof(vm->command_why), "%s", why ? why : "");
    }
    pthread_mutex_unlock(&vm->lock);
}

const struct machine_ops vm_machine_ops = {
    .configure_mmu = op_configure_mmu,
    .set_lpcr = op_set_lpcr,
    .set_sprg0 = op_set_sprg0,
    .start_cpu = op_start_cpu,
    .cpu_state = op_cpu_state,
    .stop_self = op_stop_self,
    .cpu_characteristics = op_cpu_characteristics,
    .irq_set = op_irq_set,
    .msi = op_msi,
    .cpu_irq = op_cpu_irq,
    .flush_output = op_flush_output,
    .shutdown = op_shutdown,
    .command_ended = op_command_ended,
};

/* ---- lifecycle ---- */

int vcpu_create(struct vm *vm, struct vcpu *c, unsigned index, uint32_t id, struct mvm_err *e)
{
    memset(c, 0, sizeof(*c));
    c->vm = vm;
    c->index = index;
    c->id = id;
    c->fd = kvm_create_vcpu(vm->vm_fd, id);
    if (c->fd < 0) {
        int r = c->fd;
        c->fd = -1;
        return mvm_fail(e, MVM_E_HOST, "cannot create vCPU %u (id %u): %s%s", index, id,
                        strerror(-r), r == -EINVAL ? " (more vCPUs than KVM allows here?)" : "");
    }
    int size = kvm_vcpu_mmap_size(vm->kvm_fd);
    if (size < 0)
        return mvm_fail(e, MVM_E_HOST, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-size));
    void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (run == MAP_FAILED)
        return mvm_fail(e, MVM_E_HOST, "cannot map the vCPU run area: %s", strerror(errno));
    c->run = run;
    c->run_size = (size_t)size;
    c->state = CPU_STOPPED;
    return 0;
}

void vcpu_destroy(struct vcpu *c)
{
    if (c->run)
        munmap(c->run, c->run_size);
    if (c->fd >= 0)
        close(c->fd);
    c->run = NULL;
    c->fd = -1;
}

int vcpus_start(struct vm *vm, struct mvm_err *e)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIG_KICK, &sa, NULL) != 0)
        return mvm_fail(e, MVM_E_VMM, "cannot install the vCPU kick handler: %s", strerror(errno));

    /* Threads start with SIG_KICK blocked and unblock it themselves, so the process's other
     * threads (the console loop, a library user's) never see it. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIG_KICK);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    /* All threads are created stopped; only then is the boot CPU let go, so nothing a guest
     * does (kicks from H_SET_MODE, a fatal exit) can meet a half-created thread table. */
    int err = 0;
    for (unsigned i = 0; i < vm->m.ncpus && !err; i++) {
        pthread_t t;
        err = pthread_create(&t, NULL, vcpu_thread, &vm->cpus[i]);
        if (!err) {
            pthread_mutex_lock(&vm->lock);
            vm->cpus[i].thread = t;
            vm->cpus[i].thread_started = true;
            pthread_mutex_unlock(&vm->lock);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        vm->m.ops->shutdown(&vm->m, MVM_E_VMM, "cannot start vCPU threads");
        vcpus_join(vm);
        return mvm_fail(e, MVM_E_VMM, "cannot start vCPU threads: %s", strerror(err));
    }
    /* The boot CPU is started like any secondary, with the registers vm.c chose. */
    struct vcpu *boot = &vm->cpus[0];
    start_stopped(vm, boot, boot->start_pc, boot->start_r3, boot->start_r4);
    return 0;
}

/* The run has ended (vm->stopping): kicks go on every 100 ms until each thread is gone. */
void vcpus_join(struct vm *vm)
{
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        pthread_mutex_lock(&vm->lock);
        bool started = vm->cpus[i].thread_started;
        pthread_t t = vm->cpus[i].thread;
        pthread_mutex_unlock(&vm->lock);
        while (started) {
            struct timespec until = vm_deadline_ms(100);
            if (pthread_timedjoin_np(t, NULL, &until) != ETIMEDOUT)
                break;
            pthread_mutex_lock(&vm->lock);
            let_go(vm);
            pthread_mutex_unlock(&vm->lock);
        }
        pthread_mutex_lock(&vm->lock);
        vm->cpus[i].thread_started = false;
        pthread_mutex_unlock(&vm->lock);
    }
}
