/* PAPR hypercalls that KVM hands to userspace (KVM_EXIT_PAPR_HCALL).
 *
 * KVM performs the hot hcalls itself (HPT updates, H_CEDE, XICS, VPA...); what reaches
 * minivmm is dispatched through one table indexed by opcode. Unknown opcodes are logged once
 * per VM and answered H_FUNCTION, which every guest treats as "not available": nothing a
 * guest passes in an hcall can stop or crash the VMM.
 */
#ifndef MINIVMM_HCALL_H
#define MINIVMM_HCALL_H

#include <stdint.h>

struct machine;

/* Opcodes (Linux arch/powerpc/include/asm/hvcall.h). */
#define H_READ 0x0C
#define H_SET_SPRG0 0x24
#define H_PAGE_INIT 0x2C
#define H_GET_TERM_CHAR 0x54
#define H_PUT_TERM_CHAR 0x58
#define H_EOI 0x64
#define H_CPPR 0x68
#define H_IPI 0x6C
#define H_IPOLL 0x70
#define H_XIRR 0x74
#define H_XIRR_X 0x2FC
#define H_RANDOM 0x300
#define H_REGISTER_VPA 0xDC
#define H_GET_CPU_CHARACTERISTICS 0x1C8
#define H_SET_MODE 0x31C
#define H_REGISTER_PROC_TBL 0x37C
#define H_SIGNAL_SYS_RESET 0x380
#define H_QUERY_VAS_CAPABILITIES 0x398
#define H_MAX_OPCODE 0xFFC          /* architected opcodes are multiples of 4 below this */
#define KVMPPC_H_RTAS 0xf000        /* KVM-private: our RTAS stub's call */
#define H_GET_24X7_CATALOG_PAGE 0xF078
#define H_GET_24X7_DATA 0xF07C
#define H_GET_PERF_COUNTER_INFO 0xF080

/* Return codes. */
#define H_SUCCESS 0
#define H_NOT_AVAILABLE 3
#define H_HARDWARE (-1)
#define H_FUNCTION (-2)
#define H_PARAMETER (-4)
#define H_P2 (-55)
#define H_P3 (-56)
#define H_P4 (-57)
#define H_UNSUPPORTED_FLAG_START (-256)

/* H_READ flags. */
#define H_READ_4 (1ULL << (63 - 26))   /* return the four entries of an aligned quad */

/* H_PAGE_INIT flags. */
#define H_ICACHE_INVALIDATE (1ULL << (63 - 40))
#define H_ICACHE_SYNCHRONIZE (1ULL << (63 - 41))
#define H_ZERO_PAGE (1ULL << (63 - 48))
#define H_COPY_PAGE (1ULL << (63 - 49))
#define H_PAGE_INIT_SIZE 4096ULL     /* PAPR's page for H_PAGE_INIT, whatever the MMU uses */

/* H_SET_MODE resources. */
#define H_SET_MODE_RESOURCE_ADDR_TRANS_MODE 3
#define H_SET_MODE_RESOURCE_LE 4

/* Handles hcall `nr` made by vCPU `cpu`. args[] holds r4..r12 on entry and receives the
 * values returned in r4..r12; the return value goes to r3. */
int64_t hcall_dispatch(struct machine *m, int cpu, uint64_t nr, uint64_t args[9]);

/* The name of an hcall this file serves ("H_PUT_TERM_CHAR"), or NULL. */
const char *hcall_name(uint64_t nr);

/* Opcodes as small indexes (for per-opcode counters and flags): each architected opcode has
 * its own slot, KVM's RTAS call the next one, and everything else (misaligned or out of
 * range: what a guest can make up) shares the last. */
#define HCALL_SLOT_RTAS (H_MAX_OPCODE / 4 + 1)
#define HCALL_SLOT_OTHER (H_MAX_OPCODE / 4 + 2)
#define HCALL_SLOTS (H_MAX_OPCODE / 4 + 3)

static inline unsigned hcall_slot(uint64_t nr)
{
    if (nr <= H_MAX_OPCODE && nr % 4 == 0)
        return (unsigned)(nr / 4);
    return nr == KVMPPC_H_RTAS ? HCALL_SLOT_RTAS : HCALL_SLOT_OTHER;
}

/* The opcode of a slot other than HCALL_SLOT_OTHER. */
static inline uint64_t hcall_of_slot(unsigned slot)
{
    return slot == HCALL_SLOT_RTAS ? KVMPPC_H_RTAS : (uint64_t)slot * 4;
}

/* The ibm,hypertas-functions strings that describe what this VMM (with KVM) provides,
 * NULL-terminated. */
extern const char *const hcall_hypertas_functions[];
/* The same under KVM-PR, which performs fewer hcalls in the kernel. */
extern const char *const hcall_hypertas_functions_pr[];

#endif
