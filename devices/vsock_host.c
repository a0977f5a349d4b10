/* The vsock device's host side: the listening socket, CONNECT lines, connections to PATH_P,
 * and the guest's data on its way to host sockets (see virtio_vsock.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "vsock_impl.h"

/* Host ports for host-initiated connections start here, as in Firecracker: far from the
 * low ports guest programs listen on. */

uint64_t vsock_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

struct vsock_conn *vsock_conn_new(struct virtio_vsock *v, int fd, enum conn_state state)
{
    if (v->nconns >= v->max_conns) {
        v->stats.refused++;
        return NULL;
    }
    struct vsock_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->state = state;
    v->conn[v->nconns++] = c;
    return c;
}

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t host_port,
                                   uint32_t guest_port)
{
    for (unsigned i = 0; i < v->nconns; i++) {
        struct vsock_conn *c = v->conn[i];
        if (c->host_port == host_port && c->guest_port == guest_port && c->state != C_LINE)
            return c;
    }
    return NULL;
}

void vsock_conn_free(struct virtio_vsock *v, struct vsock_conn *c)
{
    for (unsigned i = 0; i < v->nconns; i++) {
        if (v->conn[i] != c)
            continue;
        v->conn[i] = v->conn[--v->nconns];
        v->conn[v->nconns] = NULL;
        break;
    }
    if (c->fd >= 0)
        close(c->fd);
    v->stats.buffered -= c->used;
    free(c->buf);
    free(c);
}

void vsock_conn_kill(struct virtio_vsock *v, struct vsock_conn *c)
{
    /* The guest knows of a connection once it was asked (REQUEST sent) or answered. */
    bool guest_knows = c->state == C_LIVE || (c->state == C_REQUEST && !(c->owe & OWE_REQUEST));
    if (!guest_knows) {
        vsock_conn_free(v, c);
        return;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    v->stats.buffered -= c->used;
    free(c->buf);
    c->buf = NULL;
    c->used = c->head = 0;
    c->state = C_DEAD;
    c->owe = OWE_RST;
}

void vsock_close_all(struct virtio_vsock *v)
{
    while (v->nconns)
        vsock_conn_free(v, v->conn[v->nconns - 1]);
    v->norphans = 0;
}

static void read_line(struct virtio_vsock *v, struct vsock_conn *c);

void vsock_accept(struct virtio_vsock *v)
{
    /* A few per pass: a host program connecting in a loop must not starve the guest. */
    for (int i = 0; i < 16; i++) {
        int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                       errno == ENOMEM))
            v->accept_paused_until = vsock_now_ms() + 100;
        if (fd < 0)
            return;
        struct vsock_conn *c = vsock_conn_new(v, fd, C_LINE);
        if (!c) {
            close(fd);
            continue;
        }
        c->deadline_ms = vsock_now_ms() + (uint64_t)v->line_ms;
        read_line(v, c);   /* programs write the line at once: no poll round for it */
    }
}

/* "CONNECT <port>": the port in decimal, 0 to 4294967295, nothing else but a carriage return
 * before the newline (socat's crlf, a Windows-born tool). */
static int parse_line(const char *s, uint32_t *port)
{
    if (strncmp(s, "CONNECT ", 8) != 0)
        return -1;
    s += 8;
    uint64_t p = 0;
    unsigned digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        p = p * 10 + (uint64_t)(*s - '0');
        if (p > UINT32_MAX)
            return -1;
    }
    if (*s == '\r')
        s++;
    if (!digits || *s)
        return -1;
    *port = (uint32_t)p;
    return 0;
}

static uint32_t fresh_port(struct virtio_vsock *v)
{
    for (;;) {
        uint32_t p = v->next_port++;
        if (v->next_port < VSOCK_FIRST_HOST_PORT)
            v->next_port = VSOCK_FIRST_HOST_PORT;
        bool used = false;
        for (unsigned i = 0; i < v->nconns && !used; i++)
            used = v->conn[i]->host_port == p && v->conn[i]->state != C_LINE;
        if (!used)
            return p;   /* at most max_conns tries */
    }
}

