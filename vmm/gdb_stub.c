/* --gdb: the stub's thread, its connection, and the vCPUs' side of all-stop (gdb_stub.h).
 *
 * The thread is not sandboxed (it accepts connections and changes KVM's debug state): it is
 * started from vm_run()'s thread, which has no filter, like the console loop. One debugger
 * at a time; when it goes away without detaching, the guest runs on as after a detach, and
 * the next one may connect.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gdb_listen.h"
#include "gdb_stub.h"
#include "vm_internal.h"

/* ---- the vCPUs' side ---- */

static void wake(struct gdb_stub *g)
{
    uint64_t one = 1;
    ssize_t r = write(g->wake_fd, &one, sizeof(one));
    (void)r;
}

/* Halted already (a step that could not start, an interrupt while the VM holds), the stop
 * is still owed to gdb: the first one asked for is what it hears. */
void gdb_halt(struct gdb_stub *g, unsigned cpu, enum gdb_stop_reason why)
{
    struct vm *vm = g->vm;
    if (!g->halted) {
        g->halted = true;
        for (unsigned i = 0; i < vm->m.ncpus; i++)
            vcpu_kick(&vm->cpus[i]);
        pthread_cond_broadcast(&vm->cond);   /* and those waiting in gdb_vcpu_debug_exit */
    }
    if (!g->stop_pending) {
        g->stop_pending = true;
        g->stop_cpu = cpu;
        g->stop_why = why;
        wake(g);
    }
}

static bool must_hold(const struct gdb_stub *g, const struct vcpu *c)
{
    return !c->vm->stopping && !g->ended &&
           (g->halted || g->cpu[c->index].act == GDB_STOP);
}

/* KVM writes an hcall's results (r3-r12) and an MMIO load's register on the next KVM_RUN:
 * let it do so now (immediate_exit returns before entering the guest), so that gdb sees the
 * registers the guest will run with, and what it writes into them stays. */
