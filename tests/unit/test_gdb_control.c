/* The GDB remote protocol session (vmm/gdb_proto.c) in control: resuming (c, s, vCont),
 * interrupting, stop replies, threads, qSupported, target.xml, and the session's end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "gdb_client.h"

/* ---- running ---- */

static void assert_actions(const struct fake *f, const enum gdb_action *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(f->act[i], want[i]);
    for (unsigned i = n; i < GDB_MAX_CPUS; i++)
        assert_int_equal(f->act[i], GDB_STOP);
}

static void test_continue_step(void **state)
{
    (void)state;
    struct env *e = env_new(3, false);
    cmd_quiet(e, "c");
    assert_true(gdb_session_running(&e->s));
    assert_actions(&e->f, (enum gdb_action[]){GDB_CONTINUE, GDB_CONTINUE, GDB_CONTINUE}, 3);
    gdb_session_stopped(&e->s, 1, GDB_STOPPED_BREAKPOINT, &e->out);
    assert_false(gdb_session_running(&e->s));
    assert_string_equal(feed(e, ""), "$T05thread:02;#08");   /* no swbreak: not announced */
    /* After a stop the stopped vCPU is the current one, as gdb expects. */
    assert_string_equal(cmd(e, "qC"), "QC02");
    /* s with Hc any: the Hg vCPU steps, the others continue (gdbserver's reading). */
    cmd_quiet(e, "s");
    assert_actions(&e->f, (enum gdb_action[]){GDB_CONTINUE, GDB_STEP, GDB_CONTINUE}, 3);
    gdb_session_stopped(&e->s, 1, GDB_STOPPED_TRAP, &e->out);
    assert_string_equal(feed(e, ""), "$T05thread:02;#08");
    /* With Hc naming a vCPU, it alone moves. */
    assert_string_equal(cmd(e, "Hc3"), "OK");
    cmd_quiet(e, "s");
    assert_actions(&e->f, (enum gdb_action[]){GDB_STOP, GDB_STOP, GDB_STEP}, 3);
    gdb_session_stopped(&e->s, 2, GDB_STOPPED_TRAP, &e->out);
    feed(e, "");
    /* An address sets the PC of the vCPU that moves; a signal is taken and dropped. */
    cmd_quiet(e, "C0b;c0000000000abcd0");
    assert_int_equal(e->f.regs[2].pc, 0xc0000000000abcd0ULL);
    assert_actions(&e->f, (enum gdb_action[]){GDB_STOP, GDB_STOP, GDB_CONTINUE}, 3);
    gdb_session_stopped(&e->s, 2, GDB_STOPPED_TRAP, &e->out);
    feed(e, "");
    assert_string_equal(cmd(e, "Hc-1"), "OK");
    cmd_quiet(e, "S05");
    assert_actions(&e->f, (enum gdb_action[]){GDB_CONTINUE, GDB_CONTINUE, GDB_STEP}, 3);
    gdb_session_stopped(&e->s, 0, GDB_STOPPED_TRAP, &e->out);
    feed(e, "");
    unsigned resumes = e->f.resumes;
    assert_string_equal(cmd(e, "cxyz"), "E22");
    assert_string_equal(cmd(e, "C"), "E22");
    assert_string_equal(cmd(e, "C100"), "E22");
    assert_string_equal(cmd(e, "Hc4"), "E22");
    e->f.regs_err = -EIO;
    assert_string_equal(cmd(e, "c1000"), "E05");   /* the PC could not be set: no resume */
    assert_int_equal(e->f.resumes, resumes);
    assert_false(gdb_session_running(&e->s));
    free(e);
}

/* vCont, actions per thread: each vCPU takes the first action that names it. */
static void check_vcont(unsigned ncpus, const char *pkt, const enum gdb_action *want)
{
    struct env *e = env_new(ncpus, false);
    cmd_quiet(e, pkt);
    assert_int_equal(e->f.resumes, 1);
    assert_actions(&e->f, want, ncpus);
    free(e);
}

