/* What a gdb session asks of the VM (gdb_stub.h): called on the stub thread while every vCPU
 * it names is out of KVM_RUN, so their registers are ours to read and write, and the
 * breakpoint table changes under vm->lock, which the vCPUs read at their debug exits. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdb_stub.h"
#include "gva.h"
#include "ppc_step.h"
#include "vm_internal.h"

#define MSR_LE 1ULL
#define MSR_DR (1ULL << 4)
#define KVM_SW_BREAKPOINT 0x00dddd00u   /* KVMPPC_INST_SW_BREAKPOINT, what 6.1 answers */

static struct vm *vm_t(void *t)
{
    return ((struct gdb_stub *)t)->vm;
}

static unsigned op_ncpus(void *t)
{
    return vm_t(t)->m.ncpus;
}

static int op_read_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct vcpu *c = &vm_t(t)->cpus[cpu];
    struct kvm_regs k;
    int err = kvm_get_regs(c->fd, &k);
    if (err)
        return err;
    memset(r, 0, sizeof(*r));
    memcpy(r->gpr, k.gpr, sizeof(r->gpr));
    r->pc = k.pc, r->msr = k.msr, r->lr = k.lr, r->ctr = k.ctr;
    r->cr = (uint32_t)k.cr, r->xer = (uint32_t)k.xer;
    /* The FPU through ONE_REG (Book3S has no KVM_GET_FPU); a failure leaves zeros rather
     * than hiding the general registers. */
    for (unsigned i = 0; i < 32; i++)
        kvm_get_one_reg(c->fd, KVM_REG_PPC_FPR(i), &r->fpr[i]);
    uint64_t fpscr = 0;
    kvm_get_one_reg(c->fd, KVM_REG_PPC_FPSCR, &fpscr);
    r->fpscr = (uint32_t)fpscr;
    return 0;
}

static int op_write_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct vcpu *c = &vm_t(t)->cpus[cpu];
    struct kvm_regs k;
    int err = kvm_get_regs(c->fd, &k);
    if (err)
        return err;
    memcpy(k.gpr, r->gpr, sizeof(k.gpr));
    k.pc = r->pc, k.msr = r->msr, k.lr = r->lr, k.ctr = r->ctr, k.cr = r->cr, k.xer = r->xer;
    if ((err = kvm_set_regs(c->fd, &k)))
        return err;
    for (unsigned i = 0; i < 32 && !err; i++)
        err = kvm_set_one_reg(c->fd, KVM_REG_PPC_FPR(i), &r->fpr[i]);
    uint64_t fpscr = r->fpscr;
    return err ? err : kvm_set_one_reg(c->fd, KVM_REG_PPC_FPSCR, &fpscr);
}

/* ---- guest virtual addresses, as a vCPU translates them ---- */

struct mem_ctx {
    struct gva_cpu g;
    struct gva_slb slb[64];
};

/* KVM-HV keeps the hashed page table in the kernel: KVM_PPC_GET_HTAB_FD reads it as records
 * {index, n_valid, n_invalid} (host order), n_valid HPTEs (big-endian) each. */
static int hv_group(void *opaque, uint64_t group, uint64_t hpte[GVA_HPTES_PER_GROUP][2])
{
    struct vm *vm = opaque;
    uint64_t first = group * GVA_HPTES_PER_GROUP, end = first + GVA_HPTES_PER_GROUP;
    int fd = kvm_get_htab_fd(vm->vm_fd, first);
    if (fd < 0)
        return fd;
    memset(hpte, 0, sizeof(uint64_t) * 2 * GVA_HPTES_PER_GROUP);
    uint8_t buf[4096];
    uint64_t at = first;
    while (at < end) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (size_t off = 0; off + sizeof(struct kvm_get_htab_header) <= (size_t)n;) {
            struct kvm_get_htab_header h;
            memcpy(&h, buf + off, sizeof(h));
            off += sizeof(h);
            for (unsigned i = 0; i < h.n_valid && off + 16 <= (size_t)n; i++, off += 16) {
                uint64_t idx = (uint64_t)h.index + i, v, r;
                memcpy(&v, buf + off, 8);
                memcpy(&r, buf + off + 8, 8);
                if (idx >= first && idx < end)
                    hpte[idx - first][0] = be64toh(v), hpte[idx - first][1] = be64toh(r);
            }
            at = (uint64_t)h.index + h.n_valid + h.n_invalid;
        }
    }
    close(fd);
    return 0;
}

