/* The pseries device tree that a Linux guest boots from directly (no Open Firmware, no CAS).
 *
 * The kernel's prom_init is skipped on a flat-tree boot, so this tree must already look like
 * the result of client-architecture-support negotiation: /chosen/ibm,architecture-vec-5 and
 * the CPUs' ibm,pa-features are how the guest learns whether to run Radix or Hash.
 * fdt_build() is pure: it takes a description and writes a blob, so every property is checked
 * by reading the blob back in the unit tests.
 */
#ifndef MINIVMM_FDT_H
#define MINIVMM_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/err.h"

struct rtas;
struct pci_host;

#define FDT_SPS_MAX 8
#define FDT_SPS_CELLS_MAX 64      /* ibm,segment-page-sizes, all entries together */
/* Fixed limits on what the description may hold: they are what lets fdt_size_bound() size a
 * tree before the host has answered (a longer value is refused as an internal error). */
#define FDT_CPU_MODEL_MAX 16      /* cpu_model, with its NUL */
#define FDT_RTAS_NAME_MAX 40      /* an RTAS service name, with its NUL (the longest: 34) */
#define FDT_HYPERTAS_MAX 512      /* ibm,hypertas-functions, every NUL included */
#define FDT_RNG_SEED_MAX 64
/* No machine minivmm builds comes near this (256 vCPUs need 200 KiB at the very most): only an
 * enormous command line can reach it. */
#define FDT_SIZE_LIMIT (1u << 20)

/* One ibm,segment-page-sizes entry: a segment (base) page size and the actual page sizes
 * usable in it, with their SLB and PTE encodings (as KVM_PPC_GET_SMMU_INFO reports them). */
struct fdt_seg_page_size {
    uint32_t shift, slb_enc, n;
    struct { uint32_t shift, pte_enc; } enc[FDT_SPS_MAX];
};

struct fdt_params {
    uint64_t ram_size;
    uint64_t rma_size;           /* size of the first memory node (real-mode area) */
    unsigned ncpus;
    uint32_t vcpu_id_stride;     /* vCPU i has id i * stride (threads per core on POWER8 HV) */
    uint32_t pvr;
    const char *cpu_model;       /* node name suffix, e.g. "POWER9" */
    uint32_t timebase_hz;
    uint32_t clock_hz;
    bool radix;                  /* the guest MMU mode advertised */
    bool ci_large_page;          /* may the guest map cache-inhibited 64K pages */
    bool segs_1t;                /* 1 TiB segments available (KVM_PPC_1T_SEGMENTS) */
    unsigned htab_shift;         /* hash: log2 of the HPT size (ibm,pft-size) */
    unsigned n_sps;              /* hash: ibm,segment-page-sizes entries */
    struct fdt_seg_page_size sps[FDT_SPS_MAX];
    unsigned n_radix_ap;         /* radix: ibm,processor-radix-AP-encodings */
    uint32_t radix_ap[8];
    const char *bootargs;        /* may be NULL */
    const uint8_t *rng_seed;     /* entropy for the guest's random pool (/chosen/rng-seed) */
    size_t rng_seed_len;         /* 0: none */
    uint64_t initrd_start, initrd_end;   /* both 0: no initrd */
    uint64_t rtas_base;
    uint32_t rtas_size;
    const struct rtas *rtas;
    const char *const *hypertas; /* NULL-terminated */
    const struct pci_host *pci;  /* NULL: no PCI host bridge */
};

/* A finished tree on the heap: data (free() it) holds exactly size = fdt_totalsize() bytes. */
struct fdt_blob {
    void *data;
    size_t size;
};

/* Builds the tree for p into a buffer that grows until the tree fits. Fails with
 * MVM_E_INPUT when it would exceed FDT_SIZE_LIMIT (only a huge command line does that), and
 * with MVM_E_VMM on a description that breaks the limits above. */
int fdt_build(const struct fdt_params *p, struct fdt_blob *out, struct mvm_err *e);

/* What a tree's size depends on that is known before the host is asked. */
struct fdt_shape {
    unsigned ncpus;
    uint32_t vcpu_id_stride;     /* as KVM spaces vCPU ids (1, the least, before it has said) */
    unsigned npci;               /* devices on the PCI host bridge (0: no bridge) */
    const char *bootargs;        /* may be NULL */
};

/* An upper bound on the size of any tree fdt_build() writes for a machine of this shape,
 * whatever the host and the board decide later (fdt/size.c says how). */
int fdt_size_bound(const struct fdt_shape *s, size_t *size, struct mvm_err *e);

#endif
