/* The machine's interrupt controller and devices: KVM's XICS or minivmm's, and the virtio
 * devices behind the PCI host bridge with their interrupt sources and notifications.
 *
 * In two steps: setup_board() makes every choice the device tree shows (which XICS, which
 * devices in which slots, which RTAS services) before any vCPU exists; connect_board() then
 * ties them to the vCPUs and to KVM. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../devices/virtio_pci.h"
#include "../devices/xics.h"
#include "layout.h"
#include "vm_internal.h"

static uint32_t nr_servers(const struct vm *vm)
{
    return (vm->m.ncpus - 1) * vm->m.cpu_stride + 1;
}

/* The userspace XICS: interrupts are raised on the vCPUs with KVM_INTERRUPT levels, and the
 * XICS hcalls (which KVM then leaves to us) and RTAS calls are served by devices/xics.c. */
static int setup_user_xics(struct vm *vm, struct mvm_err *e)
{
    if (kvm_check_ext(vm->vm_fd, KVM_CAP_PPC_IRQ_LEVEL) <= 0 ||
        kvm_check_ext(vm->vm_fd, KVM_CAP_PPC_UNSET_IRQ) <= 0)
        return mvm_fail(e, MVM_E_HOST, "this host's KVM can neither run an interrupt controller "
                        "itself nor take interrupt levels from userspace");
    /* Server numbers are vCPU ids: on POWER8 KVM-HV 8 apart, so 256 servers go 8 times
     * faster than vCPUs. */
    if (nr_servers(vm) > XICS_MAX_SERVERS)
        return mvm_fail(e, MVM_E_HOST, "minivmm's own XICS serves %u interrupt servers, and %u "
                        "vCPUs with ids %u apart (this host's threads per core) need %u: use -c "
                        "%u or fewer, or KVM's XICS (--irqchip=kernel)", XICS_MAX_SERVERS,
                        vm->m.ncpus, vm->m.cpu_stride, nr_servers(vm),
                        (XICS_MAX_SERVERS - 1) / vm->m.cpu_stride + 1);
    if (xics_init(&vm->uxics, &vm->m, nr_servers(vm)) || xics_add_msi_source(&vm->uxics, VTY_IRQ))
        return mvm_fail(e, MVM_E_VMM, "cannot set up the userspace XICS");
    vm->irqchip_name = "userspace XICS";
    return 0;
}

/* Which XICS serves the guest, decided (and KVM's created) before the vCPUs exist, since the
 * device tree lists its RTAS calls; the vCPUs are connected to it in connect_board(). */
static int choose_xics(struct vm *vm, struct mvm_err *e)
{
    enum irqchip_req want = vm->cfg.irqchip;
    /* Under KVM-PR (seen on a bare-metal emulated POWER9) KVM's XICS answered the guest's
     * first H_CPPR with H_HARDWARE; minivmm's own XICS serves PR guests unless asked. */
    if (want == IRQCHIP_USER || (want == IRQCHIP_AUTO && !vm->hv))
        return setup_user_xics(vm, e);
    if (kvm_check_ext(vm->vm_fd, KVM_CAP_IRQ_XICS) <= 0) {
        if (want == IRQCHIP_KERNEL)
            return mvm_fail(e, MVM_E_HOST, "this host's KVM has no in-kernel XICS interrupt "
                            "controller (KVM_CAP_IRQ_XICS); use --irqchip=user");
        return setup_user_xics(vm, e);
    }
    vm->xics_fd = kvm_create_device(vm->vm_fd, KVM_DEV_TYPE_XICS);
    if (vm->xics_fd < 0 && want == IRQCHIP_AUTO)
        return setup_user_xics(vm, e);
    if (vm->xics_fd < 0)
        return mvm_fail(e, MVM_E_HOST, "cannot create the in-kernel XICS: %s; use --irqchip=user",
                        strerror(-vm->xics_fd));
    vm->irqchip_name = "in-kernel XICS";
    size_t n;
    const struct rtas_service *calls = xics_rtas_calls(true, &n);
    for (size_t i = 0; i < n; i++)
        if (rtas_register(vm->m.rtas, &calls[i]) < 0)
            return mvm_fail(e, MVM_E_VMM, "RTAS table full");
    return 0;
}

