/* Where the boot images go in guest memory, decided before anything is loaded or built.
 *
 * The kernel lies where the loader placed it (loader.h: Linux from guest physical 0, other
 * images at 4 MiB or --kernel-addr), and the initrd follows it on a 64 KiB boundary. RTAS and the device tree go at the top of what the guest reaches in real
 * mode: its real-mode area, and below 1 GiB, where the kernel instantiates RTAS. The tree's
 * area is the very top, as large as fdt_size_bound() says a machine of this configuration can
 * need; RTAS's 64 KiB lie below it. Each placement is checked against the next with
 * overflow-safe arithmetic, so a bigger tree can only be refused, never overlap the initrd.
 * Pure: no KVM, no files (tests/unit/test_layout.c).
 */
#ifndef MINIVMM_LAYOUT_H
#define MINIVMM_LAYOUT_H

#include <stdint.h>

#include "config.h"
#include "err.h"

#define LAYOUT_ALIGN 0x10000ULL
#define LAYOUT_RTAS_AREA 0x10000ULL        /* room for the RTAS stub */
#define LAYOUT_FIRMWARE_TOP (1ULL << 30)   /* RTAS must sit below 1 GiB */

struct boot_layout {
    uint64_t initrd, initrd_size;
    uint64_t rtas;               /* LAYOUT_RTAS_AREA bytes */
    uint64_t fdt, fdt_area;      /* the device tree's room: [fdt, fdt + fdt_area) */
};


/* Places an initrd of initrd_size bytes after a kernel loaded at [kernel_start, kernel_end),
 * and RTAS and a device tree of up to fdt_size bytes below min(rma_size, 1 GiB). Fails with
 * `status` and the fix when they do not all fit. */
int layout_place(struct boot_layout *l, uint64_t kernel_start, uint64_t kernel_end,
                 uint64_t initrd_size, uint64_t fdt_size, uint64_t rma_size,
                 enum mvm_status status, struct mvm_err *e);

/* layout_place() with the device tree of configuration c sized by fdt_size_bound(), on a host
 * that spaces vCPU ids by id_stride. */
int layout_plan(struct boot_layout *l, const struct vm_config *c, uint32_t id_stride,
                uint64_t kernel_start, uint64_t kernel_end, uint64_t initrd_size,
                uint64_t rma_size,
                enum mvm_status status, struct mvm_err *e);

#endif
