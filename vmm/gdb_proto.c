#include "gdb_proto.h"

#include <errno.h>
#include <string.h>

#include "gdb_regs.h"
#include "gdb_wire.h"

/* Largest memory transfer in one packet: an 'm' reply carries two hex digits a byte. */
#define MEM_MAX (GDB_PACKET_MAX / 2)

/* qfThreadInfo answers every thread at once: "m" and up to 3 digits and a comma each. */
_Static_assert(1 + 4 * GDB_MAX_CPUS <= GDB_PACKET_MAX, "thread list fits one reply");
_Static_assert(2 * GDB_G_BYTES <= GDB_PACKET_MAX, "'g' fits one reply");

/* The target's vCPU count as the session sees it: at least one (there is always a thread
 * to report), at most GDB_MAX_CPUS (the size of every per-vCPU array here). */
static unsigned ncpus(const struct gdb_session *s)
{
    unsigned n = s->ops->ncpus(s->t);
    return n == 0 ? 1 : n > GDB_MAX_CPUS ? GDB_MAX_CPUS : n;
}

/* The vCPU a thread id names, if it names exactly one. */
static bool thread_cpu(const struct gdb_session *s, long tid, unsigned *cpu)
{
    if (tid < 1 || (unsigned long)tid > ncpus(s))
        return false;
    *cpu = (unsigned)tid - 1;
    return true;
}

static unsigned g_cpu(const struct gdb_session *s)
{
    return s->g_cpu < ncpus(s) ? s->g_cpu : 0;
}

static void stop_reply(struct gdb_session *s, struct gdb_out *out)
{
    gdb_rep_begin(s);
    gdb_rep_str(s, s->stop_why == GDB_STOPPED_INTERRUPT ? "T02thread:" : "T05thread:");
    gdb_rep_num(s, s->stop_cpu + 1, 2);
    gdb_rep_str(s, ";");
    /* Only a gdb that announced swbreak+ may be told (gdb manual, Stop Reply Packets). */
    if (s->stop_why == GDB_STOPPED_BREAKPOINT && s->swbreak)
        gdb_rep_str(s, "swbreak:;");
    gdb_rep_send(s, out);
}

/* Every command handler returns 0 once it has replied (or needs no reply), else the errno
 * that dispatch() reports as "Enn". Nothing is done unless the whole packet parses. */

/* The errno in a target's -errno return (EIO for what is not one), 0 for success. */
static int target_err(long ret)
{
    return ret >= 0 ? 0 : ret < -4095 ? EIO : (int)-ret;
}

/* ---- registers ---- */

/* The vCPU's registers, zeroed first so a target that fills only some sends no junk.
 * Returns 0 or an errno. */
static int read_regs(struct gdb_session *s, unsigned cpu, struct gdb_regs *r)
{
    memset(r, 0, sizeof(*r));
    return target_err(s->ops->read_regs(s->t, cpu, r));
}

static int write_regs(struct gdb_session *s, unsigned cpu, const struct gdb_regs *r,
                      struct gdb_out *out)
{
    int err = target_err(s->ops->write_regs(s->t, cpu, r));
    if (!err)
        gdb_reply(s, out, "OK");
    return err;
}

static int cmd_g(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    struct gdb_regs r;
    uint8_t b[GDB_G_BYTES];
    if (!gdb_pkt_end(c))
        return EINVAL;
    int err = read_regs(s, g_cpu(s), &r);
    if (err)
        return err;
    gdb_regs_encode(&r, s->big_endian, b);
    gdb_rep_begin(s);
    gdb_rep_hex(s, b, sizeof(b));
    gdb_rep_send(s, out);
    return 0;
}

/* All 71 registers, nothing more or less: a shorter or longer 'G' is another layout. */
static int cmd_G(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    struct gdb_regs r;
    uint8_t b[GDB_G_BYTES];
    if (!gdb_pkt_bytes(c, b, sizeof(b)) || !gdb_pkt_end(c))
        return EINVAL;
    gdb_regs_decode(&r, s->big_endian, b);
    return write_regs(s, g_cpu(s), &r, out);
}