/* Byte by byte, so that nothing after the newline (the stream's first data) is taken. */
static void read_line(struct virtio_vsock *v, struct vsock_conn *c)
{
    for (;;) {
        char ch;
        ssize_t n = read(c->fd, &ch, 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            vsock_conn_free(v, c);
            return;
        }
        if (ch == '\n') {
            c->line[c->line_len] = 0;
            uint32_t port;
            if (parse_line(c->line, &port) != 0) {
                v->stats.bad_lines++;
                vsock_conn_free(v, c);
                return;
            }
            c->guest_port = port;
            c->host_port = fresh_port(v);
            c->state = C_REQUEST;
            c->owe = OWE_REQUEST;
            c->deadline_ms = vsock_now_ms() + (uint64_t)v->reply_ms;
            return;
        }
        if (c->line_len + 1 >= VSOCK_LINE_MAX) {   /* room for the NUL: too long */
            v->stats.bad_lines++;
            vsock_conn_free(v, c);
            return;
        }
        c->line[c->line_len++] = ch;
    }
}

void vsock_conn_accepted(struct virtio_vsock *v, struct vsock_conn *c)
{
    char ok[24];
    int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
    c->state = C_LIVE;
    /* Nothing was written to this socket before: its buffer takes these few bytes whole, or
     * the host program is gone. */
    if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL) != n)
        vsock_conn_kill(v, c);
}

short vsock_conn_events(const struct vsock_conn *c)
{
    switch (c->state) {
    case C_LINE:
        return POLLIN;
    case C_LIVE: {
        short ev = c->used ? POLLOUT : 0;
        /* Data for the guest is read when an RX buffer and credit are there to take it:
         * until then the host socket's own buffer holds it, and its writer waits. */
        if (!c->readable && !c->host_eof && !c->guest_no_rcv && vsock_credit(c))
            ev |= POLLIN;
        return ev;
    }
    default:
        return 0;   /* C_REQUEST: nothing to do until the guest answers (or time is up) */
    }
}

void vsock_conn_event(struct virtio_vsock *v, struct vsock_conn *c, short revents)
{
    if (c->state == C_LINE) {
        read_line(v, c);
        return;
    }
    if (c->state != C_LIVE)
        return;
    if (revents & POLLERR) {
        vsock_conn_kill(v, c);
        return;
    }
    if (revents & POLLOUT)
        vsock_conn_flush(v, c);
    /* POLLHUP too: the rest of the data, then end of file, are read as the guest takes them. */
    if (c->state == C_LIVE && (revents & (POLLIN | POLLHUP)))
        c->readable = true;
}

void vsock_timeouts(struct virtio_vsock *v, int *timeout_ms)
{
    uint64_t now = vsock_now_ms();
    if (v->accept_paused_until > now) {
        uint64_t left = v->accept_paused_until - now;
        if (*timeout_ms < 0 || left < (uint64_t)*timeout_ms)
            *timeout_ms = (int)left;
    }
    for (unsigned i = 0; i < v->nconns; i++) {
        struct vsock_conn *c = v->conn[i];
        if (c->state != C_LINE && c->state != C_REQUEST)
            continue;
        if (now >= c->deadline_ms) {
            if (c->state == C_LINE)
                v->stats.bad_lines++;
            else
                v->stats.timeouts++;
            vsock_conn_kill(v, c);
            i = (unsigned)-1;   /* the table changed: look again from the start */
            continue;
        }
        uint64_t left = c->deadline_ms - now;
        if (*timeout_ms < 0 || left < (uint64_t)*timeout_ms)
            *timeout_ms = (int)left;
    }
}

/* The guest is told of freed room once a quarter of the buffer is free again: often enough
 * that it never waits on a credit we have, rarely enough to cost little. */
