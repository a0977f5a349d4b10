/* firstbyte [-p PATTERN] [-t SECONDS] [-v] -- COMMAND [ARG...]
 *
 * The bench's start-up cost in CPU time: runs COMMAND (a VMM) with its stdout on a pipe, waits
 * for the first byte on it (or for PATTERN, when given: the moment its last byte arrives),
 * then SIGKILLs it and takes wait4()'s resource usage, which covers every thread of the
 * process up to its death in microseconds (/proc's tick counts are 10 ms, too coarse for a
 * few CPU-ms). Prints one line:
 *   FIRSTBYTE cpu_us=U+S user_us=U sys_us=S wall_us=W guest_us=G
 * and exits 0; on a timeout (default 300 s) or an end of output without it, says so and
 * exits 1. COMMAND's stdin is /dev/null and its stderr ours. -v copies what came before
 * the kill to stderr (to see which output came first).
 * Note: a vCPU thread's time in the guest counts as that thread's user time, so this is the
 * VMM's own work plus the guest's, up to that byte. guest_us is the process's guest_time from
 * /proc/PID/stat just before the kill, in clock ticks (10 ms): the guest's part where the
 * kernel sees it. A nested KVM-HV host (the emulated one) does not: its guest's time shows as
 * system time there, and guest_us reads 0 or a tick or two. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The process's guest_time (field 43 of /proc/PID/stat) in microseconds, or -1. */
static long long guest_us(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');     /* the command name may hold spaces: fields follow it */
    if (!p)
        return -1;
    /* After ")" come fields 3, 4, ...: field 43 is the 41st of them. */
    char *save = NULL, *tok = strtok_r(p + 1, " ", &save);
    for (int field = 3; tok && field < 43; field++)
        tok = strtok_r(NULL, " ", &save);
    if (!tok)
        return -1;
    return atoll(tok) * 1000000LL / sysconf(_SC_CLK_TCK);
}

static long long tv_us(struct timeval tv)
{
    return tv.tv_sec * 1000000LL + tv.tv_usec;
}

int main(int argc, char **argv)
{
    const char *pattern = NULL;
    int timeout_s = 300, verbose = 0, opt;
    while ((opt = getopt(argc, argv, "+p:t:v")) != -1) {
        switch (opt) {
        case 'p': pattern = optarg; break;
        case 't': timeout_s = atoi(optarg); break;
        case 'v': verbose = 1; break;
        default: goto usage;
        }
    }
    if (optind >= argc || (pattern && !*pattern) || timeout_s <= 0) {
usage:
        fprintf(stderr, "usage: firstbyte [-p PATTERN] [-t SECONDS] [-v] -- COMMAND [ARG...]\n");
        return 2;
    }

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        perror("pipe");
        return 1;
    }
    long long t0 = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0)
            _exit(127);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "firstbyte: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    close(fds[1]);

    /* The last strlen(pattern)-1 bytes seen, so a pattern split across reads is found. */
    size_t plen = pattern ? strlen(pattern) : 1;
    char *win = calloc(1, 2 * plen + 4096 + 1);
    size_t have = 0;
    const char *why = NULL;
    long long t_found = -1;
    while (t_found < 0 && !why) {
        long long left_ms = (t0 + timeout_s * 1000000LL - now_us()) / 1000;
        if (left_ms <= 0) {
            why = "timed out";
            break;
        }
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        int n = poll(&p, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (n < 0 && errno != EINTR) {
            why = "poll failed";
            break;
        }
        if (n <= 0)
            continue;
        ssize_t r = read(fds[0], win + have, 4096);
        long long t = now_us();
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            why = "its output ended";
            break;
        }
        if (verbose)
            fwrite(win + have, 1, r, stderr);
        have += r;
        if (!pattern)
            t_found = t;
        else if (memmem(win, have, pattern, plen))
            t_found = t;
        else if (have >= plen) {       /* keep the tail that may start the pattern */
            memmove(win, win + have - (plen - 1), plen - 1);
            have = plen - 1;
        }
    }
    long long guest = t_found >= 0 ? guest_us(pid) : -1;
    kill(pid, SIGKILL);
    struct rusage ru;
    int status;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 1;
        }
    }
    if (verbose)
        fputc('\n', stderr);
    if (why) {
        fprintf(stderr, "firstbyte: %s before %s\n", why, pattern ? "the pattern" : "any output");
        return 1;
    }
    long long u = tv_us(ru.ru_utime), s = tv_us(ru.ru_stime);
    printf("FIRSTBYTE cpu_us=%lld user_us=%lld sys_us=%lld wall_us=%lld guest_us=%lld\n",
           u + s, u, s, t_found - t0, guest);
    return 0;
}