static void complete_exit(struct vcpu *c)
{
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    kvm_run(c->fd);
    __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void gdb_vcpu_hold(struct vcpu *c)
{
    struct vm *vm = c->vm;
    struct gdb_stub *g = vm->gdb;
    pthread_mutex_lock(&vm->lock);
    if (must_hold(g, c)) {
        pthread_mutex_unlock(&vm->lock);
        complete_exit(c);
        pthread_mutex_lock(&vm->lock);
    }
    while (must_hold(g, c)) {
        if (!g->cpu[c->index].parked) {
            g->cpu[c->index].parked = true;
            pthread_cond_broadcast(&vm->cond);
        }
        if (vm->pausing) {   /* a state report (SIGUSR1) while gdb holds the VM */
            pthread_mutex_unlock(&vm->lock);
            vcpu_pause_point(c);
            pthread_mutex_lock(&vm->lock);
            continue;
        }
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    g->cpu[c->index].parked = false;
    pthread_mutex_unlock(&vm->lock);
}

/* Whose debug exit this is. KVM leaves PC at a breakpoint it reports, so one nobody claims
 * (removed since, or a step's that another vCPU ran into) is simply run again; the same one
 * twice with no breakpoint changed in between is the guest's own word, told to gdb. */
static bool claim(struct gdb_stub *g, struct vcpu *c, uint64_t addr, enum gdb_stop_reason *why)
{
    struct gdb_cpu *gc = &g->cpu[c->index];
    if (gc->stepping && g->native_step) {
        *why = GDB_STOPPED_TRAP;
        return true;
    }
    for (unsigned i = 0; gc->stepping && i < gc->nnext; i++)
        if (gc->next[i] == addr) {
            *why = GDB_STOPPED_TRAP;
            return true;
        }
    const struct gdb_bp *b = gdb_bp_at(g, addr);
    if (b && !b->temp) {
        *why = GDB_STOPPED_BREAKPOINT;
        return true;
    }
    if (!b && gc->stale_addr == addr && gc->stale_gen == g->bp_gen) {
        *why = GDB_STOPPED_TRAP;
        return true;
    }
    gc->stale_addr = addr;
    gc->stale_gen = g->bp_gen;
    return false;
}

int gdb_vcpu_debug_exit(struct vcpu *c)
{
    struct vm *vm = c->vm;
    struct gdb_stub *g = vm->gdb;
    uint64_t addr = c->run->debug.arch.address;
    if (g->native_step) {   /* KVM-PR leaves the address out of a trace exit */
        struct kvm_regs r;
        if (kvm_get_regs(c->fd, &r) == 0)
            addr = r.pc;
    }
    pthread_mutex_lock(&vm->lock);
    enum gdb_stop_reason why;
    if (claim(g, c, addr, &why)) {
        g->cpu[c->index].stale_gen = g->bp_gen - 1;
        if (!g->attached)   /* the guest's own trap word (KVM-PR stops on it regardless) */
            machine_log(&vm->m, "gdb: vCPU %u trapped at 0x%llx with no debugger connected; "
                        "the guest waits for one (%s)", c->index, (unsigned long long)addr,
                        g->desc);
        gdb_halt(g, c->index, why);
    } else if (gdb_bp_at(g, addr)) {
        /* Another vCPU's step breakpoint: wait for that step to end rather than spin. */
        while (gdb_bp_at(g, addr) && !g->halted && !vm->stopping && !g->ended && !vm->pausing)
            pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

/* ---- the stub's thread ---- */

/* Every vCPU out of the guest: holding, stopped by RTAS, or not started. Kicks those still
 * in it every 100 ms (a kick can be spent before it helps). vm->lock held. */
static void wait_quiet(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    for (;;) {
        bool all = true;
        for (unsigned i = 0; i < vm->m.ncpus; i++) {
            struct vcpu *c = &vm->cpus[i];
            if (c->thread_started && !c->exited && c->state != CPU_STOPPED &&
                !g->cpu[i].parked) {
                all = false;
                vcpu_kick(c);
            }
        }
        if (all || vm->stopping)
            return;
        struct timespec until = vm_deadline_ms(100);
        pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
    }
}

static bool run_ended(struct gdb_stub *g)
{
    pthread_mutex_lock(&g->vm->lock);
    bool ended = g->ended;
    pthread_mutex_unlock(&g->vm->lock);
    return ended;
}

/* Sends what the session wrote; false when the debugger is gone, or reads nothing for 10 s
 * (a client that stops reading must not hold the stub, and with it the VM's end). */
static bool flush_out(struct gdb_stub *g)
{
    size_t off = 0;
    for (int idle = 0; off < g->out.len;) {
        ssize_t n = send(g->conn_fd, g->out.buf + off, g->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && idle++ < 10 && !run_ended(g)) {
            struct pollfd p = {.fd = g->conn_fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        if (n <= 0)
            return false;
        off += (size_t)n;
        idle = 0;
    }
    g->out.len = 0;
    return true;
}

/* The stop asked for, once every vCPU is out of the guest; vm->lock held, and dropped. */
static void stopped(struct gdb_stub *g)
{
    wait_quiet(g);
    unsigned cpu = g->stop_cpu;
    enum gdb_stop_reason why = g->stop_why;
    g->stop_pending = false;
    pthread_mutex_unlock(&g->vm->lock);
    gdb_target_stopped(g);
    gdb_session_stopped(&g->session, cpu, why, &g->out);
}

/* A debugger connected: the VM is halted (it may be already: --gdb-wait) before the session
 * starts, as the protocol expects a stopped target. */
static void connected(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    gdb_session_init(&g->session, &gdb_kvm_ops, g, vm->result.kernel_big_endian);
    pthread_mutex_lock(&vm->lock);
    g->attached = true;
    gdb_halt(g, 0, GDB_STOPPED_INTERRUPT);
    stopped(g);
    machine_log(&vm->m, "gdb: a debugger connected");
}

/* The debugger is gone (detached, killed, or the connection dropped). */
static void disconnected(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    bool ended = gdb_session_ended(&g->session);
    close(g->conn_fd);
    g->conn_fd = -1;
    g->out.len = 0;
    pthread_mutex_lock(&vm->lock);
    g->attached = false;
    if (!ended) {
        /* No detach: do what one would have done, with every vCPU out of the guest first, as
         * the breakpoints and KVM's debug state change (the session may have been running). */
        machine_log(&vm->m, "gdb: the debugger went away; the guest runs on");
        gdb_halt(g, 0, GDB_STOPPED_INTERRUPT);
        wait_quiet(g);
    }
    pthread_mutex_unlock(&vm->lock);
    if (!ended)
        gdb_kvm_ops.detach(g);
}

/* A stop a vCPU (or an interrupt) asked for: once every vCPU is out of the guest, gdb hears
 * of it. */
static void report_stop(struct gdb_stub *g)
{
    struct vm *vm = g->vm;
    pthread_mutex_lock(&vm->lock);
    if (g->stop_pending)
        stopped(g);
    else
        pthread_mutex_unlock(&vm->lock);
}

static bool serve_input(struct gdb_stub *g)
{
    uint8_t in[4096];
    ssize_t n = recv(g->conn_fd, in, sizeof(in), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    for (size_t off = 0; off < (size_t)n;) {
        off += gdb_session_input(&g->session, in + off, (size_t)n - off, &g->out);
        if (!flush_out(g))
            return false;
    }
    return !gdb_session_ended(&g->session);
}

static void accept_one(struct gdb_stub *g)
{
    int fd = accept4(g->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails on unix: fine */
    g->conn_fd = fd;
    connected(g);
    if (!flush_out(g))
        disconnected(g);
}

static void *stub_thread(void *arg)
{
    struct gdb_stub *g = arg;
    for (;;) {
        struct pollfd p[2] = {
            {.fd = g->wake_fd, .events = POLLIN},
            {.fd = g->conn_fd >= 0 ? g->conn_fd : g->listen_fd, .events = POLLIN},
        };
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            machine_log(&g->vm->m, "gdb: poll: %s; the stub ends", strerror(errno));
            break;
        }
        if (p[0].revents) {
            uint64_t v;
            ssize_t r = read(g->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (run_ended(g))
            break;
        if (g->conn_fd < 0) {
            if (p[1].revents)
                accept_one(g);
            continue;
        }
        report_stop(g);
        if (!flush_out(g) || (p[1].revents && !serve_input(g)))
            disconnected(g);
    }
    if (g->conn_fd >= 0) {   /* the run is over: tell gdb the guest is gone (not waiting) */
        gdb_session_exited(&g->session, g->vm->end.status == MVM_OK ? 0 : 1, &g->out);
        flush_out(g);
        close(g->conn_fd);
        g->conn_fd = -1;
    }
    return NULL;
}

/* ---- lifecycle ---- */

int gdb_stub_open(struct vm *vm, struct mvm_err *e)
{
    struct gdb_stub *g = calloc(1, sizeof(*g));
    if (!g)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    vm->gdb = g;
    g->vm = vm;
    g->conn_fd = -1;
    g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->listen_fd = -1;
    if (g->wake_fd < 0)
        return mvm_fail(e, MVM_E_VMM, "eventfd: %s", strerror(errno));
    if (gdb_target_init(g, e))
        return -1;
    g->listen_fd = gdb_listen(vm->cfg.gdb, g->desc, sizeof(g->desc), e);
    if (g->listen_fd < 0)
        return -1;
    /* --gdb-wait: every vCPU holds before its first instruction, and '?' says "trap". */
    g->halted = g->stop_pending = vm->cfg.gdb_wait;
    g->stop_why = GDB_STOPPED_TRAP;
    return 0;
}

int gdb_stub_start(struct vm *vm, struct mvm_err *e)
{
    struct gdb_stub *g = vm->gdb;
    int err = pthread_create(&g->thread, NULL, stub_thread, g);
    if (err)
        return mvm_fail(e, MVM_E_VMM, "cannot start the gdb stub's thread: %s", strerror(err));
    g->thread_started = true;
    machine_log(&vm->m, "gdb: listening (gdb-multiarch vmlinux -ex '%s')%s", g->desc,
                vm->cfg.gdb_wait ? "; the guest waits for it (--gdb-wait)" : "");
    return 0;
}

/* The run is over and the vCPUs joined: the stub says so to gdb and ends. */
void gdb_stub_stop(struct vm *vm)
{
    struct gdb_stub *g = vm->gdb;
    if (!g || !g->thread_started)
        return;
    pthread_mutex_lock(&vm->lock);
    g->ended = true;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    wake(g);
    pthread_join(g->thread, NULL);
    g->thread_started = false;
}

void gdb_stub_free(struct vm *vm)
{
    struct gdb_stub *g = vm->gdb;
    if (!g)
        return;
    gdb_stub_stop(vm);
    if (g->listen_fd >= 0 && strncmp(vm->cfg.gdb, "unix:", 5) == 0)
        unlink(vm->cfg.gdb + 5);   /* ours: gdb_listen made it */
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->wake_fd >= 0)
        close(g->wake_fd);
    free(g);
    vm->gdb = NULL;
}
