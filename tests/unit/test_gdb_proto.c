/* The GDB remote protocol session (vmm/gdb_proto.c) at the wire: framing, checksums and
 * escapes, registers in both byte orders at offsets written out from gdb's layout, memory,
 * breakpoints, and input that must be refused or held back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gdb_client.h"

/* ---- framing ---- */

static void test_framing(void **state)
{
    (void)state;
    struct env *e = env_new(2, false);
    assert_string_equal(feed(e, "$?#3f"), "+$T05thread:01;#07");
    /* A wrong checksum, or one that is not hex: a nak, and nothing done. */
    assert_string_equal(feed(e, "$g#66"), "-");
    assert_string_equal(feed(e, "$g#6x"), "-");
    assert_string_equal(feed(e, "$g#G7"), "-");
    assert_int_equal(e->f.calls, 0);
    /* Byte by byte, with acks and noise between packets. */
    const char *p = "++x\r\n$?#3f";
    for (; p[1]; p++)
        assert_string_equal(feed_raw(e, p, 1), "");
    assert_string_equal(feed_raw(e, p, 1), "+$T05thread:01;#07");
    /* A '$' inside a packet starts it over: only the second one counts. */
    assert_string_equal(feed(e, "$m10$?#3f"), "+$T05thread:01;#07");
    assert_int_equal(e->f.calls, 0);
    /* '-' asks for the last reply again. */
    assert_string_equal(feed(e, "-"), "$T05thread:01;#07");
    /* The empty packet is an unknown one. */
    assert_string_equal(cmd(e, ""), "");
    free(e);
}

/* X data escaped with '}': 0x7d, '#', '$', '*' and 0x03 travel as '}' and the byte ^ 0x20;
 * the checksum covers the escaped bytes. */
static void test_escapes(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    const char raw[] = "X1000,5:}]}\x03}\x04}\x0a\x03";
    assert_string_equal(cmd_n(e, raw, sizeof(raw) - 1), "OK");
    assert_int_equal(e->f.writes, 1);
    assert_int_equal(e->f.last_len, 5);
    assert_memory_equal(e->f.mem, "\x7d#$*\x03", 5);
    /* An escape with nothing after it: refused, nothing written. */
    assert_string_equal(cmd(e, "X1000,1:}"), "E22");
    assert_string_equal(cmd(e, "X1000,0:}"), "E22");
    assert_int_equal(e->f.writes, 1);
    /* The length must be that of the unescaped data. */
    assert_string_equal(cmd_n(e, raw, sizeof(raw) - 2), "E22");
    assert_int_equal(e->f.writes, 1);
    /* gdb's probe for X. */
    assert_string_equal(cmd(e, "X1000,0:"), "OK");
    assert_int_equal(e->f.writes, 1);
    free(e);
}

static void test_no_ack_mode(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    assert_string_equal(cmd(e, "QStartNoAckMode"), "OK");
    assert_string_equal(feed(e, "$?#3f"), "$T05thread:01;#07");
    assert_string_equal(feed(e, "$?#00"), "");   /* dropped, no nak */
    assert_string_equal(feed(e, "-"), "");       /* and no retransmission */
    free(e);
}

/* ---- registers ---- */

/* A register set where every byte tells where it came from. */
static void known_regs(struct gdb_regs *r)
{
    for (unsigned i = 0; i < 32; i++) {
        r->gpr[i] = 0x0102030405060700ULL | i;
        r->fpr[i] = 0x1112131415161700ULL | i;
    }
    r->pc = 0xc000000000001234ULL;
    r->msr = 0x8000000000001033ULL;
    r->cr = 0x24004482;
    r->lr = 0xc0000000000a0b0cULL;
    r->ctr = 0x00000000deadbeefULL;
    r->xer = 0x20000000;
    r->fpscr = 0x82004000;
}

/* Field by field: the struct's tail padding is nobody's. */
static void assert_regs_equal(const struct gdb_regs *a, const struct gdb_regs *b)
{
    assert_memory_equal(a->gpr, b->gpr, sizeof(a->gpr));
    assert_memory_equal(a->fpr, b->fpr, sizeof(a->fpr));
    assert_int_equal(a->pc, b->pc);
    assert_int_equal(a->msr, b->msr);
    assert_int_equal(a->lr, b->lr);
    assert_int_equal(a->ctr, b->ctr);
    assert_int_equal(a->cr, b->cr);
    assert_int_equal(a->xer, b->xer);
    assert_int_equal(a->fpscr, b->fpscr);
}

