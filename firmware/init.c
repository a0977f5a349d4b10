/* The guest's /init for `minivmm --rootfs DIR -- COMMAND`: a static, libc-free program that
 * minivmm embeds (both byte orders) into the initramfs it builds.
 *
 * It mounts /dev, /proc and /sys, reads /minivmm/config (init_conf.h), loads the modules it
 * names, finds the virtio-console ports minivmm made for the command's stdio and its status,
 * mounts the root share (9p, under an overlay unless read-write), switches into it, runs the
 * command on the ports and writes one status line ("exit N", "signal N" or "error S TEXT") to
 * the status port. Then it powers the guest off: pid 1 must never exit (the kernel would
 * panic), so every path, error or not, ends in power_off().
 *
 * Run by anyone but the kernel (getpid() != 1, the qemu-user tests) it exits instead.
 */
#include "init.h"

#define PREFIX "minivmm-init: "
#define ROOT "/minivmm/root"
#define HINT_9P "build the kernel with CONFIG_VIRTIO_PCI, CONFIG_NET_9P, CONFIG_NET_9P_VIRTIO " \
                "and CONFIG_9P_FS (=y, or =m with --modules)"

void _start(void) __attribute__((noreturn, used));
/* GCC may call these even in freestanding code (struct copies, zeroing). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

struct init_conf conf;
int port[INIT_NPORTS] = {-1, -1, -1, -1};
int tty = -1;
int ports_looked_for;
static int is_pid1;
static int console = 2;         /* /dev/console, or the fd 2 we were given where it cannot open */
static int sys_mounted;         /* /sys is there: the ports can be looked for */
static char conf_buf[INIT_CONF_MAX_BYTES];

/* ---- the C basics ---- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q)
        while (n--)
            *p++ = *q++;
    else
        while (n--)
            p[n] = q[n];
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    return memmove(d, s, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

long sys_open(const char *path, long flags)
{
    return SYS4(NR_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0);
}

void sys_close(long fd)
{
    if (fd >= 0)
        SYS1(NR_close, fd);
}

void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        long w = SYS3(NR_write, fd, p, n);
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

void sleep_ns(long ns)
{
    struct kernel_timespec ts = {ns / 1000000000l, ns % 1000000000l};
    SYS2(NR_nanosleep, &ts, 0);
}

/* Reads a whole (small) file into buf, NUL-terminated. Returns its length, or -errno;
 * -IE_FBIG when it does not fit. */
long read_file(const char *path, char *buf, size_t cap)
{
    long fd = sys_open(path, O_RDONLY), r = 0;
    size_t len = 0;
    if (fd < 0)
        return fd;
    while (len < cap && (r = SYS3(NR_read, fd, buf + len, cap - len)) > 0)
        len += (size_t)r;
    sys_close(fd);
    if (r < 0)
        return r;
    if (len == cap)
        return -IE_FBIG;
    buf[len] = '\0';
    return (long)len;
}

/* ---- messages, status and the end ---- */

void say(const char *text)
{
    char line[1024];
    struct init_buf b;
    ib_init(&b, line, sizeof(line));
    ib_puts(&b, PREFIX);
    ib_puts(&b, text);
    if (b.len && line[b.len - 1] != '\n')
        ib_putc(&b, '\n');
    write_all(console, line, b.len);
}

static void __attribute__((noreturn)) power_off(int code)
{
    SYS0(NR_sync);
    if (!is_pid1)
        for (;;)
            SYS1(NR_exit_group, code);
    SYS4(NR_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0);
    say("the power-off failed; waiting");
    for (;;)
        sleep_ns(1000000000l);
}

void report(const char *line, size_t len, int code)
{
    if (port[INIT_PORT_STATUS] >= 0) {
        write_all(port[INIT_PORT_STATUS], line, len);
    } else {
        /* No status port (no virtio console driver, say): minivmm watches the console for
         * this prefix instead, and ends the run with the line. */
        write_all(console, STDIO_CONSOLE_FALLBACK, sizeof(STDIO_CONSOLE_FALLBACK) - 1);
        write_all(console, line, len);
    }
    power_off(code);
}

