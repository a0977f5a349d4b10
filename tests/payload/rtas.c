/* The payload's RTAS calls and checks: the time of day, the console character, a bad token,
 * the CPU services, and a secondary CPU started, stopped and started again.
 *
 * RTAS is found as an OS finds it: /rtas in the device tree names the entry address
 * (linux,rtas-entry) and one property per service whose value is its token. A call passes the
 * physical address of a buffer of big-endian cells: token, nargs, nret, the arguments, then
 * the returns, the first of which is the status. */
#include "payload.h"

#define RTAS_MAX_CELLS 16
#define RTAS_UNWRITTEN 0xdeadbeefu   /* a return cell RTAS did not write */
#define SECONDARY_MAGIC 0x5ec0ddu
#define CPU_STOPPED 0
#define CPU_RUNNING 2

struct rtas_args {
    uint32_t token, nargs, nret;
    uint32_t cells[RTAS_MAX_CELLS];   /* the arguments, then the returns */
};

struct tokens {
    uint32_t get_time, set_time, display_char, query_cpu, start_cpu, stop_self, power_off;
};

static uint64_t rtas_entry_addr;
static struct tokens tok;
static uint64_t tb_hz = 512000000;   /* every POWER8/9/10; the tree may say otherwise */

/* What the secondary CPU saw, for the boot CPU to check (the secondary prints nothing). */
static volatile struct {
    uint32_t starting;  /* the boot CPU's: the round it is starting */
    uint32_t round;     /* the secondary's, written last: the round it has recorded */
    uint64_t msr, r3;
} seen;

static uint32_t be32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

/* Calls RTAS service `token`; the returns after the status go to out[0..nret-2]. Returns the
 * status. The buffer is on our stack: real mode, so its address is its physical address. */
static int32_t rtas(uint32_t token, unsigned nargs, unsigned nret, const uint32_t *in,
                    uint32_t *out)
{
    struct rtas_args a;
    a.token = be32(token);
    a.nargs = be32(nargs);
    a.nret = be32(nret);
    for (unsigned i = 0; i < nargs; i++)
        a.cells[i] = be32(in[i]);
    for (unsigned i = 0; i < nret; i++)
        a.cells[nargs + i] = be32(RTAS_UNWRITTEN);
    rtas_enter((uint64_t)(uintptr_t)&a, rtas_entry_addr);
    for (unsigned i = 1; i < nret; i++)
        out[i - 1] = be32(a.cells[nargs + i]);
    return (int32_t)be32(a.cells[nargs]);
}

static uint32_t token_of(const struct dt *t, uint32_t node, const char *service)
{
    uint32_t v;
    return dt_prop_u32(t, node, service, &v) ? v : 0;
}

/* Finds RTAS and the services' tokens; false (and a FAIL line) without an entry address. */
bool rtas_setup(const struct dt *t)
{
    uint32_t node = dt_subnode(t, dt_root(t), "rtas"), entry;
    if (!node || !dt_prop_u32(t, node, "linux,rtas-entry", &entry)) {
        fail("fdt-rtas", node ? "no linux,rtas-entry in /rtas" : "no /rtas node");
        return false;
    }
    rtas_entry_addr = entry;
    tok = (struct tokens){
        .get_time = token_of(t, node, "get-time-of-day"),
        .set_time = token_of(t, node, "set-time-of-day"),
        .display_char = token_of(t, node, "display-character"),
        .query_cpu = token_of(t, node, "query-cpu-stopped-state"),
        .start_cpu = token_of(t, node, "start-cpu"),
        .stop_self = token_of(t, node, "stop-self"),
        .power_off = token_of(t, node, "power-off"),
    };
    pass("fdt-rtas");
    return true;
}

/* A service the checks need: false (and a FAIL line) if the tree does not offer it. */
static bool have(uint32_t token, const char *name)
{
    if (!token)
        fail(name, "no token in /rtas");
    return token != 0;
}

static void check_get_time(void)
{
    uint32_t t[7];
    int32_t st = rtas(tok.get_time, 0, 8, 0, t);
    bool sane = t[0] >= 1970 && t[0] < 2200 && t[1] >= 1 && t[1] <= 12 && t[2] >= 1 &&
                t[2] <= 31 && t[3] < 24 && t[4] < 60 && t[5] < 60 && t[6] < 1000000000;
    if (st == 0 && sane) {
        pass("rtas-get-time-of-day");
        return;
    }
    fail_begin("rtas-get-time-of-day");
    out("status ");
    out_dec(st);
    for (unsigned i = 0; i < 7; i++) {
        out(i ? " " : ", ");
        out_dec(t[i]);
    }
    fail_end();
}

