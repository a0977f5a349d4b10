/* What the user asked for: the command line (cli.c) or a library caller fills this in. */
#ifndef MINIVMM_CONFIG_H
#define MINIVMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct device_kind;

enum kvm_type_req { KVM_TYPE_AUTO, KVM_TYPE_HV, KVM_TYPE_PR };
enum mmu_req { MMU_AUTO, MMU_RADIX, MMU_HASH };
enum irqchip_req { IRQCHIP_AUTO, IRQCHIP_KERNEL, IRQCHIP_USER };

#define VM_DEFAULT_MEM (512ULL << 20)
#define VM_MIN_MEM (64ULL << 20)
#define VM_MAX_CPUS 256
#define VM_MAX_DEVICES 32   /* one PCI slot each (PCI_MAX_DEVICES) */
#define VM_MAX_PATTERNS 8

struct vm_config {
    const char *kernel;       /* ELF vmlinux (required) */
    const char *initrd;       /* may be NULL */
    const char *cmdline;      /* may be NULL */
    bool kernel_addr_set;     /* --kernel-addr: load the image at kernel_addr (loader.h) */
    uint64_t kernel_addr;
    bool rtc_base_set;        /* --rtc-base DATE: the guest's clock starts at rtc_base */
    int64_t rtc_base;         /* seconds since 1970-01-01 UTC */
    const char *mem_path;     /* hugetlbfs directory, or NULL for anonymous memory */
    const char *dump_dtb;     /* write the device tree here and stop instead of running */
    const char *dump_initramfs;   /* the same for the initrd (minivmm's own with rootfs) */
    const char *kvm_dev;      /* normally "/dev/kvm" */
    uint64_t mem_size;
    unsigned ncpus;
    enum kvm_type_req kvm_type;
    enum mmu_req mmu;
    bool nested_hv;           /* let the guest run KVM-HV itself (Radix only) */
    bool reboot;              /* restart the guest when it reboots instead of exiting */
    bool verbose;
    bool stats;               /* log exit counters when the run ends */
    int console_in;           /* guest console input (-1: none) */
    int console_out;          /* guest console output (-1: discard) */
    int log_fd;               /* minivmm's own diagnostics (-1: none) */
    int stop_fd;              /* readable => stop the VM (e.g. a signalfd); -1: none */
    int dump_fd;              /* readable => report what the vCPUs are doing (SIGUSR1) */
    const char *system_map;   /* the kernel's symbols for those reports (else the vmlinux's) */
    const char *gdb;          /* --gdb tcp:[HOST:]PORT or unix:PATH: a GDB remote stub there */
    bool gdb_wait;            /* --gdb-wait: no vCPU runs until the debugger says so */
    bool escape;              /* Ctrl-A x on console_in quits */
    /* Where console_in goes: the virtio console when there is one (a device below), else the
     * vty. Output of both reaches console_out. */
    enum irqchip_req irqchip; /* XICS in KVM, in minivmm, or KVM's when it has one */
    /* The devices, in order (devices/device.h): each is its kind and the SPEC the user gave
     * it, checked when it was added. */
    struct device_spec {
        const struct device_kind *kind;
        const char *spec;
    } devices[VM_MAX_DEVICES];
    unsigned ndevices;
    bool snapshot_all;        /* --snapshot: every disk is a snapshot */
    /* A host directory as the guest's root, and one command run in it (rootfs.c). */
    const char *rootfs;       /* --rootfs DIR[,rw] as given; NULL: none */
    const char *modules_dir;  /* --modules DIR: where the kernel's modules are */
    const char *const *command;   /* its argv, NULL-terminated; NULL: an interactive shell */
    int command_fd[3];        /* the command's stdin, stdout, stderr on the host */
    /* Unattended runs. */
    unsigned timeout_s;       /* 0: none */
    const char *expect[VM_MAX_PATTERNS];    /* success as soon as the console shows one */
    unsigned nexpect;
    const char *fail_on[VM_MAX_PATTERNS];   /* failure as soon as the console shows one */
    unsigned nfail_on;
    bool no_default_fail;     /* do not watch for "Kernel panic - not syncing" */
    const char *log_path;     /* the whole console, also written here */
    bool quiet;               /* guest output not on console_out */
    const char *json_path;    /* the front end writes the run's summary here */
    bool seccomp;             /* filter the VMM's guest-facing threads (vCPUs, disk I/O) */
    /* Every byte of guest console output, for an embedding program (called on the thread
     * that runs vm_run, fed by a pipe; never on a sandboxed thread). */
    void (*output_cb)(void *opaque, const uint8_t *buf, size_t len);
    void *output_opaque;
};

void vm_config_defaults(struct vm_config *c);

/* Sets the option `name` (as the command line spells it without its dashes: "memory",
 * "kvm-type", "expect", "disk", ...) from its text; value NULL or "" for a flag. Strings are
 * kept as given: they must live as long as c. 0, or -1 and MVM_E_INPUT saying why. */
int vm_config_set(struct vm_config *c, const char *name, const char *value, struct mvm_err *e);

/* Adds a device of kind `name` (--disk SPEC, minivmm_add_device): refused with the reason if
 * there is no such kind, the SPEC is bad, or the VM has as many as it may. The SPEC is kept
 * as given: it must live as long as c. */
int vm_config_add_device(struct vm_config *c, const char *name, const char *spec,
                         struct mvm_err *e);
/* Removes the devices of kind `name`. */
void vm_config_remove_devices(struct vm_config *c, const char *name);
/* How many devices of kind `name` c has. */
unsigned vm_config_count_devices(const struct vm_config *c, const char *name);

#endif
