/* A pseries machine for the device and firmware unit tests: 1 MiB of calloc'd guest RAM (so
 * ASan sees every access past its end), 2 vCPUs, the console on a pipe and fake hypervisor
 * operations that record what they were asked to do in `fake`.
 *
 * Include after <cmocka.h>; use setup/teardown as the cmocka fixture of every test.
 */
#ifndef MINIVMM_TEST_FAKE_MACHINE_H
#define MINIVMM_TEST_FAKE_MACHINE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/vty.h"
#include "../../firmware/rtas.h"
#include "../../vmm/err.h"
#include "../../vmm/machine.h"

#define RAM (1u << 20)
#define FAKE_MAX_IRQ 0x1400      /* covers the PCI INTx and MSI-X sources (devices/pci.h) */
#define FAKE_MAX_SERVER 256      /* XICS_MAX_SERVERS */

/* What the fake hypervisor operations were asked to do. */
static struct {
    int mmu_calls, mmu_ret, char_ret, lpcr_calls, lpcr_ret, start_calls, stop_calls, stop_cpu, shutdown_calls;
    bool radix, gtse;
    uint64_t proc_tbl, lpcr_mask, lpcr_val, start_pc, start_r3, character, behaviour;
    uint64_t sprg0[2];           /* H_SET_SPRG0 of each vCPU */
    int sprg0_ret;
    uint32_t start_cpu;
    int cpu_state[2];            /* enum cpu_run_state of each vCPU */
    int irq_calls;               /* irq_set calls, all sources */
    int irq_level[FAKE_MAX_IRQ]; /* last level set for each source below FAKE_MAX_IRQ */
    uint32_t irq_last;           /* source of the last irq_set call */
    int cpu_irq_calls;           /* cpu_irq calls (userspace XICS), all servers */
    int cpu_irq_level[FAKE_MAX_SERVER]; /* last level set for each server's line */
    uint32_t cpu_irq_last;       /* server of the last cpu_irq call */
    int msi_calls;               /* msi calls, all sources */
    int msi_count[FAKE_MAX_IRQ]; /* messages sent to each source below FAKE_MAX_IRQ */
    uint32_t msi_last;           /* source of the last message */
    enum mvm_status status;
    char why[512];
    int command_calls, command_status;   /* command_ended() */
    char command_why[256];
} fake;

static int fake_configure_mmu(struct machine *mm, bool radix, bool gtse, uint64_t pt)
{
    (void)mm;
    fake.mmu_calls++, fake.radix = radix, fake.gtse = gtse, fake.proc_tbl = pt;
    return fake.mmu_ret;
}

static int fake_set_lpcr(struct machine *mm, int cpu, uint64_t mask, uint64_t val)
{
    (void)mm, (void)cpu;
    fake.lpcr_calls++, fake.lpcr_mask = mask, fake.lpcr_val = val;
    return fake.lpcr_ret;
}

static int fake_set_sprg0(struct machine *mm, int cpu, uint64_t val)
{
    (void)mm;
    if (fake.sprg0_ret == 0)
        fake.sprg0[cpu] = val;
    return fake.sprg0_ret;
}

/* -ENOENT for a vCPU that does not exist, -EBUSY for one that runs, as the KVM layer. */
static int fake_start_cpu(struct machine *mm, uint32_t cpu, uint64_t pc, uint64_t r3)
{
    if (cpu >= mm->ncpus)
        return -ENOENT;
    if (fake.cpu_state[cpu] != CPU_STOPPED)
        return -EBUSY;
    fake.start_calls++, fake.start_cpu = cpu, fake.start_pc = pc, fake.start_r3 = r3;
    fake.cpu_state[cpu] = CPU_RUNNING;
    return 0;
}

static int fake_cpu_state(struct machine *mm, uint32_t cpu)
{
    return cpu < mm->ncpus ? fake.cpu_state[cpu] : -ENOENT;
}

static void fake_stop_self(struct machine *mm, int cpu)
{
    (void)mm;
    fake.stop_calls++, fake.stop_cpu = cpu;
}

static int fake_cpu_characteristics(struct machine *mm, uint64_t *character, uint64_t *behaviour)
{
    (void)mm;
    *character = fake.character, *behaviour = fake.behaviour;
    return fake.char_ret;
}

