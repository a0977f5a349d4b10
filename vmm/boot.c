/* What the guest boots from: the kernel and initrd, where they and the firmware go in guest
 * memory (layout.c), and the device tree of the machine vm.c builds.
 *
 * The files are read and the layout checked before /dev/kvm is opened, with the most room any
 * host could give (real mode reaching all of memory up to 1 GiB, vCPU ids adjacent): what does
 * not fit even then is the user's to fix. vm.c places it all again once the host has said how
 * much the guest reaches in real mode and how it numbers vCPUs, and the tree is built before
 * any vCPU exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../devices/hcall.h"
#include "initramfs.h"
#include "vm_internal.h"

#define PVR_POWER8E 0x004b
#define PVR_POWER8NVL 0x004c
#define PVR_POWER8 0x004d
#define PVR_POWER9 0x004e
#define PVR_POWER10 0x0080

/* The host's processor version, which is the guest's: KVM-HV gives every vCPU the host's
 * (it cannot present another), and setup_pr_vcpu() in vm.c sets the same on each KVM-PR vCPU
 * (PR would start them as a PPC970). No vCPU is needed to learn it: the kernel emulates mfpvr
 * for user space. */
uint32_t host_pvr(void)
{
    unsigned long pvr;
    __asm__ volatile("mfpvr %0" : "=r"(pvr));
    return (uint32_t)pvr;
}

const char *cpu_model(uint32_t pvr)
{
    switch (pvr >> 16) {
    case PVR_POWER8E: case PVR_POWER8NVL: case PVR_POWER8: return "POWER8";
    case PVR_POWER9: return "POWER9";
    case PVR_POWER10: return "POWER10";
    default: return "POWER";
    }
}

/* Host facts that only /proc tells. */
static void host_cpu_clocks(uint32_t *timebase_hz, uint32_t *clock_hz)
{
    *timebase_hz = 512000000;   /* every POWER8/9/10 */
    *clock_hz = 1000000000;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        unsigned long tb;
        double mhz;
        if (sscanf(line, "timebase : %lu", &tb) == 1 && tb > 0 && tb <= UINT32_MAX)
            *timebase_hz = (uint32_t)tb;
        else if (sscanf(line, "clock : %lfMHz", &mhz) == 1 && mhz > 0 && mhz < 4294.0)
            *clock_hz = (uint32_t)(mhz * 1e6);
    }
    fclose(f);
}

int boot_open(struct boot *b, const struct vm_config *c, struct mvm_err *e)
{
    if (file_map_open(&b->kfile, c->kernel, "kernel", e) ||
        kernel_parse(&b->kernel, b->kfile.data, b->kfile.size, c->kernel, e) ||
        kernel_place(&b->kernel, c->kernel_addr_set, c->kernel_addr, c->kernel, e) ||
        (c->initrd && file_map_open(&b->ifile, c->initrd, "initrd", e)))
        return -1;
    /* --rootfs with no -i: minivmm's own initramfs, made in memory. */
    if (c->rootfs && !c->initrd) {
        if (initramfs_build(c, b->kfile.data, b->kfile.size, b->kernel.big_endian, &b->made, e))
            return -1;
        b->ifile = (struct file_map){.data = b->made.buf, .size = b->made.len, .fd = -1};
    }
    /* vCPU ids adjacent and real mode reaching all of memory: the most room any host gives. */
    return layout_plan(&b->lay, c, 1, b->kernel.load_addr, b->kernel.end, b->ifile.size,
                       c->mem_size, MVM_E_INPUT, e);
}

void boot_close(struct boot *b)
{
    file_map_close(&b->kfile);
    if (b->made.buf)
        cpio_free(&b->made);
    else
        file_map_close(&b->ifile);
    free(b->fdt.data);
    b->fdt.data = NULL;
}

static void tree_params(struct fdt_params *p, const struct boot *b, const struct vm *vm,
                        const struct mmu_plan *mmu)
{
    const struct machine *m = &vm->m;
    *p = (struct fdt_params){
        .ram_size = m->mem.size,
        .rma_size = mmu->rma_size,
        .ncpus = m->ncpus,
        .vcpu_id_stride = m->ncpus > 1 ? m->cpu_stride : 1,   /* one vCPU: one server */
        .pvr = vm->pvr,
        .cpu_model = cpu_model(vm->pvr),
        .radix = mmu->radix,
        .ci_large_page = mmu->ci_large_page,
        .segs_1t = mmu->segs_1t,
        .htab_shift = mmu->htab_shift,
        .n_sps = mmu->n_sps,
        .n_radix_ap = mmu->n_radix_ap,
        .bootargs = vm->cfg.cmdline,
        .initrd_start = b->ifile.size ? b->lay.initrd : 0,
        .initrd_end = b->ifile.size ? b->lay.initrd + b->ifile.size : 0,
        .rtas_base = b->lay.rtas,
        .rtas_size = rtas_blob_size,
        .rtas = m->rtas,
        .hypertas = vm->hv ? hcall_hypertas_functions : hcall_hypertas_functions_pr,
        .pci = m->pci,
    };
    memcpy(p->sps, mmu->sps, sizeof(p->sps));
    memcpy(p->radix_ap, mmu->radix_ap, sizeof(p->radix_ap));
    host_cpu_clocks(&p->timebase_hz, &p->clock_hz);
}

int boot_build_tree(struct boot *b, const struct vm *vm, const struct mmu_plan *mmu,
                    struct mvm_err *e)
{
    struct fdt_params p;
    tree_params(&p, b, vm, mmu);
    uint8_t seed[32];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
        p.rng_seed = seed;
        p.rng_seed_len = sizeof(seed);
    }
    if (fdt_build(&p, &b->fdt, e))
        return -1;
    /* The area is fdt_size_bound()'s for this machine: a tree that outgrows it is a bug there,
     * and must not spill into RTAS. */
    if (b->fdt.size > b->lay.fdt_area)
        return mvm_fail(e, MVM_E_VMM, "device tree: %zu bytes built for a %llu-byte area (a "
                        "bug in fdt_size_bound)", b->fdt.size,
                        (unsigned long long)b->lay.fdt_area);
    return 0;
}

int boot_load(const struct boot *b, struct vm *vm, struct mvm_err *e)
{
    struct guest_mem *mem = &vm->m.mem;
    if (kernel_load(&b->kernel, &b->kfile, mem, vm->cfg.kernel, e))
        return -1;
    void *initrd = gpa_ptr(mem, b->lay.initrd, b->ifile.size);
    void *rtas = gpa_ptr(mem, b->lay.rtas, rtas_blob_size);
    void *fdt = gpa_ptr(mem, b->lay.fdt, b->fdt.size);
    if (!initrd || !rtas || !fdt)   /* the layout stays below the real-mode area: never */
        return mvm_fail(e, MVM_E_VMM, "the boot layout reaches beyond guest memory");
    if (b->ifile.size && file_map_read(&b->ifile, initrd, 0, b->ifile.size))
        return mvm_fail(e, MVM_E_INPUT, "cannot read the initramfs: %s", strerror(errno));
    memcpy(rtas, rtas_blob, rtas_blob_size);
    memcpy(fdt, b->fdt.data, b->fdt.size);
    return 0;
}