static void test_vcont(void **state)
{
    (void)state;
    struct env *e = env_new(2, false);
    assert_string_equal(cmd(e, "vCont?"), "vCont;c;C;s;S;t");
    check_vcont(3, "vCont;s:2;c", (enum gdb_action[]){GDB_CONTINUE, GDB_STEP, GDB_CONTINUE});
    check_vcont(3, "vCont;c;s:2", (enum gdb_action[]){GDB_CONTINUE, GDB_CONTINUE, GDB_CONTINUE});
    check_vcont(3, "vCont;s:1", (enum gdb_action[]){GDB_STEP, GDB_STOP, GDB_STOP});
    check_vcont(3, "vCont;s:03;t:1;c:-1",
                (enum gdb_action[]){GDB_STOP, GDB_CONTINUE, GDB_STEP});
    check_vcont(2, "vCont;C0b:2;S05", (enum gdb_action[]){GDB_STEP, GDB_CONTINUE});
    check_vcont(2, "vCont;c:-1", (enum gdb_action[]){GDB_CONTINUE, GDB_CONTINUE});
    /* Anything malformed, or a thread that is no vCPU: an error, nothing resumed. */
    const char *bad[] = {"vCont", "vCont;", "vCont;x", "vCont;c:3", "vCont;c:0", "vCont;c:",
                         "vCont;s:1;", "vCont;c;;s", "vCont;C", "vCont;C100", "vCont;c:1x",
                         "vCont;r1000,2000"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(cmd(e, bad[i]), "E22");
    assert_string_equal(cmd(e, "vContX"), "");
    assert_int_equal(e->f.resumes, 0);
    /* Nothing to run: the target stays stopped and says so. */
    assert_string_equal(cmd(e, "vCont;t"), "T05thread:01;");
    assert_int_equal(e->f.resumes, 0);
    free(e);
}

/* A target that reports the stop from within resume(): the ack, then the stop reply. */
static void test_stop_within_resume(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    e->f.stop_in_resume = &e->s;
    e->f.stop_out = &e->out;
    assert_string_equal(feed(e, "$vCont;s:1#23"), "+$T05thread:01;#07");
    assert_false(gdb_session_running(&e->s));
    free(e);
}

static void test_interrupt(void **state)
{
    (void)state;
    struct env *e = env_new(2, false);
    assert_string_equal(feed(e, "\x03"), "");   /* stopped already: nothing to do */
    assert_int_equal(e->f.interrupts, 0);
    cmd_quiet(e, "vCont;c");
    /* While running, packets are acked and dropped; 0x03 interrupts, once. */
    unsigned calls = e->f.calls;
    assert_string_equal(feed(e, "$g#67$m1000,4#8e"), "++");
    assert_int_equal(e->f.calls, calls);
    assert_string_equal(feed(e, "\x03\x03"), "");
    assert_int_equal(e->f.interrupts, 1);
    assert_string_equal(feed(e, "-"), "");   /* no old reply resent while running */
    gdb_session_stopped(&e->s, 1, GDB_STOPPED_INTERRUPT, &e->out);
    assert_string_equal(feed(e, ""), "$T02thread:02;#05");
    assert_string_equal(cmd(e, "?"), "T02thread:02;");
    /* A second run takes a second 0x03. */
    cmd_quiet(e, "c");
    feed(e, "\x03");
    assert_int_equal(e->f.interrupts, 2);
    free(e);
}

static void test_exited(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    cmd_quiet(e, "c");
    gdb_session_exited(&e->s, 0x103, &e->out);
    assert_string_equal(feed(e, ""), "$W03#ba");
    assert_true(gdb_session_ended(&e->s));
    free(e);
}

/* ---- threads and queries ---- */

static void test_threads(void **state)
{
    (void)state;
    struct env *e = env_new(3, false);
    assert_string_equal(cmd(e, "qfThreadInfo"), "m01,02,03");
    assert_string_equal(cmd(e, "qsThreadInfo"), "l");
    assert_string_equal(cmd(e, "qC"), "QC01");
    assert_string_equal(cmd(e, "Hg3"), "OK");
    assert_string_equal(cmd(e, "qC"), "QC03");
    cmd(e, "g");
    assert_int_equal(e->f.last_cpu, 2);
    /* Hg0 and Hg-1: the vCPU that stopped. */
    gdb_session_stopped(&e->s, 1, GDB_STOPPED_TRAP, &e->out);   /* not running: recorded */
    assert_string_equal(feed(e, ""), "");
    assert_string_equal(cmd(e, "?"), "T05thread:02;");
    assert_string_equal(cmd(e, "Hg3"), "OK");
    assert_string_equal(cmd(e, "Hg0"), "OK");
    cmd(e, "g");
    assert_int_equal(e->f.last_cpu, 1);
    assert_string_equal(cmd(e, "Hg-1"), "OK");
    assert_string_equal(cmd(e, "qC"), "QC02");
    const char *bad[] = {"Hg4", "Hgx", "Hg", "Hx1", "H", "Hg-2", "Hg100000000", "Hc-1x"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(cmd(e, bad[i]), "E22");
    assert_string_equal(cmd(e, "T3"), "OK");
    assert_string_equal(cmd(e, "T01"), "OK");
    assert_string_equal(cmd(e, "T4"), "E22");
    assert_string_equal(cmd(e, "T0"), "E22");
    assert_string_equal(cmd(e, "T-1"), "E22");
    assert_string_equal(cmd(e, "qAttached"), "1");
    assert_string_equal(cmd(e, "qAttached:1"), "1");
    free(e);
}

static void test_supported(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    const char *want = "PacketSize=1000;qXfer:features:read+;vContSupported+;swbreak+;"
                       "QStartNoAckMode+";
    assert_string_equal(cmd(e, "qSupported:multiprocess+;xswbreak+;swbreak-;swbreak;swbreak+x"),
                        want);
    cmd_quiet(e, "c");
    gdb_session_stopped(&e->s, 0, GDB_STOPPED_BREAKPOINT, &e->out);
    assert_string_equal(feed(e, ""), "$T05thread:01;#07");
    /* Once gdb says it knows swbreak, breakpoint stops carry it (and only those). */
    assert_string_equal(cmd(e, "qSupported:multiprocess+;swbreak+;hwbreak+"), want);
    cmd_quiet(e, "c");
    gdb_session_stopped(&e->s, 0, GDB_STOPPED_BREAKPOINT, &e->out);
    assert_string_equal(feed(e, ""), "$T05thread:01;swbreak:;#6b");
    cmd_quiet(e, "c");
    gdb_session_stopped(&e->s, 0, GDB_STOPPED_TRAP, &e->out);
    assert_string_equal(feed(e, ""), "$T05thread:01;#07");
    /* Unknown queries and packets: the empty reply. */
    assert_string_equal(cmd(e, "qTStatus"), "");
    assert_string_equal(cmd(e, "qCRC:0,4"), "");
    assert_string_equal(cmd(e, "qSupportedX"), "");
    assert_string_equal(cmd(e, "vMustReplyEmpty"), "");
    assert_string_equal(cmd(e, "QStartNoAckModeX"), "");
    assert_string_equal(cmd(e, "J"), "");
    assert_string_equal(cmd(e, "Dx"), "");
    assert_false(gdb_session_ended(&e->s));
    free(e);
}

/* Reads target.xml in pieces of `piece` bytes until "l"; returns it (malloc'd). */
static char *read_target_xml(struct env *e, unsigned piece)
{
    char *doc = calloc(1, 1), req[80];
    size_t len = 0;
    for (int rounds = 0;; rounds++) {
        assert_true(rounds < 1000);
        snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,%x", len, piece);
        const char *r = cmd(e, req);
        assert_true(r[0] == 'm' || r[0] == 'l');
        size_t n = strlen(r + 1);
        assert_true(n <= piece);
        assert_true(r[0] == 'l' || n > 0);
        doc = realloc(doc, len + n + 1);
        memcpy(doc + len, r + 1, n + 1);
        len += n;
        if (r[0] == 'l')
            return doc;
    }
}

/* Every element closes, in order; returns the number of <reg .../> seen. */
static unsigned check_balanced(const char *doc)
{
    const char *stack[8];
    unsigned depth = 0, regs = 0;
    for (const char *p = strchr(doc, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        assert_non_null(end);
        if (p[1] == '?' || p[1] == '!')
            continue;
        if (p[1] == '/') {
            assert_true(depth > 0);
            depth--;
            assert_int_equal(strncmp(p + 2, stack[depth], strcspn(stack[depth], " >")), 0);
        } else if (end[-1] == '/') {
            regs += strncmp(p, "<reg ", 5) == 0;
        } else {
            assert_true(depth < 8);
            stack[depth++] = p + 1;
        }
    }
    assert_int_equal(depth, 0);
    return regs;
}

static void test_target_xml(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    char *doc = read_target_xml(e, 0x100), *whole = read_target_xml(e, 0xfff);
    assert_string_equal(doc, whole);
    assert_int_equal(strncmp(doc, "<?xml version=\"1.0\"?>", 21), 0);
    assert_non_null(strstr(doc, "<architecture>powerpc:common64</architecture>"));
    char *core = strstr(doc, "<feature name=\"org.gnu.gdb.power.core\">");
    char *fpu = strstr(doc, "<feature name=\"org.gnu.gdb.power.fpu\">");
    assert_non_null(core);
    assert_non_null(fpu);
    assert_int_equal(check_balanced(doc), 71);
    /* Sent unescaped: nothing gdb would read as framing, escape or run length. */
    assert_null(strpbrk(doc, "$#}*"));
    /* Each register number 0-70 once, named and sized as gdb's layout has it, in its
     * feature: the core before the FPU's feature starts, the FPU after. */
    static const char *const tail[] = {"pc", "msr", "cr", "lr", "ctr", "xer", "fpscr"};
    for (unsigned n = 0; n < 71; n++) {
        char name[8], want[96], num[24];
        if (n < 64)
            snprintf(name, sizeof(name), "%c%u", n < 32 ? 'r' : 'f', n % 32);
        else
            snprintf(name, sizeof(name), "%s", tail[n - 64]);
        unsigned bits = n == 66 || n == 69 || n == 70 ? 32 : 64;
        snprintf(want, sizeof(want), "<reg name=\"%s\" bitsize=\"%u\"", name, bits);
        char *reg = strstr(doc, want);
        assert_non_null(reg);
        assert_null(strstr(reg + 1, want));
        snprintf(num, sizeof(num), "regnum=\"%u\"", n);
        char *end = strchr(reg, '>');
        char *at = strstr(reg, num);
        assert_true(at && at < end);
        assert_true((n >= 32 && n < 64) || n == 70 ? reg > fpu : reg > core && reg < fpu);
    }
    /* A validating parser, where the host has one. */
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        char path[] = "/tmp/minivmm-gdb-xml.XXXXXX", run[96];
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
        close(fd);
        snprintf(run, sizeof(run), "xmllint --noout %s", path);
        assert_int_equal(system(run), 0);
        unlink(path);
    }
    /* Past the end; another annex; malformed. */
    char req[64];
    snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,100", strlen(doc));
    assert_string_equal(cmd(e, req), "l");
    assert_string_equal(cmd(e, "qXfer:features:read:target.xml:ffffffffffffffff,ffff"), "l");
    assert_string_equal(cmd(e, "qXfer:features:read:power-core.xml:0,100"), "E00");
    assert_string_equal(cmd(e, "qXfer:features:read:target.xml:0"), "E00");
    assert_string_equal(cmd(e, "qXfer:memory-map:read::0,100"), "");
    /* A huge length is capped to a packet. */
    const char *r = cmd(e, "qXfer:features:read:target.xml:0,ffffffffffffffff");
    assert_true(strlen(r) <= GDB_PACKET_MAX);
    assert_int_equal(r[0], strlen(doc) < GDB_PACKET_MAX ? 'l' : 'm');
    free(doc);
    free(whole);
    free(e);
}

/* ---- the end ---- */

static void test_detach_kill(void **state)
{
    (void)state;
    struct env *e = env_new(1, false);
    assert_string_equal(cmd(e, "D"), "OK");
    assert_int_equal(e->f.detaches, 1);
    assert_true(gdb_session_ended(&e->s));
    unsigned calls = e->f.calls;
    assert_string_equal(feed(e, "$?#3f$k#6b\x03"), "");   /* taken, and ignored */
    assert_int_equal(e->f.calls, calls);
    free(e);

    e = env_new(1, false);
    assert_string_equal(feed(e, "$k#6b$?#3f"), "+");
    assert_int_equal(e->f.kills, 1);
    assert_true(gdb_session_ended(&e->s));
    free(e);

    e = env_new(1, false);
    assert_string_equal(cmd(e, "D;1"), "OK");
    assert_int_equal(e->f.detaches, 1);
    free(e);
}

/* Two sessions fed in turns keep apart: no state is shared. */
static void test_two_sessions(void **state)
{
    (void)state;
    struct env *a = env_new(2, false), *b = env_new(2, true);
    a->f.regs[0].pc = b->f.regs[0].pc = 0x1122334455667788ULL;
    assert_string_equal(feed(a, "$p4"), "");
    assert_string_equal(feed(b, "$Hg2#"), "");
    assert_string_equal(feed(a, "0#d4"), "+$8877665544332211#48");
    assert_string_equal(feed(b, "e1"), "+$OK#9a");
    assert_string_equal(cmd(b, "qC"), "QC02");
    assert_string_equal(cmd(a, "qC"), "QC01");
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continue_step),
        cmocka_unit_test(test_vcont),
        cmocka_unit_test(test_stop_within_resume),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_exited),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_supported),
        cmocka_unit_test(test_target_xml),
        cmocka_unit_test(test_detach_kill),
        cmocka_unit_test(test_two_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
