/* Building a pseries VM on KVM and running it: the one place where the host's answers
 * (KVM flavour, MMU capabilities, page sizes, CPU) become the guest's machine. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../devices/hcall.h"
#include "../devices/stdio_status.h"
#include "compat.h"
#include "gdb_stub.h"
#include "probe.h"
#include "rootfs.h"
#include "sandbox.h"
#include "vm_internal.h"

#define MiB (1ULL << 20)

/* ---- the console sink: output copies, patterns, timings ---- */

static void on_console_match(void *opaque, enum console_pattern_kind kind, const char *pattern,
                             const char *line)
{
    struct vm *vm = opaque;
    char why[400];
    if (kind == PATTERN_FAIL && line && strcmp(pattern, STDIO_CONSOLE_FALLBACK) == 0) {
        /* The --rootfs init's status line, on the console for want of its port. */
        const char *at = strstr(line, STDIO_CONSOLE_FALLBACK);
        int code;
        stdio_status_parse(at ? at + strlen(STDIO_CONSOLE_FALLBACK) : line, &code, why,
                           sizeof(why));
        vm->m.ops->command_ended(&vm->m, code, why[0] ? why : NULL);
        vm_end(vm, MVM_OK, NULL, NULL);
        return;
    }
    if (line)
        snprintf(why, sizeof(why), "the guest printed: %s", line);
    else
        snprintf(why, sizeof(why), "the console showed \"%s\"", pattern);
    enum mvm_status st = kind == PATTERN_EXPECT ? MVM_OK
                         : kind == PATTERN_PANIC ? MVM_PANIC : MVM_FAIL_PATTERN;
    vm_end(vm, st, why, pattern);
}

static int restrict_thread(struct machine *m)
{
    (void)m;
    return sandbox_enter_thread();
}

static int restrict_file_thread(struct machine *m, int root_fd)
{
    (void)m;
    return sandbox_enter_file_thread(root_fd);
}

static int restrict_socket_thread(struct machine *m)
{
    (void)m;
    return sandbox_enter_socket_thread();
}

static int setup_console(struct vm *vm, struct mvm_err *e)
{
    const struct vm_config *c = &vm->cfg;
    struct console_sink *s = &vm->sink;
    s->out_fd = c->quiet ? -1 : c->console_out;
    s->out_is_file = console_fd_is_file(s->out_fd);
    /* The output callback is the embedding program's code: it runs on the console-loop
     * thread, which is not sandboxed, fed by a pipe from whichever vCPU wrote. */
    if (c->output_cb) {
        if (pipe2(vm->tap, O_CLOEXEC) != 0)
            return mvm_fail(e, MVM_E_VMM, "pipe: %s", strerror(errno));
        fcntl(vm->tap[0], F_SETFL, O_NONBLOCK);
        fcntl(vm->tap[1], F_SETFL, O_NONBLOCK);
        s->tap_fd = vm->tap[1];
    }
    s->on_match = on_console_match;
    s->match_opaque = vm;
    for (unsigned i = 0; i < c->nexpect; i++)
        if (console_sink_add_pattern(s, PATTERN_EXPECT, c->expect[i]))
            return mvm_fail(e, MVM_E_INPUT, "--expect \"%s\": unusable pattern", c->expect[i]);
    for (unsigned i = 0; i < c->nfail_on; i++)
        if (console_sink_add_pattern(s, PATTERN_FAIL, c->fail_on[i]))
            return mvm_fail(e, MVM_E_INPUT, "--fail-on \"%s\": unusable pattern", c->fail_on[i]);
    if (!c->no_default_fail)
        console_sink_add_pattern(s, PATTERN_PANIC, CONSOLE_DEFAULT_PANIC);
    if (c->log_path) {
        vm->log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (vm->log_fd < 0)
            return mvm_fail(e, MVM_E_INPUT, "--log %s: %s", c->log_path, strerror(errno));
        s->log_fd = vm->log_fd;
        s->log_is_file = console_fd_is_file(s->log_fd);
    }
    return 0;
}

/* ---- choosing HV or PR and the memory behind the guest ---- */

/* The host's facts and the user's request go through the compatibility rules (compat.c), so
 * an impossible combination is refused with the seed's reason before any VM exists. */
