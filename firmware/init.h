/* What the two halves of the guest init share: init.c (the basics, mounts, the root) and
 * init_run.c (the ports and the command). Freestanding: see init.c. */
#ifndef MINIVMM_INIT_H
#define MINIVMM_INIT_H

#include "init_conf.h"
#include "init_sys.h"
#include "../devices/stdio_status.h"   /* the status line and its console fallback */

#define TTY "/dev/hvc1"           /* interactive mode's terminal */

/* INIT_TEST builds the init for tests/host/init-qemu.sh, which runs it under qemu-user in a
 * private mount namespace on a host without virtio: the ports are files it made, and the root
 * "share" is a directory bound in place of a 9p mount. Nothing else differs. */
#ifdef INIT_TEST
#define PORTS_DIR "/test/ports"
#define PORTS_DEV "/test/dev/"
#define SHARE_FS "tmpfs"          /* the file system to look for in place of 9p */
#else
#define PORTS_DIR "/sys/class/virtio-ports"
#define PORTS_DEV "/dev/"
#define SHARE_FS "9p"
#endif
#define PORT_TTY INIT_NPORTS      /* its bit in the port masks */

extern struct init_conf conf;
extern int port[INIT_NPORTS];     /* the ports' fds, -1 until found */
extern int tty;                   /* TTY's fd, -1 until found */
extern int ports_looked_for;

void *memset(void *d, int c, size_t n);          /* init.c's: there is no libc */
void *memcpy(void *d, const void *s, size_t n);
long sys_open(const char *path, long flags);     /* always O_CLOEXEC */
void sys_close(long fd);
void sleep_ns(long ns);
void write_all(int fd, const char *p, size_t n);
long read_file(const char *path, char *buf, size_t cap);
const char *cat(char *buf, size_t cap, const char *a, const char *b);

/* A line on the kernel console, "minivmm-init: " first. */
void say(const char *text);
/* Writes line to the status port (when there is one) and powers off. */
void report(const char *line, size_t len, int code) __attribute__((noreturn));
/* An "error STATUS TEXT" status line, on the console too, then power off. */
void die(int status, const char *text) __attribute__((noreturn));

/* Waits up to 15 s for the ports whose bits are in want; returns the bits still missing. */
unsigned look_for_ports(unsigned want);
/* The ports the mode needs (the command's stdio, or the terminal) and the status port. */
void find_ports(void);
/* eth0 set up as the config's net= says, if it does (init_net.c). */
void net_up(void);
/* Runs the command (or the shell) in the new root, reports how it ended, and powers off. */
void run_command(void) __attribute__((noreturn));

#endif