/* Sets 2006-06-17 12:00:00 and reads it back: same date, less than a minute later. */
static void check_set_time(void)
{
    static const uint32_t when[7] = {2006, 6, 17, 12, 0, 0, 0};
    uint32_t t[7];
    int32_t st = rtas(tok.set_time, 7, 1, when, 0);
    int32_t st2 = rtas(tok.get_time, 0, 8, 0, t);
    int64_t late = ((int64_t)t[3] - 12) * 3600 + (int64_t)t[4] * 60 + t[5];
    if (st == 0 && st2 == 0 && t[0] == 2006 && t[1] == 6 && t[2] == 17 && late >= 0 &&
        late < 60) {
        pass("rtas-set-time-of-day");
    } else {
        fail_begin("rtas-set-time-of-day");
        out("set status ");
        out_dec(st);
        out(", read back status ");
        out_dec(st2);
        for (unsigned i = 0; i < 6; i++) {
            out(i ? " " : ": ");
            out_dec(t[i]);
        }
        fail_end();
    }
    static const uint32_t bad_month[7] = {2006, 13, 17, 12, 0, 0, 0};
    expect_dec("rtas-set-time-bad-month", rtas(tok.set_time, 7, 1, bad_month, 0), -3);
}

/* The line is written by display-character itself, one call a character: seeing it proves the
 * service; a failed call ends it early and says so. */
static void check_display_character(void)
{
    static const char line[] = "payload: ok rtas-display-character\n";
    if (!tok.display_char) {
        skip("rtas-display-character", "no token in /rtas");
        return;
    }
    out_flush();
    for (unsigned i = 0; line[i]; i++) {
        uint32_t c = (uint8_t)line[i];
        int32_t st = rtas(tok.display_char, 1, 1, &c, 0);
        if (st != 0) {
            out("\n");
            fail_begin("rtas-display-character");
            out("status ");
            out_dec(st);
            fail_end();
            return;
        }
    }
}

/* query-cpu-stopped-state: the status, and the state in *state. */
static int32_t cpu_state(uint32_t id, uint32_t *state)
{
    *state = RTAS_UNWRITTEN;
    return rtas(tok.query_cpu, 1, 2, &id, state);
}

static void expect_cpu_state(const char *name, uint32_t id, uint32_t want)
{
    uint32_t state;
    int32_t st = cpu_state(id, &state);
    if (st == 0 && state == want) {
        pass(name);
        return;
    }
    fail_begin(name);
    out("query-cpu-stopped-state: status ");
    out_dec(st);
    out(", state ");
    out_dec(state);
    out(", want state ");
    out_dec(want);
    fail_end();
}

/* Polls `cond` for up to 20 s of timebase (a macro: this image has no function pointers). */
#define WAIT_UNTIL(cond)                                                \
    ({                                                                  \
        uint64_t start_ = mftb();                                       \
        bool ok_;                                                       \
        while (!(ok_ = (cond)) && mftb() - start_ < 20 * tb_hz)         \
            ;                                                           \
        ok_;                                                            \
    })

/* A pause between two RTAS polls, so that a slow host is not flooded with calls. */
static bool pause_ms(void)
{
    uint64_t start = mftb();
    while (mftb() - start < tb_hz / 1000)
        ;
    return true;
}

static void check_secondary_entry(const char *name)
{
    if (seen.msr == (MSR_SF | MSR_ME) && seen.r3 == SECONDARY_MAGIC) {
        pass(name);
        return;
    }
    fail_begin(name);
    out("MSR ");
    out_hex(seen.msr);
    out(", want ");
    out_hex(MSR_SF | MSR_ME);
    out("; r3 ");
    out_hex(seen.r3);
    out(", want ");
    out_hex(SECONDARY_MAGIC);
    fail_end();
}

