/* The compatibility rules (see compat.h). Each refusal names the rule that failed and the
 * change that would make the guest run, in the words of the seed document where it has them. */
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define TiB (1ULL << 40)
#define RMA_MAX TiB   /* what a real-mode area ever needs to reach */

static unsigned log2_up(uint64_t v)
{
    unsigned s = 0;
    while (s < 63 && (1ULL << s) < v)
        s++;
    return s;
}

/* "4 KiB", "64 KiB", "16 MiB", "1 GiB". */
static const char *size_str(uint64_t v, char buf[32])
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, 32, "%llu %s", (unsigned long long)v, unit[u]);
    return buf;
}

unsigned compat_htab_shift(uint64_t mem_size)
{
    unsigned s = log2_up(mem_size);
    s = s > 7 + 18 ? s - 7 : 18;
    return s > 46 ? 46 : s;
}

uint64_t compat_vrma_limit(uint64_t backing_page, unsigned htab_shift)
{
    /* KVM-HV maps the VRMA with one hash entry per backing page, using the largest of
     * 4 KiB, 64 KiB and 16 MiB the backing allows; the table has 2^(htab_shift - 7) groups. */
    unsigned page = backing_page >= 16 * MiB ? 24 : backing_page >= 64 * KiB ? 16 : 12;
    unsigned s = page + htab_shift - 7;
    return s >= 40 ? RMA_MAX : 1ULL << s;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The hugepage size the fix should talk about: the host's default, else the usual one. */
static uint64_t suggested_hugepage(const struct host_facts *h)
{
    if (h->nhuge)
        return h->huge[0].size;
    return h->mmu == HOST_MMU_RADIX ? 2 * MiB : 16 * MiB;
}

/* A hugetlbfs mount with enough free pages for the whole guest, whose pages make the VRMA
 * reach all of it. */
static const struct hugepage_pool *usable_pool(const struct host_facts *h, uint64_t mem,
                                               unsigned htab_shift)
{
    for (unsigned i = 0; i < h->nhuge; i++) {
        const struct hugepage_pool *pl = &h->huge[i];
        if (pl->mount[0] && pl->size >= 64 * KiB && mem % pl->size == 0 &&
            pl->free >= mem / pl->size &&
            compat_vrma_limit(pl->size, htab_shift) >= min_u64(mem, RMA_MAX))
            return pl;
    }
    return NULL;
}

static int refuse_vrma(const struct host_facts *h, const struct compat_request *r,
                       uint64_t backing, uint64_t vrma, struct mvm_err *e)
{
    char a[32], b[32], c[32], d[32];
    uint64_t hp = suggested_hugepage(h);
    /* Enough pages for the guest, plus a little for the host's own use of the pool. */
    uint64_t pages = r->mem_size / hp + r->mem_size / hp / 16 + 1;
    if (r->backing_page)
        return mvm_fail(e, MVM_E_HOST, "unable to give the Hash (HPT) guest a %s real-mode "
                        "area: with %s pages behind guest memory KVM-HV's VRMA only reaches %s. "
                        "Use a hugetlbfs mount with 64 KiB or larger pages (--mem-path)",
                        size_str(min_u64(r->mem_size, RMA_MAX), a), size_str(backing, b),
                        size_str(vrma, c));
    for (unsigned i = 0; i < h->nhuge; i++)
        if (h->huge[i].mount[0] && h->huge[i].size >= 64 * KiB)
            return mvm_fail(e, MVM_E_HOST, "unable to give the Hash (HPT) guest a %s real-mode "
                            "area: with %s host pages KVM-HV's VRMA only reaches %s, and "
                            "hugetlbfs at %s has %llu free %s pages where %llu are needed: "
                            "'sysctl vm.nr_hugepages=%llu', then --mem-path %s",
                            size_str(min_u64(r->mem_size, RMA_MAX), a), size_str(backing, b),
                            size_str(vrma, c), h->huge[i].mount,
                            (unsigned long long)h->huge[i].free, size_str(h->huge[i].size, d),
                            (unsigned long long)(r->mem_size / h->huge[i].size),
                            (unsigned long long)pages, h->huge[i].mount);
    return mvm_fail(e, MVM_E_HOST, "unable to give the Hash (HPT) guest a %s real-mode area: "
                    "with %s host pages KVM-HV's VRMA only reaches %s. Back guest memory with "
                    "hugepages: 'sysctl vm.nr_hugepages=%llu' (%s pages), 'mount -t hugetlbfs "
                    "hugetlbfs /dev/hugepages', then --mem-path /dev/hugepages",
                    size_str(min_u64(r->mem_size, RMA_MAX), a), size_str(backing, b),
                    size_str(vrma, c), (unsigned long long)pages, size_str(hp, d));
}

static int hv_unavailable(const struct host_facts *h, struct mvm_err *e)
{
    if (h->partition && h->mmu == HOST_MMU_HASH)
        return mvm_fail(e, MVM_E_HOST, "KVM-HV is not available: this host is itself a Hash "
                        "(HPT) guest, and KVM-HV runs nested only when it is Radix all the way "
                        "down. Use KVM-PR here (--kvm-type=pr, 'modprobe kvm-pr')");
    if (!h->hv_module)
        return mvm_fail(e, MVM_E_HOST, "KVM-HV is not available: 'modprobe kvm-hv' (POWER8 or "
                        "later; inside a guest, that guest must be Radix and its hypervisor "
                        "must allow nested HV, e.g. QEMU's cap-nested-hv=on)");
    return mvm_fail(e, MVM_E_HOST, "KVM-HV is loaded but cannot create a VM on this host "
                    "(see the kernel log: 'dmesg | grep -i kvm')");
}

static int plan_hv_hash(const struct host_facts *h, const struct compat_request *r,
                        struct compat_plan *p, struct mvm_err *e)
{
    char a[32], b[32], c[32];
    if (!h->hv_hash)
        return mvm_fail(e, MVM_E_HOST, "this host's KVM-HV cannot run Hash (HPT) guests: %s. "
                        "Use --mmu=radix, or KVM-PR inside an HPT guest",
                        h->partition ? "it is itself a guest, and nested KVM-HV carries Radix "
                                       "guests only (HPT must not appear anywhere in the chain)"
                                     : "it offers Radix guests only");
    p->backing_page = r->backing_page ? r->backing_page : h->page_size;
    p->htab_shift = compat_htab_shift(r->mem_size);
    uint64_t vrma = compat_vrma_limit(p->backing_page, p->htab_shift);
    if (vrma < min_u64(r->mem_size, RMA_MAX)) {
        const struct hugepage_pool *pl = r->backing_page ? NULL
                                         : usable_pool(h, r->mem_size, p->htab_shift);
        if (!pl)
            return refuse_vrma(h, r, p->backing_page, vrma, e);
        p->backing_page = pl->size;
        p->hugetlbfs = pl->mount;
        vrma = compat_vrma_limit(pl->size, p->htab_shift);
    }
    p->rma_size = min_u64(r->mem_size, vrma);
    /* Under PAGE_SIZES_REAL a guest page must be backed by a host page at least as large:
     * guest RAM by the backing, MMIO (cache-inhibited) by the host's base pages. On a 4 KiB
     * host that leaves 4 KiB pages only (QEMU's cap-hpt-max-page-size=4096). */
    if (!h->hv_pages_real)
        p->hpt_max_page = 16 * MiB;
    else if (h->page_size < 64 * KiB)
        p->hpt_max_page = h->page_size;
    else
        p->hpt_max_page = p->backing_page;
    p->ci_large_page = p->hpt_max_page >= 64 * KiB;
    if (r->guest_page > p->hpt_max_page) {
        const char *cap = size_str(p->hpt_max_page, c);
        return mvm_fail(e, MVM_E_HOST, "can't support %s guest hash pages with %s host pages "
                        "under KVM-HV: a Hash (HPT) guest's hash pages must be no larger than the "
                        "host's, so the guest is offered %s ones only (a Linux kernel with "
                        "larger pages still boots, mapping them with %s hash entries). For "
                        "larger hash pages boot the guest in Radix mode (--mmu=radix, on a Radix "
                        "host) or use KVM-PR",
                        size_str(r->guest_page, a), size_str(h->page_size, b), cap, cap);
    }
    return 0;
}

static int plan_hv(const struct host_facts *h, const struct compat_request *r,
                   struct compat_plan *p, struct mvm_err *e)
{
    memset(p, 0, sizeof(*p));
    p->hv = true;
    if (!h->hv)
        return hv_unavailable(h, e);
    if (r->nested_hv) {
        if (r->mmu == MMU_HASH)
            return mvm_fail(e, MVM_E_HOST, "--nested-hv needs a Radix guest: nested KVM-HV works "
                            "only Radix all the way down; drop --mmu=hash");
        if (!h->hv_nested)
            return mvm_fail(e, MVM_E_HOST, "this host's KVM-HV cannot offer nested HV to its "
                            "guests: that needs a POWER9 or later host in Radix mode %s",
                            h->mmu == HOST_MMU_HASH ? "(this host runs Hash)"
                            : "with kvm-hv's 'nested' parameter on (and, if the host is itself "
                              "a guest, its own hypervisor allowing nested HV)");
    }
    bool radix = r->mmu == MMU_RADIX || r->nested_hv || (r->mmu == MMU_AUTO && h->hv_radix);
    if (!radix)
        return plan_hv_hash(h, r, p, e);
    if (!h->hv_radix)
        return mvm_fail(e, MVM_E_HOST, "this host cannot run Radix guests: Radix needs KVM-HV on "
                        "a POWER9 or later host that itself runs Radix (%s); use --mmu=hash",
                        h->mmu == HOST_MMU_HASH ? "this one runs Hash: boot it without "
                        "disable_radix" : "grep MMU /proc/cpuinfo");
    /* Radix guests have no real-mode-area limit and take any page size on any host. */
    p->radix = true;
    p->backing_page = r->backing_page ? r->backing_page : h->page_size;
    p->rma_size = r->mem_size;
    p->ci_large_page = true;
    return 0;
}

static int plan_pr(const struct host_facts *h, const struct compat_request *r,
                   struct compat_plan *p, struct mvm_err *e)
{
    memset(p, 0, sizeof(*p));
    if (r->nested_hv)
        return mvm_fail(e, MVM_E_HOST, "--nested-hv needs KVM-HV: a KVM-PR guest cannot run "
                        "KVM-HV itself");
    if (r->mmu == MMU_RADIX)
        return mvm_fail(e, MVM_E_HOST, "KVM-PR runs Hash (HPT) guests only; Radix guests need "
                        "KVM-HV");
    if (!h->pr) {
        if (h->mmu == HOST_MMU_RADIX)
            return mvm_fail(e, MVM_E_HOST, "KVM-PR needs a Hash (HPT) host and this host runs "
                            "Radix: boot it with disable_radix, or keep Radix and run KVM-PR "
                            "nested inside an HPT guest");
        if (!h->pr_module)
            return mvm_fail(e, MVM_E_HOST, "KVM-PR is not available: 'modprobe kvm-pr' (the "
                            "host must run Hash: grep MMU /proc/cpuinfo)");
        return mvm_fail(e, MVM_E_HOST, "KVM-PR is loaded but cannot create a VM on this host "
                        "(see the kernel log: 'dmesg | grep -i kvm')");
    }
    /* PR shadows every guest mapping with host pages itself: any guest page size works on
     * any host, MMIO is emulated, and real mode reaches all of memory. */
    p->backing_page = r->backing_page ? r->backing_page : h->page_size;
    p->htab_shift = compat_htab_shift(r->mem_size);
    p->hpt_max_page = 16 * MiB;
    p->ci_large_page = true;
    p->rma_size = min_u64(r->mem_size, RMA_MAX);
    return 0;
}

struct compat_request compat_request_of(const struct vm_config *c, uint64_t backing_page)
{
    return (struct compat_request){.kvm = c->kvm_type, .mmu = c->mmu, .mem_size = c->mem_size,
                                   .backing_page = backing_page, .nested_hv = c->nested_hv};
}

/* Why /dev/kvm cannot serve a POWER guest, by cause: each has its own fix, and advice for
 * another cause (joining the kvm group as root, loading a module into an x86 kernel) would
 * send the user the wrong way. */
int compat_kvm_usable(const struct host_facts *h, struct mvm_err *e)
{
    if (h->arch == HOST_ARCH_OTHER)
        return mvm_fail(e, MVM_E_HOST, "this is not a POWER host (its CPU: %s): its /dev/kvm, if "
                        "any, cannot run POWER guests. Run minivmm on a POWER machine, or off "
                        "POWER inside the emulated POWER host ('make demo')",
                        h->cpu[0] ? h->cpu : "not named in /proc/cpuinfo");
    switch (h->kvm_error) {
    case 0:
        return 0;
    case ENOENT:
        return mvm_fail(e, MVM_E_HOST, "/dev/kvm does not exist: KVM is not available. On a POWER "
                        "host load a KVM module: 'modprobe kvm-hv' (POWER8 and later) or "
                        "'modprobe kvm-pr' (Hash-MMU hosts)");
    case EACCES:
        if (h->root)
            return mvm_fail(e, MVM_E_HOST, "permission denied opening /dev/kvm, even as root: "
                            "a security module (SELinux, AppArmor) or a read-only mount of /dev "
                            "refuses it; allow minivmm to use /dev/kvm there");
        return mvm_fail(e, MVM_E_HOST, "permission denied opening /dev/kvm: add your user to the "
                        "kvm group ('usermod -aG kvm $USER') and log out and in again");
    case EPERM:
        return mvm_fail(e, MVM_E_HOST, "/dev/kvm exists but this container may not use it: "
                        "pass the device in (e.g. 'docker run --device /dev/kvm', or allow "
                        "character device 10:232 in the container's device rules)");
    case ENXIO:
    case ENODEV:
        return mvm_fail(e, MVM_E_HOST, "/dev/kvm exists but no KVM module serves it: "
                        "'modprobe kvm-hv' (POWER8 and later) or 'modprobe kvm-pr' (Hash-MMU "
                        "hosts)");
    case EPROTO:
        return mvm_fail(e, MVM_E_HOST, "/dev/kvm does not answer with the KVM API version "
                        "minivmm speaks: it is not KVM's device, or a KVM of another era");
    default:
        return mvm_fail(e, MVM_E_HOST, "cannot open /dev/kvm: %s", strerror(h->kvm_error));
    }
}

int compat_plan(const struct host_facts *h, const struct compat_request *r,
                struct compat_plan *p, struct mvm_err *e)
{
    memset(p, 0, sizeof(*p));
    if (compat_kvm_usable(h, e))
        return -1;
    switch (r->kvm) {
    case KVM_TYPE_HV:
        return plan_hv(h, r, p, e);
    case KVM_TYPE_PR:
        return plan_pr(h, r, p, e);
    case KVM_TYPE_AUTO:
        break;
    }
    if (!h->hv && !h->pr && !h->hv_module && !h->pr_module)
        return mvm_fail(e, MVM_E_HOST, "neither kvm-hv nor kvm-pr is loaded: 'modprobe kvm-hv' "
                        "(POWER8 and later) or 'modprobe kvm-pr' (Hash-MMU hosts only)");
    /* HV when it can run the guest, else PR; when neither can, the more telling reason. */
    struct mvm_err hv_err = {0}, pr_err = {0};
    if (plan_hv(h, r, p, &hv_err) == 0)
        return 0;
    if (plan_pr(h, r, p, &pr_err) == 0)
        return 0;
    *e = (h->hv || !h->pr) ? hv_err : pr_err;
    return -1;
}
