/* The GDB remote serial protocol, debugger side of a pseries guest: bytes from gdb in, calls
 * on a target and bytes for gdb out. No sockets, threads, KVM or global state: the caller
 * owns the connection and the vCPUs, and several sessions may coexist.
 *
 * All-stop only. The target is stopped when a session starts (the caller interrupts the
 * guest when gdb connects); while it runs after c, s or vCont, only 0x03 and acks are acted
 * on, and any other packet is acknowledged and dropped, as gdbserver drops all input but
 * 0x03 then. Threads are vCPUs: thread id = vCPU index + 1.
 *
 * Registers are gdb's powerpc:common64 with the FPU (the inline target.xml names them, with
 * regnum attributes fixing the numbers): r0-r31 0-31, f0-f31 32-63, pc 64, msr 65, cr 66,
 * lr 67, ctr 68, xer 69, fpscr 70; cr, xer and fpscr are 4 bytes, the rest 8, so 'g' is
 * 556 bytes, each register in the byte order given at init (gdb's, from the kernel's ELF or
 * `set endian`). Memory in m/M/X is raw bytes, never swapped.
 *
 * Hostile input is bounded: packets longer than GDB_PACKET_MAX are refused with an error
 * reply, every number is parsed without overflow and every length is capped to what a reply
 * can carry (tests/unit/test_gdb_proto.c and test_gdb_control.c, tests/fuzz/fuzz_gdb.c).
 * Pieces: gdb_wire.c frames packets and replies, gdb_regs.c holds target.xml and the layout. */
#ifndef MINIVMM_GDB_PROTO_H
#define MINIVMM_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_NREGS 71
#define GDB_G_BYTES 556                   /* the 'g' packet's registers, in bytes */
#define GDB_PACKET_MAX 4096               /* data bytes of a packet, either way (PacketSize) */
#define GDB_FRAME_MAX (GDB_PACKET_MAX + 4) /* with '$', '#' and the checksum */
#define GDB_MAX_CPUS 256                  /* = VM_MAX_CPUS; a target's further vCPUs are unseen */

struct gdb_regs {
    uint64_t gpr[32], fpr[32], pc, msr, lr, ctr;
    uint32_t cr, xer, fpscr;
};

enum gdb_action { GDB_STOP, GDB_STEP, GDB_CONTINUE };

/* What the session asks of the VM. t is the caller's pointer given at init; cpu is always
 * below ncpus(). Errors are -errno, reported to gdb as "Enn" (nn = errno, decimal). */
struct gdb_target_ops {
    unsigned (*ncpus)(void *t);
    int (*read_regs)(void *t, unsigned cpu, struct gdb_regs *r);
    int (*write_regs)(void *t, unsigned cpu, const struct gdb_regs *r);
    /* Guest virtual addresses as vCPU cpu sees them. Returns the bytes done, which may be
     * fewer than len (the rest unmapped), or -errno. */
    long (*read_mem)(void *t, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len);
    long (*write_mem)(void *t, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len);
    /* A software breakpoint at addr inserted (on) or removed: 0, -ENOSPC, -EFAULT, ... */
    int (*set_breakpoint)(void *t, uint64_t addr, bool on);
    /* per_cpu has GDB_MAX_CPUS entries, those from ncpus() on GDB_STOP. Returns at once; the
     * target reports the stop later with gdb_session_stopped(), or from within resume. */
    void (*resume)(void *t, const enum gdb_action *per_cpu);
    /* Stop every vCPU (gdb sent 0x03); the target then reports GDB_STOPPED_INTERRUPT. */
    void (*interrupt)(void *t);
    void (*detach)(void *t);   /* remove every breakpoint and let the guest run on */
    void (*kill)(void *t);     /* end the VM */
};

/* Bytes for gdb, appended by the session; the caller sends buf[0..len) and sets len to 0. */
#define GDB_OUT_SIZE (2 * (GDB_FRAME_MAX + 1))
struct gdb_out {
    size_t len;
    uint8_t buf[GDB_OUT_SIZE];
};

/* Why the target stopped: the signal gdb is told (5, 5 with swbreak:, 2). */
enum gdb_stop_reason {
    GDB_STOPPED_TRAP,         /* a step ended, or an unexplained trap */
    GDB_STOPPED_BREAKPOINT,   /* a software breakpoint; PC at the breakpoint */
    GDB_STOPPED_INTERRUPT,    /* after interrupt() */
};

/* Caller-allocated, fixed size (about 8 KiB); the fields are private. */
struct gdb_session {
    const struct gdb_target_ops *ops;
    void *t;
    bool big_endian, no_ack, swbreak, running, interrupting, ended;
    bool send_pending;               /* last[] is yet to go out (out was full) */
    enum { GDB_RX_IDLE, GDB_RX_DATA, GDB_RX_CSUM1, GDB_RX_CSUM2 } rx;
    bool rx_escape, rx_bad;          /* in a '}' escape; a dangling escape or oversize */
    uint8_t rx_sum;                  /* the checksum of what came */
    unsigned rx_csum;                /* the one sent; above 0xff if a digit was not hex */
    size_t rx_len;
    unsigned g_cpu;                  /* Hg: the vCPU for g/G/p/P/m/M/X */
    int c_cpu;                       /* Hc: the vCPU for c/s, or -1 for any/all */
    unsigned stop_cpu;
    enum gdb_stop_reason stop_why;
    size_t last_len;                 /* the last frame sent, for a '-' */
    uint8_t last[GDB_FRAME_MAX];
    uint8_t rx_buf[GDB_PACKET_MAX];  /* the packet being received, unescaped */
};

/* The target must be stopped; '?' reports a trap on vCPU 0 until a stop is reported. */
void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops, void *t,
                      bool big_endian);

/* Bytes received from gdb: acts on them and appends acks and replies to out. Returns how
 * many bytes were taken: fewer than n only when out needs draining first (it takes at least
 * one byte when out is empty), so feed the rest after sending out. Once the session has
 * ended (D or k), every byte is taken and ignored. */
size_t gdb_session_input(struct gdb_session *s, const uint8_t *in, size_t n,
                         struct gdb_out *out);

/* The target stopped after resume() or interrupt(): the stop reply for vCPU cpu goes to out
 * (held for the next gdb_session_input() if out is full). When the session was not running
 * (e.g. the caller stopped the guest as gdb connected) it only records what '?' reports. */
void gdb_session_stopped(struct gdb_session *s, unsigned cpu, enum gdb_stop_reason why,
                         struct gdb_out *out);

/* The VM ended with status (0-255) while running: "W" to gdb, and the session ends. */
void gdb_session_exited(struct gdb_session *s, unsigned status, struct gdb_out *out);

bool gdb_session_running(const struct gdb_session *s);
bool gdb_session_ended(const struct gdb_session *s);

#endif
