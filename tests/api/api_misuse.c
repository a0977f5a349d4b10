/* libminivmm's public API under misuse: NULL contexts, bad arguments, calls in the wrong
 * order, runs that fail on their input. Every run here fails on its kernel before KVM is
 * opened, so this needs no /dev/kvm (it runs under qemu-user off POWER: make check-api).
 *
 * Prints one line per failed check and ends with "api: N passed, M failed"; exits 0 only if
 * nothing failed.
 *
 * tests/api/ways.sh runs it as every kind of host this machine can pretend to be (/dev/kvm
 * present or not, root or not) and says in API_HOST what the machine is: "power", or
 * "other" for an x86 or Arm machine, where the binary runs under qemu-user and any /dev/kvm
 * is that architecture's; API_KVM=absent when it hid /dev/kvm.
 */
#include <minivmm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                        \
    } while (0)

static const char *missing_kernel = "/nonexistent-minivmm-test/vmlinux";

static void on_output(void *opaque, const char *data, size_t len)
{
    (void)opaque, (void)data, (void)len;
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void null_context(void)
{
    const int E = MINIVMM_E_MISUSE;
    CHECK(minivmm_set_kernel(NULL, "vmlinux", NULL, NULL) == E);
    CHECK(minivmm_set_memory(NULL, 1ULL << 30) == E);
    CHECK(minivmm_set_vcpus(NULL, 1) == E);
    CHECK(minivmm_set_kvm_type(NULL, MINIVMM_KVM_AUTO) == E);
    CHECK(minivmm_set_mmu(NULL, MINIVMM_MMU_AUTO) == E);
    CHECK(minivmm_set_nested_hv(NULL, true) == E);
    CHECK(minivmm_set_stats(NULL, true) == E);
    CHECK(minivmm_check_host(NULL, NULL) == E);
    CHECK(minivmm_set_irqchip(NULL, MINIVMM_IRQCHIP_AUTO) == E);
    CHECK(minivmm_set_mem_path(NULL, "/dev/hugepages") == E);
    CHECK(minivmm_add_disk(NULL, "disk.img", 0, NULL) == E);
    CHECK(minivmm_add_vsock(NULL, 3, "/tmp/v.sock") == E);
    CHECK(minivmm_set_console_fds(NULL, 0, 1) == E);
    CHECK(minivmm_set_console_callback(NULL, on_output, NULL) == E);
    CHECK(minivmm_set_virtio_console(NULL, true) == E);
    CHECK(minivmm_set_option(NULL, "memory", "1G") == E);
    CHECK(minivmm_add_device(NULL, "disk", "a.img") == E);
    CHECK(minivmm_add_net(NULL, NULL) == E);
    CHECK(minivmm_set_snapshot(NULL, true) == E);
    CHECK(minivmm_set_timeout(NULL, 10) == E);
    CHECK(minivmm_add_expect(NULL, "login:") == E);
    CHECK(minivmm_add_fail_on(NULL, "oops") == E);
    CHECK(minivmm_set_stop_fd(NULL, 0) == E);
    CHECK(minivmm_set_dump_fd(NULL, 0) == E);
    CHECK(minivmm_set_seccomp(NULL, true) == E);
    CHECK(minivmm_set_console_escape(NULL, true) == E);
    CHECK(minivmm_set_log(NULL, "/tmp/log") == E);
    CHECK(minivmm_set_default_fail(NULL, true) == E);
    CHECK(minivmm_set_diagnostics(NULL, 2, true) == E);
    CHECK(minivmm_dump_dtb(NULL, "/tmp/x.dtb") == E);
    CHECK(minivmm_run(NULL) == E);
    CHECK(minivmm_start(NULL) == E);
    CHECK(minivmm_wait(NULL) == E);
    CHECK(minivmm_stop(NULL) == E);
    CHECK(minivmm_write_json(NULL, "/tmp/x.json") == E);
    CHECK(minivmm_exit_reason(NULL) == MINIVMM_EXIT_NONE);
    CHECK(minivmm_guest_exit_code(NULL) == -1);
    CHECK(minivmm_error_message(NULL) != NULL);
    minivmm_free(NULL);
    CHECK(1);                                       /* minivmm_free(NULL) returned */
}

static void bad_arguments(void)
{
    struct minivmm *vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    const int E = MINIVMM_E_MISUSE;
    CHECK(minivmm_error_message(vm) != NULL && minivmm_error_message(vm)[0] == '\0');
    CHECK(minivmm_exit_reason(vm) == MINIVMM_EXIT_NONE);
    CHECK(minivmm_guest_exit_code(vm) == -1);

    CHECK(minivmm_set_kernel(vm, NULL, "initrd", "console=hvc0") == E);
    CHECK(minivmm_error_message(vm)[0] != '\0');
    CHECK(minivmm_set_kvm_type(vm, (enum minivmm_kvm_type)7) == E);
    CHECK(minivmm_set_kvm_type(vm, (enum minivmm_kvm_type)-1) == E);
    CHECK(minivmm_set_mmu(vm, (enum minivmm_mmu)7) == E);
    CHECK(minivmm_set_irqchip(vm, (enum minivmm_irqchip)7) == E);
    CHECK(minivmm_set_kvm_type(vm, MINIVMM_KVM_PR) == MINIVMM_OK);
    CHECK(minivmm_set_mmu(vm, MINIVMM_MMU_HASH) == MINIVMM_OK);
    CHECK(minivmm_set_irqchip(vm, MINIVMM_IRQCHIP_USER) == MINIVMM_OK);

    /* Options by name: the command line's spelling, parsing and messages. */
    CHECK(minivmm_set_option(vm, "memory", "2G") == MINIVMM_OK);
    CHECK(minivmm_set_option(vm, "no-seccomp", NULL) == MINIVMM_OK);
    CHECK(minivmm_set_option(vm, "fail-on", "Oops") == MINIVMM_OK);
    CHECK(minivmm_set_option(vm, "kvm-type", "foo") == E);
    CHECK(contains(minivmm_error_message(vm), "--kvm-type foo: use auto, hv or pr"));
    CHECK(minivmm_set_option(vm, "nonsense", "1") == E);
    CHECK(minivmm_set_option(vm, NULL, "1") == E);
    CHECK(minivmm_set_option(vm, "disk", "x.img,bogus") == E);
    CHECK(contains(minivmm_error_message(vm), "bogus"));
    CHECK(minivmm_add_device(vm, "floppy", "a.img") == E);
    CHECK(minivmm_add_device(vm, "disk", NULL) == E);
    CHECK(minivmm_add_disk(vm, "a,b.img", 0, "s,n") == E);   /* a comma in a serial */
    CHECK(minivmm_add_disk(vm, "disk.img", 0x100, NULL) == E);
    CHECK(minivmm_add_disk(vm, "", 0, NULL) == E);
    CHECK(minivmm_add_disk(vm, NULL, 0, NULL) == E);
    CHECK(minivmm_add_vsock(vm, 3, NULL) == E);
    CHECK(minivmm_add_vsock(vm, 2, "/tmp/v.sock") == E);
    CHECK(contains(minivmm_error_message(vm), "CID must be 3 to 4294967294"));
    CHECK(minivmm_add_vsock(vm, 0xffffffffu, "/tmp/v.sock") == E);
    CHECK(minivmm_add_device(vm, "vsock", "5") == E);
    CHECK(contains(minivmm_error_message(vm), "no uds=PATH"));
    CHECK(minivmm_add_vsock(vm, 3, "/tmp/a,b.sock") == MINIVMM_OK);   /* commas: fine */
    CHECK(minivmm_add_vsock(vm, 4, "/tmp/v.sock") == E);              /* one per VM */
    CHECK(minivmm_add_disk(vm, "disk.img", 0, "123456789012345678901") == E);   /* 21 */
    CHECK(minivmm_add_disk(vm, "disk.img", MINIVMM_DISK_RO | MINIVMM_DISK_SNAPSHOT,
                           "12345678901234567890") == MINIVMM_OK);              /* 20 */
    /* NICs: passt's defaults, a SPEC, the generic call; refusals with the fix. Nothing starts
     * passt before the VM is built. */
    CHECK(minivmm_add_net(vm, NULL) == MINIVMM_OK);
    CHECK(minivmm_add_net(vm, "mac=02:00:00:00:00:07") == MINIVMM_OK);
    CHECK(minivmm_add_device(vm, "net", "tap=tap7") == MINIVMM_OK);
    CHECK(minivmm_add_net(vm, "mac=01:00:00:00:00:07") == E);
    CHECK(contains(minivmm_error_message(vm), "unicast"));
    CHECK(minivmm_add_net(vm, "slirp") == E);
    CHECK(contains(minivmm_error_message(vm), "passt=PATH, tap=NAME"));
    char longpath[8192];
    memset(longpath, 'd', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    CHECK(minivmm_add_disk(vm, longpath, 0, NULL) == E);

    char big[200];
    memset(big, 'p', 129);
    big[129] = '\0';
    CHECK(minivmm_add_expect(vm, "") == E);
    CHECK(minivmm_add_expect(vm, NULL) == E);
    CHECK(minivmm_add_expect(vm, big) == E);        /* 129 bytes */
    CHECK(minivmm_add_fail_on(vm, big) == E);
    big[128] = '\0';
    CHECK(minivmm_add_fail_on(vm, big) == MINIVMM_OK);
    for (int i = 0; i < 8; i++)
        CHECK(minivmm_add_expect(vm, "ready") == MINIVMM_OK);
    CHECK(minivmm_add_expect(vm, "ready") == E);    /* the 9th */
    CHECK(minivmm_dump_dtb(vm, NULL) == E);
    CHECK(minivmm_wait(vm) == E);                   /* never started */
    CHECK(minivmm_stop(vm) == MINIVMM_OK);          /* nothing to stop: fine */
    minivmm_free(vm);

    vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    for (int i = 0; i < 16; i++)
        CHECK(minivmm_add_disk(vm, "disk.img", 0, NULL) == MINIVMM_OK);
    CHECK(minivmm_add_disk(vm, "disk.img", 0, NULL) == E);   /* the 17th */
    CHECK(contains(minivmm_error_message(vm), "disk"));
    minivmm_free(vm);
}

/* Setters may be called again before the run (the last value wins); each call copies its
 * strings. */
static void repeated_setters(void)
{
    struct minivmm *vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    int bad = 0;
    for (int i = 0; i < 12; i++)
        if (minivmm_set_kernel(vm, missing_kernel, "initrd", "console=hvc0") != MINIVMM_OK)
            bad++;
    /* BUG: vmm/api.c:61-62 (keep): every string a setter copies takes one of the context's
     * 8 + 2 * VM_MAX_PATTERNS = 24 slots and is never released when replaced, so the 9th
     * minivmm_set_kernel(vm, kernel, initrd, cmdline) (or the 25th minivmm_set_log) fails
     * with MINIVMM_E_MISUSE "too many strings given to this context" although the call is
     * valid. */
    CHECK(bad == 0);   /* regression: repeated setters once ran out of string slots */
    minivmm_free(vm);
}

static void run_order(void)
{
    const int E = MINIVMM_E_MISUSE;
    /* no kernel */
    struct minivmm *vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    CHECK(minivmm_run(vm) == E);
    CHECK(contains(minivmm_error_message(vm), "minivmm_set_kernel"));
    CHECK(minivmm_exit_reason(vm) == MINIVMM_EXIT_NONE);
    minivmm_free(vm);

    vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    CHECK(minivmm_start(vm) == E);
    CHECK(contains(minivmm_error_message(vm), "minivmm_set_kernel"));
    CHECK(minivmm_wait(vm) == E);                   /* start failed: nothing to wait for */
    minivmm_free(vm);

    /* a kernel that does not exist: input error, before KVM is opened */
    vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    CHECK(minivmm_set_kernel(vm, missing_kernel, NULL, "console=hvc0") == MINIVMM_OK);
    CHECK(minivmm_set_console_callback(vm, on_output, NULL) == MINIVMM_OK);
    CHECK(minivmm_run(vm) == MINIVMM_E_INPUT);
    CHECK(contains(minivmm_error_message(vm), missing_kernel));
    CHECK(minivmm_exit_status(vm) == 1);
    CHECK(minivmm_exit_reason(vm) == MINIVMM_EXIT_NONE);
    CHECK(minivmm_guest_exit_code(vm) == -1);

    char json[] = "/tmp/minivmm-api-XXXXXX";
    int fd = mkstemp(json);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK(minivmm_write_json(vm, json) == MINIVMM_OK);
    CHECK(file_contains(json, "\"input-error\""));
    CHECK(file_contains(json, missing_kernel));
    CHECK(minivmm_write_json(vm, "/nonexistent-minivmm-test/dir/r.json") == MINIVMM_E_INPUT);

    CHECK(minivmm_run(vm) == E);                    /* a context runs once */
    CHECK(minivmm_start(vm) == E);
    CHECK(minivmm_dump_dtb(vm, "/tmp/minivmm-api.dtb") == E);
    CHECK(minivmm_check_host(vm, NULL) == E);
    CHECK(minivmm_set_nested_hv(vm, true) == E);
    CHECK(minivmm_set_stats(vm, true) == E);
    CHECK(minivmm_set_memory(vm, 1ULL << 30) == E); /* configuration is over */
    CHECK(minivmm_set_kernel(vm, "vmlinux", NULL, NULL) == E);
    CHECK(minivmm_add_disk(vm, "disk.img", 0, NULL) == E);
    CHECK(minivmm_add_expect(vm, "login:") == E);
    CHECK(contains(minivmm_error_message(vm), "already"));
    CHECK(minivmm_wait(vm) == E);
    CHECK(minivmm_stop(vm) == MINIVMM_OK);
    CHECK(minivmm_write_json(vm, json) == MINIVMM_OK);   /* still the failed run's report */
    CHECK(file_contains(json, "\"input-error\""));
    CHECK(minivmm_exit_status(vm) == 1);
    unlink(json);
    minivmm_free(vm);

    /* the same through minivmm_start and through minivmm_dump_dtb */
    vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    CHECK(minivmm_set_kernel(vm, missing_kernel, NULL, NULL) == MINIVMM_OK);
    CHECK(minivmm_start(vm) == MINIVMM_E_INPUT);
    CHECK(contains(minivmm_error_message(vm), missing_kernel));
    CHECK(minivmm_wait(vm) == E);
    CHECK(minivmm_run(vm) == E);
    minivmm_free(vm);

    vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    CHECK(minivmm_set_kernel(vm, missing_kernel, NULL, NULL) == MINIVMM_OK);
    CHECK(minivmm_dump_dtb(vm, "/tmp/minivmm-api-never.dtb") == MINIVMM_E_INPUT);
    CHECK(access("/tmp/minivmm-api-never.dtb", F_OK) != 0);
    CHECK(minivmm_run(vm) == E);
    minivmm_free(vm);
}

/* The host doctor needs no kernel, leaves the context configurable, and judges by the host. */
static void check_host(void)
{
    struct minivmm *vm = minivmm_new();
    CHECK(vm != NULL);
    if (!vm)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(minivmm_set_memory(vm, 1ULL << 30) == MINIVMM_OK);
    int r = minivmm_check_host(vm, f);
    fclose(f);
    CHECK(buf && contains(buf, "/dev/kvm: ") && contains(buf, "KVM-PR: "));
    const char *host = getenv("API_HOST"), *kvm = getenv("API_KVM");
    const char *msg = minivmm_error_message(vm);
    if (!host || !strcmp(host, "other")) {
        /* Whatever its /dev/kvm is, an x86 or Arm machine runs no POWER guest, and says so
         * instead of blaming permissions or modules. */
        CHECK(r == MINIVMM_E_HOST);
        CHECK(contains(msg, "this is not a POWER host"));
        CHECK(!contains(msg, "usermod") && !contains(msg, "modprobe"));
        CHECK(buf && contains(buf, "not a POWER processor"));
        CHECK(buf && contains(buf, "guests this host can run: none: this is not a POWER host"));
    } else if (kvm && !strcmp(kvm, "absent")) {
        CHECK(r == MINIVMM_E_HOST);
        CHECK(contains(msg, "/dev/kvm does not exist"));
        CHECK(buf && contains(buf, "/dev/kvm: missing"));
    } else if (r == MINIVMM_OK) {   /* a POWER host: whatever it can run, it says so */
        CHECK(buf && contains(buf, "guests of 1 GiB this host can run"));
    } else {
        CHECK(r == MINIVMM_E_HOST && msg[0]);
        CHECK(buf && (contains(buf, "guests this host can run: none: ") ||
                      contains(buf, "the requested guest: cannot run here")));
    }
    free(buf);
    CHECK(minivmm_set_vcpus(vm, 2) == MINIVMM_OK);   /* still configurable */
    minivmm_free(vm);
}

int main(void)
{
    null_context();
    bad_arguments();
    repeated_setters();
    run_order();
    check_host();
    printf("api: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
