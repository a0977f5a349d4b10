/* RTAS calls through hcall_dispatch(KVMPPC_H_RTAS): guest RAM (4 KiB) holds the rest of the
 * input, the program gives each call's vCPU and argument-buffer address (mostly inside RAM or
 * just past its end, sometimes anything). The registry has minivmm's own services and the PCI
 * config-space services, with one device on the host bridge. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define RAM 0x1000u
#define MAX_CALLS 8

FZ_DEFINE_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct pci_device dev;
    struct machine *m = fz_machine_with_pci(RAM, &mem, &dev);
    static const uint8_t cap[8] = {0x09, 0, 8, 1};
    pci_add_capability(&dev, cap, sizeof(cap));

    unsigned calls = 1 + fz_u8(&prog) % MAX_CALLS;
    for (unsigned i = 0; i < calls; i++) {
        uint8_t sel = fz_u8(&prog);
        int cpu = sel & 3;          /* 2 and 3 do not exist */
        uint64_t args[9] = {0};
        if (sel & 0x80)
            args[0] = fz_u64(&prog);
        else
            args[0] = fz_u16(&prog) % (RAM + 64);
        if (sel & 0x40)             /* the stub may pass a virtual address: top nibble set */
            args[0] |= 0xc000000000000000ULL;
        int64_t r = hcall_dispatch(m, cpu, KVMPPC_H_RTAS, args);
        if (r != H_SUCCESS && r != H_PARAMETER)
            abort();
    }
    fz_machine_free(m);
    return 0;
}
