/* A whole virtio-vsock device: per input a fresh machine (1 MiB of RAM) and device, whose
 * listening socket lives in a scratch directory, a driver bring-up of the three queues at
 * fixed places, then what the program says, on the test's thread (virtio_vsock_poll): guest
 * TX packets whose every header field comes from the input (biased towards well-formed ones,
 * so connections get made), RX buffers of any size, host programs that connect and write a
 * CONNECT line (or junk), write, read, half-close or close, listeners on PATH_P, driver
 * resets, generic BAR accesses, and SPECs for --vsock. Input: the whole of it is the program (no memory image:
 * the rings are the harness's, their contents the packets'). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../../devices/virtio_pci.h"
#include "../../devices/virtio_vsock.h"
#include "fuzz_common.h"

#define RAM (1u << 20)
#define QS 64
#define QBASE(q) (0x1000u + (q) * 0x3000u)   /* desc; avail +0x400, used +0x800 */
#define RXBUF 0x10000u
#define RXSTRIDE 0x1100u
#define TXBUF 0x80000u                        /* up to 0x11000 bytes of packet */
#define MAX_OPS 96
#define HOSTS 8                               /* host sockets the program juggles */
#define CID 3

static char dir[64], path[128];

static void remove_dir(void)
{
    rmdir(dir);
}

/* The sockets live on tmpfs where there is one: binding a socket on a journalled file system
 * costs some 300 us, which would be most of an input's time. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof(dir), "/dev/shm/minivmm-fuzz-vsock-XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof(dir), "/tmp/minivmm-fuzz-vsock-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    if (fz_null_fd() < 0)
        abort();
    atexit(remove_dir);
    snprintf(path, sizeof(path), "%s/v", dir);
    return 0;
}

struct rig {
    struct machine *m;
    struct virtio_vsock *v;
    uint64_t bar;
    uint16_t avail[3];
    int host[HOSTS];          /* host program sockets (-1: none) */
    int lfd[2];               /* listeners on PATH_1, PATH_2 */
};

static void put_le(struct machine *m, uint64_t gpa, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++, v >>= 8)
        m->mem.host[gpa + i] = (uint8_t)v;
}

static void offer(struct rig *r, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
                  uint16_t flags)
{
    uint64_t d = QBASE(q) + 16u * i;
    put_le(r->m, d, 8, addr), put_le(r->m, d + 8, 4, len);
    put_le(r->m, d + 12, 2, flags), put_le(r->m, d + 14, 2, 0);
    put_le(r->m, QBASE(q) + 0x400 + 4 + 2 * (r->avail[q] % QS), 2, i);
    put_le(r->m, QBASE(q) + 0x400 + 2, 2, ++r->avail[q]);
}

static void driver_up(struct rig *r)
{
    uint64_t b = r->bar;
    fz_mmio(r->m, b + 0x14, 1, true, 0), fz_mmio(r->m, b + 0x14, 1, true, 3);
    fz_mmio(r->m, b + 0x08, 4, true, 1), fz_mmio(r->m, b + 0x0c, 4, true, 1);
    fz_mmio(r->m, b + 0x14, 1, true, 0xb);
    for (unsigned q = 0; q < 3; q++) {
        r->avail[q] = 0;
        memset(r->m->mem.host + QBASE(q), 0, 0x3000);
        fz_mmio(r->m, b + 0x16, 2, true, q), fz_mmio(r->m, b + 0x18, 2, true, QS);
        fz_mmio(r->m, b + 0x20, 4, true, QBASE(q));
        fz_mmio(r->m, b + 0x28, 4, true, QBASE(q) + 0x400);
        fz_mmio(r->m, b + 0x30, 4, true, QBASE(q) + 0x800);
        fz_mmio(r->m, b + 0x1c, 2, true, 1);
    }
    fz_mmio(r->m, b + 0x14, 1, true, 0xf);
}

/* A TX packet: mostly well-formed fields, any of them replaced from the input. */
static void guest_tx(struct rig *r, struct fz *in)
{
    uint8_t how = fz_u8(in);
    uint8_t *h = r->m->mem.host + TXBUF;
    uint32_t len = (how & 0x10) ? (uint32_t)(fz_small(in) * 97 % 0x10100) : fz_u8(in);
    put_le(r->m, TXBUF, 8, (how & 1) ? fz_u64(in) : CID);
    put_le(r->m, TXBUF + 8, 8, (how & 2) ? fz_u64(in) : 2);
    uint8_t gp = fz_u8(in);   /* guest port: those host programs ask for, or its own */
    put_le(r->m, TXBUF + 16, 4, gp < 0x80 ? gp % 3 : 1000u + gp % 4);
    uint8_t hp = fz_u8(in);                                          /* host port */
    put_le(r->m, TXBUF + 20, 4, hp < 0x80 ? hp % 3 : (1u << 30) + hp % 8);
    put_le(r->m, TXBUF + 24, 4, len);
    put_le(r->m, TXBUF + 28, 2, (how & 4) ? fz_u16(in) : 1);
    put_le(r->m, TXBUF + 30, 2, fz_u8(in) % 9);
    put_le(r->m, TXBUF + 32, 4, fz_u8(in) & 3);
    put_le(r->m, TXBUF + 36, 4, (how & 8) ? fz_u32(in) : 65536);
    put_le(r->m, TXBUF + 40, 4, fz_u32(in));
    for (uint32_t i = 0; i < len && i < 0x10100; i++)
        h[44 + i] = (uint8_t)(i + how);
    /* The chain holds the header and len bytes, or what the input says. */
    uint32_t chain = (how & 0x20) ? (uint32_t)fz_small(in) % 0x10200 : 44 + len;
    offer(r, 1, r->avail[1] % QS, TXBUF, chain, 0);
}