/* size bytes of v in hex, in the byte order asked. */
static void hex_of(char *dst, uint64_t v, unsigned size, bool be)
{
    char two[3];
    for (unsigned i = 0; i < size; i++) {
        sprintf(two, "%02x", (unsigned)(v >> (8 * (be ? size - 1 - i : i))) & 0xff);
        memcpy(dst + 2 * i, two, 2);
    }
}

/* 'g' as gdb lays it out: r0-r31 at byte 0, f0-f31 at 256, pc 512, msr 520, cr 528 (4),
 * lr 532, ctr 540, xer 548 (4), fpscr 552 (4); 556 bytes. */
static void expected_g(char *g, const struct gdb_regs *r, bool be)
{
    for (unsigned i = 0; i < 32; i++) {
        hex_of(g + 2 * 8 * i, r->gpr[i], 8, be);
        hex_of(g + 2 * (256 + 8 * i), r->fpr[i], 8, be);
    }
    hex_of(g + 2 * 512, r->pc, 8, be);
    hex_of(g + 2 * 520, r->msr, 8, be);
    hex_of(g + 2 * 528, r->cr, 4, be);
    hex_of(g + 2 * 532, r->lr, 8, be);
    hex_of(g + 2 * 540, r->ctr, 8, be);
    hex_of(g + 2 * 548, r->xer, 4, be);
    hex_of(g + 2 * 552, r->fpscr, 4, be);
    g[2 * 556] = '\0';
}

static void check_g_order(bool be)
{
    struct env *e = env_new(2, be);
    char want[2 * 556 + 1];
    known_regs(&e->f.regs[1]);
    expected_g(want, &e->f.regs[1], be);
    assert_string_equal(cmd(e, "Hg2"), "OK");
    assert_string_equal(cmd(e, "g"), want);
    assert_int_equal(e->f.last_cpu, 1);
    /* pc is register 0x40, cr 0x42 (4 bytes), fpscr 0x46, f0 0x20. */
    assert_string_equal(cmd(e, "p40"), be ? "c000000000001234" : "34120000000000c0");
    assert_string_equal(cmd(e, "p42"), be ? "24004482" : "82440024");
    assert_string_equal(cmd(e, "p46"), be ? "82004000" : "00400082");
    assert_string_equal(cmd(e, "p20"), be ? "1112131415161700" : "0017161514131211");
    assert_string_equal(cmd(e, "p45"), be ? "20000000" : "00000020");
    /* G takes the same layout back, whole. */
    struct gdb_regs r = e->f.regs[1];
    memset(&e->f.regs[1], 0, sizeof(r));
    char pkt[2 + 2 * 556];
    sprintf(pkt, "G%s", want);
    assert_string_equal(cmd(e, pkt), "OK");
    assert_regs_equal(&e->f.regs[1], &r);
    /* P sets one register and keeps the others. */
    assert_string_equal(cmd(e, be ? "P40=00000000000a0b0c" : "P40=0c0b0a0000000000"), "OK");
    assert_int_equal(e->f.regs[1].pc, 0xa0b0c);
    assert_int_equal(e->f.regs[1].msr, r.msr);
    assert_string_equal(cmd(e, be ? "P42=11223344" : "P42=44332211"), "OK");
    assert_int_equal(e->f.regs[1].cr, 0x11223344);
    free(e);
}

static void test_registers_le(void **state)
{
    (void)state;
    check_g_order(false);
}

static void test_registers_be(void **state)
{
    (void)state;
    check_g_order(true);
}