static void fake_shutdown(struct machine *mm, enum mvm_status status, const char *why)
{
    (void)mm;
    fake.shutdown_calls++, fake.status = status;
    snprintf(fake.why, sizeof(fake.why), "%s", why ? why : "");
}

static void fake_command_ended(struct machine *mm, int status, const char *why)
{
    (void)mm;
    fake.command_calls++, fake.command_status = status;
    snprintf(fake.command_why, sizeof(fake.command_why), "%s", why ? why : "");
}

/* Records the level; sources beyond FAKE_MAX_IRQ are only counted. */
static int fake_irq_set(struct machine *mm, uint32_t irq, int level)
{
    (void)mm;   /* device threads and vCPUs both call it */
    __atomic_add_fetch(&fake.irq_calls, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&fake.irq_last, irq, __ATOMIC_RELAXED);
    if (irq < FAKE_MAX_IRQ)   /* I/O threads raise lines while a test polls them */
        __atomic_store_n(&fake.irq_level[irq], level, __ATOMIC_RELEASE);
    return 0;
}

/* Counts the messages each source got; sources beyond FAKE_MAX_IRQ are only counted. */
static int fake_msi(struct machine *mm, uint32_t irq)
{
    (void)mm;
    __atomic_add_fetch(&fake.msi_calls, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&fake.msi_last, irq, __ATOMIC_RELAXED);
    if (irq < FAKE_MAX_IRQ)
        __atomic_add_fetch(&fake.msi_count[irq], 1, __ATOMIC_RELEASE);
    return 0;
}

/* Records the external interrupt line of each server; larger servers are only counted. */
static int fake_cpu_irq(struct machine *mm, uint32_t server, int level)
{
    (void)mm;
    fake.cpu_irq_calls++, fake.cpu_irq_last = server;
    if (server < FAKE_MAX_SERVER)
        fake.cpu_irq_level[server] = level;
    return 0;
}

/* The board's walk of its devices at power-off: a test that has a device with output to
 * flush names it here. */
static void (*fake_flush)(void *dev);
static void *fake_flush_dev;

static void fake_flush_output(struct machine *mm)
{
    (void)mm;
    if (fake_flush)
        fake_flush(fake_flush_dev);
}

static const struct machine_ops fake_ops = {
    .configure_mmu = fake_configure_mmu, .set_lpcr = fake_set_lpcr,
    .set_sprg0 = fake_set_sprg0,
    .start_cpu = fake_start_cpu, .cpu_state = fake_cpu_state,
    .stop_self = fake_stop_self, .cpu_characteristics = fake_cpu_characteristics,
    .irq_set = fake_irq_set, .msi = fake_msi, .cpu_irq = fake_cpu_irq,
    .flush_output = fake_flush_output, .shutdown = fake_shutdown,
    .command_ended = fake_command_ended,
};

/* The sandbox is the real VMM's business: a device thread's restriction is a no-op here. */
static int fake_socket_thread_init(struct machine *mm)
{
    (void)mm;
    return 0;
}

static struct machine m;
static struct vty fake_vty;
static struct rtas fake_rtas;
static int out_pipe[2];          /* the console: the test reads [0] */

static inline int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof(fake));
    fake_flush = NULL, fake_flush_dev = NULL;
    fake.cpu_state[0] = CPU_RUNNING;
    memset(&m, 0, sizeof(m));
    m.mem.host = calloc(1, RAM);
    m.mem.size = RAM;
    m.mem.page_size = 4096;
    m.ncpus = 2;
    if (!m.mem.host || pipe(out_pipe) != 0)
        return -1;
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    m.vty = &fake_vty;
    m.rtas = &fake_rtas;
    vty_init(m.vty, out_pipe[1]);
    rtas_init(m.rtas);
    m.ops = &fake_ops;
    m.log_fd = -1;
    m.socket_thread_init = fake_socket_thread_init;
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    vty_destroy(m.vty);
    close(out_pipe[0]);
    close(out_pipe[1]);
    free(m.mem.host);
    return 0;
}

/* What the guest printed since the last call (NUL-terminated). */
static inline const char *console(void)
{
    static char buf[256];
    ssize_t n = read(out_pipe[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static inline void put_be32(uint64_t gpa, uint32_t v)
{
    uint8_t *p = m.mem.host + gpa;
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = (uint8_t)v;
}

static inline uint32_t get_be32(uint64_t gpa)
{
    const uint8_t *p = m.mem.host + gpa;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
