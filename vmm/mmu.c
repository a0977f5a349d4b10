/* The guest's MMU: Radix or Hash as the compatibility plan chose, the page sizes it is
 * offered, and its hashed page table (KVM-HV's own, or under KVM-PR one in our memory). */
#include <errno.h>
#include <string.h>

#include "compat.h"
#include "vm_internal.h"

static unsigned log2_ceil(uint64_t v)
{
    unsigned s = 0;
    while ((1ULL << s) < v)
        s++;
    return s;
}

/* Offers the guest the hash page sizes KVM supports up to the plan's cap (the equivalent of
 * QEMU's cap-hpt-max-page-size). */
static void filter_page_sizes(struct mmu_plan *p, const struct kvm_ppc_smmu_info *info,
                              uint64_t max_page)
{
    unsigned max_shift = log2_ceil(max_page);
    for (unsigned i = 0; i < KVM_PPC_PAGE_SIZES_MAX_SZ && p->n_sps < FDT_SPS_MAX; i++) {
        const struct kvm_ppc_one_seg_page_size *s = &info->sps[i];
        if (!s->page_shift || s->page_shift > max_shift)
            continue;
        struct fdt_seg_page_size *d = &p->sps[p->n_sps];
        d->shift = s->page_shift;
        d->slb_enc = s->slb_enc;
        d->n = 0;
        for (unsigned j = 0; j < KVM_PPC_PAGE_SIZES_MAX_SZ; j++) {
            const struct kvm_ppc_one_page_size *pg = &s->enc[j];
            if (!pg->page_shift || pg->page_shift > max_shift)
                continue;
            d->enc[d->n].shift = pg->page_shift;
            d->enc[d->n].pte_enc = pg->pte_enc;
            d->n++;
        }
        if (d->n)
            p->n_sps++;
    }
}

/* KVM-PR keeps no hashed page table of its own: the guest's lives in our memory, and SDR1
 * (set on every vCPU) carries its address in this process and its size. */
static int alloc_pr_htab(struct vm *vm, unsigned shift, struct mvm_err *e)
{
    size_t size = (size_t)1 << shift;
    /* SDR1 wants the table aligned to its size. */
    vm->pr_htab = map_anon_aligned(size, size, 0);
    if (!vm->pr_htab)
        return mvm_fail(e, MVM_E_HOST, "cannot allocate the guest's %zu KiB hashed page table: "
                        "%s", size >> 10, strerror(errno));
    vm->pr_htab_size = size;
    vm->m.hpt = vm->pr_htab;
    vm->m.hpt_size = size;
    return 0;
}

int plan_mmu(struct vm *vm, const struct compat_plan *cp, struct mmu_plan *p,
                    struct mvm_err *e)
{
    memset(p, 0, sizeof(*p));
    struct kvm_ppc_smmu_info smmu;
    int r = kvm_get_smmu_info(vm->vm_fd, &smmu);
    if (r)
        return mvm_fail(e, MVM_E_HOST, "KVM_PPC_GET_SMMU_INFO: %s", strerror(-r));
    p->segs_1t = smmu.flags & KVM_PPC_1T_SEGMENTS;
    p->rma_size = cp->rma_size;
    p->ci_large_page = cp->ci_large_page;
    if (cp->radix) {
        p->radix = true;
        struct kvm_ppc_rmmu_info rmmu;
        if (kvm_get_rmmu_info(vm->vm_fd, &rmmu) == 0)
            for (unsigned i = 0; i < 8; i++)
                if (rmmu.ap_encodings[i])
                    p->radix_ap[p->n_radix_ap++] = rmmu.ap_encodings[i];
        return 0;
    }
    filter_page_sizes(p, &smmu, cp->hpt_max_page);
    p->htab_shift = cp->htab_shift;
    if (!vm->hv)
        return alloc_pr_htab(vm, p->htab_shift, e);
    uint32_t order = cp->htab_shift;
    r = kvm_allocate_htab(vm->vm_fd, &order);
    if (r)
        return mvm_fail(e, MVM_E_HOST, "cannot allocate the guest hash page table "
                        "(KVM_PPC_ALLOCATE_HTAB): %s", strerror(-r));
    /* KVM may have settled for another size, and the VRMA's reach follows it. */
    p->htab_shift = order;
    vm->htab_shift = order;
    uint64_t vrma = compat_vrma_limit(vm->m.mem.page_size, order);
    if (vrma < p->rma_size)
        p->rma_size = vrma;
    return 0;
}
