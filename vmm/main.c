/* minivmm: the command line, a thin client of libminivmm (include/minivmm.h). It parses the
 * flags, owns the terminal and the signals, and is the one place that explains errors to a
 * person. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../devices/device.h"
#include "../include/minivmm.h"
#include "cli.h"
#include "term.h"

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "dev"
#endif

/* Hands the parsed command line to a library context. */
static int configure(struct minivmm *vm, const struct vm_config *c, int stop_fd)
{
    static const enum minivmm_kvm_type kvm[] = {
        [KVM_TYPE_AUTO] = MINIVMM_KVM_AUTO, [KVM_TYPE_HV] = MINIVMM_KVM_HV,
        [KVM_TYPE_PR] = MINIVMM_KVM_PR};
    static const enum minivmm_mmu mmu[] = {
        [MMU_AUTO] = MINIVMM_MMU_AUTO, [MMU_RADIX] = MINIVMM_MMU_RADIX, [MMU_HASH] = MINIVMM_MMU_HASH};
    int r = 0;
#define TRY(call) if (r == 0) r = (call)
    if (c->kernel)   /* --check needs none */
        TRY(minivmm_set_kernel(vm, c->kernel, c->initrd, c->cmdline));
    TRY(minivmm_set_memory(vm, c->mem_size));
    TRY(minivmm_set_vcpus(vm, c->ncpus));
    TRY(minivmm_set_kvm_type(vm, kvm[c->kvm_type]));
    TRY(minivmm_set_mmu(vm, mmu[c->mmu]));
    TRY(minivmm_set_nested_hv(vm, c->nested_hv));
    TRY(minivmm_set_irqchip(vm, c->irqchip == IRQCHIP_USER ? MINIVMM_IRQCHIP_USER
                                : c->irqchip == IRQCHIP_KERNEL ? MINIVMM_IRQCHIP_KERNEL
                                                               : MINIVMM_IRQCHIP_AUTO));
    if (c->mem_path)
        TRY(minivmm_set_mem_path(vm, c->mem_path));
    for (unsigned i = 0; i < c->ndevices; i++)
        TRY(minivmm_add_device(vm, c->devices[i].kind->name, c->devices[i].spec));
    TRY(minivmm_set_snapshot(vm, c->snapshot_all));
    TRY(minivmm_set_console_fds(vm, STDIN_FILENO, c->quiet ? -1 : STDOUT_FILENO));
    TRY(minivmm_set_console_escape(vm, isatty(STDIN_FILENO)));
    TRY(minivmm_set_timeout(vm, c->timeout_s));
    for (unsigned i = 0; i < c->nexpect; i++)
        TRY(minivmm_add_expect(vm, c->expect[i]));
    for (unsigned i = 0; i < c->nfail_on; i++)
        TRY(minivmm_add_fail_on(vm, c->fail_on[i]));
    TRY(minivmm_set_default_fail(vm, !c->no_default_fail));
    if (c->log_path)
        TRY(minivmm_set_log(vm, c->log_path));
    TRY(minivmm_set_stop_fd(vm, stop_fd));
    TRY(minivmm_set_seccomp(vm, c->seccomp));
    TRY(minivmm_set_diagnostics(vm, STDERR_FILENO, c->verbose));
    TRY(minivmm_set_stats(vm, c->stats));
#undef TRY
    return r;
}

static int explain(const struct minivmm *vm)
{
    const char *msg = minivmm_error_message(vm);
    if (msg[0])
        fprintf(stderr, "minivmm: %s\n", msg);
    return minivmm_exit_status(vm);
}

int main(int argc, char **argv)
{
    struct vm_config cfg;
    struct mvm_err err = {0};
    vm_config_defaults(&cfg);
    int action = cli_parse(argc, argv, &cfg, &err);
    switch (action) {
    case CLI_HELP: cli_usage(stdout); return 0;
    case CLI_VERSION: printf("minivmm %s\n", MINIVMM_VERSION); return 0;
    case CLI_RUN: case CLI_CHECK: break;
    default: fprintf(stderr, "minivmm: %s\n", err.msg); return (int)err.status;
    }

    /* Signals become events in the VM's console loop (a signalfd), so stopping is an ordinary
     * code path that restores the terminal; blocked before any thread exists so none gets them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (stop_fd < 0) {
        perror("minivmm: signalfd");
        return 5;
    }
    /* A closed reader must not kill us in the middle of a guest write. */
    signal(SIGPIPE, SIG_IGN);

    int status;
    bool again;
    do {
        struct minivmm *vm = minivmm_new();
        if (!vm) {
            fprintf(stderr, "minivmm: out of memory\n");
            return 5;
        }
        if (configure(vm, &cfg, stop_fd) != 0) {
            status = explain(vm);
            minivmm_free(vm);
            return status;
        }
        if (action == CLI_CHECK) {
            status = minivmm_check_host(vm, stdout) == 0 ? 0 : explain(vm);
            minivmm_free(vm);
            return status;
        }
        if (cfg.dump_dtb) {
            status = minivmm_dump_dtb(vm, cfg.dump_dtb) == 0 ? 0 : explain(vm);
            minivmm_free(vm);
            return status;
        }
        struct term_saved term = {0};
        term_raw(&term, STDIN_FILENO);
        minivmm_run(vm);
        term_restore(&term);
        if (cfg.json_path && minivmm_write_json(vm, cfg.json_path) != 0)
            fprintf(stderr, "minivmm: cannot write %s\n", cfg.json_path);
        again = cfg.reboot && minivmm_exit_reason(vm) == MINIVMM_EXIT_REBOOT;
        status = again ? 0 : (minivmm_exit_status(vm) == 0 ? 0 : explain(vm));
        minivmm_free(vm);
        if (again)
            fprintf(stderr, "minivmm: guest rebooted; restarting it\n");
    } while (again);
    return status;
}
