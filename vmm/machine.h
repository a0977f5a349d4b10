/* The pseries machine as the device models and firmware see it.
 *
 * hcall handlers, RTAS services and the console reach the VM only through struct machine:
 * guest memory (bounds-checked), the console, the RTAS registry, and a small set of
 * operations that need the hypervisor (machine_ops). The KVM layer implements those
 * operations; the unit tests implement them with fakes. Nothing in devices/ or firmware/
 * includes a KVM header, which is what lets them build and run natively under sanitizers.
 */
#ifndef MINIVMM_MACHINE_H
#define MINIVMM_MACHINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "err.h"
#include "mem.h"

/* The machine's parts are the board's (vm.c and board.c own them, the tests fake them):
 * devices, firmware and the hypervisor reach one another through these pointers, and this
 * header includes nothing of theirs, so devices/ and firmware/ depend on vmm/'s core and
 * never the other way round. */
struct machine;
struct pci_host;
struct rtas;
struct vty;
struct xics;

/* LPCR bits the guest may change through H_SET_MODE. */
#define LPCR_ILE (1ULL << 25)        /* interrupts taken in little-endian mode */
#define LPCR_AIL_SHIFT 23
#define LPCR_AIL (3ULL << LPCR_AIL_SHIFT) /* alternate interrupt location */

/* States reported by RTAS query-cpu-stopped-state (PAPR values). */
enum cpu_run_state { CPU_STOPPED = 0, CPU_STOPPING = 1, CPU_RUNNING = 2 };

struct machine_ops {
    /* H_REGISTER_PROC_TBL: make the partition-table entry describe the guest's process table.
     * Returns 0 or -errno from the hypervisor. */
    int (*configure_mmu)(struct machine *m, bool radix, bool gtse, uint64_t process_table);
    /* Set the LPCR bits in `mask` to `val` on every vCPU. The calling vCPU is updated before
     * it resumes; others before they next enter the guest (vCPUs started later inherit it).
     * -EOPNOTSUPP: this hypervisor cannot do that mode. */
    int (*set_lpcr)(struct machine *m, int calling_cpu, uint64_t mask, uint64_t val);
    /* H_SET_SPRG0: set the calling vCPU's SPRG0 (between exits). Returns 0 or -errno. */
    int (*set_sprg0)(struct machine *m, int calling_cpu, uint64_t val);
    /* RTAS start-cpu: start a stopped vCPU at `pc` (64-bit, real mode) with r3 = r3.
     * Returns 0, -ENOENT (no such CPU) or -EBUSY (not stopped). */
    int (*start_cpu)(struct machine *m, uint32_t cpu, uint64_t pc, uint64_t r3);
    /* Returns the enum cpu_run_state of `cpu`, or -ENOENT. */
    int (*cpu_state)(struct machine *m, uint32_t cpu);
    /* RTAS stop-self: the calling vCPU stops after this exit until started again. */
    void (*stop_self)(struct machine *m, int calling_cpu);
    /* H_GET_CPU_CHARACTERISTICS: the speculation-safety characteristics and behaviours the
     * host reports for guests (PAPR bit layout). Returns 0 or -errno. */
    int (*cpu_characteristics)(struct machine *m, uint64_t *character, uint64_t *behaviour);
    /* Sets the level of interrupt source `irq` (level-triggered sources follow it). Any
     * thread. Returns 0 or -errno. */
    int (*irq_set)(struct machine *m, uint32_t irq, int level);
    /* Sends a message-signalled interrupt: source `irq` (an edge) fires once. Any thread. With
     * KVM's XICS an irqfd the board set up for it, with minivmm's a call into it. Returns 0 or
     * -errno. */
    int (*msi)(struct machine *m, uint32_t irq);
    /* Userspace XICS: raises (level 1) or lowers the external interrupt line of the vCPU
     * whose id is `server`. Any thread. */
    int (*cpu_irq)(struct machine *m, uint32_t server, int level);
    /* The guest powers off or reboots: every device writes the output it still holds
     * (struct device_kind's flush). On the vCPU that asked, before shutdown. Optional. */
    void (*flush_output)(struct machine *m);
    /* Ends the run: every vCPU leaves the guest and minivmm reports `status`. The first
     * request wins; `why` may be NULL. */
    void (*shutdown)(struct machine *m, enum mvm_status status, const char *why);
    /* The command the guest ran for minivmm (--rootfs DIR -- COMMAND) is over: its exit
     * status as minivmm reports it, and why it did not run (NULL when it did). The first
     * report counts. Any thread. */
    void (*command_ended)(struct machine *m, int status, const char *why);
};

