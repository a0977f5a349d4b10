#include "rtas.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../devices/hcall.h"
#include "../devices/vty.h"
#include "../vmm/civil.h"
#include "../vmm/machine.h"

static int32_t rtas_display_character(struct machine *m, int cpu, const uint32_t *args,
                                      unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    uint8_t c = (uint8_t)args[0];
    return vty_write(m->vty, &c, 1) == 0 ? RTAS_OK : RTAS_HW_ERROR;
}

/* The guest's clock: the host's CLOCK_REALTIME plus the machine's offset, which
 * set-time-of-day and --rtc-base move (the host's own clock is never set). */
static int guest_now(struct machine *m, int64_t *secs, int64_t *nsec)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    int64_t off = __atomic_load_n(&m->rtc_offset_us, __ATOMIC_RELAXED);
    int64_t s = ts.tv_sec + off / 1000000, ns = ts.tv_nsec + off % 1000000 * 1000;
    if (ns < 0)
        ns += 1000000000, s--;
    else if (ns >= 1000000000)
        ns -= 1000000000, s++;
    *secs = s, *nsec = ns;
    return 0;
}

static int32_t rtas_get_time_of_day(struct machine *m, int cpu, const uint32_t *args,
                                    unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)args, (void)nargs, (void)nret;
    int64_t secs, nsec;
    struct civil_time t;
    if (guest_now(m, &secs, &nsec) != 0)
        return RTAS_HW_ERROR;
    civil_from_secs(secs, &t);
    if (!civil_valid(&t))        /* an offset that took the clock outside years 1-9999 */
        return RTAS_HW_ERROR;
    uint32_t v[7] = {t.year, t.month, t.day, t.hour, t.min, t.sec, (uint32_t)nsec};
    memcpy(&rets[1], v, sizeof(v));
    return RTAS_OK;
}

/* set-time-of-day(year, month, day, hour, minute, second, nanosecond): `hwclock -w`. The
 * date must be a real one; what is kept is the distance from the host's clock. */
static int32_t rtas_set_time_of_day(struct machine *m, int cpu, const uint32_t *args,
                                    unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    struct civil_time t = {args[0], args[1], args[2], args[3], args[4], args[5]};
    if (!civil_valid(&t) || args[6] >= 1000000000)
        return RTAS_PARAM_ERROR;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return RTAS_HW_ERROR;
    int64_t off = (civil_to_secs(&t) - ts.tv_sec) * 1000000 +
                  ((int64_t)args[6] - ts.tv_nsec) / 1000;
    __atomic_store_n(&m->rtc_offset_us, off, __ATOMIC_RELAXED);
    return RTAS_OK;
}

/* ibm,get-system-parameter(parameter, buffer, length): what lparcfg and lparstat read. The
 * buffer gets a 2-byte big-endian length and then the value, cut to what fits, as PAPR
 * says. Two parameters mean something for a KVM guest (the ones QEMU answers too, but the
 * UUID: there is none); every other is "not supported", which Linux takes quietly. */
#define SYSPARM_SPLPAR_CHARACTERISTICS 20
#define SYSPARM_DIAGNOSTICS_RUN_MODE 42
#define SYSPARM_PARAM_ERROR (-9999)   /* this call's "parameter error": -3 means unknown */

static int32_t rtas_get_system_parameter(struct machine *m, int cpu, const uint32_t *args,
                                         unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    char val[160];
    size_t n;
    if (args[0] == SYSPARM_SPLPAR_CHARACTERISTICS) {
        /* Dedicated processors: entitled to all of each vCPU (100 units each). The string's
         * terminating NUL is part of the value. */
        n = (size_t)snprintf(val, sizeof(val), "MaxEntCap=%u,DesMem=%llu,DesProcs=%u,"
                             "MaxPlatProcs=%u", m->ncpus * 100,
                             (unsigned long long)(m->mem.size >> 20), m->ncpus, m->ncpus) + 1;
    } else if (args[0] == SYSPARM_DIAGNOSTICS_RUN_MODE) {
        val[0] = 0;            /* no diagnostics are ever run */
        n = 1;
    } else {
        return RTAS_NOT_SUPPORTED;
    }
    uint32_t len = args[2];
    if (len < 2)
        return SYSPARM_PARAM_ERROR;
    if (n > len - 2u)
        n = len - 2u;
    uint8_t *buf = gpa_ptr(&m->mem, args[1], 2 + n);
    if (!buf)
        return SYSPARM_PARAM_ERROR;
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    memcpy(buf + 2, val, n);
    return RTAS_OK;
}

static int32_t rtas_power_off(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                              uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)args, (void)nargs, (void)rets, (void)nret;
    /* What the guest wrote before it asked (a command's last bytes, its status line) may
     * still wait for a device's thread: written now, or never once the run has ended. */
    machine_flush_output(m);
    m->ops->shutdown(m, MVM_OK, NULL);
    return RTAS_OK;
}

static int32_t rtas_system_reboot(struct machine *m, int cpu, const uint32_t *args,
                                  unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)args, (void)nargs, (void)rets, (void)nret;
    machine_flush_output(m);   /* as for a power-off */
    m->ops->shutdown(m, MVM_REBOOT, "the guest requested a reboot");
    return RTAS_OK;
}

