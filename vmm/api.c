/* libminivmm: the public API (include/minivmm.h) over vm_create/vm_run.
 * A context holds its configuration (with copies of every string) and, once run, the VM's
 * result; all its state is here, none in globals. */
#include "../include/minivmm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "console.h"
#include "report.h"

int api_misuse(struct minivmm *vm, const char *what)
{
    if (vm) {
        memset(&vm->err, 0, sizeof(vm->err));
        mvm_fail(&vm->err, MVM_E_INPUT, "%s", what);
    }
    return MINIVMM_E_MISUSE;
}

enum state api_state(const struct minivmm *vm)
{
    return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

void api_set_state(struct minivmm *vm, enum state s)
{
    pthread_mutex_lock(&vm->lock);
    __atomic_store_n(&vm->state, s, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vm->lock);
}

int api_adopt(struct minivmm *vm, char *block, const void *old)
{
    unsigned i = 0;
    while (i < vm->nstrings && vm->strings[i] != old)
        i++;
    if (i < vm->nstrings) {                 /* the slot held one of ours: reuse its place */
        free(vm->strings[i]);
        vm->strings[i] = block;
    } else if (block) {
        if (vm->nstrings == vm->cap) {
            unsigned cap = vm->cap ? 2 * vm->cap : 16;
            char **more = realloc(vm->strings, cap * sizeof(*more));
            if (!more) {
                free(block);
                return MINIVMM_E_NOMEM;
            }
            vm->strings = more;
            vm->cap = cap;
        }
        vm->strings[vm->nstrings++] = block;
    }
    return MINIVMM_OK;
}

/* Stores a copy of s in *slot, replacing (and freeing) the copy that was there. */
int api_keep(struct minivmm *vm, const char *s, const char **slot)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return MINIVMM_E_NOMEM;
    int r = api_adopt(vm, copy, *slot);
    if (r == MINIVMM_OK)
        *slot = copy;
    return r;
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
        return api_misuse(vm, "a context runs its VM once: create a new context to run again");
    }
    __atomic_store_n(&vm->state, RUNNING, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vm->lock);
    if (!vm->cfg.kernel) {
        int r = api_misuse(vm, "no kernel: call minivmm_set_kernel first");
        api_set_state(vm, DONE);
        return r;
    }
    memset(&vm->err, 0, sizeof(vm->err));
    struct vm *v;
    if (vm_create(&v, &vm->cfg, &vm->err)) {
        api_set_state(vm, DONE);
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

/* With one of the dump paths set, vm_create writes that and makes no VM. */
static int dump(struct minivmm *vm, const char *path, const char **slot, const char *what)
{
    CONFIGURABLE(vm);
    if (!path)
        return api_misuse(vm, what);
    int r = api_keep(vm, path, slot);
    if (r)
        return r;
    r = begin(vm);
    api_set_state(vm, DONE);
    return r;
}

int minivmm_dump_dtb(struct minivmm *vm, const char *path)
{
    return vm ? dump(vm, path, &vm->cfg.dump_dtb, "minivmm_dump_dtb: no path")
              : MINIVMM_E_MISUSE;
}

int minivmm_dump_initramfs(struct minivmm *vm, const char *path)
{
    return vm ? dump(vm, path, &vm->cfg.dump_initramfs, "minivmm_dump_initramfs: no path")
              : MINIVMM_E_MISUSE;
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
        return api_misuse(vm, "minivmm_wait: the VM was not started with minivmm_start");
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
    return vm && api_state(vm) == DONE;
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
    if (api_state(vm) == RUNNING)
        return MVM_OK;
    if (vm->have_result)
        return vm->result.exit_status;
    if (vm->err.status == MVM_OK)
        return 0;   /* no run, and nothing failed: a dump */
    return report_exit_status(vm->err.status, vm->cfg.rootfs != NULL, -1, false);
}

int minivmm_guest_exit_code(const struct minivmm *vm)
{
    return finished(vm) && vm->have_result ? vm->result.guest_exit_code : -1;
}

const char *minivmm_error_message(const struct minivmm *vm)
{
    if (!vm)
        return "no context (NULL)";
    if (api_state(vm) == RUNNING)
        return "";
    if (vm->err.msg[0])
        return vm->err.msg;
    return vm->have_result ? vm->result.message : "";
}

int minivmm_write_json(const struct minivmm *vm, const char *path)
{
    if (!vm || !path || api_state(vm) == RUNNING)
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
        r.exit_status = minivmm_exit_status(vm);
        snprintf(r.message, sizeof(r.message), "%s", vm->err.msg);
    }
    struct mvm_err e = {0};
    return report_json_file(path, &r, &e) ? MINIVMM_E_INPUT : MINIVMM_OK;
}
