/* vsockxfer: moves a deterministic byte pattern over vsock connections and checks it, for
 * the boot test of minivmm's virtio-vsock (guest side: AF_VSOCK; host side: the UNIX
 * sockets of Firecracker's hybrid vsock).
 *
 *   vsockxfer listen PORT N BYTES               guest: accept N connections on vsock PORT
 *   vsockxfer connect CID PORT N BYTES          guest: N connections to CID:PORT
 *   vsockxfer uds-connect PATH PORT N BYTES     host: N connections to PATH, each asking
 *                                               "CONNECT PORT" first
 *   vsockxfer uds-listen PATH_P N BYTES         host: accept N connections on PATH_P
 *   vsockxfer sum BYTES                         the checksum BYTES of the pattern have
 *
 * Every connection sends BYTES of the pattern and, at the same time, reads whatever the
 * other end sends until end of file (so both directions run at once, as they must when each
 * side's buffers are smaller than what it sends). Each prints one line:
 *   conn K sent S fnv XXXXXXXX recv R fnv YYYYYYYY
 * (FNV-1a of what was sent and of what was received); equal BYTES at both ends give equal
 * checksums. The listening modes say "vsockxfer: listening on WHERE" once others may connect.
 * The last line is "vsockxfer: N connections done" or an error; status 0/1.
 *
 * No flood mode: the kernel's vsock honours the device's credit, so a guest that sends past
 * it cannot be made from userspace; the unit test and the fuzzer play that guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>   /* after sys/socket.h: it uses struct sockaddr */

#define MAXC 64
#define CHUNK 65536

struct conn {
    int fd;
    uint64_t sent, recvd;
    uint32_t fnv_sent, fnv_recv;
    int done_send, done_recv;
};

static uint8_t pattern_at(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13 ^ i >> 20);
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int die(const char *what)
{
    fprintf(stderr, "vsockxfer: %s: %s\n", what, strerror(errno));
    return -1;
}

static int uds_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return errno = ENAMETOOLONG, -1;
    strcpy(a->sun_path, path);
    return 0;
}

/* The hybrid vsock handshake: "CONNECT PORT\n", then "OK HOSTPORT\n" (read byte by byte:
 * the stream's data follows at once). */
static int uds_connect(const char *path, unsigned port)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || uds_addr(&a, path) || connect(fd, (struct sockaddr *)&a, sizeof(a)))
        return die(path);
    char line[40];
    int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
    if (write(fd, line, (size_t)n) != n)
        return die("write CONNECT");
    size_t got = 0;
    while (got < sizeof(line) - 1) {
        if (read(fd, line + got, 1) != 1) {
            fprintf(stderr, "vsockxfer: %s: no OK for port %u (no listener in the guest?)\n",
                    path, port);
            return -1;
        }
        if (line[got++] == '\n')
            break;
    }
    line[got] = 0;
    if (strncmp(line, "OK ", 3) != 0) {
        fprintf(stderr, "vsockxfer: unexpected answer '%s'\n", line);
        return -1;
    }
    return fd;
}

static int listener(const char *mode, const char *where)
{
    int fd;
    if (strcmp(mode, "listen") == 0) {
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                                .svm_port = (unsigned)atoi(where)};
        fd = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
            return die("vsock bind");
    } else {
        struct sockaddr_un a;
        unlink(where);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || uds_addr(&a, where) || bind(fd, (struct sockaddr *)&a, sizeof(a)))
            return die(where);
    }
    if (listen(fd, MAXC))
        return die("listen");
    printf("vsockxfer: listening on %s\n", where);
    return fd;
}

