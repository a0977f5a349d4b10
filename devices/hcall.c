#include "hcall.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "../firmware/rtas.h"
#include "../vmm/machine.h"
#include "vty.h"
#include "xics.h"

typedef int64_t (*hcall_fn)(struct machine *m, int cpu, uint64_t *args);

/* Terminal 0 is the default vty, as under QEMU and PowerVM: what a payload that has not read
 * the device tree (or Linux's early hvc debug console) writes to. */
static bool our_vty(uint64_t term)
{
    return term == VTY_REG || term == 0;
}

static int64_t h_put_term_char(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    uint64_t len = args[1];
    if (!our_vty(args[0]) || len > 16)
        return H_PARAMETER;
    /* The characters are packed into r6..r7 most-significant byte first, whatever the
     * guest's endianness (the guest stores them with cpu_to_be64). */
    uint8_t buf[16];
    for (unsigned i = 0; i < len; i++)
        buf[i] = (uint8_t)(args[2 + i / 8] >> (56 - 8 * (i % 8)));
    return vty_write(m->vty, buf, len) == 0 ? H_SUCCESS : H_HARDWARE;
}

static int64_t h_get_term_char(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    if (!our_vty(args[0]))
        return H_PARAMETER;
    uint8_t buf[16];
    size_t len = vty_read(m->vty, buf, sizeof(buf));
    args[0] = len;
    args[1] = args[2] = 0;
    for (size_t i = 0; i < len; i++)
        args[1 + i / 8] |= (uint64_t)buf[i] << (56 - 8 * (i % 8));
    return H_SUCCESS;
}

static int64_t set_lpcr(struct machine *m, int cpu, uint64_t mask, uint64_t val)
{
    int r = m->ops->set_lpcr(m, cpu, mask, val);
    return r == 0 ? H_SUCCESS : r == -EOPNOTSUPP ? H_UNSUPPORTED_FLAG_START : H_HARDWARE;
}

/* H_SET_MODE: KVM-HV does the breakpoint resources itself; interrupt endianness (which every
 * little-endian Linux requires: it panics without it) and the alternate interrupt location
 * come here. Both are LPCR fields. */
static int64_t h_set_mode(struct machine *m, int cpu, uint64_t *args)
{
    uint64_t mflags = args[0], resource = args[1];
    if (resource != H_SET_MODE_RESOURCE_LE && resource != H_SET_MODE_RESOURCE_ADDR_TRANS_MODE)
        return H_P2;
    if (args[2] != 0)
        return H_P3;
    if (args[3] != 0)
        return H_P4;
    if (resource == H_SET_MODE_RESOURCE_LE) {
        if (mflags > 1)
            return H_UNSUPPORTED_FLAG_START;
        return set_lpcr(m, cpu, LPCR_ILE, mflags ? LPCR_ILE : 0);
    }
    /* AIL 1 is reserved and 2 is not offered by the ISA for guests: only 0 and 3. (The
     * answer is a constant: mflags is the guest's, and arithmetic on it could overflow.) */
    if (mflags != 0 && mflags != 3)
        return H_UNSUPPORTED_FLAG_START;
    return set_lpcr(m, cpu, LPCR_AIL, mflags << LPCR_AIL_SHIFT);
}

/* H_REGISTER_PROC_TBL flags (PAPR; Linux platforms/pseries/lpar.c). */
#define PROC_TBL_MODIFY 0x10
#define PROC_TBL_REGISTER 0x08
#define PROC_TBL_RADIX 0x04
#define PROC_TBL_HASH_SEG 0x02      /* segment tables: a POWER9 hash feature nobody uses */
#define PROC_TBL_GTSE 0x01
#define PATE_GR (1ULL << 63)        /* partition-table entry: guest uses radix */

/* The guest tells us where its process table is; KVM needs it in the partition table
 * (KVM_PPC_CONFIGURE_V3_MMU). Any failure makes Linux BUG(), so errors are precise. */
