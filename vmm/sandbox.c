#include "sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#endif
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "term.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AUDIT_ARCH_SELF AUDIT_ARCH_PPC64LE
#else
#define AUDIT_ARCH_SELF AUDIT_ARCH_PPC64
#endif

/* tcsetattr's requests, for on_sigsys: glibc reads the terminal, sets it and reads it back;
 * musl sets it. On powerpc the numbers encode the kernel's 44-byte struct termios, which is
 * what both libraries pass; glibc's own TCGETS and TCSETS macros use its 60-byte struct and
 * come out wrong (0x403c7413, 0x803c7414). */
#define KERNEL_TCGETS _IOR('t', 19, char[44])
#define KERNEL_TCSETS _IOW('t', 20, char[44])

/* The ioctls these threads make (checked by request number, so that, say, TIOCSTI on the
 * user's terminal or creating KVM objects stays out of reach). */
static const unsigned long allowed_ioctls[] = {
    KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_ONE_REG, KVM_SET_ONE_REG,   /* vCPU loop */
    KVM_IRQ_LINE, KVM_INTERRUPT,                   /* interrupts, from disk threads too */
    KVM_PPC_CONFIGURE_V3_MMU, KVM_PPC_GET_CPU_CHAR,   /* hcalls */
    KERNEL_TCGETS, KERNEL_TCSETS,                  /* on_sigsys puts a raw terminal back */
};

/* Everything else the vCPU loop, the console paths and the disk I/O loop do after set-up. */
static const int allowed[] = {
    SYS_read, SYS_write, SYS_writev,   /* console, eventfds, log (musl's stdio: writev) */
    SYS_readv,            /* a command's stdin, straight into the guest's buffers */
    SYS_pread64, SYS_pwrite64, SYS_preadv, SYS_pwritev,   /* disk images */
    SYS_fdatasync, SYS_fsync,                            /* VIRTIO_BLK_T_FLUSH */
    SYS_fallocate,        /* DISCARD and WRITE_ZEROES: punch a hole, zero a range */
    SYS_poll, SYS_ppoll,  /* waiting for room on a full console, for disk kicks */
    SYS_futex,            /* mutexes and condition variables */
    SYS_rt_sigreturn, SYS_rt_sigprocmask,   /* the kick signal that interrupts KVM_RUN */
    SYS_tgkill, SYS_tkill, SYS_gettid, SYS_getpid,   /* kicking other vCPUs (musl: tkill) */
    SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
    SYS_getrandom,        /* H_RANDOM */
    SYS_wait4,            /* a NIC's thread reaps its passt when it quits, to say how it ended */
    SYS_madvise, SYS_munmap, SYS_mmap, SYS_mremap, SYS_mprotect, SYS_brk,   /* heap, thread exit */
    SYS_sched_yield, SYS_restart_syscall,
    SYS_exit, SYS_exit_group,
};

/* fchmodat2 (Linux 6.6) is newer than the C libraries' headers; the server tries it first. */
#ifdef SYS_fchmodat2
#define SYS_FCHMODAT2 SYS_fchmodat2
#else
#define SYS_FCHMODAT2 452
#endif

/* What the threads of a shared directory add: file calls relative to descriptors they hold
 * (the file server opens nothing by absolute path), and nothing that leaves the file
 * system: no exec, no sockets, no mounts, no ptrace. Landlock (below) keeps them beneath the
 * share even within these. */
static const int allowed_files[] = {
    SYS_openat, SYS_close,
#ifdef SYS_openat2
    SYS_openat2,      /* the server falls back to openat where the kernel lacks it */
#endif
    SYS_dup, SYS_dup3, SYS_fcntl, SYS_lseek,
    SYS_fstat, SYS_newfstatat, SYS_statx, SYS_fstatfs, SYS_statfs, SYS_getdents64,
    SYS_readlinkat, SYS_mkdirat, SYS_mknodat, SYS_symlinkat, SYS_linkat, SYS_renameat,
    SYS_renameat2, SYS_unlinkat, SYS_fchmod, SYS_fchmodat, SYS_fchown, SYS_fchownat,
    SYS_utimensat, SYS_ftruncate, SYS_fallocate, SYS_flock, SYS_getuid, SYS_getgid,
    SYS_FCHMODAT2,
#ifdef SYS__llseek
    SYS__llseek,      /* lseek() in musl and glibc on ppc64 */
#endif
#ifdef SYS_fstatfs64
    SYS_fstatfs64,    /* fstatfs() likewise */
#endif
#ifdef SYS_statfs64
    SYS_statfs64,
#endif
};

/* What the vsock thread adds: UNIX stream sockets, the host programs' side of the guest's
 * connections. It accepts on the listening socket made before it started, connects to
 * PATH_P for the guest, sends with MSG_NOSIGNAL (a reader that went away must not raise
 * SIGPIPE in an embedding program), half-closes and closes. socket() is allowed for AF_UNIX
 * alone (checked in the filter), so a compromised thread cannot reach the network; connect()
 * cannot be confined to PATH_P by seccomp (its path is in memory the filter cannot read):
 * it can reach any UNIX socket the user can, which is what the user's own programs can too. */