/* Runs every connection to the end: send the pattern, read to EOF, all at once. */
static int transfer(struct conn *c, unsigned n, uint64_t bytes)
{
    static uint8_t buf[CHUNK];
    unsigned left = n;
    while (left) {
        struct pollfd p[MAXC];
        for (unsigned i = 0; i < n && i < MAXC; i++) {
            p[i].fd = c[i].done_send && c[i].done_recv ? -1 : c[i].fd;
            p[i].events = (c[i].done_send ? 0 : POLLOUT) | (c[i].done_recv ? 0 : POLLIN);
        }
        if (poll(p, (nfds_t)n, 120000) <= 0)
            return die("poll (stalled for 120 s)");
        for (unsigned i = 0; i < n; i++) {
            struct conn *k = &c[i];
            if (!k->done_send && (p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                size_t len = bytes - k->sent < CHUNK ? (size_t)(bytes - k->sent) : CHUNK;
                for (size_t j = 0; j < len; j++)
                    buf[j] = pattern_at(k->sent + j);
                ssize_t w = len ? send(k->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
                if (w < 0 && errno != EAGAIN)
                    return die("send");
                if (w > 0) {
                    k->fnv_sent = fnv(k->fnv_sent, buf, (size_t)w);
                    k->sent += (uint64_t)w;
                }
                if (k->sent == bytes) {
                    shutdown(k->fd, SHUT_WR);
                    k->done_send = 1;
                }
            }
            if (!k->done_recv && (p[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                ssize_t r = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (r < 0 && errno != EAGAIN)
                    return die("recv");
                if (r > 0) {
                    k->fnv_recv = fnv(k->fnv_recv, buf, (size_t)r);
                    k->recvd += (uint64_t)r;
                } else if (r == 0) {
                    k->done_recv = 1;
                }
            }
            if (k->done_send && k->done_recv && k->fd >= 0) {
                printf("conn %u sent %llu fnv %08x recv %llu fnv %08x\n", i,
                       (unsigned long long)k->sent, k->fnv_sent,
                       (unsigned long long)k->recvd, k->fnv_recv);
                close(k->fd);
                k->fd = -1;
                left--;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "sum") == 0 && argc == 3) {
        uint64_t n = strtoull(argv[2], NULL, 0);
        uint32_t h = 2166136261u;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t b = pattern_at(i);
            h = fnv(h, &b, 1);
        }
        printf("%08x\n", h);
        return 0;
    }
    int conn_mode = strcmp(mode, "connect") == 0 || strcmp(mode, "uds-connect") == 0;
    int listen_mode = strcmp(mode, "listen") == 0 || strcmp(mode, "uds-listen") == 0;
    if (!(conn_mode && argc == 6) && !(listen_mode && argc == 5)) {
        fprintf(stderr, "usage: vsockxfer listen PORT N BYTES | connect CID PORT N BYTES |\n"
                        "       uds-connect PATH PORT N BYTES | uds-listen PATH_P N BYTES | sum BYTES\n");
        return 2;
    }
    int n = atoi(argv[argc - 2]);
    uint64_t bytes = strtoull(argv[argc - 1], NULL, 0);
    if (n < 1 || n > MAXC) {
        fprintf(stderr, "vsockxfer: 1 to %d connections\n", MAXC);
        return 2;
    }
    static struct conn c[MAXC];
    for (int i = 0; i < n; i++)
        c[i] = (struct conn){.fd = -1, .fnv_sent = 2166136261u, .fnv_recv = 2166136261u};
    if (listen_mode) {
        int l = listener(mode, argv[2]);
        if (l < 0)
            return 1;
        for (int i = 0; i < n; i++)
            if ((c[i].fd = accept(l, NULL, NULL)) < 0)
                return die("accept"), 1;
        close(l);
    } else {
        for (int i = 0; i < n; i++) {
            if (strcmp(mode, "uds-connect") == 0) {
                c[i].fd = uds_connect(argv[2], (unsigned)atoi(argv[3]));
            } else {
                struct sockaddr_vm a = {.svm_family = AF_VSOCK,
                                        .svm_cid = (unsigned)atoi(argv[2]),
                                        .svm_port = (unsigned)atoi(argv[3])};
                c[i].fd = socket(AF_VSOCK, SOCK_STREAM, 0);
                if (c[i].fd < 0 || connect(c[i].fd, (struct sockaddr *)&a, sizeof(a)))
                    c[i].fd = die("vsock connect");
            }
            if (c[i].fd < 0)
                return 1;
        }
    }
    if (transfer(c, (unsigned)n, bytes))
        return 1;
    printf("vsockxfer: %d connections done\n", n);
    return 0;
}