static int64_t h_register_proc_tbl(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    uint64_t flags = args[0], base = args[1], page_size = args[2], table_size = args[3];
    if (flags & ~0x1fULL)
        return H_PARAMETER;
    bool radix = flags & PROC_TBL_RADIX;
    if (!(flags & PROC_TBL_MODIFY)) {
        /* "Keep what is there": only consistent if the mode is the one the VM is in. A hash
         * guest on POWER9 makes exactly this call with all zeroes. */
        if (radix != __atomic_load_n(&m->radix, __ATOMIC_SEQ_CST))
            return H_PARAMETER;
        if (radix)
            return H_SUCCESS;
        base = page_size = table_size = 0;
    } else if (!(flags & PROC_TBL_REGISTER)) {
        radix = m->radix;                      /* deregister: the mode stays as it is */
        base = page_size = table_size = 0;
    } else if (flags & PROC_TBL_HASH_SEG) {
        return H_P2;
    } else if (!radix && (base || page_size || table_size)) {
        return H_PARAMETER;                    /* hash with an SLB has no process table */
    }

    uint64_t entry;
    if (radix) {
        if (base & 0xfff || base >> 60)
            return H_P2;
        if (page_size)
            return H_P3;
        if (table_size > 24)
            return H_P4;
        entry = PATE_GR | base | table_size;
    } else {
        if (base >> 38 || page_size > 7 || table_size > 24)
            return H_P2;
        entry = (base << 25) | (page_size << 5) | table_size;
    }
    int r = m->ops->configure_mmu(m, radix, flags & PROC_TBL_GTSE, entry);
    if (r == -EINVAL)
        return H_PARAMETER;
    if (r == -ENODEV)
        return H_NOT_AVAILABLE;
    if (r)
        return H_HARDWARE;
    __atomic_store_n(&m->radix, radix, __ATOMIC_SEQ_CST);
    __atomic_store_n(&m->process_table, radix ? entry : 0, __ATOMIC_SEQ_CST);
    return H_SUCCESS;
}

/* Without an answer Linux assumes the worst and picks the slowest mitigations; the host's
 * KVM knows what this CPU and firmware actually need. */
static int64_t h_get_cpu_characteristics(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    uint64_t character, behaviour;
    if (m->ops->cpu_characteristics(m, &character, &behaviour) != 0)
        return H_FUNCTION;
    args[0] = character;
    args[1] = behaviour;
    return H_SUCCESS;
}

/* The XICS presentation hcalls reach us only when KVM has no in-kernel XICS for this VM. */
static int64_t xics_call(struct machine *m, int cpu, uint64_t nr, uint64_t *args)
{
    return m->xics ? xics_hcall(m->xics, cpu, nr, args) : H_FUNCTION;
}
static int64_t h_eoi(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_EOI, a); }
static int64_t h_cppr(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_CPPR, a); }
static int64_t h_ipi(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_IPI, a); }
static int64_t h_ipoll(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_IPOLL, a); }
static int64_t h_xirr(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_XIRR, a); }
static int64_t h_xirr_x(struct machine *m, int cpu, uint64_t *a) { return xics_call(m, cpu, H_XIRR_X, a); }

static int64_t h_rtas(struct machine *m, int cpu, uint64_t *args)
{
    return rtas_call(m, cpu, args[0]);
}

/* H_READ under KVM-PR (KVM-HV answers it itself): one hash page table entry, or the four of
 * an aligned group, straight from the table. Entries are big-endian doubleword pairs. */
static int64_t h_read(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    uint64_t flags = args[0], ptex = args[1];
    if (!m->hpt)
        return H_FUNCTION;
    unsigned n = flags & H_READ_4 ? 4 : 1;
    if (n == 4)
        ptex &= ~3ULL;
    if (ptex >= m->hpt_size / 16 || m->hpt_size / 16 - ptex < n)
        return H_PARAMETER;
    for (unsigned i = 0; i < 2 * n; i++) {
        const uint8_t *p = m->hpt + ptex * 16 + 8 * i;
        uint64_t v = 0;
        for (unsigned b = 0; b < 8; b++)
            v = v << 8 | __atomic_load_n(&p[b], __ATOMIC_RELAXED);
        args[i] = v;
    }
    return H_SUCCESS;
}

/* H_SET_SPRG0: PAPR's way to set SPRG0, which a kernel can also write itself; Linux never
 * calls it, payloads written to PAPR may. */
static int64_t h_set_sprg0(struct machine *m, int cpu, uint64_t *args)
{
    return m->ops->set_sprg0(m, cpu, args[0]) == 0 ? H_SUCCESS : H_HARDWARE;
}

