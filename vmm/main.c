/* minivmm: the command-line front end. Parses flags, owns the terminal and the signals,
 * runs the VM, and is the one place that explains errors to a person. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "term.h"
#include "vm.h"

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "dev"
#endif

static int report(const struct mvm_err *e)
{
    if (e->msg[0])
        fprintf(stderr, "minivmm: %s\n", e->msg);
    return (int)e->status;
}

/* A CI system reads --json whatever happened, so a run that never started gets one too. */
static void json_for_failed_start(const struct vm_config *c, const struct mvm_err *e)
{
    if (!c->json_path)
        return;
    struct vm_result r = {.status = e->status, .guest_exit_code = -1,
                          .seconds_to_first_output = -1, .seconds_to_exit = 0};
    r.reason = e->status == MVM_E_INPUT ? "input-error"
               : e->status == MVM_E_HOST ? "host-error" : "vmm-error";
    snprintf(r.message, sizeof(r.message), "%s", e->msg);
    struct mvm_err ignored = {0};
    report_json_file(c->json_path, &r, &ignored);
}

int main(int argc, char **argv)
{
    struct vm_config cfg;
    struct mvm_err err = {0};
    vm_config_defaults(&cfg);
    switch (cli_parse(argc, argv, &cfg, &err)) {
    case CLI_HELP: cli_usage(stdout); return 0;
    case CLI_VERSION: printf("minivmm %s\n", MINIVMM_VERSION); return 0;
    case CLI_RUN: break;
    default: return report(&err);
    }
    cfg.console_in = STDIN_FILENO;
    cfg.console_out = STDOUT_FILENO;
    cfg.log_fd = STDERR_FILENO;
    cfg.escape = isatty(STDIN_FILENO);

    /* Signals become events in the console loop (a signalfd), so stopping is an ordinary
     * code path that restores the terminal; blocked before any thread exists so none gets them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    cfg.stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (cfg.stop_fd < 0) {
        perror("minivmm: signalfd");
        return MVM_E_VMM;
    }
    /* A closed reader must not kill us in the middle of a guest write. */
    signal(SIGPIPE, SIG_IGN);

    struct term_saved term = {0};
    enum mvm_status status;
    do {
        struct vm *vm;
        memset(&err, 0, sizeof(err));
        if (vm_create(&vm, &cfg, &err)) {
            json_for_failed_start(&cfg, &err);
            return report(&err);
        }
        if (!vm)          /* --dump-dtb */
            return 0;
        term_raw(&term, STDIN_FILENO);
        status = vm_run(vm, &err);
        term_restore(&term);
        struct vm_result result;
        vm_get_result(vm, &result);
        vm_destroy(vm);
        if (cfg.json_path) {
            struct mvm_err jerr = {0};
            if (report_json_file(cfg.json_path, &result, &jerr))
                fprintf(stderr, "minivmm: %s\n", jerr.msg);
        }
        if (status == MVM_REBOOT && cfg.reboot)
            fprintf(stderr, "minivmm: guest rebooted; restarting it\n");
    } while (status == MVM_REBOOT && cfg.reboot);
    if (status != MVM_OK)
        return report(&err);
    return 0;
}
