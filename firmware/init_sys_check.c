/* Checks init_sys.h's hand-written numbers against the kernel's own headers, where the
 * toolchain has them (the init's build compiles this with -fsyntax-only). The kernel's values
 * are taken first and their macros dropped, so init_sys.h can define its own names. */
#if defined(__has_include)
#if __has_include(<asm/unistd.h>) && __has_include(<asm/ioctls.h>) && \
    __has_include(<linux/reboot.h>) && __has_include(<linux/fcntl.h>)
#include <asm/termios.h>
#include <linux/fcntl.h>
#include <asm/ioctls.h>
#include <asm/unistd.h>
#include <linux/reboot.h>
#include <linux/sockios.h>

enum {
    K_O_NOCTTY = O_NOCTTY, K_O_DIRECTORY = O_DIRECTORY, K_O_CLOEXEC = O_CLOEXEC,
    K_O_PATH = O_PATH, K_O_WRONLY = O_WRONLY, K_O_RDWR = O_RDWR, K_F_SETFD = F_SETFD,
    K_F_DUPFD_CLOEXEC = F_DUPFD_CLOEXEC, K_TIOCSCTTY = TIOCSCTTY, K_AT_FDCWD = AT_FDCWD,
    K_SIOCGIFFLAGS = SIOCGIFFLAGS, K_SIOCSIFFLAGS = SIOCSIFFLAGS, K_SIOCADDRT = SIOCADDRT,
    K_SIOCSIFADDR = SIOCSIFADDR, K_SIOCSIFNETMASK = SIOCSIFNETMASK, K_SIOCSIFMTU = SIOCSIFMTU,
    K_O_CREAT = O_CREAT, K_O_TRUNC = O_TRUNC, K_O_NOFOLLOW = O_NOFOLLOW,
};
#undef SIOCGIFFLAGS
#undef SIOCSIFFLAGS
#undef SIOCADDRT
#undef SIOCSIFADDR
#undef SIOCSIFNETMASK
#undef SIOCSIFMTU
#undef O_CREAT
#undef O_TRUNC
#undef O_NOFOLLOW
/* Halves, for the values an int cannot hold. */
enum {
    K_TIOCSWINSZ_HI = (TIOCSWINSZ) >> 16, K_TIOCSWINSZ_LO = (TIOCSWINSZ) & 0xffff,
    K_MAGIC1_HI = (LINUX_REBOOT_MAGIC1) >> 16, K_MAGIC1_LO = (LINUX_REBOOT_MAGIC1) & 0xffff,
    K_MAGIC2 = LINUX_REBOOT_MAGIC2, K_POWER_OFF = LINUX_REBOOT_CMD_POWER_OFF,
};
#undef AT_FDCWD
#undef O_RDONLY
#undef O_WRONLY
#undef O_RDWR
#undef O_NOCTTY
#undef O_DIRECTORY
#undef O_CLOEXEC
#undef O_PATH
#undef F_SETFD
#undef F_DUPFD_CLOEXEC
#undef TIOCSCTTY
#undef TIOCSWINSZ
#undef LINUX_REBOOT_MAGIC1
#undef LINUX_REBOOT_MAGIC2
#undef LINUX_REBOOT_CMD_POWER_OFF

#include "init_sys.h"

#define SAME(a, b) _Static_assert((a) == (b), #a)
SAME(NR_fork, __NR_fork); SAME(NR_read, __NR_read); SAME(NR_write, __NR_write);
SAME(NR_close, __NR_close); SAME(NR_execve, __NR_execve); SAME(NR_chdir, __NR_chdir);
SAME(NR_getpid, __NR_getpid); SAME(NR_mount, __NR_mount); SAME(NR_sync, __NR_sync);
SAME(NR_ioctl, __NR_ioctl); SAME(NR_fcntl, __NR_fcntl); SAME(NR_chroot, __NR_chroot);
SAME(NR_setsid, __NR_setsid); SAME(NR_reboot, __NR_reboot); SAME(NR_wait4, __NR_wait4);
SAME(NR_nanosleep, __NR_nanosleep); SAME(NR_getdents64, __NR_getdents64);
SAME(NR_exit_group, __NR_exit_group); SAME(NR_openat, __NR_openat);
SAME(NR_mkdirat, __NR_mkdirat); SAME(NR_dup3, __NR_dup3); SAME(NR_pipe2, __NR_pipe2);
SAME(NR_finit_module, __NR_finit_module); SAME(NR_close_range, __NR_close_range);
SAME(NR_symlinkat, __NR_symlinkat); SAME(NR_socket, __NR_socket);
SAME(SIOCGIFFLAGS, K_SIOCGIFFLAGS); SAME(SIOCSIFFLAGS, K_SIOCSIFFLAGS);
SAME(SIOCADDRT, K_SIOCADDRT); SAME(SIOCSIFADDR, K_SIOCSIFADDR);
SAME(SIOCSIFNETMASK, K_SIOCSIFNETMASK); SAME(SIOCSIFMTU, K_SIOCSIFMTU);
SAME(O_CREAT, K_O_CREAT); SAME(O_TRUNC, K_O_TRUNC); SAME(O_NOFOLLOW, K_O_NOFOLLOW);
SAME(NR_unlinkat, __NR_unlinkat);
/* (struct rtentry and RTF_* are in linux/route.h, which pulls in the C library's sys/socket.h:
 * not there for the big-endian build. Its layout is LP64's, checked against x86_64's once.) */
SAME(O_NOCTTY, K_O_NOCTTY); SAME(O_DIRECTORY, K_O_DIRECTORY); SAME(O_CLOEXEC, K_O_CLOEXEC);
SAME(O_PATH, K_O_PATH); SAME(O_WRONLY, K_O_WRONLY); SAME(O_RDWR, K_O_RDWR);
SAME(AT_FDCWD, K_AT_FDCWD); SAME(F_SETFD, K_F_SETFD); SAME(F_DUPFD_CLOEXEC, K_F_DUPFD_CLOEXEC);
SAME(TIOCSCTTY, K_TIOCSCTTY); SAME(TIOCSWINSZ >> 16, K_TIOCSWINSZ_HI);
SAME(TIOCSWINSZ & 0xffff, K_TIOCSWINSZ_LO); SAME(LINUX_REBOOT_MAGIC1 >> 16, K_MAGIC1_HI);
SAME(LINUX_REBOOT_MAGIC1 & 0xffff, K_MAGIC1_LO); SAME(LINUX_REBOOT_MAGIC2, K_MAGIC2);
SAME(LINUX_REBOOT_CMD_POWER_OFF, K_POWER_OFF);
#endif
#endif