/* KVM-PR: the table is in our memory (SDR1 points at it), big-endian as the guest wrote it. */
static int pr_group(void *opaque, uint64_t group, uint64_t hpte[GVA_HPTES_PER_GROUP][2])
{
    const struct machine *m = opaque;
    const uint8_t *p = m->hpt + group * GVA_HPTES_PER_GROUP * 16;
    for (unsigned i = 0; i < GVA_HPTES_PER_GROUP; i++) {
        uint64_t v, r;
        memcpy(&v, p + i * 16, 8);
        memcpy(&r, p + i * 16 + 8, 8);
        hpte[i][0] = be64toh(v), hpte[i][1] = be64toh(r);
    }
    return 0;
}

/* The MMU state of vCPU cpu, under msr (its own, or the one an rfid will install). */
static int mem_ctx(struct vm *vm, unsigned cpu, uint64_t msr, struct mem_ctx *x)
{
    struct vcpu *c = &vm->cpus[cpu];
    memset(x, 0, sizeof(*x));
    x->g.msr = msr;
    uint64_t table = __atomic_load_n(&vm->m.process_table, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&vm->m.radix, __ATOMIC_SEQ_CST) && table) {
        x->g.radix = true;
        x->g.process_table = table;
        return kvm_get_one_reg(c->fd, KVM_REG_PPC_PID, &x->g.pidr);
    }
    if (!(msr & (MSR_IR | MSR_DR)))
        return 0;   /* real mode needs no tables */
    struct kvm_sregs s;
    int err = kvm_get_sregs(c->fd, &s);
    if (err)
        return err;
    for (unsigned i = 0; i < 64; i++)
        x->slb[i] = (struct gva_slb){s.u.s.ppc64.slb[i].slbe, s.u.s.ppc64.slb[i].slbv};
    x->g.slb = x->slb;
    x->g.nslb = 64;
    if (vm->hv && vm->htab_shift) {
        x->g.read_group = hv_group, x->g.opaque = vm;
        x->g.htab_groups = (1ULL << vm->htab_shift) / (16 * GVA_HPTES_PER_GROUP);
    } else if (!vm->hv && vm->m.hpt) {
        x->g.read_group = pr_group, x->g.opaque = &vm->m;
        x->g.htab_groups = vm->m.hpt_size / (16 * GVA_HPTES_PER_GROUP);
    }
    return 0;
}

static int cpu_msr(struct vm *vm, unsigned cpu, uint64_t *msr)
{
    struct kvm_regs k;
    int err = kvm_get_regs(vm->cpus[cpu].fd, &k);
    *msr = err ? 0 : k.msr;
    return err;
}

/* Reads show the guest's instructions, not the breakpoints over them (as gdbserver's do). */
static void unshadow(struct gdb_stub *g, uint64_t addr, uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&g->vm->lock);
    for (unsigned i = 0; i < g->nbps; i++)
        for (unsigned k = 0; k < GDB_INSN; k++) {
            uint64_t at = g->bps[i].addr + k;
            if (at - addr < len)
                buf[at - addr] = g->bps[i].orig[k];
        }
    pthread_mutex_unlock(&g->vm->lock);
}

/* The MMU state of vCPU cpu as it is now. */
static int cpu_ctx(struct vm *vm, unsigned cpu, struct mem_ctx *x)
{
    uint64_t msr;
    int err = cpu_msr(vm, cpu, &msr);
    return err ? err : mem_ctx(vm, cpu, msr, x);
}

static long op_read_mem(void *t, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
    struct vm *vm = vm_t(t);
    struct mem_ctx x;
    int err = cpu_ctx(vm, cpu, &x);
    if (err)
        return err;
    long n = gva_read(&vm->m.mem, &x.g, addr, buf, len, false);
    if (n > 0)
        unshadow(t, addr, buf, (size_t)n);
    return n;
}

/* Code written from here must be fetched anew: flush the caches' lines over it (on POWER,
 * stores do not reach the instruction cache by themselves). */
static void sync_icache(void *p, size_t len)
{
    __builtin___clear_cache((char *)p, (char *)p + len);
}

/* A write over a breakpoint changes the instruction it covers, not the breakpoint (as
 * gdbserver's do): the new bytes become its orig[], and its word goes back over them. */