/* The 4 KiB page of guest RAM at gpa, or NULL if gpa is unaligned or the page leaves RAM. */
static uint8_t *page_at(struct machine *m, uint64_t gpa)
{
    return gpa % H_PAGE_INIT_SIZE ? NULL : gpa_ptr(&m->mem, gpa, H_PAGE_INIT_SIZE);
}

/* H_PAGE_INIT: zero a 4 KiB page or copy one, then (if asked) make the instruction cache see
 * it. KVM-HV serves it in the kernel when we enable it there; this is the rest (KVM-PR, or a
 * kernel without). Every address is checked against guest RAM, as PAPR and QEMU do. The CMO
 * page-state flags are refused, as QEMU refuses them: no CMO is offered to the guest. */
static int64_t h_page_init(struct machine *m, int cpu, uint64_t *args)
{
    (void)cpu;
    uint64_t flags = args[0];
    if (flags & ~(H_ICACHE_INVALIDATE | H_ICACHE_SYNCHRONIZE | H_ZERO_PAGE | H_COPY_PAGE))
        return H_PARAMETER;
    uint8_t *d = page_at(m, args[1]);
    if (!d)
        return H_PARAMETER;
    if (flags & H_COPY_PAGE) {        /* copy wins over zero, as in QEMU */
        const uint8_t *s = page_at(m, args[2]);
        if (!s)
            return H_PARAMETER;
        memmove(d, s, H_PAGE_INIT_SIZE);
    } else if (flags & H_ZERO_PAGE) {
        memset(d, 0, H_PAGE_INIT_SIZE);
    }
    /* dcbst, sync, icbi, isync over the page on POWER; nothing where caches are coherent. */
    if (flags & (H_ICACHE_INVALIDATE | H_ICACHE_SYNCHRONIZE))
        __builtin___clear_cache((char *)d, (char *)d + H_PAGE_INIT_SIZE);
    return H_SUCCESS;
}

/* H_RANDOM: 64 bits from the host's kernel (KVM answers it itself from the hardware RNG when
 * the host has one and we enabled that). Never blocks a vCPU: before the host's pool is
 * ready (a young or entropy-starved host, as an emulated one can be for minutes) the bytes
 * are what /dev/urandom would give then, as QEMU's default RNG backend gives them. */
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004   /* Linux 5.6; older C library headers lack it */
#endif
static int64_t h_random(struct machine *m, int cpu, uint64_t *args)
{
    (void)m, (void)cpu;
    uint64_t v;
    ssize_t n = getrandom(&v, sizeof(v), GRND_NONBLOCK);
    if (n < 0 && errno == EAGAIN)
        n = getrandom(&v, sizeof(v), GRND_INSECURE);
    if (n != (ssize_t)sizeof(v))
        return H_HARDWARE;
    args[0] = v;
    return H_SUCCESS;
}

/* Hcalls Linux makes for facilities this machine does not have, answered H_FUNCTION ("not
 * available"), which Linux takes quietly, and not logged as unknown: H_QUERY_VAS_CAPABILITIES
 * (no accelerators; at every Radix boot; H_FUNCTION is the only answer Linux does not
 * complain about), H_SIGNAL_SYS_RESET (at every SMP power-off or panic; Linux falls back to
 * an IPI, which KVM's XICS delivers), the hv-gpci/24x7 PMUs' probes (no such counters), and
 * H_REGISTER_VPA, which reaches us only under KVM-PR (KVM-HV serves it): Linux registers a
 * VPA on every LPAR, says once that it could not, and runs on without one, which its
 * dedicated vCPUs do not need (no hcall-splpar is offered under PR). */
static int64_t h_absent(struct machine *m, int cpu, uint64_t *args)
{
    (void)m, (void)cpu, (void)args;
    return H_FUNCTION;
}

/* The hcalls served here: one list, from which come the dispatch table (by opcode) and the
 * names --stats prints. */
#define PAPR_HCALLS(X)                                                                      \
    X(H_READ, h_read) X(H_GET_TERM_CHAR, h_get_term_char) X(H_PUT_TERM_CHAR, h_put_term_char) \
    X(H_EOI, h_eoi) X(H_CPPR, h_cppr) X(H_IPI, h_ipi) X(H_IPOLL, h_ipoll) X(H_XIRR, h_xirr)   \
    X(H_XIRR_X, h_xirr_x) X(H_GET_CPU_CHARACTERISTICS, h_get_cpu_characteristics)            \
    X(H_SET_MODE, h_set_mode) X(H_REGISTER_PROC_TBL, h_register_proc_tbl)                \
    X(H_SET_SPRG0, h_set_sprg0) X(H_PAGE_INIT, h_page_init) X(H_RANDOM, h_random)             \
    X(H_REGISTER_VPA, h_absent) X(H_SIGNAL_SYS_RESET, h_absent)                              \
    X(H_QUERY_VAS_CAPABILITIES, h_absent)

