/* The machine description the device-tree tests start from (a small POWER9 guest), shared by
 * test_fdt.c and test_fdt_size.c. */
#ifndef MINIVMM_TEST_FDT_FIXTURE_H
#define MINIVMM_TEST_FDT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../devices/hcall.h"
#include "../../fdt/fdt.h"
#include "../../firmware/rtas.h"

#define MiB (1ULL << 20)
#define RTAS_BASE 0x3fff0000ULL
#define RTAS_SIZE 20u

static struct rtas rtas_reg;

static void fill_params(struct fdt_params *p, bool radix, unsigned ncpus, uint32_t stride)
{
    memset(p, 0, sizeof(*p));
    rtas_init(&rtas_reg);
    p->ram_size = 512 * MiB;
    p->rma_size = radix ? 512 * MiB : 256 * MiB;
    p->ncpus = ncpus;
    p->vcpu_id_stride = stride;
    p->pvr = 0x004e1202;
    p->cpu_model = "POWER9";
    p->timebase_hz = 512000000;
    p->clock_hz = 2000000000;
    p->radix = radix;
    p->ci_large_page = true;
    p->htab_shift = 22;
    p->n_sps = 2;
    p->sps[0] = (struct fdt_seg_page_size){.shift = 12, .slb_enc = 0, .n = 1,
                                           .enc = {{12, 0}}};
    p->sps[1] = (struct fdt_seg_page_size){.shift = 16, .slb_enc = 0x110, .n = 2,
                                           .enc = {{16, 1}, {24, 8}}};
    p->n_radix_ap = 4;
    p->radix_ap[0] = 0x0000000c;
    p->radix_ap[1] = 0xa0000010;
    p->radix_ap[2] = 0x20000015;
    p->radix_ap[3] = 0x4000001e;
    p->bootargs = "console=hvc0 root=/dev/ram0";
    p->initrd_start = 0x2000000;
    p->initrd_end = 0x2345678;
    p->rtas_base = RTAS_BASE;
    p->rtas_size = RTAS_SIZE;
    p->rtas = &rtas_reg;
    p->hypertas = hcall_hypertas_functions;
}

#endif