static void reshadow(struct gdb_stub *g, uint64_t addr, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&g->vm->lock);
    for (unsigned i = 0; i < g->nbps; i++) {
        struct gdb_bp *b = &g->bps[i];
        bool hit = false;
        for (unsigned k = 0; k < GDB_INSN; k++)
            if (b->addr + k - addr < len) {
                b->orig[k] = buf[b->addr + k - addr];
                hit = true;
            }
        uint8_t *p = hit ? gpa_ptr(&g->vm->m.mem, b->gpa, GDB_INSN) : NULL;
        if (p) {
            memcpy(p, g->bp_insn, GDB_INSN);
            sync_icache(p, GDB_INSN);
        }
    }
    pthread_mutex_unlock(&g->vm->lock);
}

static long write_virtual(struct vm *vm, unsigned cpu, uint64_t addr, const uint8_t *buf,
                          size_t len)
{
    struct mem_ctx x;
    int err = cpu_ctx(vm, cpu, &x);
    if (err)
        return err;
    long done = 0;
    while ((size_t)done < len) {   /* page by page, for the flush */
        uint64_t gpa, page;
        if ((err = gva_translate(&vm->m.mem, &x.g, addr + done, false, &gpa, &page)))
            return done ? done : err;
        size_t n = len - (size_t)done, room = page - (gpa & (page - 1));
        n = n < room ? n : room;
        uint8_t *p = gpa_ptr(&vm->m.mem, gpa, n);
        if (!p)
            return done ? done : -EFAULT;
        memcpy(p, buf + done, n);
        sync_icache(p, n);
        done += (long)n;
    }
    return done;
}

static long op_write_mem(void *t, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
    long n = write_virtual(vm_t(t), cpu, addr, buf, len);
    if (n > 0)
        reshadow(t, addr, buf, (size_t)n);
    return n;
}

/* ---- breakpoints ---- */

const struct gdb_bp *gdb_bp_at(const struct gdb_stub *g, uint64_t addr)
{
    for (unsigned i = 0; i < g->nbps; i++)
        if (g->bps[i].addr == addr)
            return &g->bps[i];
    return NULL;
}

/* Puts KVM's breakpoint word at addr as vCPU cpu fetches it under msr; vm->lock held. */
static int insert(struct gdb_stub *g, unsigned cpu, uint64_t msr, uint64_t addr, bool temp)
{
    struct vm *vm = g->vm;
    if (gdb_bp_at(g, addr))
        return 0;   /* gdb's and a step's may coincide: one word serves both */
    if (g->nbps == GDB_MAX_BPS)
        return -ENOSPC;
    struct mem_ctx x;
    uint64_t gpa;
    int err = mem_ctx(vm, cpu, msr, &x);
    if (err || (err = gva_translate(&vm->m.mem, &x.g, addr, true, &gpa, NULL)))
        return err;
    uint8_t *p = gpa_ptr(&vm->m.mem, gpa, GDB_INSN);
    if (!p)
        return -EFAULT;
    struct gdb_bp *b = &g->bps[g->nbps++];
    *b = (struct gdb_bp){.addr = addr, .gpa = gpa, .temp = temp};
    memcpy(b->orig, p, GDB_INSN);
    memcpy(p, g->bp_insn, GDB_INSN);
    sync_icache(p, GDB_INSN);
    g->bp_gen++;
    return 0;
}

/* The guest's word back, unless the guest has written over the breakpoint since. */
static void take_out(struct gdb_stub *g, unsigned i)
{
    struct gdb_bp *b = &g->bps[i];
    uint8_t *p = gpa_ptr(&g->vm->m.mem, b->gpa, GDB_INSN);
    if (p && memcmp(p, g->bp_insn, GDB_INSN) == 0) {
        memcpy(p, b->orig, GDB_INSN);
        sync_icache(p, GDB_INSN);
    }
    g->bps[i] = g->bps[--g->nbps];
    g->bp_gen++;
}