/* A source in KVM's XICS, masked until the guest routes it: a level (INTx) or an edge (MSI). */
static int kernel_source(struct vm *vm, uint32_t irq, bool level, struct mvm_err *e)
{
    uint64_t src = KVM_XICS_MASKED | ((uint64_t)KVM_XICS_PRIORITY_MASK << KVM_XICS_PRIORITY_SHIFT);
    if (level)
        src |= KVM_XICS_LEVEL_SENSITIVE;
    int r = kvm_set_device_attr(vm->xics_fd, KVM_DEV_XICS_GRP_SOURCES, irq, &src);
    if (r)
        return mvm_fail(e, MVM_E_HOST, "cannot create XICS interrupt source %u: %s", irq,
                        strerror(-r));
    return 0;
}

/* An MSI source's irqfd: a device thread's message is one eventfd write, which KVM turns into
 * the interrupt itself (no ioctl, no lock of ours). Where KVM has none or refuses (*refused
 * gets why), op_msi() falls back to KVM_IRQ_LINE. */
static int connect_irqfd(struct vm *vm, uint32_t irq, int *refused, struct mvm_err *e)
{
    if (kvm_check_ext(vm->vm_fd, KVM_CAP_IRQFD) <= 0)
        return 0;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return mvm_fail(e, MVM_E_HOST, "cannot make an eventfd for interrupt %u: %s", irq,
                        strerror(errno));
    int r = kvm_irqfd(vm->vm_fd, fd, irq);
    if (r) {
        close(fd);
        *refused = r;
        return 0;
    }
    vm->msi_fd[irq - PCI_MSI_BASE] = fd;
    return 0;
}

/* KVM's XICS: every vCPU connected as the server of its id, the RTAS calls KVM performs given
 * the tokens the device tree promised, and sources for each device's INTx and MSI-X vectors. */
static int connect_kernel_xics(struct vm *vm, struct mvm_err *e)
{
    uint32_t servers = nr_servers(vm);
    kvm_set_device_attr(vm->xics_fd, KVM_DEV_XICS_GRP_CTRL, KVM_DEV_XICS_NR_SERVERS, &servers);
    for (unsigned i = 0; i < vm->m.ncpus; i++) {
        int r = kvm_enable_cap(vm->cpus[i].fd, KVM_CAP_IRQ_XICS, (uint64_t)vm->xics_fd,
                               vm->cpus[i].id);
        if (r)
            return mvm_fail(e, MVM_E_HOST, "cannot connect vCPU %u to the XICS: %s", i,
                            strerror(-r));
    }
    size_t n;
    const struct rtas_service *calls = xics_rtas_calls(true, &n);
    for (size_t i = 0; i < n; i++) {
        int token = rtas_token(vm->m.rtas, calls[i].name);
        int r = kvm_rtas_define_token(vm->vm_fd, calls[i].name, (uint64_t)token);
        if (r)
            return mvm_fail(e, MVM_E_HOST, "cannot hand RTAS %s to KVM: %s", calls[i].name,
                            strerror(-r));
    }
    if (kernel_source(vm, VTY_IRQ, false, e))
        return -1;
    int refused = 0;
    for (unsigned i = 0; i < vm->phb.ndev; i++) {
        const struct pci_device *d = vm->phb.dev[i];
        if (kernel_source(vm, d->irq, true, e))
            return -1;
        for (unsigned v = 0; d->msix && v < d->msix->nvec; v++)
            if (kernel_source(vm, d->msix->first_irq + v, false, e) ||
                connect_irqfd(vm, d->msix->first_irq + v, &refused, e))
                return -1;
    }
    if (refused && vm->cfg.verbose)
        machine_log(&vm->m, "KVM refused irqfds (%s): MSI-X messages go by KVM_IRQ_LINE",
                    strerror(-refused));
    return 0;
}

