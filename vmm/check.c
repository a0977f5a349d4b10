/* minivmm --check: the host doctor. Gathers the facts (host.c, probe.c), prints them with
 * every kind of guest the seed lists, and judges the configuration the caller asked for
 * with the same rules a real start would apply (compat.c). */
#include "vm.h"

#include <unistd.h>

#include "compat.h"
#include "host.h"
#include "mem.h"
#include "probe.h"

int vm_check_host(const struct vm_config *c, FILE *out, struct mvm_err *e)
{
    struct host_facts h = {0};
    host_read_facts(&h, "", (uint64_t)sysconf(_SC_PAGESIZE));
    int fd = host_probe_kvm(&h, c->kvm_dev);
    if (fd >= 0)
        close(fd);
    host_print_report(out, &h, c->mem_size);

    struct compat_request req = {.kvm = c->kvm_type, .mmu = c->mmu, .mem_size = c->mem_size,
                                 .nested_hv = c->nested_hv};
    if (c->mem_path && hugetlbfs_page_size(c->mem_path, &req.backing_page, e))
        return -1;
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
