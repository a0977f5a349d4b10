/* A fake target that records every call, and gdb's side of the wire, for the GDB remote
 * protocol's tests (test_gdb_proto.c, test_gdb_control.c): packets are framed here, with
 * checksums computed here, and replies are checked byte for byte. Include after cmocka.h. */
#ifndef MINIVMM_TEST_GDB_CLIENT_H
#define MINIVMM_TEST_GDB_CLIENT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/gdb_proto.h"

/* Each test file uses some of the helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- the fake target ---- */

#define MEM_BASE 0x1000u
#define MEM_SIZE 0x1000u

struct fake {
    unsigned ncpus;
    struct gdb_regs regs[4];
    int regs_err, bp_err;
    bool regs_partial;                /* read_regs fills r0 alone */
    uint8_t mem[MEM_SIZE];            /* guest virtual MEM_BASE.., the only mapped range */
    unsigned calls;                   /* every call but ncpus() */
    unsigned reads, writes, reg_reads, reg_writes, interrupts, detaches, kills, resumes;
    unsigned last_cpu;                /* of the last register or memory call */
    uint64_t last_addr;
    size_t last_len;
    uint64_t bp_addr;
    bool bp_on;
    unsigned bps;
    enum gdb_action act[GDB_MAX_CPUS];
    struct gdb_session *stop_in_resume;   /* set: resume() reports a stop at once */
    struct gdb_out *stop_out;
};

static unsigned f_ncpus(void *t)
{
    return ((struct fake *)t)->ncpus;
}

static int f_read_regs(void *t, unsigned cpu, struct gdb_regs *r)
{
    struct fake *f = t;
    f->calls++, f->reg_reads++, f->last_cpu = cpu;
    if (f->regs_partial)
        r->gpr[0] = f->regs[cpu].gpr[0];
    else
        *r = f->regs[cpu];
    return f->regs_err;
}

static int f_write_regs(void *t, unsigned cpu, const struct gdb_regs *r)
{
    struct fake *f = t;
    f->calls++, f->reg_writes++, f->last_cpu = cpu;
    if (!f->regs_err)
        f->regs[cpu] = *r;
    return f->regs_err;
}

/* What of [addr, addr + len) lies in the mapped range from its start; 0x3000.. is a hole
 * the target reports as "0 bytes done" rather than an errno. */
static long mapped(uint64_t addr, size_t len)
{
    if (addr >= 0x3000 && addr < 0x4000)
        return 0;
    if (addr < MEM_BASE || addr >= MEM_BASE + MEM_SIZE)
        return -EFAULT;
    return (long)(len < MEM_BASE + MEM_SIZE - addr ? len : MEM_BASE + MEM_SIZE - addr);
}

static long f_read_mem(void *t, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
    struct fake *f = t;
    f->calls++, f->reads++, f->last_cpu = cpu, f->last_addr = addr, f->last_len = len;
    long n = mapped(addr, len);
    if (n > 0)
        memcpy(buf, f->mem + (addr - MEM_BASE), (size_t)n);
    return n;
}

static long f_write_mem(void *t, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
    struct fake *f = t;
    f->calls++, f->writes++, f->last_cpu = cpu, f->last_addr = addr, f->last_len = len;
    long n = mapped(addr, len);
    if (n > 0)
        memcpy(f->mem + (addr - MEM_BASE), buf, (size_t)n);
    return n;
}

static int f_set_breakpoint(void *t, uint64_t addr, bool on)
{
    struct fake *f = t;
    f->calls++, f->bps++, f->bp_addr = addr, f->bp_on = on;
    return f->bp_err;
}

static void f_resume(void *t, const enum gdb_action *per_cpu)
{
    struct fake *f = t;
    f->calls++, f->resumes++;
    memcpy(f->act, per_cpu, sizeof(f->act));
    if (f->stop_in_resume)
        gdb_session_stopped(f->stop_in_resume, 0, GDB_STOPPED_TRAP, f->stop_out);
}

static void f_interrupt(void *t)
{
    struct fake *f = t;
    f->calls++, f->interrupts++;
}

static void f_detach(void *t)
{
    struct fake *f = t;
    f->calls++, f->detaches++;
}

static void f_kill(void *t)
{
    struct fake *f = t;
    f->calls++, f->kills++;
}

static const struct gdb_target_ops fake_ops = {
    .ncpus = f_ncpus, .read_regs = f_read_regs, .write_regs = f_write_regs,
    .read_mem = f_read_mem, .write_mem = f_write_mem, .set_breakpoint = f_set_breakpoint,
    .resume = f_resume, .interrupt = f_interrupt, .detach = f_detach, .kill = f_kill,
};

/* ---- a session, and gdb's side of the wire ---- */

struct env {
    struct fake f;
    struct gdb_session s;
    struct gdb_out out;
    char text[2 * GDB_OUT_SIZE + 1];
};

static struct env *env_new(unsigned ncpus, bool big_endian)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->f.ncpus = ncpus;
    gdb_session_init(&e->s, &fake_ops, &e->f, big_endian);
    return e;
}

/* Feeds raw bytes, all of them taken; returns what the session sent, as text. */
static const char *feed_raw(struct env *e, const void *bytes, size_t n)
{
    assert_int_equal(gdb_session_input(&e->s, bytes, n, &e->out), n);
    assert_true(e->out.len <= GDB_OUT_SIZE);
    memcpy(e->text, e->out.buf, e->out.len);
    e->text[e->out.len] = '\0';
    e->out.len = 0;
    return e->text;
}

static const char *feed(struct env *e, const char *bytes)
{
    return feed_raw(e, bytes, strlen(bytes));
}

static unsigned sum(const void *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((const uint8_t *)p)[i];
    return s & 0xff;
}

/* "$data#cs" for data of n bytes (raw: escapes are the caller's). */
static size_t frame(char *dst, const void *data, size_t n)
{
    dst[0] = '$';
    memcpy(dst + 1, data, n);
    return 1 + n + (size_t)sprintf(dst + 1 + n, "#%02x", sum(data, n));
}

/* Sends one packet; checks the ack and one well-framed reply and returns its data. */
static const char *cmd_n(struct env *e, const void *data, size_t n)
{
    static char pkt[3 * GDB_PACKET_MAX];
    const char *got = feed_raw(e, pkt, frame(pkt, data, n));
    size_t len = strlen(got);
    assert_true(len >= 5);
    assert_memory_equal(got, "+$", 2);
    assert_int_equal(got[len - 3], '#');
    unsigned cs;
    assert_int_equal(sscanf(got + len - 2, "%2x", &cs), 1);
    assert_int_equal(cs, sum(got + 2, len - 5));
    e->text[len - 3] = '\0';
    return e->text + 2;
}

static const char *cmd(struct env *e, const char *data)
{
    return cmd_n(e, data, strlen(data));
}

/* Sends a packet that must get only its ack (the resumes). */
static void cmd_quiet(struct env *e, const char *data)
{
    char pkt[256];
    pkt[frame(pkt, data, strlen(data))] = '\0';
    assert_string_equal(feed(e, pkt), "+");
}

#endif
