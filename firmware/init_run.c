/* The guest init's second half: the virtio-console ports, and the command run on them.
 * Freestanding: see init.c. */
#include "init.h"

#define SHELL "/bin/sh"
#define WAIT_STEP_NS 10000000l     /* ports are looked for every 10 ms ... */
#define WAIT_STEPS 1500            /* ... for 15 s */

/* ---- the ports ---- */

/* Opens the /dev node of one virtio-ports entry if its name is one we want. */
static void try_port(const char *entry, unsigned want)
{
    char path[128], text[64];
    struct init_buf b;
    ib_init(&b, path, sizeof(path));
    ib_puts(&b, PORTS_DIR "/");
    ib_puts(&b, entry);
    ib_puts(&b, "/name");
    long len = read_file(path, text, sizeof(text));   /* absent until the host names it */
    int which = len > 0 ? init_port_which(text, (size_t)len) : -1;
    if (which < 0 || !(want & (1u << which)) || port[which] >= 0)
        return;
    long fd = sys_open(cat(path, sizeof(path), PORTS_DEV, entry),
                       (which == INIT_PORT_STDIN ? O_RDONLY : O_WRONLY) | O_NOCTTY);
    if (fd >= 0)
        port[which] = (int)fd;
}

static void scan_ports(unsigned want)
{
    static char dents[4096];
    long dir = sys_open(PORTS_DIR, O_RDONLY | O_DIRECTORY), n;
    if (dir < 0)    /* no such class until virtio_console is there */
        return;
    while ((n = SYS3(NR_getdents64, dir, dents, sizeof(dents))) > 0)
        for (long at = 0; at < n;) {
            struct kernel_dirent64 *d = (struct kernel_dirent64 *)(dents + at);
            if (d->d_name[0] != '.')
                try_port(d->d_name, want);
            at += d->d_reclen;
        }
    sys_close(dir);
}

/* Bits of want still missing. */
static unsigned missing(unsigned want)
{
    unsigned m = 0;
    for (int i = 0; i < INIT_NPORTS; i++)
        if ((want & (1u << i)) && port[i] < 0)
            m |= 1u << i;
    if ((want & (1u << PORT_TTY)) && tty < 0)
        m |= 1u << PORT_TTY;
    return m;
}

/* The ports appear some time after the virtio_console driver has bound, and their names a
 * little later (the host sends them): so they are looked for until all are there. */
unsigned look_for_ports(unsigned want)
{
    ports_looked_for = 1;
    for (int i = 0; i < WAIT_STEPS && missing(want); i++) {
        if (i)
            sleep_ns(WAIT_STEP_NS);
        scan_ports(want);
        if ((want & (1u << PORT_TTY)) && tty < 0) {
            long fd = sys_open(TTY, O_RDWR | O_NOCTTY);
            tty = fd >= 0 ? (int)fd : -1;
        }
    }
    return missing(want);
}

void find_ports(void)
{
    unsigned want = conf.narg ? 0xfu : (1u << INIT_PORT_STATUS) | (1u << PORT_TTY);
    unsigned m = look_for_ports(want);
    if (!m)
        return;
    char text[512];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_puts(&b, "no virtio console port named");
    const char *sep = " ";
    for (int i = 0; i <= INIT_NPORTS; i++)
        if (m & (1u << i)) {
            ib_puts(&b, sep);
            ib_puts(&b, i < INIT_NPORTS ? init_port_names[i] : TTY);
            sep = ", ";
        }
    ib_puts(&b, " after 15 s: build the kernel with CONFIG_VIRTIO_CONSOLE "
                "(=y, or =m with --modules)");
    die(INIT_ST_FAILED, text);
}


/* ---- the command ---- */

/* What the child sends back through its close-on-exec pipe when it could not exec: a step
 * and an errno. Nothing arrives when the exec worked. */
enum { STEP_EXEC, STEP_SETSID, STEP_CTTY, STEP_FDS };
struct child_report {
    int step, err;
};

static void __attribute__((noreturn)) child_failed(int pipe_fd, int step, long err)
{
    struct child_report r = {step, (int)-err};
    write_all(pipe_fd, (const char *)&r, sizeof(r));
    for (;;)
        SYS1(NR_exit_group, INIT_ST_FAILED);
}

/* One file: a program, or a script without "#!" (ENOEXEC), which /bin/sh runs, as execvp
 * and env(1) do. Returns the errno. */
static int exec_file(const char *file, const char *const *argv, const char *const *envp)
{
    static const char *sh_argv[INIT_MAX_ARGS + 2];
    int err = (int)-SYS3(NR_execve, file, argv, envp);
    if (err != IE_NOEXEC)
        return err;
    unsigned n = 0;
    sh_argv[n++] = "sh";
    sh_argv[n++] = file;
    for (unsigned i = 1; argv[i] && n < INIT_MAX_ARGS + 1; i++)
        sh_argv[n++] = argv[i];
    sh_argv[n] = (void *)0;
    SYS3(NR_execve, "/bin/sh", sh_argv, envp);
    return IE_NOEXEC;   /* no shell either: the file's own error */
}

