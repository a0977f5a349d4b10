/* The thin KVM layer: one function per ioctl minivmm uses, nothing else.
 *
 * Each returns a file descriptor or 0 on success and -errno on failure, and never prints:
 * the caller knows what the call meant and turns errno into advice. Only vm.c and vcpu.c
 * include this header, and only they are built for POWER alone.
 */
#ifndef MINIVMM_KVM_H
#define MINIVMM_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

int kvm_open_dev(const char *path);              /* open + API version check (-EPROTO) */
int kvm_check_ext(int fd, long cap);             /* <= 0: absent */
int kvm_create_vm(int kvm_fd, unsigned long type);
int kvm_vcpu_mmap_size(int kvm_fd);
int kvm_set_user_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
int kvm_create_vcpu(int vm_fd, unsigned long id);
int kvm_enable_cap(int fd, uint32_t cap, uint64_t arg0, uint64_t arg1);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int kvm_get_one_reg(int vcpu_fd, uint64_t id, void *val);
int kvm_set_one_reg(int vcpu_fd, uint64_t id, const void *val);
int kvm_get_smmu_info(int vm_fd, struct kvm_ppc_smmu_info *info);
int kvm_get_rmmu_info(int vm_fd, struct kvm_ppc_rmmu_info *info);
int kvm_configure_v3_mmu(int vm_fd, uint64_t flags, uint64_t process_table);
int kvm_allocate_htab(int vm_fd, uint32_t *order);
int kvm_create_device(int vm_fd, uint32_t type);
int kvm_set_device_attr(int dev_fd, uint32_t group, uint64_t attr, const void *val);
int kvm_rtas_define_token(int vm_fd, const char *name, uint64_t token);
int kvm_get_cpu_char(int vm_fd, struct kvm_ppc_cpu_char *cc);
int kvm_irq_line(int vm_fd, const struct kvm_irq_level *l);
int kvm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, int fd);
/* KVM raises interrupt source gsi (with XICS: the source number) whenever fd is signalled. */
int kvm_irqfd(int vm_fd, int fd, uint32_t gsi);
int kvm_interrupt(int vcpu_fd, uint32_t irq);
int kvm_set_guest_debug(int vcpu_fd, uint32_t control);
int kvm_get_htab_fd(int vm_fd, uint64_t start_index);   /* read-only, from that HPTE on */
int kvm_run(int vcpu_fd);

#endif
