/* minivmm --check: the host doctor. Gathers the facts (host.c, probe.c), prints them with
 * every kind of guest the seed lists, and judges the configuration the caller asked for
 * with the same rules a real start would apply (compat.c). */
#include "vm.h"

#include "../devices/device.h"
#include "compat.h"
#include "host.h"
#include "mem.h"
#include "probe.h"

int vm_check_host(const struct vm_config *c, FILE *out, struct mvm_err *e)
{
    struct host_facts h = {0};
    struct kvm_candidates k;
    host_gather_facts(&h, c->kvm_dev, &k);   /* a failure to open is one of the facts */
    kvm_candidates_close(&k);
    host_print_report(out, &h, c->mem_size);
    /* What the guest would be given, as the options said it (already checked: the shares'
     * directories exist, the disks' SPECs parse). */
    for (unsigned i = 0; i < c->ndevices; i++)
        fprintf(out, "device: --%s %s\n", c->devices[i].kind->name,
                c->devices[i].spec[0] ? c->devices[i].spec : "(no options)");

    uint64_t backing = 0;
    if (c->mem_path && hugetlbfs_page_size(c->mem_path, &backing, e))
        return -1;
    struct compat_request req = compat_request_of(c, backing);
    struct compat_plan p;
    if (compat_plan(&h, &req, &p, e)) {
        fprintf(out, "the requested guest: cannot run here\n");
        return -1;
    }
    fprintf(out, "the requested guest: runs as a KVM-%s %s guest with %llu MiB of %s memory\n",
            p.hv ? "HV" : "PR", p.radix ? "Radix" : "Hash (HPT)",
            (unsigned long long)(c->mem_size >> 20),
            c->mem_path || p.hugetlbfs ? "hugepage-backed" : "anonymous");
    return 0;
}
