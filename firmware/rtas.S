/*
 * The RTAS entry stub: the whole of minivmm's "firmware".
 *
 * Linux calls RTAS in 32-bit big-endian real mode (MSR = ME|RI) with r3 = the physical
 * address of its struct rtas_args. We forward that address to the VMM with the KVM-private
 * hcall KVMPPC_H_RTAS (0xf000); the VMM (or KVM, for tokens it was told about) performs the
 * call and writes the return cells into the same buffer, so the stub only has to return.
 * This file is assembled big-endian whatever the build, because RTAS is always entered BE.
 */
    .text
    .globl rtas_entry
rtas_entry:
    mr      4, 3            /* r4 = rtas_args, the hcall's first argument */
    lis     3, 0
    ori     3, 3, 0xf000    /* r3 = KVMPPC_H_RTAS */
    sc      1               /* hypervisor call */
    blr
