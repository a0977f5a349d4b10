/* The library's thread-safety promise (include/minivmm.h), under AddressSanitizer and again
 * under ThreadSanitizer (make check-tsan): minivmm_stop() from another thread at any moment,
 * including while the VM is still being built, and the accessors read while a run goes on.
 *
 * vmm/api.c and api_config.c are compiled into this test against a fake VM (below) whose run lasts until it is
 * asked to stop, so no KVM is needed and every interleaving here is the API's own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../vmm/api.c"
#include "../../vmm/api_config.c"

/* ---- the fake VM ---- */

struct vm {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopped;
    enum mvm_status status;
    char why[256];
};

static unsigned create_ms;   /* how long building the VM takes */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int vm_create(struct vm **out, const struct vm_config *c, struct mvm_err *e)
{
    (void)e;
    sleep_ms(create_ms);
    if (c->dump_dtb) {
        *out = NULL;
        return 0;
    }
    struct vm *v = calloc(1, sizeof(*v));
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    *out = v;
    return 0;
}

/* Runs until stopped; a run nobody could stop ends after 5 s as a VMM failure. */
enum mvm_status vm_run(struct vm *v, struct mvm_err *e)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&v->lock);
    while (!v->stopped)
        if (pthread_cond_timedwait(&v->cond, &v->lock, &until)) {
            v->stopped = true;
            v->status = MVM_E_VMM;
            snprintf(v->why, sizeof(v->why), "the stop never arrived");
        }
    enum mvm_status st = v->status;
    if (st != MVM_OK)
        mvm_fail(e, st, "%s", v->why);
    pthread_mutex_unlock(&v->lock);
    return st;
}

void vm_get_result(const struct vm *v, struct vm_result *r)
{
    memset(r, 0, sizeof(*r));
    r->status = v->status;
    r->exit_status = (int)v->status;   /* no --rootfs: the run's own status */
    r->guest_exit_code = -1;
    snprintf(r->message, sizeof(r->message), "%s", v->why);
}

void vm_request_stop(struct vm *v, enum mvm_status status, const char *why)
{
    pthread_mutex_lock(&v->lock);
    if (!v->stopped) {
        v->stopped = true;
        v->status = status;
        snprintf(v->why, sizeof(v->why), "%s", why);
        pthread_cond_broadcast(&v->cond);
    }
    pthread_mutex_unlock(&v->lock);
}

void vm_destroy(struct vm *v)
{
    if (!v)
        return;
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

int vm_check_host(const struct vm_config *c, FILE *out, struct mvm_err *e)
{
    (void)c, (void)out, (void)e;
    return 0;
}

/* ---- the tests ---- */

struct stopper {
    struct minivmm *vm;
    unsigned after_ms;
};

static void *stop_later(void *arg)
{
    struct stopper *s = arg;
    sleep_ms(s->after_ms);
    minivmm_stop(s->vm);
    return NULL;
}

static struct minivmm *configured(void)
{
    struct minivmm *vm = minivmm_new();
    assert_non_null(vm);
    assert_int_equal(minivmm_set_kernel(vm, "vmlinux", NULL, NULL), MINIVMM_OK);
    return vm;
}

static void test_stop_from_another_thread(void **state)
{
    (void)state;
    create_ms = 0;
    struct minivmm *vm = configured();
    assert_int_equal(minivmm_start(vm), MINIVMM_OK);
    struct stopper s = {vm, 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
    assert_int_equal(minivmm_wait(vm), MINIVMM_OK);
    pthread_join(t, NULL);
    assert_int_equal(minivmm_exit_reason(vm), MINIVMM_EXIT_STOPPED);
    assert_string_equal(minivmm_error_message(vm), "stopped by the embedding program");
    minivmm_free(vm);
}

/* A stop that comes while vm_create() still runs (it loads the kernel, maps memory, creates
 * vCPUs: seconds, with a big guest) must not be lost: the run ends stopped, at once. */
static void test_stop_while_building(void **state)
{
    (void)state;
    create_ms = 300;
    struct minivmm *vm = configured();
    struct stopper s = {vm, 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
    assert_int_equal(minivmm_run(vm), MINIVMM_OK);
    pthread_join(t, NULL);
    assert_int_equal(minivmm_exit_reason(vm), MINIVMM_EXIT_STOPPED);
    minivmm_free(vm);
}

/* Another thread asks how the run went while it goes on: "nothing yet", never a torn answer,
 * then the answer once it is over. */
struct watcher {
    struct minivmm *vm;
    bool done;   /* atomic */
    unsigned looks;
};

static void *watch(void *arg)
{
    struct watcher *w = arg;
    while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
        enum minivmm_exit x = minivmm_exit_reason(w->vm);
        const char *msg = minivmm_error_message(w->vm);
        int code = minivmm_guest_exit_code(w->vm);
        int st = minivmm_exit_status(w->vm);
        if (x == MINIVMM_EXIT_NONE) {
            assert_int_equal(code, -1);
        } else {
            assert_int_equal(x, MINIVMM_EXIT_STOPPED);
            assert_string_equal(msg, "stopped by the embedding program");
            assert_int_equal(st, MVM_STOPPED);
        }
        w->looks++;
        minivmm_stop(w->vm);   /* stops are idempotent, from any thread, any time */
    }
    return NULL;
}

static void test_accessors_while_running(void **state)
{
    (void)state;
    create_ms = 20;
    struct minivmm *vm = configured();
    struct watcher w = {.vm = vm};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watch, &w), 0);
    assert_int_equal(minivmm_start(vm), MINIVMM_OK);
    assert_int_equal(minivmm_wait(vm), MINIVMM_OK);
    sleep_ms(20);
    __atomic_store_n(&w.done, true, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_true(w.looks > 0);
    assert_int_equal(minivmm_exit_reason(vm), MINIVMM_EXIT_STOPPED);
    minivmm_free(vm);
}

static void test_free_while_running(void **state)
{
    (void)state;
    create_ms = 0;
    struct minivmm *vm = configured();
    assert_int_equal(minivmm_start(vm), MINIVMM_OK);
    sleep_ms(20);
    minivmm_free(vm);   /* stops the run and waits for it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_from_another_thread),
        cmocka_unit_test(test_stop_while_building),
        cmocka_unit_test(test_accessors_while_running),
        cmocka_unit_test(test_free_while_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