/* One round: start the secondary, see it record its entry in C, see it stop itself. */
static void secondary_round(uint32_t id, uint32_t round)
{
    char start[] = "secondary-start-N", entry[] = "secondary-entry-N", stop[] = "secondary-stop-N";
    start[sizeof(start) - 2] = entry[sizeof(entry) - 2] = stop[sizeof(stop) - 2] =
        (char)('0' + round);

    seen.round = 0;
    seen.starting = round;
    __asm__ volatile("sync" ::: "memory");
    uint32_t args[3] = {id, (uint32_t)(uintptr_t)secondary_entry, SECONDARY_MAGIC};
    int32_t st = rtas(tok.start_cpu, 3, 1, args, 0);
    if (st != 0) {
        expect_dec(start, st, 0);
        return;
    }
    bool ran = WAIT_UNTIL(seen.round == round);
    __asm__ volatile("sync" ::: "memory");   /* then read what it recorded before the flag */
    expect_true(start, ran, "the secondary did not reach C within 20 s");
    if (ran)
        check_secondary_entry(entry);

    uint32_t state = RTAS_UNWRITTEN;
    bool stopped = WAIT_UNTIL(pause_ms() && cpu_state(id, &state) == 0 && state == CPU_STOPPED);
    if (stopped) {
        pass(stop);
        return;
    }
    fail_begin(stop);
    out("query-cpu-stopped-state says ");
    out_dec((int32_t)state);
    out(" after 20 s");
    fail_end();
}

/* Runs on the secondary CPU (start.S): records what it saw and stops itself. A start-cpu
 * brings it back to secondary_entry, never here. */
void secondary_main(uint64_t r3, uint64_t msr)
{
    seen.msr = msr;
    seen.r3 = r3;
    __asm__ volatile("sync" ::: "memory");   /* the record before the flag */
    seen.round = seen.starting;
    __asm__ volatile("sync" ::: "memory");
    rtas(tok.stop_self, 0, 1, 0, 0);
    for (;;)   /* stop-self came back: the boot CPU's stop check will time out */
        ;
}

/* The CPU services: the boot CPU is running and cannot be started again, a CPU id that does
 * not exist is refused, and the second CPU of /cpus (when there is one) goes two rounds. */
static void check_cpus(const struct dt *t)
{
    uint32_t ids[2];
    unsigned n = dt_cpu_ids(t, ids, 2);
    if (n == 0) {
        fail("fdt-cpus", "no cpu node with a reg under /cpus");
        return;
    }
    pass("fdt-cpus");
    uint32_t state;
    expect_cpu_state("rtas-query-cpu-boot-running", ids[0], CPU_RUNNING);
    expect_dec("rtas-query-cpu-bad-id", cpu_state(0x7ffffff0u, &state), -3);
    uint32_t args[3] = {ids[0], (uint32_t)(uintptr_t)secondary_entry, SECONDARY_MAGIC};
    expect_dec("rtas-start-cpu-running", rtas(tok.start_cpu, 3, 1, args, 0), -1);
    if (n < 2) {
        skip("secondary", "one CPU in the device tree");
        return;
    }
    expect_cpu_state("secondary-stopped-at-boot", ids[1], CPU_STOPPED);
    secondary_round(ids[1], 1);
    secondary_round(ids[1], 2);   /* stop-self, then start-cpu again */
}

void rtas_checks(const struct dt *t)
{
    uint32_t cpus = dt_subnode(t, dt_root(t), "cpus"), hz;
    uint32_t cpu0 = dt_child(t, cpus, 0);
    if (cpu0 && dt_prop_u32(t, cpu0, "timebase-frequency", &hz) && hz)
        tb_hz = hz;
    if (have(tok.get_time, "rtas-get-time-of-day"))
        check_get_time();
    if (have(tok.set_time, "rtas-set-time-of-day") && tok.get_time)
        check_set_time();
    check_display_character();
    expect_dec("rtas-bad-token", rtas(0x7ffffff0u, 0, 1, 0, 0), -3);
    if (have(tok.query_cpu, "rtas-query-cpu-stopped-state") &&
        have(tok.start_cpu, "rtas-start-cpu") && have(tok.stop_self, "rtas-stop-self"))
        check_cpus(t);
}

/* power-off(-1, -1), as Linux calls it: no power-on time. */
void rtas_power_off(void)
{
    static const uint32_t args[2] = {0xffffffffu, 0xffffffffu};
    if (tok.power_off)
        rtas(tok.power_off, 2, 1, args, 0);
}
