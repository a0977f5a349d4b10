/* A virtio-net device's host side: passt or a tap device (see net_backend.h). */
#include "net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_uplink.h"

extern char **environ;

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* XX:XX:XX:XX:XX:XX, exactly. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17)
        return -1;
    for (unsigned i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

#define OPT_IS(opt, len, name) ((len) == sizeof(name) - 1 && strncmp(opt, name, len) == 0)
#define OPT_HAS(opt, len, name) \
    ((len) >= sizeof(name) - 1 && strncmp(opt, name, sizeof(name) - 1) == 0)

static int parse_one(const char *spec, const char *opt, size_t len, struct net_config *c,
                     struct mvm_err *e)
{
    if (OPT_IS(opt, len, "passt")) {
        c->kind = NET_PASST;
        c->passt[0] = '\0';
    } else if (OPT_HAS(opt, len, "passt=")) {
        if (len - 6 == 0 || len - 6 >= sizeof(c->passt))
            return mvm_fail(e, MVM_E_INPUT, "--net %s: passt= needs a program path (at most %zu "
                            "bytes, no comma)", spec, sizeof(c->passt) - 1);
        c->kind = NET_PASST;
        memcpy(c->passt, opt + 6, len - 6);
        c->passt[len - 6] = '\0';
    } else if (OPT_HAS(opt, len, "tap=")) {
        if (len - 4 == 0 || len - 4 >= sizeof(c->tap) || memchr(opt + 4, '/', len - 4))
            return mvm_fail(e, MVM_E_INPUT, "--net %s: a tap device's name has 1 to %zu "
                            "characters and no '/' (e.g. tap=tap0)", spec, sizeof(c->tap) - 1);
        c->kind = NET_TAP;
        memset(c->tap, 0, sizeof(c->tap));
        memcpy(c->tap, opt + 4, len - 4);
    } else if (OPT_HAS(opt, len, "mac=")) {
        if (parse_mac(opt + 4, len - 4, c->mac))
            return mvm_fail(e, MVM_E_INPUT, "--net %s: '%.*s' is not a MAC address: write six "
                            "hex bytes, e.g. mac=02:00:00:00:00:01", spec, (int)len, opt);
        if (c->mac[0] & 1)
            return mvm_fail(e, MVM_E_INPUT, "--net %s: %.*s is a multicast address; a NIC needs "
                            "a unicast one (even first byte, e.g. 02:...)", spec, (int)len, opt);
        if (!(c->mac[0] | c->mac[1] | c->mac[2] | c->mac[3] | c->mac[4] | c->mac[5]))
            return mvm_fail(e, MVM_E_INPUT, "--net %s: the all-zero MAC is no address; give "
                            "another (e.g. mac=02:00:00:00:00:01)", spec);
        c->mac_set = true;
    } else {
        return mvm_fail(e, MVM_E_INPUT, "--net %s: unknown option '%.*s' (use passt, passt=PATH, "
                        "tap=NAME, mac=XX:XX:XX:XX:XX:XX)", spec, (int)len, opt);
    }
    return 0;
}

int net_parse(const char *spec, struct net_config *c, struct mvm_err *e)
{
    memset(c, 0, sizeof(*c));
    c->kind = NET_PASST;
    for (const char *opt = spec; *opt;) {
        const char *comma = strchr(opt, ',');
        size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
        if (len && parse_one(spec, opt, len, c, e))
            return -1;
        opt += len + (comma != NULL);
    }
    return 0;
}

void net_default_mac(unsigned slot, const char *tap, uint8_t mac[6])
{
    /* 0x02: locally administered, unicast; then "mvm", then the slot. A tap's name goes into
     * the middle bytes (FNV-1a), which stay "vm" for passt, whose guests never meet. */
    uint8_t m[6] = {0x02, 0x6d, 0x76, 0x6d, (uint8_t)(slot >> 8), (uint8_t)slot};
    if (tap) {
        uint32_t h = 2166136261u;
        for (const char *p = tap; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
        m[2] = (uint8_t)(h >> 24), m[3] = (uint8_t)(h >> 16), m[4] ^= (uint8_t)(h >> 8);
    }
    memcpy(mac, m, 6);
}

char **net_passt_argv(const struct net_config *c, int fd, bool verbose,
                      const struct net_uplink *u, struct passt_words *w)
{
    /* -f: our child, in the foreground, so that we can stop it; --fd: the socket is ours
     * already (no path, no race), and passt quits when it closes. -q unless -v. */
    const char *words[16] = {c->passt[0] ? c->passt : "passt", "-f", verbose ? "-e" : "-q",
                             "--fd", w->fd};
    unsigned n = 5;
    snprintf(w->fd, sizeof(w->fd), "%d", fd);
    if (u) {
        net_uplink_ipv4(u->addr, w->addr, sizeof(w->addr));
        snprintf(w->prefix, sizeof(w->prefix), "%u", u->prefix);
        net_uplink_ipv4(u->gateway, w->gw, sizeof(w->gw));
        const char *more[] = {"-a", w->addr, "-n", w->prefix, "-g", w->gw, "--dns-forward", w->gw};
        for (unsigned i = 0; i < sizeof(more) / sizeof(more[0]); i++)
            words[n++] = more[i];
    }
    for (unsigned i = 0; i <= n; i++)
        w->argv[i] = (char *)words[i];
    return w->argv;
}

void net_backend_init_fd(struct net_backend *b, int fd, bool stream)
{
    memset(b, 0, offsetof(struct net_backend, rx_buf));
    b->fd = fd;
    b->stream = stream;
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Where passt's end of the socket lands in it (whatever number ours had). */
#define PASST_FD 3

static int spawn_passt(struct net_backend *b, const struct net_config *c, int log_fd,
                       bool verbose, struct mvm_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return mvm_fail(e, MVM_E_HOST, "passt: socketpair: %s", strerror(errno));
    /* Above PASST_FD, so that dup2 in the child always makes a fresh, inheritable copy. */
    int theirs = fcntl(sv[1], F_DUPFD_CLOEXEC, PASST_FD + 1);
    close(sv[1]);
    /* The uplink as passt will find it, given to it explicitly (see net_passt_argv); a host
     * without an IPv4 default route leaves passt to decide (IPv6 only, say). */
    struct net_uplink u;
    struct mvm_err ignored = {0};
    struct passt_words w;
    char **argv = net_passt_argv(c, PASST_FD, verbose,
                                 net_uplink_find(&u, &ignored) == 0 ? &u : NULL, &w);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (verbose && log_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, theirs, PASST_FD);
    /* minivmm blocks its stop signals (a signalfd takes them) and ignores SIGPIPE: passt gets
     * neither, or the SIGTERM that stops it would wait for ever. Its own process group keeps
     * a terminal's ^C (which is minivmm's to handle) from killing it under the guest. */
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                  POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setpgroup(&at, 0);
    /* A path is taken as it is; a bare "passt" is looked for on PATH. */
    int r = theirs < 0    ? EMFILE
          : c->passt[0] ? posix_spawn(&b->pid, argv[0], &fa, &at, argv, environ)
                        : posix_spawnp(&b->pid, argv[0], &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (theirs >= 0)
        close(theirs);
    if (r) {
        close(sv[0]);
        b->pid = 0;
        if (r == ENOENT && !c->passt[0])
            return mvm_fail(e, MVM_E_HOST, "passt not found on PATH: install Debian's passt "
                            "(apt-get install passt) or give --net passt=PATH");
        return mvm_fail(e, MVM_E_HOST, "cannot start passt %s: %s%s", argv[0], strerror(r),
                        r == ENOENT ? " (give the path of an existing passt)" : "");
    }
    pid_t pid = b->pid;
    net_backend_init_fd(b, sv[0], true);
    b->pid = pid;
    return 0;
}

static int open_tap(struct net_backend *b, const char *name, struct mvm_err *e)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return mvm_fail(e, MVM_E_HOST, "tap %s: cannot open /dev/net/tun: %s%s", name,
                        strerror(errno), errno == ENOENT ? " (modprobe tun)"
                        : errno == EACCES ? " (make it rw for this user, as distributions do)"
                        : "");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int err = errno;
        close(fd);
        if (err == EPERM)
            return mvm_fail(e, MVM_E_HOST, "tap %s: permission denied: create it for this user "
                            "first (ip tuntap add dev %s mode tap user $USER; ip link set %s up) "
                            "or run with CAP_NET_ADMIN", name, name, name);
        if (err == EBUSY)
            return mvm_fail(e, MVM_E_HOST, "tap %s is in use by another program (or is not a "
                            "tap without packet information): give another", name);
        return mvm_fail(e, MVM_E_HOST, "tap %s: TUNSETIFF: %s", name, strerror(err));
    }
    net_backend_init_fd(b, fd, false);
    return 0;
}

int net_backend_open(struct net_backend *b, const struct net_config *c, int log_fd, bool verbose,
                     struct mvm_err *e)
{
    net_backend_init_fd(b, -1, false);
    b->pid = 0;
    return c->kind == NET_TAP ? open_tap(b, c->tap, e) : spawn_passt(b, c, log_fd, verbose, e);
}

/* Records why the backend is gone (the first reason counts). On the NIC's thread, under
 * seccomp: errors are worded by mvm_strerror, which opens no message catalogue. */
static int gone(struct net_backend *b, const char *fmt, const char *arg)
{
    if (!b->why[0])
        snprintf(b->why, sizeof(b->why), fmt, arg);
    return -1;
}

/* A tap: one read, one frame. Frames below an Ethernet header are skipped. */
static int peek_tap(struct net_backend *b)
{
    for (;;) {
        ssize_t r = read(b->fd, b->rx_buf, NET_FRAME_MAX);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r <= 0)
            return gone(b, "the tap device failed (%s)", r ? mvm_strerror(errno) : "end of file");
        if (r < ETH_HDR_LEN)
            continue;
        b->rx_start = 0;
        b->rx_frame = (size_t)r;
        b->rx_ready = true;
        return 1;
    }
}

/* passt: whole frames out of what the stream has delivered so far. */
static int peek_stream(struct net_backend *b)
{
    for (;;) {
        size_t have = b->rx_end - b->rx_start;
        if (have >= 4) {
            const uint8_t *p = b->rx_buf + b->rx_start;
            uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (len < ETH_HDR_LEN || len > NET_FRAME_MAX) {
                char n[16];
                snprintf(n, sizeof(n), "%u", len);
                b->broken = true;
                return gone(b, "passt's stream is broken (a frame of %s bytes)", n);
            }
            if (have >= 4 + (size_t)len) {
                b->rx_frame = len;
                b->rx_ready = true;
                return 1;
            }
        }
        /* Room for at least one whole frame after rx_start, always: move the rest down. */
        if (b->rx_start + 4 + NET_FRAME_MAX > sizeof(b->rx_buf)) {
            memmove(b->rx_buf, b->rx_buf + b->rx_start, have);
            b->rx_start = 0;
            b->rx_end = have;
        }
        ssize_t r = read(b->fd, b->rx_buf + b->rx_end, sizeof(b->rx_buf) - b->rx_end);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r < 0)
            return gone(b, "passt's connection failed (%s)", mvm_strerror(errno));
        if (r == 0)
            return gone(b, "passt closed its connection%s", "");
        b->rx_end += (size_t)r;
    }
}

