/* Every hcall that reaches userspace, in sequences: the program picks each opcode (one of
 * ours, or any number), the vCPU, r4..r12, what the fake hypervisor answers, and host input
 * for the vty; guest RAM (4 KiB) holds the rest of the input for H_RTAS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define RAM 0x1000u
#define MAX_CALLS 16

static const uint64_t opcodes[] = {
    H_GET_TERM_CHAR, H_PUT_TERM_CHAR, H_GET_CPU_CHARACTERISTICS, H_SET_MODE,
    H_REGISTER_PROC_TBL, KVMPPC_H_RTAS, H_READ,
};
static const int mmu_rets[] = {0, -EINVAL, -ENODEV, -EIO};

FZ_DEFINE_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct pci_device dev;
    struct machine *m = fz_machine_with_pci(RAM, &mem, &dev);
    uint8_t mode = fz_u8(&prog);
    m->radix = mode & 1;
    /* Half the runs are KVM-PR, with a hashed page table of 1 to 64 entries to read. */
    static uint8_t hpt[64 * 16];
    if (mode & 2) {
        m->hpt = hpt;
        m->hpt_size = 16 * (1 + (mode >> 2) % 64);
    }

    for (unsigned i = 0; i < MAX_CALLS && prog.n; i++) {
        uint8_t sel = fz_u8(&prog);
        unsigned pick = sel % 8;
        int cpu = (sel >> 3) & 3;
        uint64_t nr = pick < 7 ? opcodes[pick] : cpu & 1 ? fz_u16(&prog) : fz_u64(&prog);
        fz_fake.mmu_ret = mmu_rets[(sel >> 5) & 3];
        fz_fake.char_ret = (sel & 0x80) ? -ENOTTY : 0;
        uint64_t args[9];
        uint8_t small = fz_u8(&prog);   /* bit j: r(4+j) is one byte (fz_small), not eight */
        for (unsigned j = 0; j < 4; j++)
            args[j] = (small >> j) & 1 ? fz_small(&prog) : fz_u64(&prog);
        for (unsigned j = 4; j < 9; j++)   /* no hcall of ours reads these: junk, as a guest's */
            args[j] = 0x5a5a5a5a5a5a5a5aULL * j;
        if (small & 0x80) {             /* host input waiting for H_GET_TERM_CHAR */
            uint8_t typed[32];
            for (unsigned j = 0; j < sizeof(typed); j++)
                typed[j] = (uint8_t)(j * 3 + i);
            vty_push_input(m->vty, typed, 1 + (small >> 4) % 8 * 4);
        }
        hcall_dispatch(m, cpu, nr, args);
    }
    fz_machine_free(m);
    return 0;
}