static int console_driver(void)
{
#ifdef INIT_TEST
    return 1;
#else
    long fd = sys_open("/sys/bus/virtio/drivers/virtio_console", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return 0;
    sys_close(fd);
    return 1;
#endif
}

/* The init failed, or the command did not run: an "error" status line, then power off. */
void die(int status, const char *text)
{
    char line[1024];
    struct init_buf b;
    ib_init(&b, line, sizeof(line));
    init_status_error(&b, status, text);
    say(line);
    /* An error before the ports were found: they may well be there; minivmm is waiting. Not
     * when the kernel has no virtio console driver at all: they never come (the console then
     * carries the line). */
    if (port[INIT_PORT_STATUS] < 0 && sys_mounted && !ports_looked_for && console_driver())
        look_for_ports(1u << INIT_PORT_STATUS);
    report(line, b.len, status);
}

/* "WHAT: ERRNO TEXT[: HINT]", status 125. */
static void __attribute__((noreturn)) die_err(const char *what, long err, const char *hint)
{
    char text[768], scratch[32];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_puts(&b, what);
    ib_puts(&b, ": ");
    ib_puts(&b, init_strerror((int)(err < 0 ? -err : err), scratch, sizeof(scratch)));
    if (hint) {
        ib_puts(&b, ": ");
        ib_puts(&b, hint);
    }
    die(INIT_ST_FAILED, text);
}

/* "PART1PART2" as one piece of text, for messages naming a path. */
const char *cat(char *buf, size_t cap, const char *a, const char *b)
{
    struct init_buf t;
    ib_init(&t, buf, cap);
    ib_puts(&t, a);
    ib_puts(&t, b);
    return buf;
}

/* ---- mounts ---- */

static long make_dir(const char *path, unsigned mode)
{
    long r = SYS3(NR_mkdirat, AT_FDCWD, path, mode);
    return r == -IE_EXIST ? 0 : r;
}

static int dir_exists(const char *path)
{
    long fd = sys_open(path, O_PATH | O_DIRECTORY);
    sys_close(fd);
    return fd >= 0;
}

static long do_mount(const char *src, const char *dir, const char *type, unsigned long flags,
                     const char *opts)
{
    return SYS5(NR_mount, src, dir, type, flags, opts);
}

/* Mounts the initramfs's /dev, /proc and /sys: the ports and /proc/filesystems are there. */
static void mount_early(void)
{
    static const struct {
        const char *type, *dir, *hint;
    } m[] = {
        {"devtmpfs", "/dev", "build the kernel with CONFIG_DEVTMPFS"},
        {"proc", "/proc", "build the kernel with CONFIG_PROC_FS"},
        {"sysfs", "/sys", "build the kernel with CONFIG_SYSFS"},
    };
    char what[64];
    for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        long r = make_dir(m[i].dir, 0755);
        if (r == 0)
            r = do_mount(m[i].type, m[i].dir, m[i].type, MS_NOSUID, (void *)0);
        if (r < 0)
            die_err(cat(what, sizeof(what), "cannot mount ", m[i].dir), r,
                    r == -IE_NODEV ? m[i].hint : (void *)0);
    }
    sys_mounted = 1;
}

static void read_config(void)
{
    char err[256];
    struct init_buf b;
    long len = read_file("/minivmm/config", conf_buf, sizeof(conf_buf));
    if (len == -IE_FBIG)
        die(INIT_ST_FAILED, "/minivmm/config is larger than the init takes (512 KiB)");
    if (len < 0)
        die_err("cannot read /minivmm/config", len, (void *)0);
    ib_init(&b, err, sizeof(err));
    if (init_conf_parse(&conf, conf_buf, (size_t)len, &b) != 0)
        die(INIT_ST_FAILED, err);
}