/* ibm,os-term: the guest is going down and says why (Linux calls it from its panic path). */
static int32_t rtas_os_term(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                            uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    char why[256];
    size_t n = 0;
    /* The message is a NUL-terminated string in guest memory: copy it byte by byte within
     * bounds, keep only printable characters, and stop at the first unreadable byte. */
    for (uint64_t gpa = args[0]; n < sizeof(why) - 1; gpa++) {
        const uint8_t *c = gpa_ptr(&m->mem, gpa, 1);
        if (!c || *c == '\0')
            break;
        why[n++] = (*c >= 0x20 && *c < 0x7f) ? (char)*c : ' ';
    }
    while (n > 0 && why[n - 1] == ' ')
        n--;
    why[n] = '\0';
    char msg[300];
    snprintf(msg, sizeof(msg), "the guest terminated (ibm,os-term): %s", n ? why : "no message");
    m->ops->shutdown(m, MVM_PANIC, msg);
    return RTAS_OK;
}

static int32_t rtas_query_cpu_stopped_state(struct machine *m, int cpu, const uint32_t *args,
                                            unsigned nargs, uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)nret;
    int state = m->ops->cpu_state(m, args[0]);
    if (state < 0)
        return RTAS_PARAM_ERROR;
    rets[1] = (uint32_t)state;
    return RTAS_OK;
}

/* start-cpu(cpu, entry, r3): the way Linux brings up secondary CPUs, which minivmm keeps
 * stopped until asked (no spinning vCPUs burning host time). */
static int32_t rtas_start_cpu(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                              uint32_t *rets, unsigned nret)
{
    (void)cpu, (void)nargs, (void)rets, (void)nret;
    int r = m->ops->start_cpu(m, args[0], args[1], args[2]);
    if (r == 0)
        return RTAS_OK;
    return r == -ENOENT ? RTAS_PARAM_ERROR : RTAS_HW_ERROR;
}

static int32_t rtas_stop_self(struct machine *m, int cpu, const uint32_t *args, unsigned nargs,
                              uint32_t *rets, unsigned nret)
{
    (void)args, (void)nargs, (void)rets, (void)nret;
    m->ops->stop_self(m, cpu);
    return RTAS_OK;
}

static const struct rtas_service builtin[] = {
    {"display-character", rtas_display_character, 1, 1},
    {"get-time-of-day", rtas_get_time_of_day, 0, 8},
    {"set-time-of-day", rtas_set_time_of_day, 7, 1},
    {"ibm,get-system-parameter", rtas_get_system_parameter, 3, 1},
    {"power-off", rtas_power_off, 2, 1},
    {"system-reboot", rtas_system_reboot, 0, 1},
    {"ibm,os-term", rtas_os_term, 1, 1},
    {"query-cpu-stopped-state", rtas_query_cpu_stopped_state, 1, 2},
    {"start-cpu", rtas_start_cpu, 3, 1},
    {"stop-self", rtas_stop_self, 0, 1},
};

void rtas_init(struct rtas *r)
{
    r->n = 0;
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        rtas_register(r, &builtin[i]);
}

int rtas_token(const struct rtas *r, const char *name)
{
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->svc[i]->name, name) == 0)
            return RTAS_TOKEN_BASE + (int)i;
    return -1;
}

int rtas_register(struct rtas *r, const struct rtas_service *s)
{
    if (r->n == RTAS_MAX_SERVICES || rtas_token(r, s->name) >= 0)
        return -1;
    r->svc[r->n] = s;
    return RTAS_TOKEN_BASE + (int)r->n++;
}

int64_t rtas_call(struct machine *m, int cpu, uint64_t args_gpa)
{
    uint32_t token, nargs, nret;
    /* The stub passes r3 as it had it; the kernel masks the top nibble the same way. */
    args_gpa &= 0x0fffffffffffffffULL;
    if (gpa_read_be32(&m->mem, args_gpa, &token) || gpa_read_be32(&m->mem, args_gpa + 4, &nargs) ||
        gpa_read_be32(&m->mem, args_gpa + 8, &nret))
        return H_PARAMETER;
    if (nargs > RTAS_MAX_CELLS || nret > RTAS_MAX_CELLS || nargs + nret > RTAS_MAX_CELLS)
        return H_PARAMETER;
    if (nret == 0)   /* nowhere to put a status: nothing sensible to do */
        return H_PARAMETER;

    uint64_t args_at = args_gpa + 12, rets_at = args_at + 4ull * nargs;
    if (!gpa_ptr(&m->mem, args_at, 4ull * (nargs + nret)))
        return H_PARAMETER;
    uint32_t args[RTAS_MAX_CELLS] = {0}, rets[RTAS_MAX_CELLS] = {0};
    for (unsigned i = 0; i < nargs; i++)
        gpa_read_be32(&m->mem, args_at + 4ull * i, &args[i]);

    int32_t status;
    unsigned idx = token - RTAS_TOKEN_BASE;
    if (token < RTAS_TOKEN_BASE || idx >= m->rtas->n) {
        status = RTAS_NOT_SUPPORTED;
    } else {
        const struct rtas_service *s = m->rtas->svc[idx];
        if (nargs < s->nargs || nret < s->nret) {
            status = RTAS_PARAM_ERROR;
        } else if (!s->fn) {
            machine_log(m, "RTAS %s reached userspace although KVM should handle it", s->name);
            status = RTAS_HW_ERROR;
        } else {
            status = s->fn(m, cpu, args, nargs, rets, nret);
        }
    }
    rets[0] = (uint32_t)status;
    for (unsigned i = 0; i < nret; i++)
        gpa_write_be32(&m->mem, rets_at + 4ull * i, rets[i]);
    return H_SUCCESS;
}
