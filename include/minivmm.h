/* libminivmm: boot a POWER (pseries) Linux guest on KVM from a C program.
 *
 *     struct minivmm *vm = minivmm_new();
 *     minivmm_set_kernel(vm, "vmlinux", "initrd.gz", "console=hvc0 quiet");
 *     minivmm_set_console_callback(vm, on_output, ctx);
 *     if (minivmm_run(vm) == MINIVMM_OK)
 *         code = minivmm_guest_exit_code(vm);
 *     minivmm_free(vm);
 *
 * A context describes one VM and runs it once. Functions return MINIVMM_OK (0) or a negative
 * minivmm_error; minivmm_error_message() says what went wrong, in one sentence that names the
 * fix. The library never prints, and never exits the process except in one case: a sandboxed
 * VMM thread breaking its seccomp filter (see minivmm_set_seccomp). Output goes where you
 * point it.
 * There is no global state: contexts are independent, and after minivmm_free() nothing is
 * left behind (memory, file descriptors, threads).
 *
 * Threads: a context belongs to the thread that configures and runs it, with two exceptions.
 * minivmm_stop() is safe from any thread at any moment (also from the console callback, and
 * while minivmm_run/minivmm_start are still building the VM: the stop then applies as soon
 * as it exists). The accessors (minivmm_exit_reason, minivmm_exit_status,
 * minivmm_guest_exit_code, minivmm_error_message) may be called from any thread while a run
 * goes on: they report nothing yet (MINIVMM_EXIT_NONE, 0, -1, "") until it is over.
 *
 * Process-wide effects to know of: a running VM uses SIGUSR2 to interrupt its vCPU threads
 * (installed as a no-op handler; other threads keep it blocked), and its threads block SIGPIPE.
 */
#ifndef MINIVMM_H
#define MINIVMM_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum minivmm_error {
    MINIVMM_OK = 0,
    MINIVMM_E_MISUSE = -1,   /* NULL context, bad argument, wrong order (e.g. run twice) */
    MINIVMM_E_INPUT = -2,    /* bad kernel, initrd, disk, size... */
    MINIVMM_E_HOST = -3,     /* this host cannot run the VM (KVM missing, denied, incompatible) */
    MINIVMM_E_VMM = -4,      /* the VMM failed while running the guest */
    MINIVMM_E_NOMEM = -5,
};

/* How a run ended (after minivmm_run or minivmm_wait returned MINIVMM_OK). */
enum minivmm_exit {
    MINIVMM_EXIT_NONE = 0,       /* not run yet */
    MINIVMM_EXIT_POWEROFF,
    MINIVMM_EXIT_REBOOT,
    MINIVMM_EXIT_PANIC,          /* kernel panic (console line or ibm,os-term) */
    MINIVMM_EXIT_TIMEOUT,
    MINIVMM_EXIT_PATTERN,        /* an expected pattern appeared */
    MINIVMM_EXIT_FAIL_PATTERN,   /* a failure pattern appeared */
    MINIVMM_EXIT_STOPPED,        /* minivmm_stop() or the stop fd */
    MINIVMM_EXIT_VMM_ERROR,
};

enum minivmm_kvm_type { MINIVMM_KVM_AUTO, MINIVMM_KVM_HV, MINIVMM_KVM_PR };
enum minivmm_mmu { MINIVMM_MMU_AUTO, MINIVMM_MMU_RADIX, MINIVMM_MMU_HASH };
enum minivmm_irqchip { MINIVMM_IRQCHIP_AUTO, MINIVMM_IRQCHIP_KERNEL, MINIVMM_IRQCHIP_USER };

#define MINIVMM_DISK_RO 0x1        /* read-only: the guest cannot write */
#define MINIVMM_DISK_DIRECT 0x2    /* O_DIRECT (cache=none) */
#define MINIVMM_DISK_SNAPSHOT 0x4  /* writes go to a private copy and are discarded */

#define MINIVMM_SHARE_RO 0x1       /* the guest may read the shared directory, not change it */

typedef void (*minivmm_output_fn)(void *opaque, const char *data, size_t len);

#if defined(MINIVMM_BUILD_SHARED)
#define MINIVMM_API __attribute__((visibility("default")))
#else
#define MINIVMM_API
#endif

struct minivmm;

/* A new context with defaults: 512 MiB, 1 vCPU, KVM and MMU chosen automatically, console
 * output discarded, no input. NULL if out of memory. */
MINIVMM_API struct minivmm *minivmm_new(void);
/* Stops the VM if it runs, waits for it, and frees everything. NULL is fine. */
MINIVMM_API void minivmm_free(struct minivmm *vm);

/* Configuration: before minivmm_run/minivmm_start. Strings are copied. */
MINIVMM_API int minivmm_set_kernel(struct minivmm *vm, const char *vmlinux, const char *initrd,
                       const char *cmdline);
