/* gdbpoke SOCKET PACKET...: a GDB remote protocol client small enough to run in the emulated
 * host (which has no gdb): connects to minivmm's --gdb (unix:SOCKET, or tcp:PORT), sends each packet and
 * prints "PACKET => REPLY" per line, for a boot case to check. c, s and vCont are sent
 * without waiting: their reply is a stop, which "wait" prints when it comes; "^C" sends the
 * interrupt byte (0x03) and prints the stop it brings; "sleep:N" waits N seconds; k has no
 * reply. "{name}" in a packet is the address of the kernel's symbol name, in hex, from the
 * ELF vmlinux GDBPOKE_ELF names (either byte order); "{name+N}" adds N. Exits 1 when the stub
 * goes away or 120 s pass without a reply, 2 on a symbol it cannot find. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* ---- symbols: the section headers, .symtab and its string table, in the file's order ---- */

static const uint8_t *elf;
static size_t elf_size;
static bool elf_be;

static uint64_t num(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[elf_be ? i : n - 1 - i] << (8 * (n - 1 - i));
    return v;
}

static uint64_t symbol(const char *name)
{
    if (!elf) {
        const char *path = getenv("GDBPOKE_ELF");
        int f = path ? open(path, O_RDONLY) : -1;
        struct stat st;
        if (f < 0 || fstat(f, &st) != 0 || st.st_size < 64) {
            fprintf(stderr, "gdbpoke: {%s}: set GDBPOKE_ELF to the vmlinux\n", name);
            exit(2);
        }
        elf_size = (size_t)st.st_size;
        elf = mmap(NULL, elf_size, PROT_READ, MAP_PRIVATE, f, 0);
        elf_be = elf[5] == 2;
    }
    uint64_t shoff = num(elf + 0x28, 8), shentsize = num(elf + 0x3a, 2), shnum = num(elf + 0x3c, 2);
    for (uint64_t i = 0; i < shnum && shoff + (i + 1) * shentsize <= elf_size; i++) {
        const uint8_t *sh = elf + shoff + i * shentsize;
        if (num(sh + 4, 4) != 2)   /* SHT_SYMTAB */
            continue;
        uint64_t off = num(sh + 0x18, 8), size = num(sh + 0x20, 8), link = num(sh + 0x28, 4);
        const uint8_t *str = elf + shoff + link * shentsize;
        uint64_t stroff = num(str + 0x18, 8);
        for (uint64_t at = off; at + 24 <= off + size && at + 24 <= elf_size; at += 24) {
            uint64_t n = stroff + num(elf + at, 4);
            if (n < elf_size && strncmp((const char *)elf + n, name, elf_size - n) == 0)
                return num(elf + at + 8, 8);
        }
    }
    fprintf(stderr, "gdbpoke: no symbol %s in $GDBPOKE_ELF\n", name);
    exit(2);
}

/* "{name}" and "{name+N}" replaced by the address, in hex. */
static void expand(const char *in, char *out, size_t size)
{
    size_t n = 0;
    while (*in && n + 20 < size) {
        const char *close = *in == '{' ? strchr(in, '}') : NULL;
        if (!close) {
            out[n++] = *in++;
            continue;
        }
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(close - in - 1), in + 1);
        char *plus = strchr(name, '+');
        uint64_t add = plus ? strtoull(plus + 1, NULL, 0) : 0;
        if (plus)
            *plus = '\0';
        n += (size_t)snprintf(out + n, size - n, "%llx", (unsigned long long)(symbol(name) + add));
        in = close + 1;
    }
    out[n] = '\0';
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
        char pk[4096];
        expand(argv[i], pk, sizeof(pk));
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