static int cmd_p(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    struct gdb_regs r;
    uint8_t b[8];
    uint64_t n;
    if (!gdb_pkt_hex(c, &n) || !gdb_pkt_end(c) || n >= GDB_NREGS)
        return EINVAL;
    int err = read_regs(s, g_cpu(s), &r);
    if (err)
        return err;
    gdb_reg_encode(&r, (unsigned)n, s->big_endian, b);
    gdb_rep_begin(s);
    gdb_rep_hex(s, b, gdb_reg_size((unsigned)n));
    gdb_rep_send(s, out);
    return 0;
}

/* Read-modify-write: the target takes whole register sets. */
static int cmd_P(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    struct gdb_regs r;
    uint8_t b[8];
    uint64_t n;
    if (!gdb_pkt_hex(c, &n) || n >= GDB_NREGS || !gdb_pkt_eat(c, "=") ||
        !gdb_pkt_bytes(c, b, gdb_reg_size((unsigned)n)) || !gdb_pkt_end(c))
        return EINVAL;
    int err = read_regs(s, g_cpu(s), &r);
    if (err)
        return err;
    gdb_reg_decode(&r, (unsigned)n, s->big_endian, b);
    return write_regs(s, g_cpu(s), &r, out);
}

/* ---- memory and breakpoints ---- */

/* "ADDR,LEN", LEN capped to max and to the top of the address space (no range wraps). */
static bool mem_range(struct gdb_cur *c, uint64_t *addr, size_t *len, size_t max)
{
    uint64_t a, l;
    if (!gdb_pkt_hex(c, &a) || !gdb_pkt_eat(c, ",") || !gdb_pkt_hex(c, &l))
        return false;
    if (l > max)
        l = max;
    if (a && l > -a)
        l = -a;
    *addr = a;
    *len = (size_t)l;
    return true;
}

/* A short read answers what was read, as gdb allows; nothing readable is EFAULT ("E14"). */
static int cmd_m(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    uint8_t buf[MEM_MAX];
    uint64_t addr;
    size_t len;
    if (!mem_range(c, &addr, &len, MEM_MAX) || !gdb_pkt_end(c))
        return EINVAL;
    long got = len ? s->ops->read_mem(s->t, g_cpu(s), addr, buf, len) : 0;
    if (got < 0)
        return target_err(got);
    if (got == 0 && len)
        return EFAULT;
    gdb_rep_begin(s);
    gdb_rep_hex(s, buf, (size_t)got < len ? (size_t)got : len);
    gdb_rep_send(s, out);
    return 0;
}

static int write_mem(struct gdb_session *s, uint64_t addr, const uint8_t *buf, size_t len,
                     struct gdb_out *out)
{
    long done = len ? s->ops->write_mem(s->t, g_cpu(s), addr, buf, len) : 0;
    if (done < 0)
        return target_err(done);
    if ((size_t)done < len)
        return EFAULT;   /* M and X have no partial success */
    gdb_reply(s, out, "OK");
    return 0;
}

/* The length must match the data exactly: anything else is a garbled packet. */
static int cmd_M(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    uint8_t buf[MEM_MAX];
    uint64_t addr;
    size_t len;
    if (!mem_range(c, &addr, &len, MEM_MAX + 1) || !gdb_pkt_eat(c, ":") || len > MEM_MAX ||
        (size_t)(c->end - c->p) != 2 * len || !gdb_pkt_bytes(c, buf, len))
        return EINVAL;
    return write_mem(s, addr, buf, len, out);
}

/* Binary data, unescaped already; "X addr,0:" is gdb probing for X: OK. */
static int cmd_X(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    uint64_t addr;
    size_t len;
    if (!mem_range(c, &addr, &len, GDB_PACKET_MAX + 1) || !gdb_pkt_eat(c, ":") ||
        (size_t)(c->end - c->p) != len)
        return EINVAL;
    return write_mem(s, addr, c->p, len, out);
}