static const int allowed_sockets[] = {
    SYS_close, SYS_shutdown, SYS_connect, SYS_accept4,
    SYS_sendto,           /* send() in musl */
#ifdef SYS_send
    SYS_send,             /* send() in glibc on ppc64 */
#endif
};

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
    (void)sig, (void)uc;
    char msg[200];
    int n = snprintf(msg, sizeof(msg), "\nminivmm: seccomp: a VMM thread made system call %d, "
                     "which its filter forbids; stopping (--no-seccomp to debug)\n",
                     info->si_syscall);
    /* _exit skips every ordinary restore of the terminal: the README promises it anyway. */
    term_restore_fatal();
    ssize_t r = write(STDERR_FILENO, msg, n > 0 ? (size_t)n : 0);
    (void)r;
    _exit(5);
}

int sandbox_prepare(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL) == 0 ? 0 : -errno;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LO (offsetof(struct seccomp_data, args) + 0)
#define ARG1_LO (offsetof(struct seccomp_data, args) + 8)
#else
#define ARG0_LO (offsetof(struct seccomp_data, args) + 4)
#define ARG1_LO (offsetof(struct seccomp_data, args) + 12)
#endif

/* The filter: the calls listed (and `extra`; socket(AF_UNIX) if unix_socket), the ioctls
 * listed; SIGSYS for the rest. */
static int enter(const int *extra, unsigned nextra, bool unix_socket)
{
    enum { N = sizeof(allowed) / sizeof(allowed[0]),
           NX = sizeof(allowed_files) / sizeof(allowed_files[0]),
           NI = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]) };
    _Static_assert(sizeof(allowed_sockets) <= sizeof(allowed_files), "extra lists fit NX");
    struct sock_filter f[4 + 5 + 2 * (N + NX) + 3 + 2 * NI + 1];
    unsigned i = 0;
    /* Wrong architecture (a 32-bit syscall entry): kill. */
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    if (unix_socket) {
        /* socket(domain, ...): allowed for AF_UNIX (the low 32 bits: an int), else SIGSYS.
         * Either way this ends the filter, so the number need not be loaded back. */
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 4);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO);
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    }
    for (unsigned k = 0; k < N + nextra && k < N + NX; k++) {
        unsigned nr = (unsigned)(k < N ? allowed[k] : extra[k - N]);
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    /* ioctl: only the requests listed. The kernel reads the request as 32 bits, so only
     * those are compared: the upper half is whatever the C library left there (musl's
     * int-typed request arrives sign-extended: KVM_SET_ONE_REG is 0xffffffff8...). */
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 1, 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO);
    for (unsigned k = 0; k < NI; k++) {
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                              (uint32_t)allowed_ioctls[k], 0, 1);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    /* Anything else: SIGSYS, reported by on_sigsys. */
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    struct sock_fprog prog = {.len = (unsigned short)i, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    /* No TSYNC: only this thread (and threads it would create, which it does not). */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return -errno;
    return 0;
}

int sandbox_enter_thread(void)
{
    return enter(NULL, 0, false);
}

#if defined(SYS_landlock_create_ruleset) && defined(LANDLOCK_ACCESS_FS_REFER)
/* Landlock (Linux 5.13+): this thread reaches the file system beneath root_fd alone, with
 * every right but device nodes and execution. 0 also where the kernel has no Landlock
 * (seccomp and the server's own walk confine it then); -errno if it has and refused. */
static int landlock_beneath(int root_fd)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return 0;
    uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                      LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                      LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                      LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                      LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM;
    /* Without REFER (ABI 2, Linux 5.19) Landlock refuses every rename or link between
     * directories: better none than a share where mv fails. */
    if (abi < 2)
        return 0;
    rights |= LANDLOCK_ACCESS_FS_REFER;
    uint64_t handled = rights | LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                       LANDLOCK_ACCESS_FS_MAKE_BLOCK;
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (rs < 0)
        return -errno;
    struct landlock_path_beneath_attr beneath = {.allowed_access = rights, .parent_fd = root_fd};
    int r = 0;
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0))
        r = -errno;
    if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        r = -errno;
    if (r == 0 && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
        r = -errno;
    close(rs);
    return r;
}
#else
static int landlock_beneath(int root_fd)
{
    (void)root_fd;
    return 0;
}
#endif

int sandbox_enter_file_thread(int root_fd)
{
    int r = landlock_beneath(root_fd);
    if (r)
        return r;
    return enter(allowed_files, sizeof(allowed_files) / sizeof(allowed_files[0]), false);
}

int sandbox_enter_socket_thread(void)
{
    return enter(allowed_sockets, sizeof(allowed_sockets) / sizeof(allowed_sockets[0]), true);
}
