/* Asking /dev/kvm what it can do (see probe.h). */
#include "probe.h"

#include <errno.h>
#include <unistd.h>

#include "kvm.h"

static void probe_hv(struct host_facts *h, int kvm_fd)
{
    int vm = kvm_create_vm(kvm_fd, KVM_VM_PPC_HV);
    if (vm < 0)
        return;
    h->hv = true;
    h->hv_radix = kvm_check_ext(vm, KVM_CAP_PPC_MMU_RADIX) > 0;
    h->hv_nested = kvm_check_ext(vm, KVM_CAP_PPC_NESTED_HV) > 0;
    struct kvm_ppc_smmu_info smmu;
    if (kvm_get_smmu_info(vm, &smmu) == 0) {
        h->hv_hash = !(smmu.flags & KVM_PPC_NO_HASH);
        h->hv_pages_real = smmu.flags & KVM_PPC_PAGE_SIZES_REAL;
    }
    close(vm);
}

int host_probe_kvm(struct host_facts *h, const char *dev)
{
    int fd = kvm_open_dev(dev);
    h->kvm_exists = fd != -ENOENT;
    h->kvm_access = fd >= 0;
    if (fd < 0)
        return fd;
    probe_hv(h, fd);
    int pr = kvm_create_vm(fd, KVM_VM_PPC_PR);
    if (pr >= 0) {
        h->pr = true;
        close(pr);
    }
    return fd;
}
