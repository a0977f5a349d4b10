/* libminivmm: the configuration setters (include/minivmm.h). Each is allowed only before the
 * run; strings are copied into the context. */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../devices/spec.h"
#include "console.h"

int minivmm_set_kernel(struct minivmm *vm, const char *vmlinux, const char *initrd,
                       const char *cmdline)
{
    CONFIGURABLE(vm);
    if (!vmlinux)
        return api_misuse(vm, "minivmm_set_kernel: no kernel");
    int r;
    if ((r = api_keep(vm, vmlinux, &vm->cfg.kernel)) || (r = api_keep(vm, initrd, &vm->cfg.initrd)) ||
        (r = api_keep(vm, cmdline, &vm->cfg.cmdline)))
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
        return api_misuse(vm, "minivmm_set_kvm_type: unknown type");
    vm->cfg.kvm_type = (enum kvm_type_req)type;
    return MINIVMM_OK;
}

int minivmm_set_mmu(struct minivmm *vm, enum minivmm_mmu mmu)
{
    CONFIGURABLE(vm);
    if ((unsigned)mmu > MINIVMM_MMU_HASH)
        return api_misuse(vm, "minivmm_set_mmu: unknown mode");
    vm->cfg.mmu = (enum mmu_req)mmu;
    return MINIVMM_OK;
}

int minivmm_set_irqchip(struct minivmm *vm, enum minivmm_irqchip where)
{
    CONFIGURABLE(vm);
    if ((unsigned)where > MINIVMM_IRQCHIP_USER)
        return api_misuse(vm, "minivmm_set_irqchip: unknown value");
    vm->cfg.irqchip = (enum irqchip_req)where;
    return MINIVMM_OK;
}

/* By name, from text, as the command line spells it: the configuration keeps our copy. */
int minivmm_set_option(struct minivmm *vm, const char *name, const char *value)
{
    CONFIGURABLE(vm);
    if (!name)
        return api_misuse(vm, "minivmm_set_option: no name");
    const char *copy = NULL;
    int r = value ? api_keep(vm, value, &copy) : MINIVMM_OK;
    if (r)
        return r;
    struct mvm_err e = {0};
    if (vm_config_set(&vm->cfg, name, copy, &e))
        return api_misuse(vm, e.msg);
    return MINIVMM_OK;
}

int minivmm_set_mem_path(struct minivmm *vm, const char *dir)
{
    CONFIGURABLE(vm);
    return api_keep(vm, dir, &vm->cfg.mem_path);
}

int minivmm_add_device(struct minivmm *vm, const char *kind, const char *spec)
{
    CONFIGURABLE(vm);
    if (!kind || !spec)
        return api_misuse(vm, "minivmm_add_device: no kind or no spec");
    struct mvm_err e = {0};
    if (vm_config_add_device(&vm->cfg, kind, spec, &e))
        return api_misuse(vm, e.msg);
    /* The configuration holds the caller's string for now: keep a copy of our own. */
    int r = api_keep(vm, spec, &vm->cfg.devices[vm->cfg.ndevices - 1].spec);
    if (r)
        vm->cfg.ndevices--;
    return r;
}

/* A disk is a device like any other: its SPEC as -d takes it. */
int minivmm_add_disk(struct minivmm *vm, const char *path, unsigned flags, const char *serial)
{
    CONFIGURABLE(vm);
    if (!path || !*path || (flags & ~(unsigned)(MINIVMM_DISK_RO | MINIVMM_DISK_DIRECT |
                                                 MINIVMM_DISK_SNAPSHOT)))
        return api_misuse(vm, "minivmm_add_disk: no path, or unknown flags");
    if (serial && (strchr(serial, ',') || strlen(serial) > 64))
        return api_misuse(vm, "minivmm_add_disk: a serial has at most 20 characters and no comma");
    char options[128];
    snprintf(options, sizeof(options), "%s%s%s%s%s", flags & MINIVMM_DISK_RO ? ",ro" : "",
             flags & MINIVMM_DISK_DIRECT ? ",cache=none" : "",
             flags & MINIVMM_DISK_SNAPSHOT ? ",snapshot" : "", serial ? ",serial=" : "",
             serial ? serial : "");
    char *spec = spec_make(path, options);
    if (!spec)
        return MINIVMM_E_NOMEM;
    int r = minivmm_add_device(vm, "disk", spec);
    free(spec);
    return r;
}

/* A NIC is a device like any other: its SPEC as --net takes it ("" for passt's defaults). */
int minivmm_add_net(struct minivmm *vm, const char *spec)
{
    return minivmm_add_device(vm, "net", spec ? spec : "");
}