int net_backend_peek(struct net_backend *b, const uint8_t **frame, size_t *len)
{
    if (b->fd < 0 || b->dead)
        return -1;
    if (!b->rx_ready) {
        int r = b->stream ? peek_stream(b) : peek_tap(b);
        if (r <= 0)
            return r;
    }
    *frame = b->rx_buf + b->rx_start + (b->stream ? 4 : 0);
    *len = b->rx_frame;
    return 1;
}

void net_backend_consume(struct net_backend *b)
{
    if (!b->rx_ready)
        return;
    b->rx_ready = false;
    if (b->stream) {
        b->rx_start += 4 + b->rx_frame;
        if (b->rx_start == b->rx_end)
            b->rx_start = b->rx_end = 0;
    }
}

bool net_backend_hung_up(struct net_backend *b)
{
    if (b->fd < 0 || b->dead)
        return false;
    struct pollfd p = {.fd = b->fd, .events = 0};
    if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLHUP | POLLERR | POLLNVAL)))
        return false;
    gone(b, b->stream ? "passt closed its connection%s" : "the tap device went away%s", "");
    return true;
}

uint8_t *net_backend_tx_space(struct net_backend *b, size_t len)
{
    if (b->tx_off < b->tx_len || len < ETH_HDR_LEN || len > NET_FRAME_MAX)
        return NULL;
    b->tx_off = 0;
    if (!b->stream) {
        b->tx_len = len;
        return b->tx_buf;
    }
    b->tx_buf[0] = (uint8_t)(len >> 24), b->tx_buf[1] = (uint8_t)(len >> 16);
    b->tx_buf[2] = (uint8_t)(len >> 8), b->tx_buf[3] = (uint8_t)len;
    b->tx_len = 4 + len;
    return b->tx_buf + 4;
}

