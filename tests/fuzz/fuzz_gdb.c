/* The GDB remote protocol session (vmm/gdb_proto.c) fed what a debugger, or anything on its
 * socket, might send. Input:
 *
 *     cfg[1] seed[1] bytes...
 *
 * cfg bits 0-2 pick the vCPU count (0, 1, 2, 3, 4, 256, 257, 1000: the session must clamp),
 * bit 3 the byte order, bits 4-7 how the fake target answers (errors, short or zero-length
 * memory transfers, an errno past what "Enn" holds). The bytes go to the session in pieces
 * whose sizes, and the stops, exits and drains of out between them, come from a small
 * generator seeded with seed, so a seed file reads as the protocol text it is.
 *
 * The session is its own allocation (ASan sees any access past its buffers), and so is out.
 * Aborts on: out past its size or a frame in it that is not "$data#xx" with the right
 * checksum and at most GDB_PACKET_MAX bytes of data; no progress with an empty out; a target
 * call for a vCPU that does not exist, a memory range longer than a packet carries or
 * wrapping past 2^64, a resume while running, an interrupt while stopped, any call once the
 * session ended; the session's idea of running differing from the target's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/gdb_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
    unsigned ncpus, seen;   /* as told to the session; as the session must see it */
    uint8_t mode;
    bool running, interrupted, ended;
};

static void check_cpu(const struct fake *f, unsigned cpu)
{
    if (f->ended || cpu >= f->seen)
        abort();
}

/* A memory range the session may ask for: 1 to max bytes, not wrapping. */
static void check_range(const struct fake *f, uint64_t addr, size_t len, size_t max)
{
    if (f->ended || f->running || len == 0 || len > max || addr + (len - 1) < addr)
        abort();
}

/* What a target call returns, by mode: success, or the errno it picks. */
static int answer(const struct fake *f, unsigned bit)
{
    if (!((f->mode >> bit) & 1))
        return 0;
    return f->mode & 0x80 ? -100000 : -EIO;
}

static unsigned f_ncpus(void *t)
{
    return ((struct fake *)t)->ncpus;
}

static int f_read_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct fake *f = t;
    check_cpu(f, cpu);
    memset(r, 0x5a, sizeof(*r));
    return answer(f, 4);
}

static int f_write_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct fake *f = t;
    check_cpu(f, cpu);
    (void)r;
    return answer(f, 4);
}

/* Every byte of buf is written (ASan checks the session's buffer holds len); the count
 * returned is all, half, none, an errno, or (a buggy target) more than asked. */
static long mem_result(const struct fake *f, uint64_t addr, size_t len)
{
    switch ((f->mode >> 5) & 3) {
    case 0: return (long)len;
    case 1: return (long)(len / 2);
    case 2: return addr & 1 ? -EFAULT : 0;
    default: return addr & 1 ? answer(f, 7) - 1 : (long)len + 7;
    }
}

static long f_read_mem(void *t, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
    struct fake *f = t;
    check_cpu(f, cpu);
    check_range(f, addr, len, GDB_PACKET_MAX / 2);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(addr + i);
    return mem_result(f, addr, len);
}

static long f_write_mem(void *t, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
    struct fake *f = t;
    check_cpu(f, cpu);
    check_range(f, addr, len, GDB_PACKET_MAX);
    static uint8_t guest[GDB_PACKET_MAX];
    memcpy(guest, buf, len);   /* every byte read: ASan checks the session's buffer */
    return mem_result(f, addr, len);
}

static int f_set_breakpoint(void *t, uint64_t addr, bool on)
{
    struct fake *f = t;
    if (f->ended || f->running)
        abort();
    return (addr & 4) && on ? -ENOSPC : answer(f, 6);
}

static void f_resume(void *t, const enum gdb_action *per_cpu)
{
    struct fake *f = t;
    bool any = false;
    if (f->ended || f->running)
        abort();
    for (unsigned i = 0; i < GDB_MAX_CPUS; i++) {
        if (per_cpu[i] != GDB_STOP && per_cpu[i] != GDB_STEP && per_cpu[i] != GDB_CONTINUE)
            abort();
        if (i >= f->seen && per_cpu[i] != GDB_STOP)
            abort();
        any |= per_cpu[i] != GDB_STOP;
    }
    if (!any)
        abort();   /* a resume that runs nothing would never stop */
    f->running = true;
    f->interrupted = false;
}

