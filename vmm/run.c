/* Running a VM: the console loop on the calling thread (host input, stop requests, the
 * timeout, the output callback), the end of the run and its result. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gdb_stub.h"
#include "report.h"
#include "sandbox.h"
#include "term.h"
#include "vm_internal.h"

void vm_request_stop(struct vm *vm, enum mvm_status status, const char *why)
{
    vm_end(vm, status, why, NULL);
}

/* Hands what the tap pipe holds to the embedding program's output callback. */
static void deliver_output(struct vm *vm)
{
    uint8_t buf[4096];
    ssize_t n;
    while (vm->tap[0] >= 0 && (n = read(vm->tap[0], buf, sizeof(buf))) > 0)
        vm->cfg.output_cb(vm->cfg.output_opaque, buf, (size_t)n);
}

/* A report on the vCPUs was asked for (SIGUSR1 through a signalfd, or any fd the library's
 * user made readable): one read takes the event (a signalfd record or an eventfd count). */
static void dump_requested(struct vm *vm)
{
    uint8_t event[128];
    if (read(vm->cfg.dump_fd, event, sizeof(event)) < 0 && errno != EAGAIN && errno != EINTR) {
        machine_log(&vm->m, "the dump request descriptor failed (%s): no more dumps",
                    strerror(errno));
        vm->cfg.dump_fd = -1;
        return;
    }
    vm_report_cpus(vm, true);
}

/* Serves the console until the run ends: host input goes to the vty ring (when it has room),
 * the escape sequence and stop_fd end the run. Guest output needs no help: vCPUs and the
 * consoles' queue threads write it. */
static void console_loop(struct vm *vm)
{
    int in = vm->cfg.console_in;
    bool esc = false;
    struct vty *target = vm->m.virtio_port ? vm->m.virtio_port : vm->m.vty;
    struct timespec now;
    /* --timeout counts from the VM's creation (the sink's start), as the JSON's times do:
     * building a large guest is part of the run a CI job budgets for. */
    int64_t deadline_ms = vm->cfg.timeout_s
        ? (int64_t)(vm->sink.start_ns / 1000000) + (int64_t)vm->cfg.timeout_s * 1000 : -1;
    for (;;) {
        struct pollfd p[5] = {
            {.fd = vm->wake_fd, .events = POLLIN},
            {.fd = vm->cfg.stop_fd, .events = POLLIN},
            {.fd = -1, .events = POLLIN},
            {.fd = vm->tap[0], .events = POLLIN},
            {.fd = vm->cfg.dump_fd, .events = POLLIN},
        };
        size_t room = vty_input_room(target);
        /* Two bytes of room at least: the escape filter may emit one byte more than it
         * reads (a Ctrl-A held over from the previous read). */
        if (in >= 0 && room >= 2)
            p[2].fd = in;
        /* A full input ring is drained by the guest, not by an event we can wait on. */
        int timeout = (in >= 0 && room < 2) ? 20 : -1;
        if (deadline_ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t left = deadline_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
            if (left <= 0) {
                char why[96];
                snprintf(why, sizeof(why), "the guest was still running after %u s (--timeout)",
                         vm->cfg.timeout_s);
                vm_request_stop(vm, MVM_TIMEOUT, why);
                break;
            }
            if (timeout < 0 || left < timeout)
                timeout = (int)(left < INT32_MAX ? left : INT32_MAX);
        }
        int r = poll(p, 5, timeout);
        if (r < 0 && errno != EINTR) {
            vm_request_stop(vm, MVM_E_VMM, "the console loop failed");
            break;
        }
        if (p[3].revents)
            deliver_output(vm);
        if (__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST))
            break;
        if (p[1].revents)
            vm_request_stop(vm, MVM_STOPPED, "stopped by signal");
        if (p[4].revents)
            dump_requested(vm);
        if (p[2].revents) {
            uint8_t buf[VTY_IN_SIZE], out[VTY_IN_SIZE + 1];
            ssize_t n = read(in, buf, room - 1);
            if (n <= 0) {
                if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    in = -1;   /* end of input: the guest just gets no more */
                continue;
            }
            size_t len = (size_t)n;
            const uint8_t *src = buf;
            if (vm->cfg.escape) {
                bool quit;
                len = term_escape_filter(&esc, buf, len, out, &quit);
                src = out;
                if (quit)
                    vm_request_stop(vm, MVM_STOPPED, "stopped from the console (Ctrl-A x)");
            }
            vty_push_input(target, src, len);
            if (target->input_pushed)
                target->input_pushed(target);
        }
    }
}