static void freed(struct vsock_conn *c, uint32_t n)
{
    c->fwd_cnt += n;
    if (c->fwd_cnt - c->fwd_told >= VSOCK_BUF_ALLOC / 4)
        c->owe |= OWE_CREDIT;
}

/* A write the host socket refused for good (the reader is gone): the connection is over. */
static bool write_failed(ssize_t n)
{
    return n < 0 && errno != EAGAIN && errno != EINTR;
}

void vsock_conn_flush(struct virtio_vsock *v, struct vsock_conn *c)
{
    while (c->used) {
        uint32_t run = VSOCK_BUF_ALLOC - c->head;
        if (run > c->used)
            run = c->used;
        ssize_t n = send(c->fd, c->buf + c->head, run, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (write_failed(n)) {
            vsock_conn_kill(v, c);
            return;
        }
        if (n <= 0)
            return;
        c->head = (c->head + (uint32_t)n) % VSOCK_BUF_ALLOC;
        c->used -= (uint32_t)n;
        v->stats.buffered -= (uint64_t)n;
        freed(c, (uint32_t)n);
    }
    free(c->buf);   /* an idle connection holds no buffer */
    c->buf = NULL;
    c->head = 0;
    if (c->closing || (c->guest_no_send && c->host_eof)) {
        /* The guest closed (it waits for our RST), or both sides are done sending. */
        vsock_conn_kill(v, c);
    } else if (c->guest_no_send) {
        shutdown(c->fd, SHUT_WR);
    }
}

void vsock_conn_deliver(struct virtio_vsock *v, struct vsock_conn *c, const uint8_t *data,
                        uint32_t len)
{
    /* The guest may have VSOCK_BUF_ALLOC bytes unacknowledged (buffered here) and no more. */
    if ((uint64_t)c->used + len > VSOCK_BUF_ALLOC) {
        v->stats.floods++;
        __atomic_add_fetch(&v->vdev.m->flood_resets, 1, __ATOMIC_RELAXED);
        vsock_conn_kill(v, c);
        return;
    }
    if (!c->used) {   /* straight to the host socket, as much as it takes */
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (write_failed(n)) {
            vsock_conn_kill(v, c);
            return;
        }
        if (n > 0) {
            data += n;
            len -= (uint32_t)n;
            freed(c, (uint32_t)n);
        }
    }
    if (!len)
        return;
    if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC))) {
        vsock_conn_kill(v, c);
        return;
    }
    uint32_t tail = (c->head + c->used) % VSOCK_BUF_ALLOC;
    uint32_t first = VSOCK_BUF_ALLOC - tail < len ? VSOCK_BUF_ALLOC - tail : len;
    memcpy(c->buf + tail, data, first);
    memcpy(c->buf, data + first, len - first);
    c->used += len;
    v->stats.buffered += len;
}

void vsock_guest_connect(struct virtio_vsock *v, uint32_t port, uint32_t guest_port,
                         uint32_t buf_alloc, uint32_t fwd_cnt)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", v->cfg.uds, port);
    int fd = -1;
    if (v->nconns >= v->max_conns) {
        v->stats.refused++;
    } else {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        /* Non-blocking: a listener whose backlog is full is a refusal, not a wait that
         * would stall every other connection. */
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(fd);
            fd = -1;
            v->stats.connect_failed++;
        }
    }
    struct vsock_conn *c = fd >= 0 ? vsock_conn_new(v, fd, C_LIVE) : NULL;
    if (!c) {
        if (fd >= 0)
            close(fd);
        vsock_owe_orphan_rst(v, port, guest_port);
        return;
    }
    c->host_port = port;
    c->guest_port = guest_port;
    c->peer_buf_alloc = buf_alloc;
    c->peer_fwd_cnt = fwd_cnt;
    c->owe = OWE_RESPONSE;
}