/* Z0/z0 only: Book3S KVM gives the VMM no hardware breakpoints or watchpoints, and an empty
 * reply tells gdb a type is unsupported. The kind is the instruction size, always 4. */
static int cmd_break(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out, bool on)
{
    uint64_t type, addr, kind;
    if (!gdb_pkt_hex(c, &type) || type != 0) {
        gdb_reply(s, out, "");
        return 0;
    }
    if (!gdb_pkt_eat(c, ",") || !gdb_pkt_hex(c, &addr) || !gdb_pkt_eat(c, ",") ||
        !gdb_pkt_hex(c, &kind) || !gdb_pkt_end(c) || kind != 4)
        return EINVAL;
    int err = target_err(s->ops->set_breakpoint(s->t, addr, on));
    if (!err)
        gdb_reply(s, out, "OK");
    return err;
}

/* ---- running ---- */

/* No reply: the stop reply comes when the target reports the stop. */
static int resume(struct gdb_session *s, const enum gdb_action *act)
{
    s->running = true;
    s->interrupting = false;
    s->ops->resume(s->t, act);
    return 0;
}

/* c, s, C, S: as gdbserver reads them, the Hc vCPU alone resumes; with Hc any or all, the
 * Hg vCPU takes the action and the others continue. A signal is accepted and dropped: KVM
 * has no way to deliver one. An address sets that vCPU's PC first. */
static int cmd_resume(struct gdb_session *s, struct gdb_cur *c, enum gdb_action a,
                      bool with_signal)
{
    enum gdb_action act[GDB_MAX_CPUS];
    unsigned n = ncpus(s);
    bool alone = s->c_cpu >= 0 && (unsigned)s->c_cpu < n;
    unsigned cpu = alone ? (unsigned)s->c_cpu : g_cpu(s);
    uint64_t sig, pc;
    if (with_signal && (!gdb_pkt_hex(c, &sig) || sig > 0xff ||
                        (!gdb_pkt_end(c) && !gdb_pkt_eat(c, ";"))))
        return EINVAL;
    bool set_pc = !gdb_pkt_end(c);
    if (set_pc && (!gdb_pkt_hex(c, &pc) || !gdb_pkt_end(c)))
        return EINVAL;
    if (set_pc) {
        struct gdb_regs r;
        int err = read_regs(s, cpu, &r);
        if (err)
            return err;
        r.pc = pc;
        if ((err = target_err(s->ops->write_regs(s->t, cpu, &r))))
            return err;
    }
    for (unsigned i = 0; i < GDB_MAX_CPUS; i++)
        act[i] = i >= n || alone ? GDB_STOP : GDB_CONTINUE;
    act[cpu] = a;
    return resume(s, act);
}

/* One vCont action "c", "s", "t", "Cxx" or "Sxx". */
static bool vcont_action(struct gdb_cur *c, enum gdb_action *a)
{
    uint64_t sig;
    if (gdb_pkt_end(c))
        return false;
    switch (*c->p++) {
    case 'c': *a = GDB_CONTINUE; return true;
    case 's': *a = GDB_STEP; return true;
    case 't': *a = GDB_STOP; return true;
    case 'C': *a = GDB_CONTINUE; return gdb_pkt_hex(c, &sig) && sig <= 0xff;
    case 'S': *a = GDB_STEP; return gdb_pkt_hex(c, &sig) && sig <= 0xff;
    default: return false;
    }
}

/* vCont;ACTION[:THREAD]...: each vCPU takes the first action naming it or all threads (gdb
 * manual, vCont); the rest stay stopped. Should no vCPU run (only 't'), the target stays
 * stopped and says so. */
