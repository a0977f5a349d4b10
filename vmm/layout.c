#include "layout.h"

#include <stdio.h>
#include <string.h>

#include "../fdt/fdt.h"
#include "../firmware/rtas.h"

#define MiB (1ULL << 20)

static uint64_t align_up(uint64_t v)
{
    return (v + LAYOUT_ALIGN - 1) & ~(LAYOUT_ALIGN - 1);
}

static unsigned long long mib_up(uint64_t v)
{
    return (unsigned long long)(v / MiB + (v % MiB != 0));
}

/* What does not fit is the kernel (and initrd) below RTAS. When the image was loaded away
 * from 0 and would fit lower, the fix is a lower address; otherwise less of it, or room. */
static int kernel_too_big(uint64_t kernel_start, uint64_t kernel_end, uint64_t initrd_size,
                          const struct boot_layout *l, enum mvm_status status, struct mvm_err *e)
{
    char initrd[64] = "";
    if (initrd_size)
        snprintf(initrd, sizeof(initrd), " with its initrd (%llu MiB)", mib_up(initrd_size));
    uint64_t size = kernel_end - kernel_start;     /* kernel_start <= kernel_end: the loader's */
    if (kernel_start && size <= l->rtas && align_up(size) <= l->rtas &&
        initrd_size <= l->rtas - align_up(size))
        return mvm_fail(e, status, "the kernel (%llu MiB)%s loaded at 0x%llx does not fit below "
                        "%llu MiB, where minivmm places RTAS and the device tree: give a lower "
                        "--kernel-addr (at most 0x%llx)", mib_up(size), initrd,
                        (unsigned long long)kernel_start, (unsigned long long)(l->rtas / MiB),
                        (unsigned long long)((l->rtas - align_up(size) - initrd_size) &
                                             ~(LAYOUT_ALIGN - 1)));
    return mvm_fail(e, status, "the kernel (%llu MiB)%s does not fit below %llu MiB, where "
                    "minivmm places RTAS and the device tree (%llu KiB): %s",
                    mib_up(size), initrd, (unsigned long long)(l->rtas / MiB),
                    (unsigned long long)(l->fdt_area >> 10),
                    l->fdt + l->fdt_area < LAYOUT_FIRMWARE_TOP
                        ? "give the guest more memory with -m"
                        : "RTAS must stay below 1 GiB, so use a smaller initrd");
}

int layout_place(struct boot_layout *l, uint64_t kernel_start, uint64_t kernel_end,
                 uint64_t initrd_size, uint64_t fdt_size, uint64_t rma_size,
                 enum mvm_status status, struct mvm_err *e)
{
    memset(l, 0, sizeof(*l));
    if (rtas_blob_size > LAYOUT_RTAS_AREA)
        return mvm_fail(e, MVM_E_VMM, "the RTAS stub (%u bytes) outgrew its %llu KiB",
                        rtas_blob_size, LAYOUT_RTAS_AREA >> 10);
    uint64_t top = rma_size < LAYOUT_FIRMWARE_TOP ? rma_size : LAYOUT_FIRMWARE_TOP;
    top &= ~(LAYOUT_ALIGN - 1);
    /* fdt_size <= top first, so that rounding it up cannot wrap. */
    if (fdt_size > top || align_up(fdt_size) + LAYOUT_RTAS_AREA > top)
        return mvm_fail(e, status, "the device tree (%llu KiB) and RTAS (%llu KiB) do not fit "
                        "below %llu MiB, the memory the guest reaches in real mode: give the "
                        "guest more memory with -m", (unsigned long long)(fdt_size >> 10),
                        LAYOUT_RTAS_AREA >> 10, (unsigned long long)(top / MiB));
    l->fdt_area = align_up(fdt_size);
    l->fdt = top - l->fdt_area;
    l->rtas = l->fdt - LAYOUT_RTAS_AREA;
    /* kernel_end <= rtas < 1 GiB first, so that neither the rounding nor the sum can wrap. */
    if (kernel_end > l->rtas || align_up(kernel_end) > l->rtas ||
        initrd_size > l->rtas - align_up(kernel_end))
        return kernel_too_big(kernel_start, kernel_end, initrd_size, l, status, e);
    l->initrd = align_up(kernel_end);
    l->initrd_size = initrd_size;
    return 0;
}

int layout_plan(struct boot_layout *l, const struct vm_config *c, uint32_t id_stride,
                uint64_t kernel_start, uint64_t kernel_end, uint64_t initrd_size,
                uint64_t rma_size,
                enum mvm_status status, struct mvm_err *e)
{
    struct fdt_shape shape = {
        .ncpus = c->ncpus,
        .vcpu_id_stride = id_stride,
        .npci = c->ndevices,   /* one PCI function each */
        .bootargs = c->cmdline,
    };
    size_t fdt_size;
    if (fdt_size_bound(&shape, &fdt_size, e))
        return -1;
    return layout_place(l, kernel_start, kernel_end, initrd_size, fdt_size, rma_size, status, e);
}
