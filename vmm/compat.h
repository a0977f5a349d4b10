/* Which guests a POWER host can run, and how: the compatibility rules of
 * ../shared/seed/virtualization-on-power.txt in one pure module.
 *
 * Facts about the host go in (struct host_facts, gathered by host.c and probe.c), together
 * with what the user asked for (struct compat_request); out comes either a plan (KVM flavour,
 * guest MMU, memory backing, hash page sizes, real-mode area) or a refusal whose message says
 * why and what to change. Nothing here touches KVM or the file system, so every line of the
 * matrix is a unit test (tests/unit/test_compat.c). */
#ifndef MINIVMM_COMPAT_H
#define MINIVMM_COMPAT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

enum host_mmu { HOST_MMU_UNKNOWN, HOST_MMU_RADIX, HOST_MMU_HASH };
/* Whether /proc/cpuinfo describes a POWER machine. An x86 or Arm host has a /dev/kvm too
 * (most laptops and CI runners do), but its KVM cannot run a POWER guest, and a POWER binary
 * there runs under qemu-user, whose uname says ppc64le: only cpuinfo tells the truth. */
enum host_arch { HOST_ARCH_UNKNOWN, HOST_ARCH_POWER, HOST_ARCH_OTHER };

#define HOST_MAX_HUGE 4

struct hugepage_pool {
    uint64_t size;            /* bytes per hugepage */
    uint64_t free;            /* free pages of this size */
    char mount[128];          /* a hugetlbfs mount serving this size, "" if none */
};

struct host_facts {
    /* From /proc and /sys (host.c). */
    enum host_mmu mmu;        /* "MMU" in /proc/cpuinfo */
    uint64_t page_size;       /* the host kernel's base page size */
    bool partition;           /* the host is itself a guest (pseries LPAR or nested) */
    char cpu[64];             /* e.g. "POWER9 (architected), altivec supported", or another
                               * architecture's "model name" */
    enum host_arch arch;
    unsigned nhuge;
    struct hugepage_pool huge[HOST_MAX_HUGE];
    bool hv_module, pr_module;   /* kvm_hv / kvm_pr loaded (or built in) */
    /* From /dev/kvm (probe.c). */
    int kvm_error;            /* 0: opened, a KVM of the expected API; else the errno of
                               * opening it (ENOENT: no such file), EPROTO: not KVM's API */
    bool root;                /* effective uid 0: then "join the kvm group" is no fix */
    bool hv, pr;              /* a VM of that flavour could be created */
    bool hv_radix;            /* KVM-HV offers Radix guests */
    bool hv_hash;             /* KVM-HV offers Hash (HPT) guests */
    bool hv_pages_real;       /* KVM-HV maps guest pages with host pages (PAGE_SIZES_REAL) */
    bool hv_nested;           /* KVM-HV can let its guests run KVM-HV (KVM_CAP_PPC_NESTED_HV) */
};

struct compat_request {
    enum kvm_type_req kvm;
    enum mmu_req mmu;
    uint64_t guest_page;      /* the guest kernel's base page size; 0 when unknown */
    uint64_t mem_size;
    uint64_t backing_page;    /* page size behind guest RAM when the user chose it (--mem-path);
                               * 0: anonymous memory, unless the plan must pick hugepages */
    bool nested_hv;           /* the guest is to run KVM-HV itself */
};

struct compat_plan {
    bool hv;                  /* KVM-HV, else KVM-PR */
    bool radix;               /* guest MMU */
    uint64_t backing_page;    /* page size behind guest RAM */
    const char *hugetlbfs;    /* a mount the plan chose (points into the facts), or NULL */
    unsigned htab_shift;      /* log2 of the hashed page table size (Hash guests) */
    uint64_t hpt_max_page;    /* largest hash page size to offer the guest (Hash guests) */
    bool ci_large_page;       /* cache-inhibited (MMIO) mappings may use 64 KiB pages */
    uint64_t rma_size;        /* what the guest's real-mode area covers */
};

/* The request a configuration makes; backing_page as in struct compat_request. */
struct compat_request compat_request_of(const struct vm_config *c, uint64_t backing_page);

/* Decides how the host runs the requested guest: 0 and a plan, or -1 and a refusal in e
 * (status MVM_E_HOST) whose message gives the reason and the fix. */
int compat_plan(const struct host_facts *h, const struct compat_request *r,
                struct compat_plan *p, struct mvm_err *e);

/* 0 when /dev/kvm can serve a POWER guest as far as the facts tell, else -1 and the cause
 * with its fix (MVM_E_HOST). compat_plan starts with this. */
int compat_kvm_usable(const struct host_facts *h, struct mvm_err *e);

/* The hashed page table for mem_size bytes: 1/128 of guest memory, within 256 KiB..64 TiB. */
unsigned compat_htab_shift(uint64_t mem_size);

/* How much a KVM-HV guest's virtual real-mode area reaches with memory behind pages of
 * backing_page bytes and a hashed page table of 2^htab_shift bytes. */
uint64_t compat_vrma_limit(uint64_t backing_page, unsigned htab_shift);

#endif