/* Whether the file holds text (NUL-separated strings, as device-tree properties are). */
static bool file_has(const char *path, const char *text)
{
    char buf[512];
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* KVM-HV knows a breakpoint by the instruction the processor reports as trapping (HEIR). A
 * host that is itself a guest (nested) reports what its hypervisor tells it, and QEMU's
 * emulated POWER9 only fills HEIR since QEMU 8.0: without it KVM gives the guest an
 * illegal-instruction interrupt instead of stopping it. Said once, when it matters. */
static void warn_heir(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    if (!vm->hv || g->warned_heir)
        return;
    g->warned_heir = true;
    const char *dt = "/proc/device-tree/compatible";
    const char *why = file_has(dt, "qemu") ? "this POWER9 is QEMU's emulation"
                    : file_has(dt, "pseries") ? "KVM-HV runs nested here" : NULL;
    if (why)
        machine_log(&vm->m, "gdb: %s: a breakpoint stops the guest only if the processor "
                    "reports the instruction that trapped (hardware and a Linux KVM-HV do; "
                    "QEMU's emulation before 8.0 does not, and the guest then takes an illegal "
                    "instruction); KVM-PR's breakpoints do not depend on it", why);
}

static int op_set_breakpoint(void *t, uint64_t addr, bool on)
{
    struct gdb_stub *g = t;
    struct vm *vm = g->vm;
    if (addr & (GDB_INSN - 1))
        return -EINVAL;   /* instructions are word-aligned: a breakpoint elsewhere never fires */
    if (on)
        warn_heir(g);
    uint64_t msr;
    int err = 0;
    pthread_mutex_lock(&vm->lock);
    /* As the vCPU that stopped sees it: kernel addresses are the same on every vCPU. */
    if (on) {
        if (!(err = cpu_msr(vm, g->stop_cpu, &msr)))
            err = insert(g, g->stop_cpu, msr, addr, false);
    } else {
        for (unsigned i = 0; i < g->nbps; i++)
            if (g->bps[i].addr == addr) {
                take_out(g, i);
                break;
            }
    }
    pthread_mutex_unlock(&vm->lock);
    return err;
}

/* ---- running ---- */

/* A step without KVM's help: a temporary breakpoint on each place the instruction at PC can
 * lead to. vm->lock held. */
static int step_by_breakpoints(struct gdb_stub *g, unsigned cpu)
{
    struct vm *vm = g->vm;
    struct kvm_regs k;
    struct mem_ctx x;
    uint8_t w[GDB_INSN];
    int err = kvm_get_regs(vm->cpus[cpu].fd, &k);
    if (err || (err = mem_ctx(vm, cpu, k.msr, &x)))
        return err;
    long n = gva_read(&vm->m.mem, &x.g, k.pc, w, GDB_INSN, true);
    if (n != GDB_INSN)
        return n < 0 ? (int)n : -EFAULT;
    const struct gdb_bp *b = gdb_bp_at(g, k.pc);
    if (b)
        memcpy(w, b->orig, GDB_INSN);   /* stepping off a breakpoint: its instruction */
    uint32_t insn = (k.msr & MSR_LE) ? (uint32_t)w[0] | w[1] << 8 | w[2] << 16 | (uint32_t)w[3] << 24
                                     : (uint32_t)w[0] << 24 | w[1] << 16 | w[2] << 8 | w[3];
    uint64_t tar = 0;
    kvm_get_one_reg(vm->cpus[cpu].fd, KVM_REG_PPC_TAR, &tar);
    struct ppc_step_regs r = {.pc = k.pc, .msr = k.msr, .lr = k.lr, .ctr = k.ctr, .tar = tar,
                              .srr0 = k.srr0, .srr1 = k.srr1};
    struct ppc_step_next next[2];
    struct gdb_cpu *gc = &g->cpu[cpu];
    gc->nnext = ppc_step_successors(insn, &r, next);
    for (unsigned i = 0; i < gc->nnext && !err; i++) {
        gc->next[i] = next[i].addr;
        err = insert(g, cpu, next[i].msr, next[i].addr, true);
    }
    return err;
}

/* What KVM must do for each vCPU: trap on the breakpoint word while there is any, trace
 * the one that single-steps natively. */
static void apply_debug(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        uint32_t ctl = 0;
        if (g->nbps)
            ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
        if (g->cpu[i].stepping && g->native_step)
            ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
        int err = kvm_set_guest_debug(vm->cpus[i].fd, ctl);
        if (err && !g->warned_debug) {   /* once: it would fail the same way every time */
            g->warned_debug = true;
            machine_log(&vm->m, "gdb: vCPU %u: KVM_SET_GUEST_DEBUG: %s (breakpoints and steps "
                        "will not stop it)", i, strerror(-err));
        }
    }
}

static void op_resume(void *t, const enum gdb_action *act)
{
    struct gdb_stub *g = t;
    struct vm *vm = g->vm;
    pthread_mutex_lock(&vm->lock);
    g->stop_pending = false;
    int failed = -1, why = 0;
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        g->cpu[i].act = act[i];
        g->cpu[i].stepping = act[i] == GDB_STEP;
        g->cpu[i].nnext = 0;
        if (act[i] != GDB_STEP || failed >= 0)
            continue;
        /* A vCPU RTAS keeps stopped runs no instruction: its step cannot end. */
        int err = vm->cpus[i].state != CPU_RUNNING ? -ESRCH
                : g->native_step ? 0 : step_by_breakpoints(g, i);
        if (err)
            failed = (int)i, why = -err;
    }
    apply_debug(g);
    if (failed >= 0) {
        /* The step ends where it began, and gdb sees a trap there rather than a vCPU that
         * runs away or a stop that never comes; the VM stays halted. */
        machine_log(&vm->m, "gdb: vCPU %d cannot be stepped: %s", failed,
                    why == ESRCH ? "it is stopped (RTAS stop-self)" : strerror(why));
        gdb_halt(g, (unsigned)failed, GDB_STOPPED_TRAP);
    } else {
        g->halted = false;
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
}