/* Lets KVM turn the guest's queue-notify writes straight into the device's eventfd
 * (ioeventfd): no exit to userspace, no vCPU thread involved. Where KVM cannot, the MMIO
 * exit path delivers the same notification, only slower. */
static void wire_notifications(struct vm *vm, struct virtio_dev *v)
{
    if (!v->ops->queue_eventfd || kvm_check_ext(vm->vm_fd, KVM_CAP_IOEVENTFD) <= 0)
        return;
    for (uint16_t q = 0; q < v->ops->num_queues; q++) {
        int fd = v->ops->queue_eventfd(v, q);
        if (fd >= 0 && kvm_ioeventfd(vm->vm_fd, virtio_pci_notify_addr(v, q), 2, fd) != 0 &&
            vm->cfg.verbose)
            machine_log(&vm->m, "ioeventfd unavailable; queue notifications take MMIO exits");
    }
}

/* The devices the configuration lists, in its order, behind one PCI host bridge, each with a
 * level-triggered XICS source for its INTA and an edge one for each MSI-X vector (in
 * minivmm's XICS here; in KVM's, created masked by connect_kernel_xics(); the guest routes and
 * unmasks them). */
static int setup_devices(struct vm *vm, struct mvm_err *e)
{
    struct machine *m = &vm->m;
    if (vm->cfg.ndevices == 0)
        return 0;
    m->pci = &vm->phb;
    if (pci_register_rtas(m))
        return mvm_fail(e, MVM_E_VMM, "RTAS table full");
    for (unsigned i = 0; i < vm->cfg.ndevices; i++) {
        const struct device_spec *d = &vm->cfg.devices[i];
        void *state = d->kind->create(m, d->spec, vm->cfg.snapshot_all, e);
        if (!state)
            return -1;
        vm->devices[vm->ndevices++] = (struct device){.kind = d->kind, .state = state};
    }
    for (unsigned i = 0; m->xics && i < vm->phb.ndev; i++) {
        const struct pci_device *d = vm->phb.dev[i];
        if (xics_add_source(m->xics, d->irq))
            return mvm_fail(e, MVM_E_VMM, "no room for interrupt source %u", d->irq);
        for (unsigned v = 0; d->msix && v < d->msix->nvec; v++)
            if (xics_add_msi_source(m->xics, d->msix->first_irq + v))
                return mvm_fail(e, MVM_E_VMM, "no room for interrupt source %u",
                                d->msix->first_irq + v);
    }
    return 0;
}

/* Host input for the sPAPR vty (the console thread): its interrupt tells the guest, which then
 * reads it with H_GET_TERM_CHAR instead of polling for it. */
static void vty_input(struct vty *v)
{
    struct vm *vm = (struct vm *)((char *)v - offsetof(struct vm, vty));
    vm->m.ops->msi(&vm->m, VTY_IRQ);
}

int setup_board(struct vm *vm, struct mvm_err *e)
{
    if (choose_xics(vm, e) || setup_devices(vm, e))
        return -1;
    vm->vty.input_pushed = vty_input;
    return 0;
}

int connect_board(struct vm *vm, struct mvm_err *e)
{
    if (vm->xics_fd >= 0 && connect_kernel_xics(vm, e))
        return -1;
    for (unsigned i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].kind->virtio)
            wire_notifications(vm, vm->devices[i].kind->virtio(vm->devices[i].state));
    return 0;
}

int start_devices(struct vm *vm, struct mvm_err *e)
{
    for (unsigned i = 0; i < vm->ndevices; i++) {
        const struct device *d = &vm->devices[i];
        if (d->kind->start && d->kind->start(d->state, e))
            return -1;
    }
    return 0;
}

/* Last created, first gone; device threads use guest memory and the VM, which outlive them. */
void destroy_devices(struct vm *vm)
{
    while (vm->ndevices > 0) {
        const struct device *d = &vm->devices[--vm->ndevices];
        d->kind->destroy(d->state);
    }
}