/* The vsock device is a device like any other: its SPEC as --vsock takes it (uds= takes
 * the rest of the SPEC, so the path needs no escaping). */
int minivmm_add_vsock(struct minivmm *vm, uint32_t cid, const char *uds_path)
{
    CONFIGURABLE(vm);
    if (!uds_path || !*uds_path)
        return api_misuse(vm, "minivmm_add_vsock: no uds_path (the host's UNIX socket)");
    size_t len = strlen(uds_path) + 32;
    char *spec = malloc(len);
    if (!spec)
        return MINIVMM_E_NOMEM;
    snprintf(spec, len, "%u,uds=%s", cid, uds_path);
    int r = minivmm_add_device(vm, "vsock", spec);
    free(spec);
    return r;
}

int minivmm_add_share(struct minivmm *vm, const char *dir, const char *tag, unsigned flags)
{
    CONFIGURABLE(vm);
    if (!dir || !*dir || (flags & ~(unsigned)MINIVMM_SHARE_RO))
        return api_misuse(vm, "minivmm_add_share: no directory, or unknown flags");
    if (tag && (strchr(tag, ',') || strlen(tag) > 100))
        return api_misuse(vm, "minivmm_add_share: a tag has at most 64 characters and no comma");
    char options[128];
    snprintf(options, sizeof(options), "%s%s%s", tag ? ",tag=" : "", tag ? tag : "",
             flags & MINIVMM_SHARE_RO ? ",ro" : "");
    char *spec = spec_make(dir, options);
    if (!spec)
        return MINIVMM_E_NOMEM;
    int r = minivmm_add_device(vm, "share", spec);
    free(spec);
    return r;
}

int minivmm_set_rootfs(struct minivmm *vm, const char *dir, unsigned flags)
{
    CONFIGURABLE(vm);
    if (!dir || !*dir || (flags & ~(unsigned)MINIVMM_ROOTFS_RW))
        return api_misuse(vm, "minivmm_set_rootfs: no directory, or unknown flags");
    char *spec = spec_make(dir, flags & MINIVMM_ROOTFS_RW ? ",rw" : "");
    if (!spec)
        return MINIVMM_E_NOMEM;
    int r = minivmm_set_option(vm, "rootfs", spec);
    free(spec);
    return r;
}

/* argv is copied into one block: the pointers, then the strings they point at. */
int minivmm_set_command(struct minivmm *vm, const char *const argv[], int in_fd, int out_fd,
                        int err_fd)
{
    CONFIGURABLE(vm);
    size_t n = 0, bytes = 0;
    for (; argv && argv[n] && n < 65536; n++)
        bytes += strlen(argv[n]) + 1;
    if ((argv && (n == 0 || argv[n])) || in_fd < -1 || out_fd < -1 || err_fd < -1)
        return api_misuse(vm, "minivmm_set_command: argv needs a command and a NULL at its end "
                          "(at most 65535 words); descriptors are -1 or more");
    char *block = NULL;
    if (argv) {
        if (!(block = malloc((n + 1) * sizeof(char *) + bytes)))
            return MINIVMM_E_NOMEM;
        char **ptrs = (char **)block, *text = block + (n + 1) * sizeof(char *);
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = text;
            text = stpcpy(text, argv[i]) + 1;
        }
        ptrs[n] = NULL;
    }
    int r = api_adopt(vm, block, vm->cfg.command);
    if (r)
        return r;
    vm->cfg.command = (const char *const *)block;
    vm->cfg.command_fd[0] = in_fd, vm->cfg.command_fd[1] = out_fd, vm->cfg.command_fd[2] = err_fd;
    return MINIVMM_OK;
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
        return api_misuse(vm, "a pattern has 1 to 128 bytes");
    if (*n == VM_MAX_PATTERNS)
        return api_misuse(vm, "too many patterns");
    int r = api_keep(vm, p, &list[*n]);
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

int minivmm_set_dump_fd(struct minivmm *vm, int fd)
{
    CONFIGURABLE(vm);
    vm->cfg.dump_fd = fd;
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
    return api_keep(vm, path, &vm->cfg.log_path);
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


int minivmm_set_gdb(struct minivmm *vm, const char *where, bool wait)
{
    CONFIGURABLE(vm);
    if (!where) {
        vm->cfg.gdb = NULL;
        vm->cfg.gdb_wait = false;
        return MINIVMM_OK;
    }
    int r = minivmm_set_option(vm, "gdb", where);
    if (r == MINIVMM_OK)
        vm->cfg.gdb_wait = wait;
    return r;
}