#define HANDLER(op, fn) [op / 4] = fn,
static const hcall_fn papr_table[H_MAX_OPCODE / 4 + 1] = {PAPR_HCALLS(HANDLER)};
#define NAME(op, fn) {op, #op},
static const struct {
    uint64_t nr;
    const char *name;
} papr_names[] = {PAPR_HCALLS(NAME) {KVMPPC_H_RTAS, "H_RTAS"},
                  {H_GET_24X7_CATALOG_PAGE, "H_GET_24X7_CATALOG_PAGE"},
                  {H_GET_24X7_DATA, "H_GET_24X7_DATA"},
                  {H_GET_PERF_COUNTER_INFO, "H_GET_PERF_COUNTER_INFO"}};
#undef HANDLER
#undef NAME

const char *hcall_name(uint64_t nr)
{
    for (size_t i = 0; i < sizeof(papr_names) / sizeof(papr_names[0]); i++)
        if (papr_names[i].nr == nr)
            return papr_names[i].name;
    return NULL;
}

/* Each string promises the guest a family of hcalls; every one is served either by KVM or by
 * the table above. */
const char *const hcall_hypertas_functions[] = {
    "hcall-pft",       /* H_ENTER/H_REMOVE/...: hash page table updates, in KVM */
    "hcall-term",      /* H_PUT/GET_TERM_CHAR: the vty console, here */
    "hcall-dabr",      /* H_SET_DABR: in KVM */
    "hcall-interrupt", /* XICS H_CPPR/H_EOI/H_IPI/H_XIRR: in KVM's XICS device */
    "hcall-splpar",    /* H_REGISTER_VPA, H_CONFER, H_PROD: in KVM */
    "hcall-bulk",      /* H_BULK_REMOVE: in KVM */
    "hcall-set-mode",  /* H_SET_MODE: here (LE, AIL) and in KVM (breakpoints) */
    "hcall-sprg0",     /* H_SET_SPRG0: here */
    "hcall-copy",      /* H_PAGE_INIT: in KVM (enabled at creation), else here */
    NULL,
};

/* KVM-PR updates the hash table, does XICS and H_CEDE in the kernel, and leaves H_READ to us;
 * it has no VPA, H_CONFER/H_PROD or H_SET_DABR, so the guest is not promised those. */
const char *const hcall_hypertas_functions_pr[] = {
    "hcall-pft", "hcall-term", "hcall-interrupt", "hcall-bulk", "hcall-set-mode", "hcall-sprg0",
    "hcall-copy", NULL,
};

int64_t hcall_dispatch(struct machine *m, int cpu, uint64_t nr, uint64_t args[9])
{
    hcall_fn fn = NULL;
    if (nr == KVMPPC_H_RTAS)
        fn = h_rtas;
    else if (nr == H_GET_PERF_COUNTER_INFO || nr == H_GET_24X7_CATALOG_PAGE ||
             nr == H_GET_24X7_DATA)   /* the hv-gpci and hv-24x7 PMUs probe at boot */
        fn = h_absent;
    else if (nr <= H_MAX_OPCODE && nr % 4 == 0)
        fn = papr_table[nr / 4];
    if (fn)
        return fn(m, cpu, args);

    /* Each opcode is reported once; everything outside the architected range (and misaligned
     * numbers) shares the last bit, so a guest cannot flood the log. */
    unsigned slot = hcall_slot(nr);
    uint64_t bit = 1ULL << (slot % 64);
    if (!(__atomic_fetch_or(&m->hcall_warned[slot / 64], bit, __ATOMIC_RELAXED) & bit))
        machine_log(m, "unimplemented hcall 0x%llx: returning H_FUNCTION%s",
                    (unsigned long long)nr, slot == HCALL_SLOT_OTHER ? " (further unknown "
                    "out-of-range hcalls are not reported)" : "");
    return H_FUNCTION;
}
