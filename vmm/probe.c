/* Gathering the host's facts (see probe.h). */
#include "probe.h"

#include <errno.h>
#include <unistd.h>

#include "host.h"
#include "kvm.h"

static void probe_hv(struct host_facts *h, int vm)
{
    h->hv = true;
    h->hv_radix = kvm_check_ext(vm, KVM_CAP_PPC_MMU_RADIX) > 0;
    h->hv_nested = kvm_check_ext(vm, KVM_CAP_PPC_NESTED_HV) > 0;
    struct kvm_ppc_smmu_info smmu;
    if (kvm_get_smmu_info(vm, &smmu) == 0) {
        h->hv_hash = !(smmu.flags & KVM_PPC_NO_HASH);
        h->hv_pages_real = smmu.flags & KVM_PPC_PAGE_SIZES_REAL;
    }
}

int host_gather_facts(struct host_facts *h, const char *dev, struct kvm_candidates *k)
{
    host_read_facts(h, "", (uint64_t)sysconf(_SC_PAGESIZE));
    h->root = geteuid() == 0;
    k->kvm_fd = k->hv_vm = k->pr_vm = -1;
    /* Another architecture's KVM cannot run a POWER guest whatever it answers; asking it to
     * create VMs of POWER's types could even succeed (an x86 KVM has a VM type 1 too). */
    if (h->arch == HOST_ARCH_OTHER) {
        h->kvm_error = access(dev, F_OK) ? errno : 0;
        return -ENODEV;
    }
    int fd = kvm_open_dev(dev);
    h->kvm_error = fd < 0 ? -fd : 0;
    if (fd < 0)
        return fd;
    k->kvm_fd = fd;
    k->hv_vm = kvm_create_vm(fd, KVM_VM_PPC_HV);
    if (k->hv_vm >= 0)
        probe_hv(h, k->hv_vm);
    k->pr_vm = kvm_create_vm(fd, KVM_VM_PPC_PR);
    h->pr = k->pr_vm >= 0;
    return 0;
}

void kvm_candidates_close(struct kvm_candidates *k)
{
    int *fds[] = {&k->kvm_fd, &k->hv_vm, &k->pr_vm};
    for (unsigned i = 0; i < 3; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}
