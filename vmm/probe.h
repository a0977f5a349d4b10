/* The host's facts, whole: what /proc and /sys tell (host.c) and what only /dev/kvm can tell,
 * i.e. which KVM flavours can create a VM and what each offers (Radix, Hash, page sizes,
 * nested HV). POWER only. */
#ifndef MINIVMM_PROBE_H
#define MINIVMM_PROBE_H

#include "compat.h"

/* What probing leaves open: /dev/kvm and one VM of each flavour KVM could create (-1 where
 * none). Asking a VM about its capabilities does not change it, so a start takes the one
 * its plan chose instead of creating another, and closes the rest. */
struct kvm_candidates {
    int kvm_fd, hv_vm, pr_vm;
};

/* Fills *h. Returns 0, or -errno when dev cannot be used (h->kvm_error and h->arch then say
 * why, compat_kvm_usable() explains it, and k holds nothing open). */
int host_gather_facts(struct host_facts *h, const char *dev, struct kvm_candidates *k);
void kvm_candidates_close(struct kvm_candidates *k);

#endif
