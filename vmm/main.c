/* minivmm: the command line, a thin client of libminivmm (include/minivmm.h). It parses the
 * flags, owns the terminal and the signals, and is the one place that explains errors to a
 * person. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../include/minivmm.h"
#include "cli.h"
#include "term.h"

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "dev"
#endif

/* Hands the command line to a library context: the library's options by name, as they were
 * spelled (the library parses them, as it would for any program), then where the console
 * and the diagnostics go, which are the command's. */
static int configure(struct minivmm *vm, const struct vm_config *c,
                     const struct cli_settings *s, int stop_fd, int dump_fd)
{
    int r = 0;
#define TRY(call) if (r == 0) r = (call)
    for (unsigned i = 0; i < s->n; i++)
        TRY(minivmm_set_option(vm, s->set[i].name, s->set[i].value));
    TRY(minivmm_set_console_fds(vm, STDIN_FILENO, c->quiet ? -1 : STDOUT_FILENO));
    TRY(minivmm_set_console_escape(vm, isatty(STDIN_FILENO)));
    if (c->rootfs)
        TRY(minivmm_set_command(vm, c->command, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO));
    TRY(minivmm_set_stop_fd(vm, stop_fd));
    TRY(minivmm_set_dump_fd(vm, dump_fd));
    TRY(minivmm_set_diagnostics(vm, STDERR_FILENO, c->verbose));
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

/* Whether the command line asks for a command in a guest (--rootfs before any "--"): its
 * own failures then have env(1)'s status, 125, even when the line cannot be parsed. */
static bool runs_a_command(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--rootfs") == 0 || strncmp(argv[i], "--rootfs=", 9) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct vm_config cfg;
    static struct cli_settings settings;
    struct mvm_err err = {0};
    vm_config_defaults(&cfg);
    int action = cli_parse(argc, argv, &cfg, &settings, &err);
    switch (action) {
    case CLI_HELP: cli_usage(stdout); return 0;
    case CLI_VERSION: printf("minivmm %s\n", MINIVMM_VERSION); return 0;
    case CLI_RUN: case CLI_CHECK: break;
    default:
        fprintf(stderr, "minivmm: %s\n", err.msg);
        return runs_a_command(argc, argv) ? 125 : (int)err.status;
    }

    /* Signals become events in the VM's console loop (a signalfd), so stopping is an ordinary
     * code path that restores the terminal; blocked before any thread exists so none gets them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    /* SIGUSR1 asks for a report on what the vCPUs are doing (a hung guest), and the run goes
     * on. */
    sigset_t dump_signal;
    sigemptyset(&dump_signal);
    sigaddset(&dump_signal, SIGUSR1);
    sigprocmask(SIG_BLOCK, &dump_signal, NULL);
    int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    int dump_fd = signalfd(-1, &dump_signal, SFD_CLOEXEC | SFD_NONBLOCK);
    if (stop_fd < 0 || dump_fd < 0) {
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
        if (configure(vm, &cfg, &settings, stop_fd, dump_fd) != 0) {
            status = explain(vm);
            minivmm_free(vm);
            return status;
        }
        if (action == CLI_CHECK) {
            status = minivmm_check_host(vm, stdout) == 0 ? 0 : explain(vm);
            minivmm_free(vm);
            return status;
        }
        if (cfg.dump_initramfs) {
            status = minivmm_dump_initramfs(vm, cfg.dump_initramfs) == 0 ? 0 : explain(vm);
            minivmm_free(vm);
            return status;
        }
        if (cfg.dump_dtb) {
            status = minivmm_dump_dtb(vm, cfg.dump_dtb) == 0 ? 0 : explain(vm);
            minivmm_free(vm);
            return status;
        }
        struct term_saved term = {0};
        /* A command's stdin is its own, cooked by the host's terminal (Ctrl-D ends it); the
         * guest's console, a shell's included, gets a raw terminal. */
        if (!(cfg.rootfs && cfg.command))
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