static int choose_kvm(struct vm *vm, struct compat_plan *plan, struct mvm_err *e)
{
    const struct vm_config *c = &vm->cfg;
    struct host_facts h = {0};
    struct kvm_candidates k;
    host_gather_facts(&h, c->kvm_dev, &k);   /* why it failed is one of the facts */
    /* --mem-path memory is already mapped: its page size is a given, not a choice. */
    struct compat_request req = compat_request_of(c, vm->m.mem.hugetlb ? vm->m.mem.page_size : 0);
    if (compat_plan(&h, &req, plan, e)) {
        kvm_candidates_close(&k);
        return -1;
    }
    if (plan->hugetlbfs) {
        snprintf(vm->auto_mem_path, sizeof(vm->auto_mem_path), "%s", plan->hugetlbfs);
        plan->hugetlbfs = vm->auto_mem_path;   /* h is about to go */
    }
    /* The plan only chooses a flavour the probe could create: take that VM. */
    int *chosen = plan->hv ? &k.hv_vm : &k.pr_vm;
    vm->kvm_fd = k.kvm_fd;
    vm->vm_fd = *chosen;
    k.kvm_fd = *chosen = -1;
    kvm_candidates_close(&k);
    vm->hv = plan->hv;
    if (c->nested_hv) {
        int r = kvm_enable_cap(vm->vm_fd, KVM_CAP_PPC_NESTED_HV, 1, 0);
        if (r)
            return mvm_fail(e, MVM_E_HOST, "KVM refused nested HV for this guest: %s "
                            "(kvm-hv's 'nested' parameter must be on)", strerror(-r));
    }
    return 0;
}

/* Guest RAM: --mem-path's hugetlbfs, or the mount the plan chose, or anonymous memory. */
static int map_memory(struct vm *vm, const struct compat_plan *plan, struct mvm_err *e)
{
    if (!vm->m.mem.host && guest_mem_map(&vm->m.mem, vm->cfg.mem_size, plan->hugetlbfs, e))
        return -1;
    if (plan->hugetlbfs)
        machine_log(&vm->m, "backing guest memory with hugepages from %s: a Hash guest on this "
                    "host needs them for its real-mode area", plan->hugetlbfs);
    int r = kvm_set_user_memory(vm->vm_fd, 0, 0, vm->m.mem.size, vm->m.mem.host);
    if (r)
        return mvm_fail(e, MVM_E_HOST, "KVM refused guest memory: %s", strerror(-r));
    return 0;
}

/* ---- the vCPUs ---- */

/* What KVM-HV sets up by itself and KVM-PR leaves to us: the processor version, the hashed
 * page table in SDR1, and interrupt vectors at 0 (HIOR) as PAPR has them. */
static int setup_pr_vcpu(struct vm *vm, struct vcpu *c, struct mvm_err *e)
{
    struct kvm_sregs sregs;
    int r = kvm_get_sregs(c->fd, &sregs);
    if (r == 0) {
        sregs.pvr = vm->pvr;
        sregs.u.s.sdr1 = (uint64_t)(uintptr_t)vm->pr_htab |
                         (uint64_t)(__builtin_ctzll(vm->pr_htab_size) - 18);   /* log2 - 18 */
        r = kvm_set_sregs(c->fd, &sregs);
    }
    if (r)
        return mvm_fail(e, MVM_E_HOST, "KVM-PR: cannot set the processor version and page table "
                        "of vCPU %u: %s", c->index, strerror(-r));
    /* PR puts a 64-bit CPU's vectors at 0xfff00000 unless told otherwise. */
    uint64_t hior = 0;
    if ((r = kvm_set_one_reg(c->fd, KVM_REG_PPC_HIOR, &hior)) != 0)
        return mvm_fail(e, MVM_E_HOST, "KVM-PR: cannot set HIOR of vCPU %u: %s", c->index,
                        strerror(-r));
    return 0;
}

/* How many vCPUs KVM takes and how it numbers them: settled before the device tree, which
 * lists every vCPU by its id. */
