/* The configuration by name (see config.h): one table of the options the library takes as
 * text, one parser per kind of value. The command line hands its options over as they are
 * spelled; minivmm_set_option() is the same door for a program. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/device.h"
#include "civil.h"
#include "console.h"
#include "gdb_listen.h"
#include "mem.h"
#include "rootfs.h"

enum option_kind {
    OPT_STRING,     /* a path or text, kept as given */
    OPT_MEMORY,     /* a size; a bare number is MiB (as QEMU's -m) */
    OPT_COUNT,      /* a whole number */
    OPT_SECONDS,    /* 1 to 604800 */
    OPT_SET,        /* a flag: sets the bool */
    OPT_CLEAR,      /* a flag: clears the bool */
    OPT_CHOICE,     /* one word of a list; the enum's value is its index */
    OPT_PATTERN,    /* one more console pattern */
    OPT_CONSOLE,    /* vty, or virtio: the virtio console device */
    OPT_ROOTFS,     /* DIR[,rw] */
    OPT_ADDR,       /* a guest physical address: 0x hex, or a size such as 4M */
    OPT_RTC,        /* now, utc, or a date: where the guest's clock starts */
    OPT_GDB,        /* where the GDB stub listens (gdb_listen.h) */
};

/* Choice lists, in their enums' order (config.h). */
static const char *const kvm_types[] = {"auto", "hv", "pr", NULL};
static const char *const mmus[] = {"auto", "radix", "hash", NULL};
static const char *const irqchips[] = {"auto", "kernel", "user", NULL};

#define F(field) offsetof(struct vm_config, field)

static const struct option_def {
    const char *name;
    const char *flag;          /* how error messages name it */
    enum option_kind kind;
    size_t field;
    const char *const *choices;   /* OPT_CHOICE */
    size_t count;                 /* OPT_PATTERN: where the number of patterns is */
} options[] = {
    {"kernel", "-k", OPT_STRING, F(kernel)},
    {"initrd", "-i", OPT_STRING, F(initrd)},
    {"append", "-a", OPT_STRING, F(cmdline)},
    {"memory", "-m", OPT_MEMORY, F(mem_size)},
    {"cpus", "-c", OPT_COUNT, F(ncpus)},
    {"mem-path", "--mem-path", OPT_STRING, F(mem_path)},
    {"kvm-type", "--kvm-type", OPT_CHOICE, F(kvm_type), kvm_types},
    {"mmu", "--mmu", OPT_CHOICE, F(mmu), mmus},
    {"irqchip", "--irqchip", OPT_CHOICE, F(irqchip), irqchips},
    {"nested-hv", "--nested-hv", OPT_SET, F(nested_hv)},
    {"reboot", "--reboot", OPT_SET, F(reboot)},
    {"stats", "--stats", OPT_SET, F(stats)},
    {"snapshot", "--snapshot", OPT_SET, F(snapshot_all)},
    {"no-seccomp", "--no-seccomp", OPT_CLEAR, F(seccomp)},
    {"no-default-fail", "--no-default-fail", OPT_SET, F(no_default_fail)},
    {"timeout", "--timeout", OPT_SECONDS, F(timeout_s)},
    {"expect", "--expect", OPT_PATTERN, F(expect), NULL, F(nexpect)},
    {"fail-on", "--fail-on", OPT_PATTERN, F(fail_on), NULL, F(nfail_on)},
    {"log", "--log", OPT_STRING, F(log_path)},
    {"console", "--console", OPT_CONSOLE, 0},
    {"rootfs", "--rootfs", OPT_ROOTFS, F(rootfs)},
    {"modules", "--modules", OPT_STRING, F(modules_dir)},
    {"kernel-addr", "--kernel-addr", OPT_ADDR, F(kernel_addr)},
    {"rtc-base", "--rtc-base", OPT_RTC, F(rtc_base)},
    {"system-map", "--system-map", OPT_STRING, F(system_map)},
    {"gdb", "--gdb", OPT_GDB, F(gdb)},
    {"gdb-wait", "--gdb-wait", OPT_SET, F(gdb_wait)},
};

static int set_memory(struct vm_config *c, const char *v, struct mvm_err *e)
{
    if (parse_size(v, &c->mem_size) != 0)
        return mvm_fail(e, MVM_E_INPUT, "-m %s: not a size (use e.g. 512M or 2G)", v);
    if (strspn(v, "0123456789") == strlen(v)) {   /* a bare number means MiB */
        if (c->mem_size > (UINT64_MAX >> 20))
            return mvm_fail(e, MVM_E_INPUT, "-m %s: too large", v);
        c->mem_size <<= 20;
    }
    return 0;
}

static int set_choice(const struct option_def *o, int *field, const char *v, struct mvm_err *e)
{
    for (int i = 0; o->choices[i]; i++)
        if (strcmp(v, o->choices[i]) == 0) {
            *field = i;
            return 0;
        }
    return mvm_fail(e, MVM_E_INPUT, "%s %s: use %s, %s or %s", o->flag, v, o->choices[0],
                    o->choices[1], o->choices[2]);
}