static void f_interrupt(void *t)
{
    struct fake *f = t;
    if (f->ended || !f->running || f->interrupted)
        abort();
    f->interrupted = true;
}

static void f_end(void *t)
{
    struct fake *f = t;
    if (f->ended || f->running)
        abort();
    f->ended = true;
}

static const struct gdb_target_ops ops = {
    .ncpus = f_ncpus, .read_regs = f_read_regs, .write_regs = f_write_regs,
    .read_mem = f_read_mem, .write_mem = f_write_mem, .set_breakpoint = f_set_breakpoint,
    .resume = f_resume, .interrupt = f_interrupt, .detach = f_end, .kill = f_end,
};

/* Whatever the session sent: acks, naks and whole, well-formed frames. */
static void check_out(const struct gdb_out *out)
{
    const uint8_t *p = out->buf, *end = out->buf + out->len;
    if (out->len > GDB_OUT_SIZE)
        abort();
    while (p < end) {
        if (*p == '+' || *p == '-') {
            p++;
            continue;
        }
        if (*p++ != '$')
            abort();
        const uint8_t *hash = memchr(p, '#', (size_t)(end - p));
        if (!hash || end - hash < 3 || hash - p > GDB_PACKET_MAX ||
            memchr(p, '$', (size_t)(hash - p)))
            abort();
        uint8_t sum = 0;
        for (; p < hash; p++)
            sum = (uint8_t)(sum + *p);
        static const char hex[] = "0123456789abcdef";
        if (hash[1] != hex[sum >> 4] || hash[2] != hex[sum & 15])
            abort();
        p = hash + 3;
    }
}

static uint32_t next(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 16;
}

/* Between pieces, as the caller's loop might: the target stops (or the VM ends) now and
 * then; out is drained, or left to fill. */
static void between(struct gdb_session *s, struct fake *f, struct gdb_out *out, uint32_t *rnd)
{
    uint32_t r = next(rnd);
    if (f->running && (r & 3) == 0) {
        f->running = false;
        gdb_session_stopped(s, (r >> 2) % (f->seen + 1), (enum gdb_stop_reason)((r >> 8) % 3),
                            out);
    } else if (f->running && (r & 0x3f) == 1) {
        f->running = false;
        f->ended = true;
        gdb_session_exited(s, r >> 6, out);
    } else if (!f->running && (r & 0x1f) == 2) {
        gdb_session_stopped(s, r >> 5, GDB_STOPPED_TRAP, out);   /* only recorded */
    }
    check_out(out);
    if (gdb_session_running(s) != f->running)
        abort();
    if ((r >> 12) % 4)
        out->len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned counts[8] = {0, 1, 2, 3, 4, 256, 257, 1000};
    if (size < 2)
        return 0;
    struct fake f = {.ncpus = counts[data[0] & 7], .mode = data[0]};
    f.seen = f.ncpus == 0 ? 1 : f.ncpus > GDB_MAX_CPUS ? GDB_MAX_CPUS : f.ncpus;
    uint32_t rnd = data[1];
    struct gdb_session *s = malloc(sizeof(*s));
    struct gdb_out *out = malloc(sizeof(*out));
    if (!s || !out)
        abort();
    gdb_session_init(s, &ops, &f, data[0] & 8);
    out->len = 0;
    for (size_t at = 2; at < size;) {
        size_t piece = 1 + next(&rnd) % 64;
        if (piece > size - at)
            piece = size - at;
        bool empty = out->len == 0;
        size_t took = gdb_session_input(s, data + at, piece, out);
        if (took > piece || (empty && took == 0))
            abort();
        at += took;
        between(s, &f, out, &rnd);
        if (gdb_session_ended(s) != f.ended)
            abort();
    }
    free(out);
    free(s);
    return 0;
}