static int cmd_vcont(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    enum gdb_action act[GDB_MAX_CPUS];
    bool taken[GDB_MAX_CPUS] = {false}, runs = false;
    unsigned n = ncpus(s), cpu;
    for (unsigned i = 0; i < GDB_MAX_CPUS; i++)
        act[i] = GDB_STOP;
    if (gdb_pkt_end(c))
        return EINVAL;
    while (!gdb_pkt_end(c)) {
        enum gdb_action a;
        long tid = -1;
        if (!gdb_pkt_eat(c, ";") || !vcont_action(c, &a))
            return EINVAL;
        if (gdb_pkt_eat(c, ":") &&
            (!gdb_pkt_thread(c, &tid) || (tid != -1 && !thread_cpu(s, tid, &cpu))))
            return EINVAL;
        for (unsigned i = 0; i < n; i++)
            if (!taken[i] && (tid == -1 || (unsigned long)tid == i + 1)) {
                taken[i] = true;
                act[i] = a;
                runs |= a != GDB_STOP;
            }
    }
    if (runs)
        return resume(s, act);
    stop_reply(s, out);
    return 0;
}

/* ---- threads and queries ---- */

/* Hg picks the vCPU for registers and memory, Hc the one for c/s; 0 (any) and -1 (all)
 * mean the vCPU that stopped for Hg, and no particular one for Hc. */
static int cmd_H(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    long tid;
    unsigned cpu = s->stop_cpu;
    bool general = gdb_pkt_eat(c, "g");
    if ((!general && !gdb_pkt_eat(c, "c")) || !gdb_pkt_thread(c, &tid) || !gdb_pkt_end(c) ||
        (tid > 0 && !thread_cpu(s, tid, &cpu)))
        return EINVAL;
    if (general)
        s->g_cpu = cpu;
    else
        s->c_cpu = tid > 0 ? (int)cpu : -1;
    gdb_reply(s, out, "OK");
    return 0;
}

/* Whether the ';'-separated list at c holds exactly name. */
static bool has_feature(struct gdb_cur c, const char *name)
{
    size_t n = strlen(name);
    while (c.p < c.end) {
        const uint8_t *e = memchr(c.p, ';', (size_t)(c.end - c.p));
        if (!e)
            e = c.end;
        if ((size_t)(e - c.p) == n && !memcmp(c.p, name, n))
            return true;
        c.p = e < c.end ? e + 1 : e;
    }
    return false;
}

static void cmd_supported(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    s->swbreak = has_feature(*c, "swbreak+");
    gdb_rep_begin(s);
    gdb_rep_str(s, "PacketSize=");
    gdb_rep_num(s, GDB_PACKET_MAX, 1);
    gdb_rep_str(s, ";qXfer:features:read+;vContSupported+;swbreak+;QStartNoAckMode+");
    gdb_rep_send(s, out);
}

/* qXfer:features:read:target.xml:OFF,LEN: "m" and a piece, or "l" and the last piece (or
 * nothing, past the end); "E00" is the manual's answer to a bad annex or request. qXfer
 * data is binary, but the document holds nothing to escape ('$', '#', '}', '*': the unit
 * test checks), so a piece is the bytes themselves, as many as fit a reply. */
static void cmd_xfer_features(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    uint64_t off, len;
    if (!gdb_pkt_eat(c, "target.xml:") || !gdb_pkt_hex(c, &off) || !gdb_pkt_eat(c, ",") ||
        !gdb_pkt_hex(c, &len) || !gdb_pkt_end(c)) {
        gdb_reply(s, out, "E00");
        return;
    }
    size_t at = off < gdb_target_xml_len ? (size_t)off : gdb_target_xml_len;
    size_t n = gdb_target_xml_len - at;
    if (n > GDB_PACKET_MAX - 1)
        n = GDB_PACKET_MAX - 1;
    if (n > len)
        n = (size_t)len;
    gdb_rep_begin(s);
    gdb_rep_str(s, at + n == gdb_target_xml_len ? "l" : "m");
    gdb_rep_put(s, gdb_target_xml + at, n);
    gdb_rep_send(s, out);
}

