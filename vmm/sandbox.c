#include "sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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
    SYS_pread64, SYS_pwrite64, SYS_preadv, SYS_pwritev,   /* disk images */
    SYS_fdatasync, SYS_fsync,                            /* VIRTIO_BLK_T_FLUSH */
    SYS_poll, SYS_ppoll,  /* waiting for room on a full console, for disk kicks */
    SYS_futex,            /* mutexes and condition variables */
    SYS_rt_sigreturn, SYS_rt_sigprocmask,   /* the kick signal that interrupts KVM_RUN */
    SYS_tgkill, SYS_tkill, SYS_gettid, SYS_getpid,   /* kicking other vCPUs (musl: tkill) */
    SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
    SYS_madvise, SYS_munmap, SYS_mmap, SYS_mremap, SYS_mprotect, SYS_brk,   /* heap, thread exit */
    SYS_sched_yield, SYS_restart_syscall,
    SYS_exit, SYS_exit_group,
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
#define ARG1_LO (offsetof(struct seccomp_data, args) + 8)
#else
#define ARG1_LO (offsetof(struct seccomp_data, args) + 12)
#endif

int sandbox_enter_thread(void)
{
    enum { N = sizeof(allowed) / sizeof(allowed[0]),
           NI = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]) };
    struct sock_filter f[4 + 2 * N + 3 + 2 * NI + 1];
    unsigned i = 0;
    /* Wrong architecture (a 32-bit syscall entry): kill. */
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (unsigned k = 0; k < N; k++) {
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[k], 0, 1);
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