static void load_modules(void)
{
    char what[512];
    for (unsigned i = 0; i < conf.nmodule; i++) {
        const char *path = conf.module[i];
        unsigned flags = init_module_flags(path);
        long fd = sys_open(path, O_RDONLY), r = fd;
        if (fd >= 0)
            r = SYS3(NR_finit_module, fd, "", flags);
        sys_close(fd);
        if (r >= 0 || r == -IE_EXIST)
            continue;
        const char *hint = (void *)0;
        if (flags && (r == -IE_INVAL || r == -IE_OPNOTSUPP))
            hint = "a compressed module needs Linux 5.17 or later with CONFIG_MODULE_DECOMPRESS";
        else if (r == -IE_NOEXEC)
            hint = "is the module built for this kernel?";
        die_err(cat(what, sizeof(what), fd < 0 ? "cannot open the module " :
                    "cannot load the module ", path), r, hint);
    }
}

static void need_filesystems(void)
{
    static char fs[16384];
    long len = read_file("/proc/filesystems", fs, sizeof(fs));
    if (len < 0)
        die_err("cannot read /proc/filesystems", len, (void *)0);
    if (!init_fs_listed(fs, (size_t)len, SHARE_FS))
        die(INIT_ST_FAILED, "the kernel has no 9p file system for the root share: " HINT_9P);
    if (!conf.rootrw && !init_fs_listed(fs, (size_t)len, "overlay"))
        die(INIT_ST_FAILED, "the kernel has no overlay file system, which a root share that is "
                            "not read-write needs: build the kernel with CONFIG_OVERLAY_FS "
                            "(=y, or =m with --modules)");
}

static void mount_share(const char *dir, int ro)
{
    char opts[128], hint[160];
    struct init_buf b;
    ib_init(&b, opts, sizeof(opts));
    init_9p_options(&b, conf.msize, ro);
    long r = make_dir(dir, 0755);
    if (r == 0)
#ifndef INIT_TEST
        r = do_mount(conf.root, dir, "9p", ro ? MS_RDONLY : 0, opts);
#else
        r = do_mount(conf.root, dir, (void *)0, MS_BIND, (void *)0);
#endif
    if (r == 0)
        return;
    /* virtio-9p answers ENOENT for a tag no device has; the rest is mostly a missing driver. */
    const char *h = HINT_9P;
    if (r == -IE_NOENT)
        h = cat(hint, sizeof(hint), "no virtio-9p device has the tag ", conf.root);
    die_err("cannot mount the root share (9p)", r, h);
}

/* The root at ROOT: the share itself (rootrw), or an overlay of a tmpfs on the read-only share,
 * so the command can write and the host directory never is. */
static void mount_root(void)
{
    if (conf.rootrw) {
        mount_share(ROOT, 0);
        return;
    }
    mount_share("/minivmm/lower", 1);
    long r = make_dir("/minivmm/rw", 0755);
    if (r == 0)
        r = do_mount("tmpfs", "/minivmm/rw", "tmpfs", 0, "mode=0755");
    if (r == 0)
        r = make_dir("/minivmm/rw/upper", 0755);
    if (r == 0)
        r = make_dir("/minivmm/rw/work", 0755);
    if (r < 0)
        die_err("cannot make the tmpfs for the root's writes", r, (void *)0);
    r = make_dir(ROOT, 0755);
    if (r == 0)
        r = do_mount("overlay", ROOT, "overlay", 0, "lowerdir=/minivmm/lower,"
                     "upperdir=/minivmm/rw/upper,workdir=/minivmm/rw/work");
    if (r < 0)
        die_err("cannot mount the overlay over the root share", r, (void *)0);
}

/* ---- the new root ---- */

static void switch_root(void)
{
    long r = SYS1(NR_chdir, ROOT);
    if (r == 0)
        r = do_mount(".", "/", (void *)0, MS_MOVE, (void *)0);
    if (r == 0)
        r = SYS1(NR_chroot, ".");
    if (r == 0)
        r = SYS1(NR_chdir, "/");
    if (r < 0)
        die_err("cannot switch to the root share", r, (void *)0);
}

