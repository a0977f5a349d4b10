/* State shared by vm.c (building and running the machine) and vcpu.c (the vCPU threads).
 * Private to the KVM side of minivmm. */
#ifndef MINIVMM_VM_INTERNAL_H
#define MINIVMM_VM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "kvm.h"
#include "../devices/device.h"
#include "../devices/msix.h"
#include "../devices/pci.h"
#include "../devices/vty.h"
#include "../devices/xics.h"
#include "../firmware/rtas.h"
#include "../fdt/fdt.h"
#include "console.h"
#include "cpio.h"
#include "layout.h"
#include "loader.h"
#include "machine.h"
#include "run_end.h"
#include "stats.h"
#include "vm.h"

struct vcpu {
    struct vm *vm;
    unsigned index;          /* 0..ncpus-1 */
    uint32_t id;             /* KVM vCPU id = device-tree server number */
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;     /* guarded by vm->lock, like exited */
    bool exited;             /* the thread is past its last use of the kick signal */
    /* Guarded by vm->lock. */
    enum cpu_run_state state;
    uint64_t start_pc, start_r3, start_r4;   /* where and how it enters the guest next */
    unsigned lpcr_gen;       /* generation of vm->lpcr_* last applied to this vCPU */
    unsigned paused_gen;     /* the last vm->pause_gen this vCPU recorded itself for */
    uint64_t unassigned_mmio; /* accesses that hit no device */
    struct vcpu_stats stats;  /* this thread's own: read once it has been joined */
};

struct vm {
    struct machine m;        /* first: machine_ops get back to the vm by a cast */
    struct vm_config cfg;
    int kvm_fd, vm_fd, xics_fd;
    bool hv;
    uint32_t pvr;               /* the processor version every vCPU has: the host's */
    unsigned htab_shift;        /* KVM-HV, Hash: log2 of the hashed page table KVM holds */
    void *pr_htab;              /* KVM-PR: the guest's hashed page table lives here */
    size_t pr_htab_size;
    char auto_mem_path[128];    /* a hugetlbfs mount the compatibility rules chose */
    struct vcpu *cpus;
    struct pci_host phb;
    struct device {
        const struct device_kind *kind;
        void *state;
    } devices[VM_MAX_DEVICES];  /* created from cfg.devices, in its order (board.c) */
    unsigned ndevices;
    struct xics uxics;          /* the userspace interrupt controller, when KVM's is not used */
    /* KVM's XICS: the irqfd of each MSI-X source, PCI_MSI_BASE + i (-1: none; the message then
     * goes by KVM_IRQ_LINE). board.c sets them up. */
    int msi_fd[PCI_MAX_DEVICES * MSIX_MAX_VECTORS];
    const char *irqchip_name;
    struct console_sink sink;   /* every console's output passes through here */
    struct rootfs_setup *rootfs;   /* what --rootfs added to cfg (strings cfg points at) */
    struct vty vty;             /* the machine's parts (machine.h points at them) */
    struct rtas rtas;
    int log_fd;
    int tap[2];                 /* pipe: console output -> the output callback (console loop) */
    /* What the run was, for vm_get_result(). */
    struct vm_result result;
    int wake_fd;             /* eventfd: tells the console loop that the run ended */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;           /* also read without the lock, atomically, by vCPU loops */
    struct run_end end;      /* how the run ended: recorded once, by vm_end() */
    int command_status;      /* the guest's command's status (-1: none reported) */
    char command_why[256];   /* why it did not run, or "" */
    uint64_t lpcr_mask, lpcr_val;   /* H_SET_MODE state every vCPU must carry */
    unsigned lpcr_gen;
    /* Reports on the vCPUs (vcpu_state.c): a pause holds every vCPU at its next exit. */
    bool pausing;
    unsigned pause_gen;
    struct cpu_state *states;   /* one per vCPU, made at the first report */
    struct ksym ksym;           /* the kernel's symbols, loaded at the first report */
    bool ksym_tried;
    struct gdb_stub *gdb;       /* --gdb (gdb_stub.h), or NULL */
};

/* CLOCK_REALTIME ms from now: the deadline of a timed wait on vm->cond or a timed join. */
static inline struct timespec vm_deadline_ms(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000)
        t.tv_sec++, t.tv_nsec -= 1000000000;
    return t;
}

static inline struct vm *vm_of(struct machine *m)
{
    return (struct vm *)m;
}

/* mmu.c: what the guest MMU is and offers, as KVM reports it. */
struct compat_plan;
struct mmu_plan {
    bool radix;
    uint64_t rma_size;
    unsigned htab_shift;
    bool ci_large_page;
    bool segs_1t;
    unsigned n_sps;
    struct fdt_seg_page_size sps[FDT_SPS_MAX];
    unsigned n_radix_ap;
    uint32_t radix_ap[8];
};
int plan_mmu(struct vm *vm, const struct compat_plan *cp, struct mmu_plan *p, struct mvm_err *e);

/* boot.c: what the guest boots from, opened and placed (layout.c) before /dev/kvm is, and the
 * device tree, built once the board is set up and before any vCPU exists. */
struct boot {
    struct file_map kfile, ifile;
    struct cpio made;           /* the initramfs minivmm made (--rootfs), which ifile shows */
    struct kernel_image kernel;
    struct boot_layout lay;
    struct fdt_blob fdt;        /* NULL data until built */
};
int boot_open(struct boot *b, const struct vm_config *c, struct mvm_err *e);
void boot_close(struct boot *b);
int boot_build_tree(struct boot *b, const struct vm *vm, const struct mmu_plan *mmu,
                    struct mvm_err *e);
/* Copies the kernel, initrd, RTAS stub and device tree to where the layout put them. */
int boot_load(const struct boot *b, struct vm *vm, struct mvm_err *e);
uint32_t host_pvr(void);
const char *cpu_model(uint32_t pvr);

/* board.c: the interrupt controller (KVM's or minivmm's) and the devices; setup_board() before
 * the vCPUs are created (m.cpu_stride set), connect_board() after. */
int setup_board(struct vm *vm, struct mvm_err *e);
int connect_board(struct vm *vm, struct mvm_err *e);
/* The devices' own threads: started before the vCPUs, stopped and freed with the VM. */
int start_devices(struct vm *vm, struct mvm_err *e);
void destroy_devices(struct vm *vm);

/* vcpu.c */
extern const struct machine_ops vm_machine_ops;
/* Ends the run, unless it has ended already: records status, message and the console pattern
 * behind it (or NULL) at once, then makes every thread that serves the guest let go. Safe from
 * any thread. */
void vm_end(struct vm *vm, enum mvm_status status, const char *why, const char *pattern);
int vcpu_create(struct vm *vm, struct vcpu *c, unsigned index, uint32_t id, struct mvm_err *e);
void vcpu_destroy(struct vcpu *c);
int vcpus_start(struct vm *vm, struct mvm_err *e);
void vcpus_join(struct vm *vm);
/* Makes the vCPU leave KVM_RUN soon (a signal, and immediate_exit); vm->lock held. */
void vcpu_kick(struct vcpu *c);

/* vcpu_state.c: the vCPUs' registers, code and symbols to the log and the result. live: the
 * run goes on (each vCPU pauses at its next exit for it); else the run is over and joined. */
void vm_report_cpus(struct vm *vm, bool live);
/* The calling vCPU's registers and code to the log (a fatal exit; no symbols: loading them
 * would open a file, which its sandbox forbids). */
void vcpu_log_state(struct vcpu *c);
/* Where a vCPU's loop holds while a report is being made (called before each KVM_RUN). */
void vcpu_pause_point(struct vcpu *c);

#endif