MINIVMM_API int minivmm_set_memory(struct minivmm *vm, uint64_t bytes);
MINIVMM_API int minivmm_set_vcpus(struct minivmm *vm, unsigned n);
MINIVMM_API int minivmm_set_kvm_type(struct minivmm *vm, enum minivmm_kvm_type type);
MINIVMM_API int minivmm_set_mmu(struct minivmm *vm, enum minivmm_mmu mmu);
/* Lets the guest run KVM-HV itself (a Radix guest on a Radix KVM-HV host). */
MINIVMM_API int minivmm_set_nested_hv(struct minivmm *vm, bool on);
/* At the end of a run, log (to the diagnostics fd) counts of what brought the vCPUs out of
 * the guest: exit reasons, hcalls, MMIO reads and writes. */
MINIVMM_API int minivmm_set_stats(struct minivmm *vm, bool on);
/* Where the XICS interrupt controller lives: KVM's when the host has one (auto), or minivmm's. */
MINIVMM_API int minivmm_set_irqchip(struct minivmm *vm, enum minivmm_irqchip where);
MINIVMM_API int minivmm_set_mem_path(struct minivmm *vm, const char *hugetlbfs_dir);
MINIVMM_API int minivmm_add_disk(struct minivmm *vm, const char *path, unsigned flags, const char *serial);
/* Adds a virtio-net NIC (the command's --net SPEC; the guest's eth0, eth1...). spec NULL or
 * "": passt, which minivmm starts as its child (found on PATH) and stops at the end, with a
 * MAC derived from the NIC's PCI slot; else [passt|passt=PATH|tap=NAME][,mac=XX:XX:XX:XX:XX:XX].
 * The guest gets its address by DHCP from passt and reaches the host's services through the
 * gateway address; tap=NAME is an existing tap device (or one minivmm may create, with
 * CAP_NET_ADMIN). When the backend goes away, the guest's link goes down and the run goes on. */
MINIVMM_API int minivmm_add_net(struct minivmm *vm, const char *spec);
/* Any option of the minivmm command that configures the VM, by its long name without the
 * dashes and with its argument as text (NULL for a flag): ("memory", "2G"), ("kvm-type", "pr"),
 * ("expect", "login:"), ("disk", "root.img,ro"), ("no-seccomp", NULL). The same parsing and
 * the same error messages as the command line, which is a client of this call. */
MINIVMM_API int minivmm_set_option(struct minivmm *vm, const char *name, const char *value);
/* Shares the host directory `dir` with the guest over virtio-9p (9P2000.L); the guest mounts
 * it with mount -t 9p -o trans=virtio,version=9p2000.L TAG DIR. tag NULL: share0, share1...
 * in the order shares are added. Nothing outside dir is reachable from the guest. */
MINIVMM_API int minivmm_add_share(struct minivmm *vm, const char *dir, const char *tag,
                                  unsigned flags);
/* The guest's root file system is the host directory `dir` (over virtio-9p; the command's
 * --rootfs). Read-only unless MINIVMM_ROOTFS_RW: the guest then writes to an overlay in its
 * own memory, gone at exit. Without an initrd, minivmm makes the initramfs itself (its init,
 * and the modules the root needs, from the "modules" option's directory or the root's
 * /lib/modules/VERSION). Runs the command minivmm_set_command() gives, else an interactive
 * shell on the console. */
MINIVMM_API int minivmm_set_rootfs(struct minivmm *vm, const char *dir, unsigned flags);
#define MINIVMM_ROOTFS_RW 0x1      /* guest writes reach the host directory */
/* The command to run in the guest under minivmm_set_rootfs(): argv (NULL-terminated, copied;
 * NULL: an interactive shell), and the host descriptors its stdin, stdout and stderr are (-1:
 * none: end-of-file, discarded). Every byte passes untouched; minivmm_exit_status() is then
 * the command's (128+N for signal N; 127 not found, 126 not executable, 124 --timeout, 125 a
 * failure of minivmm or the VM) and minivmm_guest_exit_code() too. */
MINIVMM_API int minivmm_set_command(struct minivmm *vm, const char *const argv[], int in_fd,
                                    int out_fd, int err_fd);
/* Every disk is a snapshot (the command's --snapshot). */
MINIVMM_API int minivmm_set_snapshot(struct minivmm *vm, bool on);
/* Adds a device of the kind the command line's --KIND option adds, from the same SPEC, e.g.
 * ("disk", "root.img,ro,serial=root"); minivmm --help lists the kinds and their SPECs. */
MINIVMM_API int minivmm_add_device(struct minivmm *vm, const char *kind, const char *spec);
/* A virtio-vsock device (one per VM): the guest's context id `cid` (3 to 4294967294) and the
 * host's side, Firecracker's "hybrid vsock" over UNIX sockets: a host program connects to
 * the socket uds_path (created here; an old socket file there is replaced, any other file
 * refused; removed at the end) and writes "CONNECT <port>\n", answered "OK <hostport>\n"
 * once the guest accepts on that port, then the stream flows; a guest connection to CID 2
 * port P connects to the UNIX socket "<uds_path>_P". uds_path has at most 96 bytes. The same
 * as minivmm_add_device(vm, "vsock", "CID,uds=PATH"). */
