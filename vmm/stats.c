#include "stats.h"

#include <linux/kvm.h>
#include <stdio.h>

#include "../devices/pci.h"

static const char *const exit_names[STATS_EXIT_REASONS] = {
    [KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
    [KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL", [KVM_EXIT_DEBUG] = "DEBUG",
    [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR", [KVM_EXIT_OSI] = "OSI",
    [KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL", [KVM_EXIT_WATCHDOG] = "WATCHDOG",
    [KVM_EXIT_EPR] = "EPR", [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
};

const char *stats_exit_name(uint32_t reason)
{
    if (reason < STATS_EXIT_REASONS && exit_names[reason])
        return exit_names[reason];
    return "unrecognised";
}

void stats_add(struct vcpu_stats *total, const struct vcpu_stats *s)
{
    for (unsigned i = 0; i < STATS_EXIT_REASONS; i++)
        total->exits[i] += s->exits[i];
    for (unsigned i = 0; i < HCALL_SLOTS; i++)
        total->hcalls[i] += s->hcalls[i];
    total->mmio_reads += s->mmio_reads;
    total->mmio_writes += s->mmio_writes;
}

/* Writes "NAME count, NAME count, ..." into buf, largest counts first, as many whole entries
 * as fit; returns how many. Counts taken are cleared in v (the caller's copy). */
static unsigned list_largest(uint64_t *v, unsigned n, char *buf, size_t len,
                             void (*name)(unsigned i, char *out, size_t out_len))
{
    size_t at = 0;
    unsigned listed = 0;
    buf[0] = 0;
    for (;;) {
        unsigned best = n;
        for (unsigned i = 0; i < n; i++)
            if (v[i] && (best == n || v[i] > v[best]))
                best = i;
        if (best == n)
            return listed;
        char nm[40];
        name(best, nm, sizeof(nm));
        int w = snprintf(buf + at, len - at, "%s%s %llu", at ? ", " : "", nm,
                         (unsigned long long)v[best]);
        if (w < 0 || (size_t)w >= len - at) {   /* no room: drop the cut-off entry */
            buf[at] = 0;
            return listed;
        }
        at += (size_t)w;
        listed++;
        v[best] = 0;
    }
}

static void exit_label(unsigned i, char *out, size_t len)
{
    snprintf(out, len, "%s", stats_exit_name(i));
}

static void hcall_label(unsigned i, char *out, size_t len)
{
    if (i == HCALL_SLOT_OTHER) {
        snprintf(out, len, "unknown");
        return;
    }
    uint64_t nr = hcall_of_slot(i);
    const char *n = hcall_name(nr);
    if (n)
        snprintf(out, len, "%s", n);
    else
        snprintf(out, len, "0x%llx", (unsigned long long)nr);
}

void stats_report(struct machine *m, const struct vcpu_stats *total, double seconds)
{
    struct vcpu_stats t = *total;
    uint64_t exits = 0;
    for (unsigned i = 0; i < STATS_EXIT_REASONS; i++)
        exits += t.exits[i];
    char line[400];
    if (!list_largest(t.exits, STATS_EXIT_REASONS, line, sizeof(line), exit_label))
        snprintf(line, sizeof(line), "none");
    machine_log(m, "stats: %llu exits to minivmm in %.2f s (%.0f/s): %s",
                (unsigned long long)exits, seconds, seconds > 0 ? (double)exits / seconds : 0.0,
                line);
    if (list_largest(t.hcalls, HCALL_SLOTS, line, sizeof(line), hcall_label))
        machine_log(m, "stats: hcalls: %s", line);
    if (t.mmio_reads || t.mmio_writes)
        machine_log(m, "stats: MMIO: %llu reads, %llu writes",
                    (unsigned long long)t.mmio_reads, (unsigned long long)t.mmio_writes);
    uint64_t intx = __atomic_load_n(&m->intx_raised, __ATOMIC_RELAXED);
    uint64_t msi = __atomic_load_n(&m->msi_sent, __ATOMIC_RELAXED);
    uint64_t msi_lost = __atomic_load_n(&m->msi_dropped, __ATOMIC_RELAXED);
    if (m->pci)
        machine_log(m, "stats: device interrupts: %llu MSI-X messages, %llu INTx raised, %llu "
                    "MSI-X messages dropped", (unsigned long long)msi, (unsigned long long)intx,
                    (unsigned long long)msi_lost);
    /* What the guest got wrong and minivmm absorbed: worth a look when a driver misbehaves. */
    uint64_t nothing = __atomic_load_n(&m->bus.unclaimed, __ATOMIC_RELAXED);
    uint64_t bad_cfg = m->pci ? __atomic_load_n(&m->pci->bad_accesses, __ATOMIC_RELAXED) : 0;
    uint64_t broken = __atomic_load_n(&m->broken_rings, __ATOMIC_RELAXED);
    if (nothing || bad_cfg || broken)
        machine_log(m, "stats: guest faults: %llu MMIO accesses to no device, %llu bad PCI config "
                    "accesses, %llu broken virtqueues", (unsigned long long)nothing,
                    (unsigned long long)bad_cfg, (unsigned long long)broken);
    uint64_t bad_frames = __atomic_load_n(&m->net_bad_frames, __ATOMIC_RELAXED);
    uint64_t rx_dropped = __atomic_load_n(&m->net_rx_dropped, __ATOMIC_RELAXED);
    uint64_t downs = __atomic_load_n(&m->net_links_down, __ATOMIC_RELAXED);
    if (bad_frames || rx_dropped || downs)
        machine_log(m, "stats: network: %llu malformed frames from the guest dropped, %llu "
                    "received frames too big for its buffers dropped, %llu links down",
                    (unsigned long long)bad_frames, (unsigned long long)rx_dropped,
                    (unsigned long long)downs);
    uint64_t bad_pkts = __atomic_load_n(&m->bad_packets, __ATOMIC_RELAXED);
    uint64_t floods = __atomic_load_n(&m->flood_resets, __ATOMIC_RELAXED);
    if (bad_pkts || floods)
        machine_log(m, "stats: vsock faults: %llu bad packets dropped, %llu connections reset "
                    "for sending past their credit", (unsigned long long)bad_pkts,
                    (unsigned long long)floods);
}