static int add_pattern(const struct option_def *o, struct vm_config *c, const char *v,
                       struct mvm_err *e)
{
    const char **list = (const char **)((char *)c + o->field);
    unsigned *n = (unsigned *)((char *)c + o->count);
    if (*n == VM_MAX_PATTERNS)
        return mvm_fail(e, MVM_E_INPUT, "%s: at most %d patterns", o->flag, VM_MAX_PATTERNS);
    if (v[0] == '\0' || strlen(v) > CONSOLE_PATTERN_MAX)
        return mvm_fail(e, MVM_E_INPUT, "%s: a pattern has 1 to %d bytes", o->flag,
                        CONSOLE_PATTERN_MAX);
    list[(*n)++] = v;
    return 0;
}

static int set_console(struct vm_config *c, const char *v, struct mvm_err *e)
{
    if (strcmp(v, "vty") != 0 && strcmp(v, "virtio") != 0)
        return mvm_fail(e, MVM_E_INPUT, "--console %s: use vty or virtio", v);
    vm_config_remove_devices(c, "virtio-console");   /* the last --console wins */
    return strcmp(v, "virtio") == 0 ? vm_config_add_device(c, "virtio-console", "", e) : 0;
}

static int set_addr(const struct option_def *o, struct vm_config *c, const char *v,
                    struct mvm_err *e)
{
    uint64_t a = 0;
    bool ok;
    if (strncmp(v, "0x", 2) == 0) {
        /* Digits only: strtoull alone would also take a sign, spaces or a second "0x". */
        const char *hex = v + 2;
        errno = 0;
        a = strtoull(hex, NULL, 16);
        ok = *hex && strspn(hex, "0123456789abcdefABCDEF") == strlen(hex) && errno == 0;
    } else {
        ok = parse_size(v, &a) == 0;
    }
    if (!ok)
        return mvm_fail(e, MVM_E_INPUT, "%s %s: give an address, e.g. 0x400000 or 4M", o->flag, v);
    c->kernel_addr = a;
    c->kernel_addr_set = true;
    return 0;
}

/* now and utc are the host's clock (the default; the pseries clock is UTC), a date moves the
 * guest's clock there when the VM is made. */
static int set_rtc(const struct option_def *o, struct vm_config *c, const char *v,
                   struct mvm_err *e)
{
    if (strcmp(v, "now") == 0 || strcmp(v, "utc") == 0) {
        c->rtc_base_set = false;
        return 0;
    }
    if (civil_parse(v, &c->rtc_base) != 0)
        return mvm_fail(e, MVM_E_INPUT, "%s %s: use now, utc, or a UTC date YYYY-MM-DD (or "
                        "YYYY-MM-DDTHH:MM[:SS])", o->flag, v);
    c->rtc_base_set = true;
    return 0;
}

/* A whole number with nothing around it, within max. */
static int whole(const char *v, unsigned long max, unsigned *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != '\0' || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int set_one(const struct option_def *o, struct vm_config *c, const char *v,
                   struct mvm_err *e)
{
    void *field = (char *)c + o->field;
    unsigned n;   /* a number is stored only once it is known good */
    switch (o->kind) {
    case OPT_STRING: *(const char **)field = v; return 0;
    case OPT_MEMORY: return set_memory(c, v, e);
    case OPT_COUNT:
        if (whole(v, 0xffffffffUL, &n))
            return mvm_fail(e, MVM_E_INPUT, "%s %s: not a number of vCPUs", o->flag, v);
        *(unsigned *)field = n;
        return 0;
    case OPT_SECONDS:
        if (whole(v, 7 * 24 * 3600, &n) || n == 0)
            return mvm_fail(e, MVM_E_INPUT, "%s %s: give whole seconds, 1 to 604800", o->flag, v);
        *(unsigned *)field = n;
        return 0;
    case OPT_SET: *(bool *)field = true; return 0;
    case OPT_CLEAR: *(bool *)field = false; return 0;
    case OPT_CHOICE: return set_choice(o, field, v, e);
    case OPT_PATTERN: return add_pattern(o, c, v, e);
    case OPT_CONSOLE: return set_console(c, v, e);
    case OPT_ROOTFS:
        if (rootfs_check(v, e))
            return -1;
        c->rootfs = v;
        return 0;
    case OPT_ADDR: return set_addr(o, c, v, e);
    case OPT_RTC: return set_rtc(o, c, v, e);
    case OPT_GDB:
        if (gdb_spec_check(v, e))
            return -1;
        c->gdb = v;
        return 0;
    }
    return -1;
}

int vm_config_set(struct vm_config *c, const char *name, const char *value, struct mvm_err *e)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strcmp(options[i].name, name) == 0)
            return set_one(&options[i], c, value ? value : "", e);
    if (device_kind_find(name))
        return vm_config_add_device(c, name, value ? value : "", e);
    return mvm_fail(e, MVM_E_INPUT, "no option '%s' (see minivmm --help)", name);
}
