/* gdbpoke SOCKET PACKET...: a GDB remote protocol client small enough to run in the emulated
 * host (which has no gdb): connects to minivmm's --gdb (unix:SOCKET, or tcp:PORT), sends each packet and
 * prints "PACKET => REPLY" per line, for a boot case to check. c, s and vCont are sent
 * without waiting: their reply is a stop, which "wait" prints when it comes; "^C" sends the
 * interrupt byte (0x03) and prints the stop it brings; "sleep:N" waits N seconds; k has no
 * reply. Exits 1 when the stub goes away or 120 s pass without a reply. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd;

static int get(void)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    unsigned char c;
    if (poll(&p, 1, 120000) <= 0 || read(fd, &c, 1) != 1) {
        fprintf(stderr, "gdbpoke: no reply from the stub\n");
        exit(1);
    }
    return c;
}

static void put(const char *s, size_t n)
{
    if (write(fd, s, n) != (ssize_t)n) {
        perror("gdbpoke: write");
        exit(1);
    }
}

/* One packet's data, acked; what comes before its '$' (acks) is skipped. */
static void reply(char *buf, size_t size)
{
    int c;
    while ((c = get()) != '$')
        ;
    size_t n = 0;
    while ((c = get()) != '#')
        if (n + 1 < size)
            buf[n++] = (char)c;
    buf[n] = '\0';
    get();
    get();
    /* The ack; after D or k the stub may have closed already, which is no error. */
    ssize_t r = write(fd, "+", 1);
    (void)r;
}

static void send_packet(const char *data)
{
    unsigned sum = 0;
    for (const char *p = data; *p; p++)
        sum += (unsigned char)*p;
    char frame[8192];
    int n = snprintf(frame, sizeof(frame), "$%s#%02x", data, sum & 0xff);
    put(frame, (size_t)n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gdbpoke SOCKET PACKET...\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* SOCKET: a unix socket's path, or tcp:PORT on the loopback (an L1 kernel without
     * unix sockets). */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool tcp = strncmp(argv[1], "tcp:", 4) == 0;
    if (tcp)
        in.sin_port = htons((uint16_t)atoi(argv[1] + 4));
    else
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", argv[1]);
    for (int tries = 0;; tries++) {   /* minivmm may still be building the VM */
        fd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
        if (tcp ? connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0
                : connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
            break;
        if (tries == 600) {
            perror("gdbpoke: connect");
            return 1;
        }
        close(fd);
        usleep(100000);
    }
    static char buf[65536];
    for (int i = 2; i < argc; i++) {
        const char *pk = argv[i];
        if (strncmp(pk, "sleep:", 6) == 0) {
            sleep((unsigned)atoi(pk + 6));
            continue;
        }
        if (strcmp(pk, "^C") == 0)
            put("\003", 1);
        else if (strcmp(pk, "wait") != 0)
            send_packet(pk);
        if (pk[0] == 'k')
            break;
        if (pk[0] == 'c' || pk[0] == 's' || strncmp(pk, "vCont;", 6) == 0) {
            printf("%s\n", pk);
            continue;
        }
        reply(buf, sizeof(buf));
        printf("%s => %s\n", pk, buf);
        fflush(stdout);
    }
    return 0;
}