/* A reply of "PREFIX" and one thread id, or of "m" and all of them. */
static void reply_threads(struct gdb_session *s, const char *prefix, bool all,
                          struct gdb_out *out)
{
    gdb_rep_begin(s);
    gdb_rep_str(s, prefix);
    for (unsigned i = 0, n = all ? ncpus(s) : 1; i < n; i++) {
        if (i)
            gdb_rep_str(s, ",");
        gdb_rep_num(s, (all ? i : g_cpu(s)) + 1, 2);
    }
    gdb_rep_send(s, out);
}

static int cmd_q(struct gdb_session *s, struct gdb_cur *c, struct gdb_out *out)
{
    if (gdb_pkt_is(c, "Supported") || gdb_pkt_eat(c, "Supported:"))
        cmd_supported(s, c, out);
    else if (gdb_pkt_eat(c, "Xfer:features:read:"))
        cmd_xfer_features(s, c, out);
    else if (gdb_pkt_is(c, "fThreadInfo"))
        reply_threads(s, "m", true, out);
    else if (gdb_pkt_is(c, "sThreadInfo"))
        gdb_reply(s, out, "l");
    else if (gdb_pkt_is(c, "C"))
        reply_threads(s, "QC", false, out);
    else if (gdb_pkt_is(c, "Attached") || gdb_pkt_eat(c, "Attached:"))
        gdb_reply(s, out, "1");   /* attached to a VM that was there: detach, not kill */
    else
        gdb_reply(s, out, "");
    return 0;
}

/* ---- one packet ---- */

/* The packets that are not plain commands: v, Q, D, k, T. */
static int cmd_other(struct gdb_session *s, uint8_t kind, struct gdb_cur *c,
                     struct gdb_out *out)
{
    long tid;
    unsigned cpu;
    if (kind == 'v' && gdb_pkt_is(c, "Cont?")) {
        gdb_reply(s, out, "vCont;c;C;s;S;t");
    } else if (kind == 'v' && gdb_pkt_eat(c, "Cont") && (gdb_pkt_end(c) || *c->p == ';')) {
        return cmd_vcont(s, c, out);
    } else if (kind == 'Q' && gdb_pkt_is(c, "StartNoAckMode")) {
        gdb_reply(s, out, "OK");   /* still acked: the mode starts after this reply */
        s->no_ack = true;
    } else if (kind == 'D' && (gdb_pkt_end(c) || *c->p == ';')) {   /* or "D;pid" */
        gdb_reply(s, out, "OK");
        s->ops->detach(s->t);
        s->ended = true;
    } else if (kind == 'k') {   /* no reply: gdb does not wait for one */
        s->ops->kill(s->t);
        s->ended = true;
    } else if (kind == 'T') {   /* is the thread alive */
        if (!gdb_pkt_thread(c, &tid) || !gdb_pkt_end(c) || !thread_cpu(s, tid, &cpu))
            return EINVAL;
        gdb_reply(s, out, "OK");
    } else {
        gdb_reply(s, out, "");   /* not supported */
    }
    return 0;
}

static void dispatch(struct gdb_session *s, struct gdb_out *out)
{
    if (s->rx_len == 0) {
        gdb_reply(s, out, "");
        return;
    }
    struct gdb_cur c = {s->rx_buf + 1, s->rx_buf + s->rx_len};
    uint8_t kind = s->rx_buf[0];
    int err = 0;
    switch (kind) {
    case '?': stop_reply(s, out); break;
    case 'g': err = cmd_g(s, &c, out); break;
    case 'G': err = cmd_G(s, &c, out); break;
    case 'p': err = cmd_p(s, &c, out); break;
    case 'P': err = cmd_P(s, &c, out); break;
    case 'm': err = cmd_m(s, &c, out); break;
    case 'M': err = cmd_M(s, &c, out); break;
    case 'X': err = cmd_X(s, &c, out); break;
    case 'Z': err = cmd_break(s, &c, out, true); break;
    case 'z': err = cmd_break(s, &c, out, false); break;
    case 'c': err = cmd_resume(s, &c, GDB_CONTINUE, false); break;
    case 's': err = cmd_resume(s, &c, GDB_STEP, false); break;
    case 'C': err = cmd_resume(s, &c, GDB_CONTINUE, true); break;
    case 'S': err = cmd_resume(s, &c, GDB_STEP, true); break;
    case 'H': err = cmd_H(s, &c, out); break;
    case 'q': err = cmd_q(s, &c, out); break;
    default: err = cmd_other(s, kind, &c, out); break;
    }
    if (err)
        gdb_reply_err(s, out, err);
}