static void host_line(struct rig *r, struct fz *in, unsigned k)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (r->host[k] >= 0)
        close(r->host[k]);
    r->host[k] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connect(r->host[k], (struct sockaddr *)&a, sizeof(a)) != 0)
        return;
    char line[48];
    uint8_t how = fz_u8(in);
    int n;
    if (how < 0xc0) {
        n = snprintf(line, sizeof(line), "CONNECT %u\n", how % 3);
    } else {   /* raw bytes: junk, long, partial lines */
        n = (int)(fz_u8(in) % sizeof(line));
        for (int i = 0; i < n; i++)
            line[i] = (char)fz_u8(in);
    }
    if (send(r->host[k], line, (size_t)n, MSG_NOSIGNAL) < 0)
        return;
}

static void host_op(struct rig *r, struct fz *in, uint8_t op)
{
    static uint8_t buf[0x20000];
    unsigned k = fz_u8(in) % HOSTS;
    switch (op % 5) {
    case 0:
        host_line(r, in, k);
        break;
    case 1:   /* write: a little or a lot (past the socket's buffer) */
        if (r->host[k] >= 0) {
            size_t n = (size_t)fz_small(in) * 131 % sizeof(buf);
            memset(buf, 'h', n);
            if (send(r->host[k], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            }
        }
        break;
    case 2:
        if (r->host[k] >= 0 && recv(r->host[k], buf, sizeof(buf), MSG_DONTWAIT) < 0) {
        }
        break;
    case 3:
        if (r->host[k] >= 0)
            shutdown(r->host[k], fz_u8(in) & 1 ? SHUT_WR : SHUT_RD);
        break;
    default:
        if (r->host[k] >= 0)
            close(r->host[k]);
        r->host[k] = -1;
        break;
    }
}

/* A listener on PATH_1 or PATH_2 (created, or its pending connections taken in). */
static void listener(struct rig *r, unsigned which)
{
    char where[160];
    snprintf(where, sizeof(where), "%s_%u", path, which + 1);
    if (r->lfd[which] < 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, where, strlen(where) + 1);
        r->lfd[which] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        unlink(where);
        if (bind(r->lfd[which], (struct sockaddr *)&a, sizeof(a)) == 0)
            listen(r->lfd[which], 8);
        return;
    }
    for (unsigned k = 0; k < HOSTS; k++) {   /* accepted ones join the host sockets */
        if (r->host[k] >= 0)
            continue;
        r->host[k] = accept4(r->lfd[which], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (r->host[k] < 0)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz in = {data, size};
    struct rig r = {.m = fz_machine_new(RAM, NULL)};
    memset(r.host, -1, sizeof(r.host));
    r.lfd[0] = r.lfd[1] = -1;
    struct vsock_config c = {.cid = CID};
    memcpy(c.uds, path, strlen(path) + 1);
    struct mvm_err e = {0};
    if (virtio_vsock_create(&r.v, r.m, &c, &e) != 0)
        abort();
    virtio_vsock_set_timeouts(r.v, 0, 1);   /* deadlines pass within an input */
    struct pci_device *pdev = &virtio_vsock_dev(r.v)->pci;
    pci_config_write(r.m->pci, 0, (uint32_t)pdev->slot << 3, 4, 2, 2);
    r.bar = fz_bar(pdev);
    driver_up(&r);
    for (unsigned i = 0; i < MAX_OPS && in.n; i++) {
        uint8_t op = fz_u8(&in);
        switch (op & 7) {
        case 0:
            guest_tx(&r, &in);
            break;
        case 1: {   /* RX buffers: n of one size (tiny ones too) */
            unsigned n = fz_u8(&in) % 16 + 1;
            uint32_t len = (op & 0x80) ? fz_u16(&in) % RXSTRIDE : 4096 + 44;
            for (unsigned j = 0; j < n; j++) {
                uint16_t d = r.avail[0] % QS;
                offer(&r, 0, d, RXBUF + RXSTRIDE * d, len, 2);
            }
            break;
        }
        case 2:
            host_op(&r, &in, op >> 3);
            break;
        case 3:
            listener(&r, (op >> 3) & 1);
            break;
        case 4:
            driver_up(&r);   /* a reset and a new driver */
            break;
        case 5:
            fz_virtio_op(r.m, pdev, &in);
            break;
        case 6: {   /* a SPEC, as --vsock and the library take it */
            char spec[160];
            size_t n = fz_u8(&in) % sizeof(spec);
            for (size_t j = 0; j < n; j++)
                spec[j] = (char)fz_u8(&in);
            spec[n] = 0;
            struct vsock_config pc;
            struct mvm_err pe = {0};
            if (vsock_parse(spec, &pc, &pe) == 0 && (pc.cid < 3 || pc.cid >= 0xffffffffULL))
                abort();
            break;
        }
        default:
            break;
        }
        virtio_vsock_poll(r.v, 0);
    }
    virtio_vsock_poll(r.v, 0);
    struct vsock_stats s;
    virtio_vsock_stats(r.v, &s);
    if (s.buffered > (uint64_t)VSOCK_BUF_ALLOC * s.conns || s.conns > VSOCK_MAX_CONNS)
        abort();
    for (unsigned k = 0; k < HOSTS; k++)
        if (r.host[k] >= 0)
            close(r.host[k]);
    for (unsigned w = 0; w < 2; w++) {
        if (r.lfd[w] >= 0) {
            char where[160];
            snprintf(where, sizeof(where), "%s_%u", path, w + 1);
            close(r.lfd[w]);
            unlink(where);
        }
    }
    virtio_vsock_destroy(r.v);
    fz_machine_free(r.m);
    return 0;
}
