#include "gdb_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HINT "use --gdb tcp:[HOST:]PORT or unix:PATH, e.g. tcp:1234"

struct gdb_where {
    bool unix_path;
    struct sockaddr_in in;
    struct sockaddr_un un;
};

static int parse(const char *spec, struct gdb_where *w, struct mvm_err *e)
{
    memset(w, 0, sizeof(*w));
    if (strncmp(spec, "unix:", 5) == 0) {
        const char *path = spec + 5;
        if (!*path || strlen(path) >= sizeof(w->un.sun_path))
            return mvm_fail(e, MVM_E_INPUT, "--gdb %s: a socket path has 1 to %zu bytes", spec,
                            sizeof(w->un.sun_path) - 1);
        w->unix_path = true;
        w->un.sun_family = AF_UNIX;
        memcpy(w->un.sun_path, path, strlen(path) + 1);
        return 0;
    }
    if (strncmp(spec, "tcp:", 4) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--gdb %s: %s", spec, HINT);
    const char *host = "127.0.0.1", *port = spec + 4, *colon = strrchr(port, ':');
    char hostbuf[64];
    if (colon) {
        size_t n = (size_t)(colon - port);
        if (n == 0 || n >= sizeof(hostbuf))
            return mvm_fail(e, MVM_E_INPUT, "--gdb %s: %s", spec, HINT);
        memcpy(hostbuf, port, n);
        hostbuf[n] = '\0';
        host = hostbuf;
        port = colon + 1;
    }
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*port < '0' || *port > '9' || *end || p == 0 || p > 65535)
        return mvm_fail(e, MVM_E_INPUT, "--gdb %s: the port is a number, 1 to 65535; %s", spec,
                        HINT);
    w->in.sin_family = AF_INET;
    w->in.sin_port = htons((uint16_t)p);
    if (inet_pton(AF_INET, host, &w->in.sin_addr) != 1)
        return mvm_fail(e, MVM_E_INPUT, "--gdb %s: '%s' is not an IPv4 address (use e.g. "
                        "127.0.0.1, or 0.0.0.0 for every interface)", spec, host);
    return 0;
}

int gdb_spec_check(const char *spec, struct mvm_err *e)
{
    struct gdb_where w;
    return parse(spec, &w, e);
}

/* A leftover socket file (an earlier run's) goes; anything else at the path stays. */
static int clear_stale(const char *spec, const char *path, struct mvm_err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return mvm_fail(e, MVM_E_INPUT, "--gdb %s: %s exists and is not a socket (name a new "
                        "path)", spec, path);
    unlink(path);
    return 0;
}

int gdb_listen(const char *spec, char *desc, size_t desc_len, struct mvm_err *e)
{
    struct gdb_where w;
    if (parse(spec, &w, e) || (w.unix_path && clear_stale(spec, w.un.sun_path, e)))
        return -1;
    int fd = socket(w.unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mvm_fail(e, MVM_E_HOST, "--gdb %s: socket: %s", spec, strerror(errno));
    int one = 1;
    if (!w.unix_path)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const struct sockaddr *sa = w.unix_path ? (const struct sockaddr *)&w.un
                                            : (const struct sockaddr *)&w.in;
    socklen_t len = w.unix_path ? sizeof(w.un) : sizeof(w.in);
    if (bind(fd, sa, len) != 0 || listen(fd, 1) != 0) {
        int err = errno;
        close(fd);
        return mvm_fail(e, MVM_E_INPUT, "--gdb %s: cannot listen: %s%s", spec, strerror(err),
                        err == EADDRINUSE ? " (pick another port, or end what uses it)"
                        : err == EADDRNOTAVAIL ? " (name an address of this host, or 0.0.0.0)"
                        : "");
    }
    if (w.unix_path) {
        snprintf(desc, desc_len, "target remote %s", w.un.sun_path);
    } else {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &w.in.sin_addr, a, sizeof(a));
        snprintf(desc, desc_len, "target remote %s:%u", a, ntohs(w.in.sin_port));
    }
    return fd;
}
