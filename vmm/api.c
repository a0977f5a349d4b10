/* libminivmm: the public API (include/minivmm.h) over vm_create/vm_run.
 * A context holds its configuration (with copies of every string) and, once run, the VM's
 * result; all its state is here, none in globals. */
#include "../include/minivmm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "console.h"
#include "report.h"
#include "vm.h"

enum state { NEW, RUNNING, DONE };

struct minivmm {
    struct vm_config cfg;
    char **strings;           /* copies owned by the context, freed with it */
    unsigned nstrings, cap;
    minivmm_output_fn output;
    void *output_opaque;

    /* A run's thread and minivmm_stop() (any thread) meet here. state is written under the
     * lock and read atomically; err and the result are written by the run before it is DONE
     * and never after, so a reader that sees DONE (acquire) reads them whole. */
    pthread_mutex_t lock;
    enum state state;
    bool stop_requested;      /* minivmm_stop() came before the VM existed */
    struct vm *vm;
    pthread_t thread;
    bool thread_running;
    struct mvm_err err;
    struct vm_result result;
    bool have_result;
    int run_ret;
};

static int misuse(struct minivmm *vm, const char *what)
{
    if (vm) {
        memset(&vm->err, 0, sizeof(vm->err));
        mvm_fail(&vm->err, MVM_E_INPUT, "%s", what);
    }
    return MINIVMM_E_MISUSE;
}