static void test_register_errors(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    char pkt[2 + 2 * 560];
    assert_string_equal(cmd(e, "p47"), "E22");         /* past fpscr */
    assert_string_equal(cmd(e, "pffffffffffffffffff"), "E22");
    assert_string_equal(cmd(e, "p"), "E22");
    assert_string_equal(cmd(e, "p40x"), "E22");
    assert_string_equal(cmd(e, "P40=1234"), "E22");   /* 2 bytes for an 8-byte register */
    assert_string_equal(cmd(e, "P42=0011223344"), "E22");
    assert_string_equal(cmd(e, "P47=00000000"), "E22");
    assert_int_equal(e->f.calls, 0);
    /* G of any other length, or not hex. */
    memset(pkt, '0', sizeof(pkt));
    pkt[0] = 'G';
    pkt[1 + 2 * 555] = '\0';
    assert_string_equal(cmd(e, pkt), "E22");
    pkt[1 + 2 * 555] = '0';
    pkt[1 + 2 * 557] = '\0';
    assert_string_equal(cmd(e, pkt), "E22");
    pkt[1 + 2 * 556] = '\0';
    pkt[100] = 'x';
    assert_string_equal(cmd(e, pkt), "E22");
    assert_int_equal(e->f.calls, 0);
    /* The target's errno. */
    e->f.regs_err = -EIO;
    assert_string_equal(cmd(e, "g"), "E05");
    assert_string_equal(cmd(e, "p1"), "E05");
    e->f.regs_err = -ESRCH;
    assert_string_equal(cmd(e, "P1=0000000000000000"), "E03");
    /* A target that fills only some registers: the rest read as zero, not as junk (the
     * stack under them dirtied first by a big read). */
    e->f.regs_err = 0;
    e->f.regs_partial = true;
    e->f.regs[0].gpr[0] = 0xff;
    memset(e->f.mem, 0xa5, sizeof(e->f.mem));
    cmd(e, "m1000,800");
    memset(pkt, '0', 2 * 556);
    memcpy(pkt, "ff", 2);
    pkt[2 * 556] = '\0';
    assert_string_equal(cmd(e, "g"), pkt);
    free(e);
}

/* ---- memory and breakpoints ---- */

static void test_memory(void **state)
{
    (void)state;
    struct env *e = env_new(2, true);
    for (unsigned i = 0; i < MEM_SIZE; i++)
        e->f.mem[i] = (uint8_t)i;
    assert_string_equal(cmd(e, "m1004,4"), "04050607");
    assert_int_equal(e->f.last_cpu, 0);
    assert_string_equal(cmd(e, "Hg2"), "OK");
    assert_string_equal(cmd(e, "m00001ffe,4"), "feff");   /* the rest is unmapped: short */
    assert_int_equal(e->f.last_cpu, 1);
    assert_int_equal(e->f.last_len, 4);
    assert_string_equal(cmd(e, "m2000,4"), "E14");
    assert_string_equal(cmd(e, "m0,1"), "E14");
    assert_string_equal(cmd(e, "m3000,1"), "E14");
    /* Lengths are capped to what a reply carries, and never wrap past 2^64. */
    const char *big = cmd(e, "m1000,ffffffffffffffff");
    assert_int_equal(e->f.last_len, GDB_PACKET_MAX / 2);
    assert_int_equal(strlen(big), GDB_PACKET_MAX);
    cmd(e, "mfffffffffffffffe,10");
    assert_int_equal(e->f.last_addr, 0xfffffffffffffffeULL);
    assert_int_equal(e->f.last_len, 2);
    unsigned reads = e->f.reads;
    assert_string_equal(cmd(e, "m1000"), "E22");
    assert_string_equal(cmd(e, "m1000,"), "E22");
    assert_string_equal(cmd(e, "m,4"), "E22");
    assert_string_equal(cmd(e, "m10000000000000000,4"), "E22");   /* 17 digits */
    assert_string_equal(cmd(e, "m1000,4,"), "E22");
    assert_int_equal(e->f.reads, reads);
    /* M: length and data must agree. */
    assert_string_equal(cmd(e, "M1100,3:a1b2c3"), "OK");
    assert_memory_equal(e->f.mem + 0x100, "\xa1\xb2\xc3", 3);
    assert_string_equal(cmd(e, "M1100,2:a1b2c3"), "E22");
    assert_string_equal(cmd(e, "M1100,3:a1b2"), "E22");
    assert_string_equal(cmd(e, "M1100,1:zz"), "E22");
    assert_int_equal(e->f.writes, 1);
    assert_string_equal(cmd(e, "M1fff,2:0102"), "E14");   /* half written is a failure */
    assert_string_equal(cmd(e, "M3000,1:01"), "E14");
    assert_string_equal(cmd(e, "M0,1:01"), "E14");
    free(e);
}