static int plan_vcpus(struct vm *vm, struct mvm_err *e)
{
    unsigned n = vm->m.ncpus;
    int max = kvm_check_ext(vm->vm_fd, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = kvm_check_ext(vm->vm_fd, KVM_CAP_NR_VCPUS);
    if (max > 0 && n > (unsigned)max)
        return mvm_fail(e, MVM_E_INPUT, "-c %u: this host's KVM allows at most %d vCPUs per VM "
                        "(KVM_CAP_MAX_VCPUS, which follows the host kernel's NR_CPUS): use -c %d "
                        "or fewer", n, max, max);
    /* On POWER8 KVM-HV, vCPU ids in one group of `threads per core` share a physical core;
     * spacing them by that stride gives each guest CPU a core of its own (POWER9: stride 1). */
    int smt = kvm_check_ext(vm->vm_fd, KVM_CAP_PPC_SMT);
    vm->m.cpu_stride = smt > 0 ? (uint32_t)smt : 1;
    return 0;
}

static int setup_vcpus(struct vm *vm, struct mvm_err *e)
{
    unsigned n = vm->m.ncpus;
    vm->cpus = calloc(n, sizeof(*vm->cpus));
    if (!vm->cpus)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    for (unsigned i = 0; i < n; i++)
        vm->cpus[i].fd = -1;
    for (unsigned i = 0; i < n; i++) {
        if (vcpu_create(vm, &vm->cpus[i], i, i * vm->m.cpu_stride, e))
            return -1;
        /* PAPR mode: hcalls go to the hypervisor (us or KVM). KVM-HV refuses to run without. */
        int r = kvm_enable_cap(vm->cpus[i].fd, KVM_CAP_PPC_PAPR, 0, 0);
        if (r)
            return mvm_fail(e, MVM_E_HOST, "cannot put vCPU %u in PAPR mode: %s", i, strerror(-r));
        if (!vm->hv && setup_pr_vcpu(vm, &vm->cpus[i], e))
            return -1;
    }
    return 0;
}

/* ---- creating and destroying ---- */

static int write_file(const char *path, const void *buf, size_t len, struct mvm_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot create %s: %s", path, strerror(errno));
    ssize_t n = write(fd, buf, len);
    int err = errno;
    if (close(fd) != 0 && n == (ssize_t)len) {
        n = -1;
        err = errno;
    }
    if (n != (ssize_t)len)
        return mvm_fail(e, MVM_E_INPUT, "cannot write %s: %s", path, strerror(err));
    return 0;
}

static int check_config(const struct vm_config *c, struct mvm_err *e)
{
    if (!c->kernel)
        return mvm_fail(e, MVM_E_INPUT, "no kernel given: use -k vmlinux");
    if (c->ncpus < 1 || c->ncpus > VM_MAX_CPUS)
        return mvm_fail(e, MVM_E_INPUT, "-c %u: the number of vCPUs must be 1 to %u", c->ncpus,
                        VM_MAX_CPUS);
    if (c->mem_size < VM_MIN_MEM)
        return mvm_fail(e, MVM_E_INPUT, "-m: %llu bytes is too little memory; a pseries Linux "
                        "guest needs at least %llu MiB", (unsigned long long)c->mem_size,
                        (unsigned long long)(VM_MIN_MEM >> 20));
    if (c->mem_size % MiB)
        return mvm_fail(e, MVM_E_INPUT, "-m: guest memory must be a whole number of MiB");
    if (c->gdb_wait && !c->gdb)
        return mvm_fail(e, MVM_E_INPUT, "--gdb-wait waits for a debugger: give --gdb too "
                        "(e.g. --gdb tcp:1234)");
    /* Guest RAM is mapped lazily, so an oversized request would "work" until the guest
     * touched it and the host's OOM killer stepped in: refuse it now. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && c->mem_size > (uint64_t)pages * (uint64_t)page)
        return mvm_fail(e, MVM_E_INPUT, "-m: %llu MiB is more than this host's %llu MiB of memory",
                        (unsigned long long)(c->mem_size >> 20),
                        (unsigned long long)((uint64_t)pages * (uint64_t)page >> 20));
    return 0;
}

static void vm_free(struct vm *vm)
{
    /* Device threads and the debugger's use guest memory and the VM fd: they go first. */
    gdb_stub_free(vm);
    destroy_devices(vm);
    if (vm->cpus) {
        for (unsigned i = 0; i < vm->m.ncpus; i++)
            vcpu_destroy(&vm->cpus[i]);
        free(vm->cpus);
    }
    for (unsigned i = 0; i < sizeof(vm->msi_fd) / sizeof(vm->msi_fd[0]); i++)
        if (vm->msi_fd[i] >= 0)
            close(vm->msi_fd[i]);
    if (vm->xics_fd >= 0)
        close(vm->xics_fd);
    if (vm->m.xics)
        xics_destroy(vm->m.xics);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    if (vm->wake_fd >= 0)
        close(vm->wake_fd);
    if (vm->log_fd >= 0)
        close(vm->log_fd);
    for (int i = 0; i < 2; i++)
        if (vm->tap[i] >= 0)
            close(vm->tap[i]);
    console_sink_destroy(&vm->sink);
    guest_mem_unmap(&vm->m.mem);
    if (vm->pr_htab)
        munmap(vm->pr_htab, vm->pr_htab_size);
    vty_destroy(vm->m.vty);
    pthread_mutex_destroy(&vm->lock);
    pthread_cond_destroy(&vm->cond);
    rootfs_free(vm->rootfs);
    free(vm->states);
    ksym_free(&vm->ksym);
    free(vm);
}

static struct vm *vm_alloc(const struct vm_config *c)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->cfg = *c;
    vm->kvm_fd = vm->vm_fd = vm->xics_fd = vm->wake_fd = vm->log_fd = -1;
    vm->tap[0] = vm->tap[1] = -1;
    for (unsigned i = 0; i < sizeof(vm->msi_fd) / sizeof(vm->msi_fd[0]); i++)
        vm->msi_fd[i] = -1;
    vm->command_status = -1;
    console_sink_init(&vm->sink);   /* timings count from here */
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    struct machine *m = &vm->m;
    m->ncpus = c->ncpus;
    m->ops = &vm_machine_ops;
    m->backend = vm;
    m->log_fd = c->log_fd;
    m->verbose = c->verbose;
    if (c->seccomp)
        m->thread_init = restrict_thread, m->file_thread_init = restrict_file_thread,
        m->socket_thread_init = restrict_socket_thread;
    m->vty = &vm->vty;
    m->rtas = &vm->rtas;
    vty_init(m->vty, c->console_out);
    m->vty->sink = &vm->sink;
    rtas_init(m->rtas);
    return vm;
}

