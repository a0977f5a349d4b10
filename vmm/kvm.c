#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int ret(int r)
{
    return r < 0 ? -errno : r;
}

int kvm_open_dev(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        close(fd);
        return -EPROTO;
    }
    return fd;
}

int kvm_check_ext(int fd, long cap)
{
    return ret(ioctl(fd, KVM_CHECK_EXTENSION, cap));
}

int kvm_create_vm(int kvm_fd, unsigned long type)
{
    int r;
    do
        r = ioctl(kvm_fd, KVM_CREATE_VM, type);
    while (r < 0 && errno == EINTR);
    return ret(r);
}

int kvm_vcpu_mmap_size(int kvm_fd)
{
    return ret(ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
}

int kvm_set_user_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    return ret(ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r));
}

int kvm_create_vcpu(int vm_fd, unsigned long id)
{
    return ret(ioctl(vm_fd, KVM_CREATE_VCPU, id));
}

int kvm_enable_cap(int fd, uint32_t cap, uint64_t arg0, uint64_t arg1)
{
    struct kvm_enable_cap c = {.cap = cap, .args = {arg0, arg1}};
    return ret(ioctl(fd, KVM_ENABLE_CAP, &c));
}

int kvm_get_regs(int vcpu_fd, struct kvm_regs *regs)
{
    return ret(ioctl(vcpu_fd, KVM_GET_REGS, regs));
}

int kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs)
{
    return ret(ioctl(vcpu_fd, KVM_SET_REGS, regs));
}

int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs)
{
    return ret(ioctl(vcpu_fd, KVM_GET_SREGS, sregs));
}

int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs)
{
    return ret(ioctl(vcpu_fd, KVM_SET_SREGS, sregs));
}

int kvm_get_one_reg(int vcpu_fd, uint64_t id, void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    return ret(ioctl(vcpu_fd, KVM_GET_ONE_REG, &r));
}

int kvm_set_one_reg(int vcpu_fd, uint64_t id, const void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    return ret(ioctl(vcpu_fd, KVM_SET_ONE_REG, &r));
}

int kvm_get_smmu_info(int vm_fd, struct kvm_ppc_smmu_info *info)
{
    memset(info, 0, sizeof(*info));
    return ret(ioctl(vm_fd, KVM_PPC_GET_SMMU_INFO, info));
}

int kvm_get_rmmu_info(int vm_fd, struct kvm_ppc_rmmu_info *info)
{
    memset(info, 0, sizeof(*info));
    return ret(ioctl(vm_fd, KVM_PPC_GET_RMMU_INFO, info));
}

int kvm_configure_v3_mmu(int vm_fd, uint64_t flags, uint64_t process_table)
{
    struct kvm_ppc_mmuv3_cfg cfg = {.flags = flags, .process_table = process_table};
    return ret(ioctl(vm_fd, KVM_PPC_CONFIGURE_V3_MMU, &cfg));
}

int kvm_allocate_htab(int vm_fd, uint32_t *order)
{
    return ret(ioctl(vm_fd, KVM_PPC_ALLOCATE_HTAB, order));
}

int kvm_create_device(int vm_fd, uint32_t type)
{
    struct kvm_create_device d = {.type = type};
    int r = ioctl(vm_fd, KVM_CREATE_DEVICE, &d);
    return r < 0 ? -errno : (int)d.fd;
}

int kvm_set_device_attr(int dev_fd, uint32_t group, uint64_t attr, const void *val)
{
    struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val};
    return ret(ioctl(dev_fd, KVM_SET_DEVICE_ATTR, &a));
}

int kvm_rtas_define_token(int vm_fd, const char *name, uint64_t token)
{
    struct kvm_rtas_token_args a = {.token = token};
    strncpy(a.name, name, sizeof(a.name) - 1);
    return ret(ioctl(vm_fd, KVM_PPC_RTAS_DEFINE_TOKEN, &a));
}

int kvm_get_cpu_char(int vm_fd, struct kvm_ppc_cpu_char *cc)
{
    memset(cc, 0, sizeof(*cc));
    return ret(ioctl(vm_fd, KVM_PPC_GET_CPU_CHAR, cc));
}

int kvm_irq_line(int vm_fd, const struct kvm_irq_level *l)
{
    return ret(ioctl(vm_fd, KVM_IRQ_LINE, l));
}

int kvm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, int fd)
{
    struct kvm_ioeventfd io = {.addr = addr, .len = len, .fd = fd};
    return ret(ioctl(vm_fd, KVM_IOEVENTFD, &io));
}

int kvm_irqfd(int vm_fd, int fd, uint32_t gsi)
{
    struct kvm_irqfd i = {.fd = (uint32_t)fd, .gsi = gsi};
    return ret(ioctl(vm_fd, KVM_IRQFD, &i));
}

int kvm_interrupt(int vcpu_fd, uint32_t irq)
{
    struct kvm_interrupt i = {.irq = irq};
    return ret(ioctl(vcpu_fd, KVM_INTERRUPT, &i));
}

int kvm_run(int vcpu_fd)
{
    return ret(ioctl(vcpu_fd, KVM_RUN, 0));
}

int kvm_set_guest_debug(int vcpu_fd, uint32_t control)
{
    struct kvm_guest_debug d;
    memset(&d, 0, sizeof(d));
    d.control = control;
    return ret(ioctl(vcpu_fd, KVM_SET_GUEST_DEBUG, &d));
}

int kvm_get_htab_fd(int vm_fd, uint64_t start_index)
{
    struct kvm_get_htab_fd h = {.flags = 0, .start_index = start_index};
    return ret(ioctl(vm_fd, KVM_PPC_GET_HTAB_FD, &h));
}