MINIVMM_API int minivmm_add_vsock(struct minivmm *vm, uint32_t cid, const char *uds_path);
/* Console: input is read from in_fd, output written to out_fd (-1: none). */
MINIVMM_API int minivmm_set_console_fds(struct minivmm *vm, int in_fd, int out_fd);
/* Every byte the guest writes to its consoles, delivered on a VMM thread. */
MINIVMM_API int minivmm_set_console_callback(struct minivmm *vm, minivmm_output_fn fn, void *opaque);
/* Adds a virtio console (the guest's hvc1), which then gets the console input. */
MINIVMM_API int minivmm_set_virtio_console(struct minivmm *vm, bool on);
MINIVMM_API int minivmm_set_timeout(struct minivmm *vm, unsigned seconds);
MINIVMM_API int minivmm_add_expect(struct minivmm *vm, const char *pattern);
MINIVMM_API int minivmm_add_fail_on(struct minivmm *vm, const char *pattern);
/* Readable => the run stops with MINIVMM_EXIT_STOPPED (e.g. a signalfd). */
MINIVMM_API int minivmm_set_stop_fd(struct minivmm *vm, int fd);
/* Readable => a report on what each vCPU is doing (registers, the code at its NIP, kernel
 * symbols) goes to the diagnostics and the JSON result, and the run goes on; one read(2)
 * takes the event (a signalfd for SIGUSR1, an eventfd). Such a report is also made when
 * --timeout ends a run. */
MINIVMM_API int minivmm_set_dump_fd(struct minivmm *vm, int fd);
/* A GDB remote stub for the guest at where: "tcp:[HOST:]PORT" (HOST defaults to 127.0.0.1)
 * or "unix:PATH"; with wait, no vCPU runs until a debugger connects and continues. The
 * address is checked here, the socket opened as minivmm_run/minivmm_start build the VM. One
 * debugger at a time; where NULL: none (the default). */
MINIVMM_API int minivmm_set_gdb(struct minivmm *vm, const char *where, bool wait);
/* Restrict the threads that serve the guest (vCPUs, disk I/O) with a seccomp filter (default
 * on). A thread that breaks its filter is taken to be compromised: the message goes to stderr
 * and the process ends with status 5. */
MINIVMM_API int minivmm_set_seccomp(struct minivmm *vm, bool on);
/* Ctrl-A x on the console input stops the run; Ctrl-A Ctrl-A sends Ctrl-A (default off). */
MINIVMM_API int minivmm_set_console_escape(struct minivmm *vm, bool on);
/* Also write the whole console output to this file (replaced). */
MINIVMM_API int minivmm_set_log(struct minivmm *vm, const char *path);
/* Watch for "Kernel panic - not syncing" (default on). */
MINIVMM_API int minivmm_set_default_fail(struct minivmm *vm, bool on);
/* Where minivmm's own diagnostics go (unimplemented hcalls, register dumps; -1: nowhere,
 * the default), and whether to report more. */
MINIVMM_API int minivmm_set_diagnostics(struct minivmm *vm, int fd, bool verbose);
/* Instead of running: writes to `report` (stdout if NULL) what this host offers and which
 * kinds of guest it can run, then judges this context's configuration by the same rules a
 * run applies. MINIVMM_OK: it can run here; MINIVMM_E_HOST: the error message says why not and
 * what to change. Creates no VM and needs no kernel; the context stays configurable. */
MINIVMM_API int minivmm_check_host(struct minivmm *vm, FILE *report);
/* Instead of running: writes the device tree this VM would get, then the context is done. */
MINIVMM_API int minivmm_dump_dtb(struct minivmm *vm, const char *path);
/* Instead of running: writes the initrd the guest would get (with minivmm_set_rootfs() and no
 * initrd of the caller's, the one minivmm makes: its init, the modules, the command). */
MINIVMM_API int minivmm_dump_initramfs(struct minivmm *vm, const char *path);

/* Runs the VM to the end in the calling thread. MINIVMM_OK means it ran; read how it ended
 * with the accessors below. */
MINIVMM_API int minivmm_run(struct minivmm *vm);
/* The same in a thread of its own: set-up errors are returned here, the rest by wait. */
MINIVMM_API int minivmm_start(struct minivmm *vm);
MINIVMM_API int minivmm_wait(struct minivmm *vm);
/* Asks a running VM to stop; safe from any thread, including the console callback. */
MINIVMM_API int minivmm_stop(struct minivmm *vm);

MINIVMM_API enum minivmm_exit minivmm_exit_reason(const struct minivmm *vm);
/* The minivmm command's exit status for this run (see its --help). */
MINIVMM_API int minivmm_exit_status(const struct minivmm *vm);
/* What the guest reported with "minivmm-exit-code: N", or -1. */
MINIVMM_API int minivmm_guest_exit_code(const struct minivmm *vm);
/* The last error or the reason the run ended; never NULL ("" if there is nothing to say). */
MINIVMM_API const char *minivmm_error_message(const struct minivmm *vm);
/* Writes the run's JSON summary (as minivmm --json does). */
MINIVMM_API int minivmm_write_json(const struct minivmm *vm, const char *path);

#ifdef __cplusplus
}
#endif
#endif