static void log_machine(struct vm *vm, const struct boot *b)
{
    struct machine *m = &vm->m;
    machine_log(m, "KVM-%s, %s guest MMU, %u vCPU(s) (%s, PVR %08x), %llu MiB %s memory, "
                "kernel %s-endian loaded at 0x%llx (entry 0x%llx), device tree at 0x%llx "
                "(%zu bytes)",
                vm->hv ? "HV" : "PR", m->radix ? "Radix" : "Hash", m->ncpus,
                cpu_model(vm->pvr), (unsigned)vm->pvr, (unsigned long long)(m->mem.size >> 20),
                m->mem.hugetlb ? "hugetlbfs" : "anonymous", b->kernel.big_endian ? "big" : "little",
                (unsigned long long)b->kernel.load_addr, (unsigned long long)b->kernel.entry,
                (unsigned long long)b->lay.fdt, b->fdt.size);
    machine_log(m, "interrupts: %s; %u virtio-blk disk(s)%s on the PCI host bridge",
                vm->irqchip_name, vm_config_count_devices(&vm->cfg, "disk"),
                m->virtio_port ? " and a virtio console (guest hvc1, gets stdin)" : "");
    for (unsigned i = 0; i < vm->ndevices; i++) {
        char line[400];
        if (vm->devices[i].kind->describe) {
            vm->devices[i].kind->describe(vm->devices[i].state, line, sizeof(line));
            machine_log(m, "%s: %s", vm->devices[i].kind->name, line);
        }
    }
}

/* Everything the guest will see, settled before any vCPU exists: KVM flavour and MMU, memory,
 * vCPU ids, interrupt controller and devices, where the boot images go, and the device tree
 * itself. What cannot be built is refused here; --dump-dtb stops here. */
static int build_machine(struct vm *vm, struct boot *b, struct mvm_err *e)
{
    const struct vm_config *c = &vm->cfg;
    struct compat_plan plan;
    struct mmu_plan mmu;
    /* --mem-path memory first: a bad mount is the user's to fix before anything else. */
    if (setup_console(vm, e) ||
        (c->mem_path && guest_mem_map(&vm->m.mem, c->mem_size, c->mem_path, e)) ||
        choose_kvm(vm, &plan, e) || map_memory(vm, &plan, e) || plan_mmu(vm, &plan, &mmu, e) ||
        plan_vcpus(vm, e))
        return -1;
    vm->m.radix = mmu.radix;
    vm->pvr = host_pvr();
    /* Placed again with what the host said: how far real mode reaches, how vCPUs are numbered. */
    if (layout_plan(&b->lay, c, vm->m.cpu_stride, b->kernel.load_addr, b->kernel.end,
                    b->ifile.size, mmu.rma_size, MVM_E_HOST, e) ||
        setup_board(vm, e) || boot_build_tree(b, vm, &mmu, e))
        return -1;
    if (c->verbose)
        log_machine(vm, b);
    return 0;
}

