/* The part of the host's facts only /dev/kvm can tell: which KVM flavours can create a VM
 * and what each offers (Radix, Hash, page sizes, nested HV). POWER only. */
#ifndef MINIVMM_PROBE_H
#define MINIVMM_PROBE_H

#include "compat.h"

/* Opens dev and fills the KVM part of *h by creating (and closing) a throw-away VM of each
 * flavour. Returns the open /dev/kvm descriptor, or -errno when it cannot be opened (and
 * h->kvm_exists / h->kvm_access say why). */
int host_probe_kvm(struct host_facts *h, const char *dev);

#endif