/* execvp: the name itself when it has a '/', else each PATH candidate. Returns the errno. */
static int exec_search(const char *name, const char *const *argv, const char *const *envp)
{
    static char cand[4096];
    const char *path = init_env_get(envp, conf.nenv, "PATH");
    int r, eacces = 0;
    for (const char *p = name; *p; p++)
        if (*p == '/')
            return exec_file(name, argv, envp);
    if (!*name)
        return IE_NOENT;
    if (!path)
        path = INIT_DEFAULT_PATH;
    while ((r = init_path_next(&path, name, cand, sizeof(cand))) != 0) {
        if (r < 0)
            continue;
        int err = exec_file(cand, argv, envp);
        if (!init_exec_search_goes_on(err))
            return err;
        eacces |= err == IE_ACCES;
    }
    return eacces ? IE_ACCES : IE_NOENT;
}

/* Moves fd to target, for exec to keep. Via a copy above the low numbers first, so that a
 * port that is itself 0, 1 or 2 cannot be closed under another's dup3. */
static long copy_high(int fd)
{
    return SYS3(NR_fcntl, fd, F_DUPFD_CLOEXEC, 10);
}

/* The command gets 0, 1 and 2 only. The init opens everything close-on-exec (the status port
 * among them), but it may have been given more than the kernel's three. */
static void cloexec_from_3(void)
{
    if (SYS3(NR_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    for (int fd = 3; fd < 1024; fd++)   /* before Linux 5.11 */
        SYS3(NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
}

static void __attribute__((noreturn)) child(int pipe_fd)
{
    static const char *const shell_argv[] = {"sh", (void *)0};
    int in = port[INIT_PORT_STDIN], out = port[INIT_PORT_STDOUT], err = port[INIT_PORT_STDERR];
    long r = SYS0(NR_setsid), fds[3];
    if (r < 0)
        child_failed(pipe_fd, STEP_SETSID, r);
    if (!conf.narg) {
        in = out = err = tty;
        r = SYS3(NR_ioctl, tty, TIOCSCTTY, 0);
        if (r < 0)
            child_failed(pipe_fd, STEP_CTTY, r);
        if (conf.rows && conf.cols) {
            struct kernel_winsize ws = {(unsigned short)conf.rows, (unsigned short)conf.cols, 0, 0};
            SYS3(NR_ioctl, tty, TIOCSWINSZ, &ws);   /* a wrong size is no reason to stop */
        }
    }
    fds[0] = copy_high(in), fds[1] = copy_high(out), fds[2] = copy_high(err);
    for (int i = 0; i < 3; i++) {
        r = fds[i] < 0 ? fds[i] : SYS3(NR_dup3, fds[i], i, 0);
        if (r < 0)
            child_failed(pipe_fd, STEP_FDS, r);
    }
    cloexec_from_3();
    const char *const *argv = conf.narg ? conf.arg : shell_argv;
    const char *name = conf.narg ? conf.arg[0] : SHELL;
    child_failed(pipe_fd, STEP_EXEC, -exec_search(name, argv, conf.env));
}

/* Waits for pid, reaping every other child too (we are pid 1: orphans come to us). */
static int wait_for(long pid)
{
    int st = 0;
    long r;
    while ((r = SYS4(NR_wait4, -1, &st, 0, 0)) != pid)
        if (r < 0 && r != -IE_INTR)
            return -1;
    return st;
}

static void __attribute__((noreturn)) command_failed(const struct child_report *r)
{
    static const char *const step[] = {
        [STEP_SETSID] = "cannot start a session for the command",
        [STEP_CTTY] = "cannot make " TTY " the shell's terminal",
        [STEP_FDS] = "cannot give the command its standard streams",
    };
    char text[768], scratch[32];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    if (r->step == STEP_EXEC)
        die(init_exec_error(&b, conf.narg ? conf.arg[0] : SHELL, r->err), text);
    ib_puts(&b, r->step > 0 && r->step <= STEP_FDS ? step[r->step] : "the command failed");
    ib_puts(&b, ": ");
    ib_puts(&b, init_strerror(r->err, scratch, sizeof(scratch)));
    die(INIT_ST_FAILED, text);
}

void run_command(void)
{
    int pipe_fds[2];
    long r = SYS2(NR_pipe2, pipe_fds, O_CLOEXEC);
    if (r < 0)
        die(INIT_ST_FAILED, "cannot make a pipe to start the command");
    long pid = SYS0(NR_fork);
    if (pid == 0)
        child(pipe_fds[1]);
    sys_close(pipe_fds[1]);
    /* Our copies closed: the guest's driver sees a port closed when the command's last
     * process closes it. */
    for (int i = INIT_PORT_STDIN; i <= INIT_PORT_STDERR; i++)
        sys_close(port[i]), port[i] = -1;
    sys_close(tty), tty = -1;
    if (pid < 0)
        die(INIT_ST_FAILED, "cannot fork to start the command");
    struct child_report rep;
    long n = SYS3(NR_read, pipe_fds[0], &rep, sizeof(rep));
    int st = wait_for(pid);
    if (n == (long)sizeof(rep))
        command_failed(&rep);
    if (st < 0)
        die(INIT_ST_FAILED, "lost the command's process");
    char line[64];
    struct init_buf b;
    ib_init(&b, line, sizeof(line));
    init_status_wait(&b, st);
    report(line, b.len, st & 0x7f ? 128 + (st & 0x7f) : (st >> 8) & 0xff);
}