static void test_breakpoints(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    assert_string_equal(cmd(e, "Z0,c000000000001000,4"), "OK");
    assert_true(e->f.bp_on);
    assert_int_equal(e->f.bp_addr, 0xc000000000001000ULL);
    assert_string_equal(cmd(e, "z0,c000000000001000,4"), "OK");
    assert_false(e->f.bp_on);
    assert_int_equal(e->f.bps, 2);
    e->f.bp_err = -ENOSPC;
    assert_string_equal(cmd(e, "Z0,2000,4"), "E28");
    /* Hardware breakpoints and watchpoints: unsupported, said with an empty reply. */
    assert_string_equal(cmd(e, "Z1,2000,4"), "");
    assert_string_equal(cmd(e, "Z2,2000,8"), "");
    assert_string_equal(cmd(e, "z3,2000,8"), "");
    assert_string_equal(cmd(e, "Z4,2000,8"), "");
    /* A kind other than 4, or a malformed one. */
    assert_string_equal(cmd(e, "Z0,2000,2"), "E22");
    assert_string_equal(cmd(e, "Z0,2000"), "E22");
    assert_string_equal(cmd(e, "Z0,2000,4;X1,0"), "E22");
    assert_int_equal(e->f.bps, 3);
    free(e);
}

/* ---- hostile input ---- */

static void test_oversize(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    static char data[GDB_PACKET_MAX + 100];
    memset(data, '0', sizeof(data));
    memcpy(data, "M1000,800:", 10);
    assert_string_equal(cmd_n(e, data, sizeof(data)), "E22");
    assert_string_equal(cmd_n(e, data, GDB_PACKET_MAX), "E22");   /* fits, but 0x800 != */
    assert_int_equal(e->f.calls, 0);
    /* The largest packet taken: exactly GDB_PACKET_MAX bytes. One byte more is refused,
     * whether the packet is whole (length 0xff7) or its first GDB_PACKET_MAX bytes are. */
    memcpy(data, "X1000,ff7:", 10);
    assert_string_equal(cmd_n(e, data, GDB_PACKET_MAX + 1), "E22");
    memcpy(data, "X1000,ff6:", 10);
    assert_string_equal(cmd_n(e, data, GDB_PACKET_MAX + 1), "E22");
    assert_int_equal(e->f.calls, 0);
    assert_string_equal(cmd_n(e, data, GDB_PACKET_MAX), "OK");
    assert_int_equal(e->f.last_len, 0xff6);
    free(e);
}

/* Replies never overflow out: input stops taking bytes until out is drained. */
static void test_backpressure(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    static char many[200 * 6];
    for (unsigned i = 0; i < 200; i++)
        memcpy(many + 6 * i, "$g#67", 6);   /* with a NUL between: noise */
    size_t at = 0, replies = 0, rounds = 0;
    while (at < sizeof(many)) {
        size_t took = gdb_session_input(&e->s, (const uint8_t *)many + at, sizeof(many) - at,
                                        &e->out);
        assert_true(took > 0);
        assert_true(e->out.len <= GDB_OUT_SIZE);
        for (size_t i = 0; i < e->out.len; i++)
            replies += e->out.buf[i] == '$';
        e->out.len = 0;
        at += took;
        rounds++;
    }
    assert_int_equal(replies, 200);
    assert_true(rounds > 1);
    /* With out full, nothing is taken. */
    e->out.len = GDB_OUT_SIZE - 10;
    assert_int_equal(gdb_session_input(&e->s, (const uint8_t *)"$?#3f", 5, &e->out), 0);
    e->out.len = 0;
    /* A stop reply that finds out full waits for the next input call. */
    cmd_quiet(e, "c");
    e->out.len = GDB_OUT_SIZE - 3;
    gdb_session_stopped(&e->s, 0, GDB_STOPPED_TRAP, &e->out);
    assert_int_equal(e->out.len, GDB_OUT_SIZE - 3);
    assert_int_equal(gdb_session_input(&e->s, NULL, 0, &e->out), 0);
    e->out.len = 0;
    assert_string_equal(feed(e, ""), "$T05thread:01;#07");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_no_ack_mode),
        cmocka_unit_test(test_registers_le),
        cmocka_unit_test(test_registers_be),
        cmocka_unit_test(test_register_errors),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_breakpoints),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_backpressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