static void record_result(struct vm *vm);

/* --rtc-base: the guest's clock starts at that date when the guest starts (not when the VM
 * was made: a library caller may run it later), kept as the distance from the host's. */
static void set_guest_clock(struct vm *vm)
{
    struct timespec now;
    if (!vm->cfg.rtc_base_set || clock_gettime(CLOCK_REALTIME, &now) != 0)
        return;
    vm->m.rtc_offset_us = (vm->cfg.rtc_base - now.tv_sec) * 1000000 - now.tv_nsec / 1000;
}

enum mvm_status vm_run(struct vm *vm, struct mvm_err *e)
{
    int r = 0;
    if (vm->cfg.seccomp && sandbox_prepare() != 0)
        r = mvm_fail(e, MVM_E_VMM, "cannot install the seccomp violation handler");
    if (!r)
        r = start_devices(vm, e);
    if (!r && vm->gdb)
        r = gdb_stub_start(vm, e);
    if (!r) {
        set_guest_clock(vm);
        r = vcpus_start(vm, e);
    }
    if (r) {
        /* A run that could not start ends like any other: one status, one result. */
        vm->m.ops->shutdown(&vm->m, MVM_E_VMM, e->msg);
    } else {
        console_loop(vm);
        vcpus_join(vm);
        if (vm->gdb)
            gdb_stub_stop(vm);   /* gdb hears the guest is gone */
        deliver_output(vm);   /* what the vCPUs wrote after the loop's last look */
        /* A guest that outlived --timeout hangs somewhere: say where, before anything else. */
        if (vm->end.status == MVM_TIMEOUT)
            vm_report_cpus(vm, false);
    }
    /* The run has ended and every thread that could end it is joined: no lock needed. */
    const struct run_end *end = &vm->end;
    if (end->status != MVM_OK && end->why[0])
        mvm_fail(e, end->status, "%s", end->why);
    e->status = end->status;
    record_result(vm);
    if (vm->cfg.stats) {
        struct vcpu_stats total = {0};
        for (unsigned i = 0; i < vm->m.ncpus; i++)
            stats_add(&total, &vm->cpus[i].stats);
        stats_report(&vm->m, &total, vm->result.seconds_to_exit);
    }
    return end->status;
}

static void record_result(struct vm *vm)
{
    struct vm_result *r = &vm->result;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t end = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
    pthread_mutex_lock(&vm->sink.lock);
    r->guest_exit_code = vm->sink.exit_code;
    r->console_bytes = vm->sink.bytes;
    r->seconds_to_first_output = vm->sink.first_output_ns
        ? (double)(vm->sink.first_output_ns - vm->sink.start_ns) / 1e9 : -1;
    r->seconds_to_exit = (double)(end - vm->sink.start_ns) / 1e9;
    pthread_mutex_unlock(&vm->sink.lock);
    r->status = vm->end.status;

    snprintf(r->pattern, sizeof(r->pattern), "%s", vm->end.pattern);
    r->reason = report_reason(r->status, r->pattern[0] != '\0', true);
    snprintf(r->message, sizeof(r->message), "%s", vm->end.why);
    /* A command run for minivmm reports its status on its own channel (virtio_stdio.c);
     * when it never ran, why is the run's message. The vCPUs are joined: no lock. */
    if (vm->command_status >= 0) {
        r->guest_exit_code = vm->command_status;
        if (r->status == MVM_OK && vm->command_why[0])
            snprintf(r->message, sizeof(r->message), "%s", vm->command_why);
    } else if (vm->cfg.rootfs && r->status == MVM_OK && !r->pattern[0]) {
        snprintf(r->message, sizeof(r->message), "the guest powered off before its command "
                 "reported how it ended");
    }
    r->exit_status = report_exit_status(r->status, vm->cfg.rootfs != NULL,
                                        vm->command_status, r->pattern[0] != '\0');
}

void vm_get_result(const struct vm *vm, struct vm_result *r)
{
    *r = vm->result;
}

