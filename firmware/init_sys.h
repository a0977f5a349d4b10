/* Raw Linux system calls for the guest init on powerpc64, either byte order; no libc.
 *
 * The 64-bit PowerPC syscall ABI (the kernel's Documentation/arch/powerpc/syscall64-abi.rst):
 * `sc` with the number in r0 and up to six arguments in r3..r8; the result comes back in r3,
 * and cr0.SO set means failure with r3 a positive errno. r0, r4..r12, ctr, xer, cr0, cr1 and
 * cr5..cr7 are volatile across it. sys() returns -errno on failure, as the kernel does inside.
 *
 * The numbers and constants are written out (from arch/powerpc/include/uapi/ and
 * arch/powerpc/kernel/syscalls/syscall.tbl) so the init needs no header beyond the compiler's;
 * where the kernel's headers are at hand, init_sys_check.c checks them against those.
 */
#ifndef MINIVMM_INIT_SYS_H
#define MINIVMM_INIT_SYS_H

#if !defined(__powerpc64__)
#error "init_sys.h is for the powerpc64 guest init only"
#endif

#define NR_fork 2
#define NR_read 3
#define NR_write 4
#define NR_close 6
#define NR_execve 11
#define NR_chdir 12
#define NR_getpid 20
#define NR_mount 21
#define NR_sync 36
#define NR_ioctl 54
#define NR_fcntl 55
#define NR_chroot 61
#define NR_setsid 66
#define NR_reboot 88
#define NR_wait4 114
#define NR_nanosleep 162
#define NR_getdents64 202
#define NR_exit_group 234
#define NR_openat 286
#define NR_mkdirat 287
#define NR_unlinkat 292
#define NR_symlinkat 295
#define NR_socket 326
#define NR_dup3 316
#define NR_pipe2 317
#define NR_finit_module 353
#define NR_close_range 436

#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_NOFOLLOW 0100000      /* powerpc's own value */
#define O_DIRECTORY 040000      /* powerpc's own value */
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define F_SETFD 2
#define FD_CLOEXEC 1
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#define AF_INET 2
#define SOCK_DGRAM 2
#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define SIOCADDRT 0x890b
#define SIOCSIFADDR 0x8916
#define SIOCSIFNETMASK 0x891c
#define SIOCSIFMTU 0x8922
#define RTF_UP 0x1
#define RTF_GATEWAY 0x2
#define IFF_UP 0x1

#define MS_RDONLY 1ul
#define MS_NOSUID 2ul
#define MS_NODEV 4ul
#define MS_NOEXEC 8ul
#define MS_BIND 4096ul
#define MS_MOVE 8192ul

#define LINUX_REBOOT_MAGIC1 0xfee1deadul
#define LINUX_REBOOT_MAGIC2 672274793ul
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedcul

#define TIOCSCTTY 0x540e
#define TIOCSWINSZ 0x80087467ul  /* _IOW('t', 103, struct winsize): powerpc's encoding */

/* struct ifreq (40 bytes on 64-bit): the name, then a union whose members used here are a
 * struct sockaddr_in, the flags and the MTU. */
struct ifreq_k {
    char name[16];
    union {
        struct sockaddr_in_k {
            unsigned short family;   /* host order */
            unsigned char port[2];
            unsigned char addr[4];   /* network order */
            unsigned char zero[8];
        } sin;
        short flags;
        int mtu;
        char raw[24];
    } u;
};

/* struct rtentry (120 bytes on 64-bit, linux/route.h), for SIOCADDRT. */
struct rtentry_k {
    unsigned long pad1;
    struct sockaddr_in_k dst, gateway, genmask;
    unsigned short flags;
    short pad2;
    unsigned long pad3;
    void *pad4;
    short metric;
    char *dev;
    unsigned long mtu, window;
    unsigned short irtt;
};

static inline long sys(long n, long a, long b, long c, long d, long e)
{
    register long r0 __asm__("r0") = n;
    register long r3 __asm__("r3") = a;
    register long r4 __asm__("r4") = b;
    register long r5 __asm__("r5") = c;
    register long r6 __asm__("r6") = d;
    register long r7 __asm__("r7") = e;
    __asm__ __volatile__("sc\n\tbns+ 1f\n\tneg %1, %1\n1:"
                         : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7)
                         :
                         : "r8", "r9", "r10", "r11", "r12", "ctr", "xer", "cr0", "cr1", "cr5",
                           "cr6", "cr7", "memory");
    return r3;
}

#define SYS0(n) sys(n, 0, 0, 0, 0, 0)
#define SYS1(n, a) sys(n, (long)(a), 0, 0, 0, 0)
#define SYS2(n, a, b) sys(n, (long)(a), (long)(b), 0, 0, 0)
#define SYS3(n, a, b, c) sys(n, (long)(a), (long)(b), (long)(c), 0, 0)
#define SYS4(n, a, b, c, d) sys(n, (long)(a), (long)(b), (long)(c), (long)(d), 0)
#define SYS5(n, a, b, c, d, e) sys(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e))

struct kernel_timespec {
    long tv_sec, tv_nsec;
};

struct kernel_winsize {
    unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel;
};

struct kernel_dirent64 {
    unsigned long d_ino;
    long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

#endif