static enum state state_of(const struct minivmm *vm)
{
    return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

static void set_state(struct minivmm *vm, enum state s)
{
    pthread_mutex_lock(&vm->lock);
    __atomic_store_n(&vm->state, s, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vm->lock);
}

/* Setters are allowed only before the run. */
#define CONFIGURABLE(vm)                                                        \
    do {                                                                        \
        if (!(vm))                                                              \
            return MINIVMM_E_MISUSE;                                            \
        if (state_of(vm) != NEW)                                                \
            return misuse(vm, "the VM has already been started: configure before running"); \
    } while (0)

/* Stores a copy of s in *slot, replacing (and freeing) the copy that was there. */
static int keep(struct minivmm *vm, const char *s, const char **slot)
{
    unsigned i = 0;
    while (i < vm->nstrings && vm->strings[i] != *slot)
        i++;
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return MINIVMM_E_NOMEM;
    if (i < vm->nstrings) {                 /* the slot held one of ours: reuse its place */
        free(vm->strings[i]);
        vm->strings[i] = copy;
    } else if (copy) {
        if (vm->nstrings == vm->cap) {
            unsigned cap = vm->cap ? 2 * vm->cap : 16;
            char **more = realloc(vm->strings, cap * sizeof(*more));
            if (!more) {
                free(copy);
                return MINIVMM_E_NOMEM;
            }
            vm->strings = more;
            vm->cap = cap;
        }
        vm->strings[vm->nstrings++] = copy;
    }
    *slot = copy;
    return MINIVMM_OK;
}

struct minivmm *minivmm_new(void)
{
    struct minivmm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm_config_defaults(&vm->cfg);
    vm->cfg.seccomp = true;
    pthread_mutex_init(&vm->lock, NULL);
    return vm;
}

void minivmm_free(struct minivmm *vm)
{
    if (!vm)
        return;
    if (vm->thread_running) {
        minivmm_stop(vm);
        minivmm_wait(vm);
    }
    for (unsigned i = 0; i < vm->nstrings; i++)
        free(vm->strings[i]);   /* free(NULL) for slots a setter cleared */
    free(vm->strings);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

int minivmm_set_kernel(struct minivmm *vm, const char *vmlinux, const char *initrd,
                       const char *cmdline)
{
    CONFIGURABLE(vm);
    if (!vmlinux)
        return misuse(vm, "minivmm_set_kernel: no kernel");
    int r;
    if ((r = keep(vm, vmlinux, &vm->cfg.kernel)) || (r = keep(vm, initrd, &vm->cfg.initrd)) ||
        (r = keep(vm, cmdline, &vm->cfg.cmdline)))
        return r;
    return MINIVMM_OK;
}

int minivmm_set_memory(struct minivmm *vm, uint64_t bytes)
{
    CONFIGURABLE(vm);
    vm->cfg.mem_size = bytes;   /* checked, with a message, when the VM is created */
    return MINIVMM_OK;
}

int minivmm_set_vcpus(struct minivmm *vm, unsigned n)
{
    CONFIGURABLE(vm);
    vm->cfg.ncpus = n;
    return MINIVMM_OK;
}

/* The public enums and the configuration's list their values in the same order (and the
 * option table's choice lists too), so a value passes through unchanged. */
_Static_assert(MINIVMM_KVM_HV == (int)KVM_TYPE_HV && MINIVMM_KVM_PR == (int)KVM_TYPE_PR &&
               MINIVMM_MMU_RADIX == (int)MMU_RADIX && MINIVMM_MMU_HASH == (int)MMU_HASH &&
               MINIVMM_IRQCHIP_KERNEL == (int)IRQCHIP_KERNEL &&
               MINIVMM_IRQCHIP_USER == (int)IRQCHIP_USER, "public and internal enums differ");

int minivmm_set_kvm_type(struct minivmm *vm, enum minivmm_kvm_type type)
{
    CONFIGURABLE(vm);
    if ((unsigned)type > MINIVMM_KVM_PR)
        return misuse(vm, "minivmm_set_kvm_type: unknown type");
    vm->cfg.kvm_type = (enum kvm_type_req)type;
    return MINIVMM_OK;
}

int minivmm_set_mmu(struct minivmm *vm, enum minivmm_mmu mmu)
{
    CONFIGURABLE(vm);
    if ((unsigned)mmu > MINIVMM_MMU_HASH)
        return misuse(vm, "minivmm_set_mmu: unknown mode");
    vm->cfg.mmu = (enum mmu_req)mmu;
    return MINIVMM_OK;
}

int minivmm_set_irqchip(struct minivmm *vm, enum minivmm_irqchip where)
{
    CONFIGURABLE(vm);
    if ((unsigned)where > MINIVMM_IRQCHIP_USER)
        return misuse(vm, "minivmm_set_irqchip: unknown value");
    vm->cfg.irqchip = (enum irqchip_req)where;
    return MINIVMM_OK;
}

/* By name, from text, as the command line spells it: the configuration keeps our copy. */
int minivmm_set_option(struct minivmm *vm, const char *name, const char *value)
{
    CONFIGURABLE(vm);
    if (!name)
        return misuse(vm, "minivmm_set_option: no name");
    const char *copy = NULL;
    int r = value ? keep(vm, value, &copy) : MINIVMM_OK;
    if (r)
        return r;
    struct mvm_err e = {0};
    if (vm_config_set(&vm->cfg, name, copy, &e))
        return misuse(vm, e.msg);
    return MINIVMM_OK;
}

int minivmm_set_mem_path(struct minivmm *vm, const char *dir)
{
    CONFIGURABLE(vm);
    return keep(vm, dir, &vm->cfg.mem_path);
}

int minivmm_add_device(struct minivmm *vm, const char *kind, const char *spec)
{
    CONFIGURABLE(vm);
    if (!kind || !spec)
        return misuse(vm, "minivmm_add_device: no kind or no spec");
    struct mvm_err e = {0};
    if (vm_config_add_device(&vm->cfg, kind, spec, &e))
        return misuse(vm, e.msg);
    /* The configuration holds the caller's string for now: keep a copy of our own. */
    int r = keep(vm, spec, &vm->cfg.devices[vm->cfg.ndevices - 1].spec);
    if (r)
        vm->cfg.ndevices--;
    return r;
}

/* A path written into a SPEC: a comma doubled (",," is a comma), then the options. NULL if
 * out of memory. */
static char *spec_of(const char *path, const char *options)
{
    size_t len = 2 * strlen(path) + strlen(options) + 1;
    char *spec = malloc(len), *p = spec;
    if (!spec)
        return NULL;
    for (const char *c = path; *c; c++) {
        *p++ = *c;
        if (*c == ',')
            *p++ = ',';
    }
    strcpy(p, options);
    return spec;
}

/* A disk is a device like any other: its SPEC as -d takes it. */
int minivmm_add_disk(struct minivmm *vm, const char *path, unsigned flags, const char *serial)
{
    CONFIGURABLE(vm);
    if (!path || !*path || (flags & ~(unsigned)(MINIVMM_DISK_RO | MINIVMM_DISK_DIRECT |
                                                 MINIVMM_DISK_SNAPSHOT)))
        return misuse(vm, "minivmm_add_disk: no path, or unknown flags");
    if (serial && (strchr(serial, ',') || strlen(serial) > 64))
        return misuse(vm, "minivmm_add_disk: a serial has at most 20 characters and no comma");
    char options[128];
    snprintf(options, sizeof(options), "%s%s%s%s%s", flags & MINIVMM_DISK_RO ? ",ro" : "",
             flags & MINIVMM_DISK_DIRECT ? ",cache=none" : "",
             flags & MINIVMM_DISK_SNAPSHOT ? ",snapshot" : "", serial ? ",serial=" : "",
             serial ? serial : "");
    char *spec = spec_of(path, options);
    if (!spec)
        return MINIVMM_E_NOMEM;
    int r = minivmm_add_device(vm, "disk", spec);
    free(spec);
    return r;
}

int minivmm_add_share(struct minivmm *vm, const char *dir, const char *tag, unsigned flags)
{
    CONFIGURABLE(vm);
    if (!dir || !*dir || (flags & ~(unsigned)MINIVMM_SHARE_RO))
        return misuse(vm, "minivmm_add_share: no directory, or unknown flags");
    if (tag && (strchr(tag, ',') || strlen(tag) > 100))
        return misuse(vm, "minivmm_add_share: a tag has at most 64 characters and no comma");
    char options[128];
    snprintf(options, sizeof(options), "%s%s%s", tag ? ",tag=" : "", tag ? tag : "",
             flags & MINIVMM_SHARE_RO ? ",ro" : "");
    char *spec = spec_of(dir, options);
    if (!spec)
        return MINIVMM_E_NOMEM;
    int r = minivmm_add_device(vm, "share", spec);
    free(spec);
    return r;
}

int minivmm_set_snapshot(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.snapshot_all = on;
    return MINIVMM_OK;
}

int minivmm_set_console_fds(struct minivmm *vm, int in_fd, int out_fd)
{
    CONFIGURABLE(vm);
    vm->cfg.console_in = in_fd;
    vm->cfg.console_out = out_fd;
    return MINIVMM_OK;
}

static void output_trampoline(void *opaque, const uint8_t *buf, size_t len)
{
    struct minivmm *vm = opaque;
    vm->output(vm->output_opaque, (const char *)buf, len);
}

int minivmm_set_console_callback(struct minivmm *vm, minivmm_output_fn fn, void *opaque)
{
    CONFIGURABLE(vm);
    vm->output = fn;
    vm->output_opaque = opaque;
    vm->cfg.output_cb = fn ? output_trampoline : NULL;
    vm->cfg.output_opaque = vm;
    return MINIVMM_OK;
}

int minivmm_set_virtio_console(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm_config_remove_devices(&vm->cfg, "virtio-console");
    return on ? minivmm_add_device(vm, "virtio-console", "") : MINIVMM_OK;
}

int minivmm_set_timeout(struct minivmm *vm, unsigned seconds)
{
    CONFIGURABLE(vm);
    vm->cfg.timeout_s = seconds;
    return MINIVMM_OK;
}

static int add_pattern(struct minivmm *vm, const char *p, const char **list, unsigned *n)
{
    if (!p || !*p || strlen(p) > CONSOLE_PATTERN_MAX)
        return misuse(vm, "a pattern has 1 to 128 bytes");
    if (*n == VM_MAX_PATTERNS)
        return misuse(vm, "too many patterns");
    int r = keep(vm, p, &list[*n]);
    if (r == MINIVMM_OK)
        (*n)++;
    return r;
}

int minivmm_add_expect(struct minivmm *vm, const char *pattern)
{
    CONFIGURABLE(vm);
    return add_pattern(vm, pattern, vm->cfg.expect, &vm->cfg.nexpect);
}

int minivmm_add_fail_on(struct minivmm *vm, const char *pattern)
{
    CONFIGURABLE(vm);
    return add_pattern(vm, pattern, vm->cfg.fail_on, &vm->cfg.nfail_on);
}

int minivmm_set_stop_fd(struct minivmm *vm, int fd)
{
    CONFIGURABLE(vm);
    vm->cfg.stop_fd = fd;
    return MINIVMM_OK;
}

int minivmm_set_seccomp(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.seccomp = on;
    return MINIVMM_OK;
}

int minivmm_set_console_escape(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.escape = on;
    return MINIVMM_OK;
}

int minivmm_set_log(struct minivmm *vm, const char *path)
{
    CONFIGURABLE(vm);
    return keep(vm, path, &vm->cfg.log_path);
}

int minivmm_set_default_fail(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.no_default_fail = !on;
    return MINIVMM_OK;
}

int minivmm_set_diagnostics(struct minivmm *vm, int fd, bool verbose)
{
    CONFIGURABLE(vm);
    vm->cfg.log_fd = fd;
    vm->cfg.verbose = verbose;
    return MINIVMM_OK;
}

/* ---- running ---- */

static int begin(struct minivmm *vm);

static int error_code(enum mvm_status s)
{
    switch (s) {
    case MVM_E_INPUT: return MINIVMM_E_INPUT;
    case MVM_E_HOST: return MINIVMM_E_HOST;
    default: return MINIVMM_E_VMM;
    }
}

/* Creates the VM (state NEW -> RUNNING); on failure the context is DONE with the error. */
static int begin(struct minivmm *vm)
{
    if (!vm)
        return MINIVMM_E_MISUSE;
    pthread_mutex_lock(&vm->lock);
    if (vm->state != NEW) {
        pthread_mutex_unlock(&vm->lock);
        return misuse(vm, "a context runs its VM once: create a new context to run again");
    }
    __atomic_store_n(&vm->state, RUNNING, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vm->lock);
    if (!vm->cfg.kernel) {
        int r = misuse(vm, "no kernel: call minivmm_set_kernel first");
        set_state(vm, DONE);
        return r;
    }
    memset(&vm->err, 0, sizeof(vm->err));
    struct vm *v;
    if (vm_create(&v, &vm->cfg, &vm->err)) {
        set_state(vm, DONE);
        return error_code(vm->err.status);
    }
    /* A stop asked for while the VM was being built applies to it now, not never. */
    pthread_mutex_lock(&vm->lock);
    vm->vm = v;
    if (v && vm->stop_requested)
        vm_request_stop(v, MVM_STOPPED, "stopped by the embedding program");
    pthread_mutex_unlock(&vm->lock);
    return MINIVMM_OK;
}

static int finish(struct minivmm *vm)
{
    vm_run(vm->vm, &vm->err);
    vm_get_result(vm->vm, &vm->result);
    vm->have_result = true;
    pthread_mutex_lock(&vm->lock);
    struct vm *v = vm->vm;
    vm->vm = NULL;
    __atomic_store_n(&vm->state, DONE, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vm->lock);
    vm_destroy(v);
    /* A run that ended for any reason the guest or the user caused is a completed run;
     * only a VMM failure is an error of the call. */
    return vm->result.status == MVM_E_VMM ? MINIVMM_E_VMM : MINIVMM_OK;
}

int minivmm_check_host(struct minivmm *vm, FILE *report)
{
    CONFIGURABLE(vm);
    memset(&vm->err, 0, sizeof(vm->err));
    return vm_check_host(&vm->cfg, report ? report : stdout, &vm->err)
               ? error_code(vm->err.status) : MINIVMM_OK;
}

int minivmm_set_nested_hv(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.nested_hv = on;
    return MINIVMM_OK;
}

int minivmm_set_stats(struct minivmm *vm, bool on)
{
    CONFIGURABLE(vm);
    vm->cfg.stats = on;
    return MINIVMM_OK;
}

int minivmm_dump_dtb(struct minivmm *vm, const char *path)
{
    CONFIGURABLE(vm);
    if (!path)
        return misuse(vm, "minivmm_dump_dtb: no path");
    int r = keep(vm, path, &vm->cfg.dump_dtb);
    if (r)
        return r;
    r = begin(vm);   /* with dump_dtb set, vm_create writes the tree and makes no VM */
    set_state(vm, DONE);
    return r;
}

int minivmm_run(struct minivmm *vm)
{
    int r = begin(vm);
    return r ? r : finish(vm);
}

static void *run_thread(void *arg)
{
    struct minivmm *vm = arg;
    vm->run_ret = finish(vm);
    return NULL;
}

int minivmm_start(struct minivmm *vm)
{
    int r = begin(vm);
    if (r)
        return r;
    r = pthread_create(&vm->thread, NULL, run_thread, vm);
    if (r) {
        pthread_mutex_lock(&vm->lock);
        struct vm *v = vm->vm;
        vm->vm = NULL;
        __atomic_store_n(&vm->state, DONE, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&vm->lock);
        vm_destroy(v);
        return r == ENOMEM || r == EAGAIN ? MINIVMM_E_NOMEM : MINIVMM_E_VMM;
    }
    vm->thread_running = true;
    return MINIVMM_OK;
}

int minivmm_wait(struct minivmm *vm)
{
    if (!vm || !vm->thread_running)
        return misuse(vm, "minivmm_wait: the VM was not started with minivmm_start");
    pthread_join(vm->thread, NULL);
    vm->thread_running = false;
    return vm->run_ret;
}

int minivmm_stop(struct minivmm *vm)
{
    if (!vm)
        return MINIVMM_E_MISUSE;
    pthread_mutex_lock(&vm->lock);
    if (vm->vm)
        vm_request_stop(vm->vm, MVM_STOPPED, "stopped by the embedding program");
    else if (vm->state == RUNNING)
        vm->stop_requested = true;   /* the VM is being built: begin() passes it on */
    pthread_mutex_unlock(&vm->lock);
    return MINIVMM_OK;
}

/* What a run left: meaningful once it is DONE; while it runs, nothing yet (and nothing that
 * the run's thread is still writing). */
static bool finished(const struct minivmm *vm)
{
    return vm && state_of(vm) == DONE;
}

enum minivmm_exit minivmm_exit_reason(const struct minivmm *vm)
{
    if (!finished(vm) || !vm->have_result)
        return MINIVMM_EXIT_NONE;
    switch (vm->result.status) {
    case MVM_OK:
        return vm->result.pattern[0] ? MINIVMM_EXIT_PATTERN : MINIVMM_EXIT_POWEROFF;
    case MVM_REBOOT: return MINIVMM_EXIT_REBOOT;
    case MVM_PANIC: return MINIVMM_EXIT_PANIC;
    case MVM_TIMEOUT: return MINIVMM_EXIT_TIMEOUT;
    case MVM_FAIL_PATTERN: return MINIVMM_EXIT_FAIL_PATTERN;
    case MVM_STOPPED: return MINIVMM_EXIT_STOPPED;
    default: return MINIVMM_EXIT_VMM_ERROR;
    }
}

int minivmm_exit_status(const struct minivmm *vm)
{
    if (!vm)
        return MVM_E_INPUT;
    if (state_of(vm) == RUNNING)
        return MVM_OK;
    return vm->have_result ? (int)vm->result.status : (int)vm->err.status;
}

int minivmm_guest_exit_code(const struct minivmm *vm)
{
    return finished(vm) && vm->have_result ? vm->result.guest_exit_code : -1;
}

const char *minivmm_error_message(const struct minivmm *vm)
{
    if (!vm)
        return "no context (NULL)";
    if (state_of(vm) == RUNNING)
        return "";
    if (vm->err.msg[0])
        return vm->err.msg;
    return vm->have_result ? vm->result.message : "";
}

int minivmm_write_json(const struct minivmm *vm, const char *path)
{
    if (!vm || !path || state_of(vm) == RUNNING)
        return MINIVMM_E_MISUSE;
    if (!vm->have_result && !vm->err.msg[0])
        return MINIVMM_E_MISUSE;   /* nothing has happened yet to report */
    struct vm_result r;
    if (vm->have_result) {
        r = vm->result;
    } else {
        memset(&r, 0, sizeof(r));
        r.status = vm->err.status;
        r.guest_exit_code = -1;
        r.seconds_to_first_output = -1;
        r.reason = report_reason(vm->err.status, false, false);
        snprintf(r.message, sizeof(r.message), "%s", vm->err.msg);
    }
    struct mvm_err e = {0};
    return report_json_file(path, &r, &e) ? MINIVMM_E_INPUT : MINIVMM_OK;
}