/* Hcalls KVM serves in the kernel once asked, as QEMU asks: H_SET_MODE's breakpoint
 * resources and H_PAGE_INIT (KVM-HV), H_RANDOM where KVM reads a hardware RNG of the host's
 * (KVM_CAP_PPC_HWRNG). A refusal only means the call reaches hcall.c, which serves it too. */
static void enable_kernel_hcalls(struct vm *vm)
{
    kvm_enable_cap(vm->vm_fd, KVM_CAP_PPC_ENABLE_HCALL, H_SET_MODE, 1);
    kvm_enable_cap(vm->vm_fd, KVM_CAP_PPC_ENABLE_HCALL, H_PAGE_INIT, 1);
    if (kvm_check_ext(vm->vm_fd, KVM_CAP_PPC_HWRNG) > 0)
        kvm_enable_cap(vm->vm_fd, KVM_CAP_PPC_ENABLE_HCALL, H_RANDOM, 1);
}

/* The vCPUs, tied to the interrupt controller, and the guest's images in its memory. */
static int start_machine(struct vm *vm, const struct boot *b, struct mvm_err *e)
{
    if (setup_vcpus(vm, e) || connect_board(vm, e))
        return -1;
    enable_kernel_hcalls(vm);
    if (boot_load(b, vm, e))
        return -1;
    vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->wake_fd < 0)
        return mvm_fail(e, MVM_E_VMM, "eventfd: %s", strerror(errno));
    /* The boot CPU enters as on a kexec-style flat-tree boot: r3 = device tree, r4 = where
     * the image was loaded, r5 = 0 (no Open Firmware). */
    vm->cpus[0].start_pc = b->kernel.entry;
    vm->cpus[0].start_r3 = b->lay.fdt;
    vm->cpus[0].start_r4 = b->kernel.load_addr;
    struct vm_result *res = &vm->result;
    res->kvm = vm->hv ? "HV" : "PR";
    res->mmu = vm->m.radix ? "radix" : "hash";
    res->vcpus = vm->m.ncpus;
    res->memory_bytes = vm->m.mem.size;
    res->backing = vm->m.mem.hugetlb ? "hugetlbfs" : "anonymous";
    res->backing_page_bytes = vm->m.mem.page_size;
    res->disks = vm_config_count_devices(&vm->cfg, "disk");
    res->console = vm->m.virtio_port ? "virtio" : "vty";
    res->kernel_big_endian = b->kernel.big_endian;
    /* Listening before the run, so a bad --gdb address ends here with its reason. */
    return vm->cfg.gdb ? gdb_stub_open(vm, e) : 0;
}

int vm_create(struct vm **out, const struct vm_config *user, struct mvm_err *e)
{
    *out = NULL;
    struct boot b = {0};
    struct vm_config cfg = *user;
    const struct vm_config *c = &cfg;
    struct rootfs_setup *rootfs = NULL;
    if (check_config(c, e) || (cfg.rootfs && !(rootfs = rootfs_configure(&cfg, e))) ||
        boot_open(&b, c, e) ||
        (c->dump_initramfs && write_file(c->dump_initramfs, b.ifile.data, b.ifile.size, e))) {
        boot_close(&b);
        rootfs_free(rootfs);
        return -1;
    }
    if (c->dump_initramfs) {   /* nothing of KVM is needed for that */
        boot_close(&b);
        rootfs_free(rootfs);
        return 0;
    }
    struct vm *vm = vm_alloc(c);
    if (!vm) {
        boot_close(&b);
        rootfs_free(rootfs);
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    }
    vm->rootfs = rootfs;
    int r = build_machine(vm, &b, e);
    if (r == 0 && c->dump_dtb)
        r = write_file(c->dump_dtb, b.fdt.data, b.fdt.size, e);
    else if (r == 0)
        r = start_machine(vm, &b, e);
    boot_close(&b);
    if (r != 0 || c->dump_dtb) {
        vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    /* A vm_request_stop() from another thread may still be finishing: it does all its work
     * under the lock, so once we hold it, it is gone. */
    pthread_mutex_lock(&vm->lock);
    pthread_mutex_unlock(&vm->lock);
    vm_free(vm);
}