int net_backend_flush(struct net_backend *b)
{
    while (b->tx_off < b->tx_len) {
        if (b->fd < 0 || b->dead)
            return -1;
        ssize_t r = write(b->fd, b->tx_buf + b->tx_off, b->tx_len - b->tx_off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        /* A tap that is down (or not up yet) refuses frames: they are lost, as on a wire. */
        if (r < 0 && !b->stream && errno == EIO) {
            b->tx_dropped++;
            b->tx_off = b->tx_len = 0;
            return 1;
        }
        if (r <= 0) {
            b->tx_off = b->tx_len = 0;
            return gone(b, b->stream ? "passt's connection failed (%s)"
                                     : "the tap device failed (%s)", mvm_strerror(errno));
        }
        /* A tap takes a frame whole; a stream may take part and the rest later. */
        b->tx_off += (size_t)r;
    }
    b->tx_off = b->tx_len = 0;
    return 1;
}

/* Reaps passt: it closed its end, so it is exiting; give it up to a second. */
static void reap(struct net_backend *b, char *out, size_t len)
{
    for (int i = 0; i < 100; i++) {
        int st;
        pid_t r = wait4(b->pid, &st, WNOHANG, NULL);
        if (r == b->pid) {
            b->pid = 0;
            if (WIFEXITED(st))
                snprintf(out, len, "passt exited with status %d", WEXITSTATUS(st));
            else if (WIFSIGNALED(st))
                snprintf(out, len, "passt was killed by signal %d", WTERMSIG(st));
            return;
        }
        if (r < 0) {   /* the embedding program reaps its children itself */
            b->pid = 0;
            snprintf(out, len, "passt ended");
            return;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    snprintf(out, len, "passt still runs");
}

void net_backend_gone(struct net_backend *b, char *out, size_t len)
{
    char how[64] = "";
    /* passt that hung up is exiting: say how it ended. One that broke its stream may run on,
     * and is not waited for here (the guest's queues would wait too): the end of the run
     * stops it (net_backend_close). */
    if (b->pid > 0 && !b->broken)
        reap(b, how, sizeof(how));
    snprintf(out, len, "%s%s%s", b->why[0] ? b->why : "the backend is gone", how[0] ? "; " : "",
             how);
    /* Not closed here: the thread that calls this may not close descriptors (seccomp). */
    b->dead = true;
    b->rx_ready = false;
    b->tx_off = b->tx_len = 0;
}

void net_backend_close(struct net_backend *b)
{
    if (b->fd >= 0)
        close(b->fd);   /* passt quits on its own at this (--fd implies --one-off) */
    b->fd = -1;
    if (b->pid <= 0)
        return;
    kill(b->pid, SIGTERM);
    /* A second, then SIGKILL: the end of a run must not wait on a passt that hangs. */
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(b->pid, NULL, WNOHANG);
        if (r == b->pid || (r < 0 && errno != EINTR)) {
            b->pid = 0;
            return;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}