/* Mounts a kernel file system in the new root where its directory is, or may be made (never
 * on the host's directory itself). Not fatal: many commands run without it. */
static int mount_in_root(const char *type, const char *dir, unsigned long flags,
                         const char *opts, int may_make)
{
    char text[128];
    long r = 0;
    if (!dir_exists(dir) && (!may_make || (r = make_dir(dir, 0755)) < 0)) {
        if (r < 0)
            say(cat(text, sizeof(text), "cannot make the directory ", dir));
        return 0;
    }
    r = do_mount(type, dir, type, flags, opts);
    if (r < 0) {
        char scratch[32];
        struct init_buf b;
        ib_init(&b, text, sizeof(text));
        ib_puts(&b, "cannot mount ");
        ib_puts(&b, dir);
        ib_puts(&b, ": ");
        ib_puts(&b, init_strerror((int)-r, scratch, sizeof(scratch)));
        say(text);
    }
    return r == 0;
}

/* What programs find in a Linux /dev besides device nodes, which devtmpfs lacks: the
 * /proc/self/fd links (bash's process substitution, cat /dev/stdin) and a tmpfs for POSIX
 * shared memory. */
static void dev_extras(void)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (unsigned i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        SYS3(NR_symlinkat, links[i][0], AT_FDCWD, links[i][1]);
    mount_in_root("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777", 1);
}

/* The loopback interface up, as a system's boot brings it: localhost works. */
static void loopback_up(void)
{
    struct {
        char name[16];
        union { short flags; char raw[24]; } u;   /* struct ifreq, 40 bytes on 64-bit */
    } ifr;
    long fd = SYS3(NR_socket, AF_INET, SOCK_DGRAM | O_CLOEXEC, 0);
    if (fd < 0)
        return;   /* a kernel without IPv4: nothing to bring up */
    memset(&ifr, 0, sizeof(ifr));
    ifr.name[0] = 'l', ifr.name[1] = 'o';
    if (SYS3(NR_ioctl, fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.u.flags |= IFF_UP;
        SYS3(NR_ioctl, fd, SIOCSIFFLAGS, &ifr);
    }
    sys_close(fd);
}

static void mount_late(void)
{
    int make = !conf.rootrw;
    mount_in_root("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, (void *)0, make);
    mount_in_root("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, (void *)0, make);
    /* /dev/pts may always be made once /dev is the guest's own devtmpfs. */
    if (mount_in_root("devtmpfs", "/dev", MS_NOSUID, "mode=0755", make)) {
        mount_in_root("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                      "gid=5,mode=620,ptmxmode=666", 1);
        dev_extras();
    }
    mount_in_root("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777", make);
    mount_in_root("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755", make);
    loopback_up();
}

static void enter_cwd(void)
{
    if (!conf.cwd)
        return;
    long r = SYS1(NR_chdir, conf.cwd);
    if (r == 0)
        return;
    char text[512], scratch[32];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_puts(&b, "cannot enter ");
    ib_puts(&b, conf.cwd);
    ib_puts(&b, " (");
    ib_puts(&b, init_strerror((int)-r, scratch, sizeof(scratch)));
    ib_puts(&b, "): the command runs in /");
    say(text);
    SYS1(NR_chdir, "/");
}

/* The kernel enters here with nothing set up for C but a stack: ELFv2 (little-endian) through
 * the global entry point with r12 = this address, from which the prologue derives the TOC;
 * ELFv1 (big-endian) through the function descriptor, which gives r2 too. There is no
 * argv to read, and nothing to return to. */
void _start(void)
{
    is_pid1 = SYS0(NR_getpid) == 1;
    long fd = sys_open("/dev/console", O_WRONLY | O_NOCTTY);
    if (fd >= 0)
        console = (int)fd;
    mount_early();
    read_config();
    load_modules();
    need_filesystems();   /* at once: a kernel without 9p is the likeliest failure */
    find_ports();      /* before the switch: the initramfs's /dev and /sys have them */
    mount_root();
    switch_root();
    mount_late();
    net_up();
    enter_cwd();
    run_command();
}