/* A packet arrived (acked). While the target runs it is dropped, as gdbserver drops all
 * input but 0x03 then: in all-stop mode gdb sends nothing else until the stop reply. */
static void packet(struct gdb_session *s, struct gdb_out *out)
{
    if (s->running)
        return;
    if (s->rx_bad)
        gdb_reply_err(s, out, EINVAL);
    else
        dispatch(s, out);
}

/* Between packets: 0x03 interrupts a running target, '-' asks for the last reply again;
 * '+' and line noise are ignored. */
static void outside_packet(struct gdb_session *s, uint8_t b, struct gdb_out *out)
{
    if (b == 0x03 && s->running && !s->interrupting) {
        s->interrupting = true;
        s->ops->interrupt(s->t);
    } else if (b == '-' && !s->no_ack && !s->running && s->last_len && !s->send_pending) {
        gdb_out_put(out, s->last, s->last_len);
    }
}

/* ---- the API ---- */

void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops, void *t,
                      bool big_endian)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->t = t;
    s->big_endian = big_endian;
    s->rx = GDB_RX_IDLE;
    s->c_cpu = -1;
    s->stop_why = GDB_STOPPED_TRAP;
}

/* Each byte is taken only while out has room for an ack and a whole reply, so no reply is
 * ever cut; while the target runs, the bytes taken add at most an ack each, which keeps
 * room for the stop reply too. */
size_t gdb_session_input(struct gdb_session *s, const uint8_t *in, size_t n,
                         struct gdb_out *out)
{
    size_t i;
    if (s->send_pending) {
        if (!gdb_out_put(out, s->last, s->last_len))
            return s->ended ? n : 0;
        s->send_pending = false;
    }
    for (i = 0; i < n && !s->ended && gdb_out_room(out) >= 1 + GDB_FRAME_MAX; i++) {
        switch (gdb_rx_byte(s, in[i], out)) {
        case GDB_GOT_PACKET: packet(s, out); break;
        case GDB_GOT_OUTSIDE: outside_packet(s, in[i], out); break;
        case GDB_GOT_NOTHING: break;
        }
    }
    return s->ended ? n : i;
}

void gdb_session_stopped(struct gdb_session *s, unsigned cpu, enum gdb_stop_reason why,
                         struct gdb_out *out)
{
    if (s->ended)
        return;
    s->stop_cpu = cpu < ncpus(s) ? cpu : 0;
    s->stop_why = why;
    s->g_cpu = s->stop_cpu;   /* as gdbserver: gdb expects the stopped thread selected */
    if (!s->running)
        return;
    s->running = s->interrupting = false;
    stop_reply(s, out);
}

void gdb_session_exited(struct gdb_session *s, unsigned status, struct gdb_out *out)
{
    if (s->ended)
        return;
    if (s->running) {
        gdb_rep_begin(s);
        gdb_rep_str(s, "W");
        gdb_rep_num(s, status & 0xff, 2);
        gdb_rep_send(s, out);
    }
    s->running = false;
    s->ended = true;
}

bool gdb_session_running(const struct gdb_session *s)
{
    return s->running;
}

bool gdb_session_ended(const struct gdb_session *s)
{
    return s->ended;
}