struct machine {
    struct guest_mem mem;
    unsigned ncpus;
    struct vty *vty;         /* the sPAPR vty (hvc0) */
    struct vty *virtio_port; /* the virtio console's port, if there is one */
    struct rtas *rtas;       /* the RTAS services registry */
    struct bus bus;          /* MMIO: PCI BARs */
    struct pci_host *pci;    /* NULL: no PCI host bridge */
    struct xics *xics;       /* NULL: KVM's in-kernel XICS does the interrupt controller */
    uint32_t cpu_stride;     /* vCPU i has KVM id (and interrupt server) i * cpu_stride */
    const struct machine_ops *ops;
    void *backend;          /* the KVM layer's own state; opaque here */
    int log_fd;             /* diagnostics go here (-1: nowhere) */
    bool verbose;
    bool radix;             /* the guest MMU mode the VM is in (KVM and the guest agree) */
    /* Radix: the process-table entry the guest registered (H_REGISTER_PROC_TBL; 0: none), for
     * translating its addresses when it is reported on (gva.h). Atomic. */
    uint64_t process_table;
    /* KVM-PR: the guest's hashed page table, which lives in our memory (KVM updates it on
     * H_ENTER and friends; we only read it for H_READ). NULL under KVM-HV. */
    const uint8_t *hpt;
    uint64_t hpt_size;
    /* What each thread that serves the guest does first (restrict itself); NULL: nothing.
     * Returns 0, or -errno and the thread must not serve. */
    int (*thread_init)(struct machine *m);
    /* The same for threads that serve files beneath the directory root_fd (a shared
     * directory): they need file system calls the others must not have, and only that tree.
     * NULL: nothing. */
    int (*file_thread_init)(struct machine *m, int root_fd);
    /* The same for a thread that serves the guest's sockets (vsock): it needs UNIX socket
     * calls (socket, connect, accept4, close, shutdown) the others must not have. NULL:
     * nothing. */
    int (*socket_thread_init)(struct machine *m);
    /* The guest's time-of-day clock runs this many microseconds ahead of the host's
     * CLOCK_REALTIME (--rtc-base, RTAS set-time-of-day); the host's clock is never set.
     * Microseconds: any year 1-9999 fits. Atomic: any vCPU may read or set it. */
    int64_t rtc_offset_us;
    uint64_t broken_rings;   /* times a driver broke a virtqueue (atomic; --stats reports) */
    /* Device interrupts (atomic; --stats reports): INTx lines raised, MSI-X messages sent, and
     * messages dropped (a vector without a valid message from the firmware). */
    uint64_t intx_raised, msi_sent, msi_dropped;
    /* virtio-net, atomic, --stats reports them: frames a guest sent that were dropped as
     * malformed, received frames its buffers could not hold, backends that went away. */
    uint64_t net_bad_frames, net_rx_dropped, net_links_down;
    uint64_t bad_packets;    /* device packets dropped as malformed (vsock headers; atomic) */
    uint64_t flood_resets;   /* connections reset: the guest sent past its credit (atomic) */
    /* One bit per hcall_slot() already reported as unimplemented: each is logged once. */
    uint64_t hcall_warned[(0x1000 / 4 + 2 + 63) / 64];
};

/* Writes one diagnostic line (a newline is added) to the machine's log_fd. */
void machine_log(struct machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The guest powers off or reboots: every device writes the output it still holds. On the vCPU
 * that asked, before the run ends (output is dropped once it has). */
static inline void machine_flush_output(struct machine *m)
{
    if (m->ops->flush_output)
        m->ops->flush_output(m);
}

#endif