static void op_interrupt(void *t)
{
    struct gdb_stub *g = t;
    pthread_mutex_lock(&g->vm->lock);
    gdb_halt(g, 0, GDB_STOPPED_INTERRUPT);
    pthread_mutex_unlock(&g->vm->lock);
}

void gdb_target_stopped(struct gdb_stub *g)
{
    pthread_mutex_lock(&g->vm->lock);
    for (unsigned i = g->nbps; i-- > 0;)
        if (g->bps[i].temp)
            take_out(g, i);
    for (unsigned i = 0; i < g->vm->m.ncpus; i++)
        g->cpu[i].stepping = false, g->cpu[i].nnext = 0;
    apply_debug(g);
    pthread_mutex_unlock(&g->vm->lock);
}

void gdb_target_clear(struct gdb_stub *g)
{
    pthread_mutex_lock(&g->vm->lock);
    while (g->nbps)
        take_out(g, g->nbps - 1);
    for (unsigned i = 0; i < g->vm->m.ncpus; i++)   /* parked stays: it is the vCPU's */
        g->cpu[i] = (struct gdb_cpu){.act = GDB_CONTINUE, .parked = g->cpu[i].parked};
    apply_debug(g);
    pthread_mutex_unlock(&g->vm->lock);
}

/* gdb leaves: the guest runs on, as it would have without it. */
static void op_detach(void *t)
{
    struct gdb_stub *g = t;
    gdb_target_clear(g);
    pthread_mutex_lock(&g->vm->lock);
    g->halted = g->stop_pending = false;
    pthread_cond_broadcast(&g->vm->cond);
    pthread_mutex_unlock(&g->vm->lock);
}

static void op_kill(void *t)
{
    struct gdb_stub *g = t;
    vm_end(g->vm, MVM_STOPPED, "killed from the debugger", NULL);
}

const struct gdb_target_ops gdb_kvm_ops = {
    .ncpus = op_ncpus,
    .read_regs = op_read_regs,
    .write_regs = op_write_regs,
    .read_mem = op_read_mem,
    .write_mem = op_write_mem,
    .set_breakpoint = op_set_breakpoint,
    .resume = op_resume,
    .interrupt = op_interrupt,
    .detach = op_detach,
    .kill = op_kill,
};

/* KVM's breakpoint word and whether it steps. The word is stored in guest memory as is: the
 * one 6.1 uses, 0x00dddd00, reads the same in either byte order, so little- and big-endian
 * code alike fetch it; any other would need the guest's order at each insertion. */
int gdb_target_init(struct gdb_stub *g, struct mvm_err *e)
{
    struct vm *vm = g->vm;
    uint32_t insn = 0;
    int err = kvm_get_one_reg(vm->cpus[0].fd, KVM_REG_PPC_DEBUG_INST, &insn);
    if (err)
        return mvm_fail(e, MVM_E_HOST, "--gdb: KVM does not say its breakpoint instruction "
                        "(KVM_REG_PPC_DEBUG_INST: %s): this kernel cannot debug guests",
                        strerror(-err));
    uint8_t w[GDB_INSN] = {insn >> 24, insn >> 16, insn >> 8, insn};
    if (w[0] != w[3] || w[1] != w[2])
        return mvm_fail(e, MVM_E_HOST, "--gdb: KVM's breakpoint instruction 0x%08x is new to "
                        "minivmm (it knows 0x%08x)", insn, KVM_SW_BREAKPOINT);
    memcpy(g->bp_insn, w, GDB_INSN);
    /* Asked of the VM: the answer is its flavour's (PR yes, HV no). */
    g->native_step = kvm_check_ext(vm->vm_fd, KVM_CAP_PPC_GUEST_DEBUG_SSTEP) > 0;
    for (unsigned i = 0; i < vm->m.ncpus; i++)
        g->cpu[i].act = GDB_CONTINUE;
    return 0;
}
