/* /init for a guest whose user space is this one static program: the big-endian test guest,
 * which has no busybox of its own byte order. It does what tests/guest/init's "marker" mode
 * does: print the line the boot tests look for (with the CPU count, MMU, kernel release,
 * machine and byte order as the guest sees them), then power the guest off. With a virtio
 * disk it first prints the text of its first sector and writes a line to its second. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The kernel starts init with no open files when the initramfs lacks /dev/console: take the
 * console from devtmpfs. */
static void open_console(void)
{
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        dup2(fd, i);
    if (fd > 2)
        close(fd);
}

/* The CPU count and the "MMU" line, from /proc/cpuinfo. */
static void cpuinfo(int *cpus, char *mmu, size_t mmu_len)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    *cpus = 0;
    snprintf(mmu, mmu_len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v += strspn(v + 1, " \t") + 1;
        v[strcspn(v, "\n")] = 0;
        if (!strncmp(line, "processor", 9))
            (*cpus)++;
        else if (!strncmp(line, "MMU", 3))
            snprintf(mmu, mmu_len, "%s", v);
    }
    fclose(f);
}

/* A big-endian driver on virtio's little-endian rings: what the host wrote reads back, and
 * what the guest writes reaches the image (the host checks it after the run). */
static void disk(void)
{
    int fd = open("/dev/vda", O_RDWR | O_SYNC);
    if (fd < 0)
        return;
    char sector[512];
    ssize_t n = pread(fd, sector, sizeof(sector), 0);
    if (n > 0) {
        sector[n - 1] = 0;
        sector[strcspn(sector, "\n")] = 0;
        printf("MINIVMM-BE-DISK read [%s]\n", sector);
    }
    memset(sector, 0, sizeof(sector));
    snprintf(sector, sizeof(sector), "MINIVMM-BE-WROTE\n");
    if (pwrite(fd, sector, sizeof(sector), 512) == (ssize_t)sizeof(sector) && fsync(fd) == 0)
        printf("MINIVMM-BE-DISK written\n");
    close(fd);
}

/* Run as a command (minivmm --rootfs DIR -- /marker ARGS) rather than as init: say what it
 * runs on and what it was given, on stdout and stderr, and exit with a status of its own. */
static int command(int argc, char **argv)
{
    struct utsname u;
    if (uname(&u))
        memset(&u, 0, sizeof(u));
    const union { unsigned short s; unsigned char b[2]; } probe = {.s = 1};
    printf("MINIVMM-BE-COMMAND arch=%s endian=%s argc=%d last=%s\n", u.machine,
           probe.b[0] ? "little" : "big", argc, argv[argc - 1]);
    fprintf(stderr, "MINIVMM-BE-STDERR\n");
    return 42;
}

int main(int argc, char **argv)
{
    if (getpid() != 1)
        return command(argc, argv);
    open_console();
    mount("proc", "/proc", "proc", 0, NULL);
    int cpus;
    char mmu[32];
    cpuinfo(&cpus, mmu, sizeof(mmu));
    struct utsname u;
    if (uname(&u))
        memset(&u, 0, sizeof(u));
    const union { unsigned short s; unsigned char b[2]; } probe = {.s = 1};
    printf("MINIVMM-GUEST-UP mode=marker cpus=%d mmu=%s kernel=%s arch=%s endian=%s\n", cpus,
           mmu, u.release, u.machine, probe.b[0] ? "little" : "big");
    disk();
    printf("MINIVMM-GUEST-POWEROFF\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 1;   /* only if the power-off failed: the kernel then panics, which minivmm reports */
}
