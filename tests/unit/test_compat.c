/* The compatibility rules (vmm/compat.c) against every line of the seed's matrix
 * (../shared/seed/virtualization-on-power.txt), and the host-fact reader (vmm/host.c) against
 * made-up /proc and /sys trees. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/compat.h"
#include "../../vmm/host.h"

#define K4 4096ULL
#define K64 65536ULL
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ---- the host kinds of the seed ---- */

enum host_kind { RADIX_4K, HASH_4K, RADIX_64K, HASH_64K, RADIX_GUEST, HASH_GUEST };

static struct host_facts host(enum host_kind k)
{
    struct host_facts h = {.arch = HOST_ARCH_POWER, .hv_pages_real = true};
    bool radix = k == RADIX_4K || k == RADIX_64K || k == RADIX_GUEST;
    h.mmu = radix ? HOST_MMU_RADIX : HOST_MMU_HASH;
    h.page_size = (k == RADIX_4K || k == HASH_4K) ? K4 : K64;
    h.partition = k == RADIX_GUEST || k == HASH_GUEST;
    /* Bare metal: KVM-HV runs both MMU modes (Radix only on a Radix host). Inside a guest:
     * nested KVM-HV, Radix only, needs a Radix guest; an HPT guest has only PR. */
    h.hv = h.hv_module = k != HASH_GUEST;
    h.hv_radix = radix;
    h.hv_hash = !h.partition;
    h.hv_nested = radix;
    h.pr = h.pr_module = !radix;
    h.nhuge = 1;
    h.huge[0].size = radix ? 2 * MiB : 16 * MiB;
    return h;
}

static struct host_facts with_hugepages(struct host_facts h, uint64_t free)
{
    h.huge[0].free = free;
    snprintf(h.huge[0].mount, sizeof(h.huge[0].mount), "/dev/hugepages");
    return h;
}

struct row {
    enum host_kind host;
    enum kvm_type_req kvm;
    enum mmu_req mmu;
    uint64_t guest_page;
    bool runs;
    const char *says;    /* in the refusal (or NULL) */
};

/* The compatibility summary, line by line ("HV"/"PR" as the seed marks them), and every
 * combination it leaves out, with anonymous memory (no hugepages). */
static const struct row summary[] = {
    /* Radix host, 4 KiB pages */
    {RADIX_4K, KVM_TYPE_HV, MMU_RADIX, K64, true, NULL},
    {RADIX_4K, KVM_TYPE_HV, MMU_RADIX, K4, true, NULL},
    {RADIX_4K, KVM_TYPE_HV, MMU_HASH, K4, false, "hugepages"},     /* runs with them: below */
    {RADIX_4K, KVM_TYPE_HV, MMU_HASH, K64, false, "hugepages"},
    {RADIX_4K, KVM_TYPE_PR, MMU_HASH, 0, false, "disable_radix"},
    /* HPT host, 4 KiB pages */
    {HASH_4K, KVM_TYPE_HV, MMU_HASH, K4, false, "hugepages"},
    {HASH_4K, KVM_TYPE_PR, MMU_HASH, 0, true, NULL},
    {HASH_4K, KVM_TYPE_PR, MMU_HASH, K64, true, NULL},           /* PR: any guest page size */
    {HASH_4K, KVM_TYPE_HV, MMU_RADIX, K4, false, "runs Hash"},
    /* Radix host, 64 KiB pages */
    {RADIX_64K, KVM_TYPE_HV, MMU_RADIX, K64, true, NULL},
    {RADIX_64K, KVM_TYPE_HV, MMU_RADIX, K4, true, NULL},
    {RADIX_64K, KVM_TYPE_HV, MMU_HASH, K64, true, NULL},
    {RADIX_64K, KVM_TYPE_HV, MMU_HASH, K4, true, NULL},
    {RADIX_64K, KVM_TYPE_PR, MMU_HASH, 0, false, "KVM-PR needs a Hash (HPT) host"},
    /* HPT host, 64 KiB pages */
    {HASH_64K, KVM_TYPE_HV, MMU_HASH, K64, true, NULL},
    {HASH_64K, KVM_TYPE_HV, MMU_HASH, K4, true, NULL},
    {HASH_64K, KVM_TYPE_PR, MMU_HASH, 0, true, NULL},
    {HASH_64K, KVM_TYPE_HV, MMU_RADIX, K64, false, "cannot run Radix guests"},
    /* Nested: inside a Radix guest, nested HV with Radix guests only */
    {RADIX_GUEST, KVM_TYPE_HV, MMU_RADIX, K64, true, NULL},
    {RADIX_GUEST, KVM_TYPE_HV, MMU_RADIX, K4, true, NULL},
    {RADIX_GUEST, KVM_TYPE_HV, MMU_HASH, K4, false, "HPT must not appear anywhere"},
    {RADIX_GUEST, KVM_TYPE_HV, MMU_HASH, K64, false, "HPT must not appear anywhere"},
    {RADIX_GUEST, KVM_TYPE_PR, MMU_HASH, 0, false, "KVM-PR nested inside an HPT guest"},
    /* Nested: inside an HPT guest, KVM-PR only */
    {HASH_GUEST, KVM_TYPE_PR, MMU_HASH, 0, true, NULL},
    {HASH_GUEST, KVM_TYPE_HV, MMU_HASH, K4, false, "Radix all the way down"},
    {HASH_GUEST, KVM_TYPE_HV, MMU_RADIX, K4, false, "Radix all the way down"},
    /* Whatever the host, PR runs no Radix guest. */
    {HASH_64K, KVM_TYPE_PR, MMU_RADIX, 0, false, "Hash (HPT) guests only"},
};

static void check_row(const struct row *w, const struct host_facts *h, uint64_t mem)
{
    struct compat_request r = {.kvm = w->kvm, .mmu = w->mmu, .guest_page = w->guest_page,
                               .mem_size = mem};
    struct compat_plan p;
    struct mvm_err e = {0};
    int got = compat_plan(h, &r, &p, &e);
    if (w->runs != (got == 0))
        fail_msg("host kind %d, %s %s guest with %llu-byte pages: expected %s, got %s",
                 w->host, w->kvm == KVM_TYPE_PR ? "PR" : "HV",
                 w->mmu == MMU_RADIX ? "Radix" : "Hash", (unsigned long long)w->guest_page,
                 w->runs ? "a plan" : "a refusal", got == 0 ? "a plan" : e.msg);
    if (got == 0) {
        assert_int_equal(p.hv, w->kvm == KVM_TYPE_HV);
        assert_int_equal(p.radix, w->mmu == MMU_RADIX);
        assert_true(p.rma_size > 0 && p.rma_size <= mem);
        if (!p.radix)
            assert_true(p.htab_shift >= 18 && p.hpt_max_page >= K4);
    } else {
        assert_int_equal(e.status, MVM_E_HOST);
        if (w->says && !strstr(e.msg, w->says))
            fail_msg("refusal lacks \"%s\": %s", w->says, e.msg);
    }
}

static void test_seed_summary(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(summary) / sizeof(summary[0]); i++) {
        struct host_facts h = host(summary[i].host);
        check_row(&summary[i], &h, 2 * GiB);
    }
}

/* "On 4 KiB-page hosts HPT guests need hugepage backing": the seed's 2 GiB example, refused
 * with the numbers QEMU quotes, then run once hugepages are there. */
static void test_hpt_on_4k_host_needs_hugepages(void **state)
{
    (void)state;
    assert_int_equal(compat_htab_shift(2 * GiB), 24);
    assert_int_equal(compat_vrma_limit(K4, 24), 512 * MiB);   /* "VRMA only allows 512MiB" */
    struct host_facts h = host(RADIX_4K);
    struct compat_request r = {.kvm = KVM_TYPE_HV, .mmu = MMU_HASH, .mem_size = 2 * GiB};
    struct compat_plan p;
    struct mvm_err e = {0};
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "2 GiB real-mode area"));
    assert_non_null(strstr(e.msg, "only reaches 512 MiB"));
    assert_non_null(strstr(e.msg, "sysctl vm.nr_hugepages=1089"));   /* 1024 + 1/16 + 1 */
    assert_non_null(strstr(e.msg, "--mem-path"));

    /* A mount with too few free pages: named, with the count it lacks. */
    h = with_hugepages(host(RADIX_4K), 100);
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "/dev/hugepages has 100 free 2 MiB pages where 1024 are needed"));

    /* Enough: the plan picks the mount itself, and caps guest pages at 4 KiB (the seed's
     * cap-hpt-max-page-size=4096), so no 64 KiB cache-inhibited pages either. */
    h = with_hugepages(host(RADIX_4K), 1100);
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_string_equal(p.hugetlbfs, "/dev/hugepages");
    assert_int_equal(p.backing_page, 2 * MiB);
    assert_int_equal(p.hpt_max_page, K4);
    assert_false(p.ci_large_page);
    assert_int_equal(p.rma_size, 2 * GiB);

    /* A 64 KiB-page guest kernel still cannot use HPT there: no workaround but Radix. */
    r.guest_page = K64;
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "can't support 64 KiB guest hash pages with 4 KiB host pages"));

    /* The user's own --mem-path with 2 MiB pages: no search, just the plan. */
    h = host(HASH_4K);
    r.guest_page = 0;
    r.backing_page = 16 * MiB;
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_null(p.hugetlbfs);
    assert_int_equal(p.hpt_max_page, K4);
}

/* A 64 KiB host's anonymous memory already covers the VRMA; hugepages raise the page cap. */
static void test_hpt_on_64k_host(void **state)
{
    (void)state;
    struct host_facts h = host(HASH_64K);
    struct compat_request r = {.kvm = KVM_TYPE_HV, .mmu = MMU_HASH, .mem_size = 2 * GiB};
    struct compat_plan p;
    struct mvm_err e = {0};
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_int_equal(p.hpt_max_page, K64);
    assert_true(p.ci_large_page);
    assert_int_equal(p.rma_size, 2 * GiB);
    r.backing_page = 16 * MiB;
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_int_equal(p.hpt_max_page, 16 * MiB);
}

static void test_nested_hv(void **state)
{
    (void)state;
    struct compat_plan p;
    struct mvm_err e = {0};
    struct compat_request r = {.kvm = KVM_TYPE_AUTO, .mmu = MMU_AUTO, .mem_size = GiB,
                               .nested_hv = true};
    struct host_facts h = host(RADIX_GUEST);
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);     /* Radix all the way down */
    assert_true(p.hv && p.radix);
    h = host(RADIX_64K);
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    r.mmu = MMU_HASH;
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "only Radix all the way down"));
    r.mmu = MMU_AUTO;
    h = host(HASH_64K);
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "this host runs Hash"));
    r.kvm = KVM_TYPE_PR;
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "needs KVM-HV"));
    /* A host whose kvm-hv has nesting off. */
    h = host(RADIX_64K);
    h.hv_nested = false;
    r.kvm = KVM_TYPE_HV;
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "'nested' parameter"));
}

/* --kvm-type=auto: HV when it can run the guest, else PR, else the telling reason. */
static void test_auto(void **state)
{
    (void)state;
    struct compat_plan p;
    struct mvm_err e = {0};
    struct compat_request r = {.mem_size = GiB};
    struct host_facts h = host(RADIX_GUEST);
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_true(p.hv && p.radix);
    h = host(HASH_GUEST);                  /* the seed's trick: PR inside an HPT guest */
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_false(p.hv);
    h = host(HASH_4K);                     /* HV would need hugepages; PR needs none */
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_false(p.hv);
    h = host(HASH_64K);
    assert_int_equal(compat_plan(&h, &r, &p, &e), 0);
    assert_true(p.hv && !p.radix);
    h = host(RADIX_GUEST);
    r.mmu = MMU_HASH;                      /* neither flavour can: HV's reason */
    assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "HPT must not appear anywhere in the chain"));

    struct host_facts none = host(RADIX_64K);
    none.hv = none.hv_module = none.pr = none.pr_module = false;
    r.mmu = MMU_AUTO;
    memset(&e, 0, sizeof(e));
    assert_int_equal(compat_plan(&none, &r, &p, &e), -1);
    assert_non_null(strstr(e.msg, "neither kvm-hv nor kvm-pr is loaded"));
}

/* Each reason /dev/kvm cannot serve, with its own fix and never another's: both sides of
 * every branch a host can take (root or not, another architecture's KVM or none). */
static void test_kvm_unusable(void **state)
{
    (void)state;
    static const struct {
        enum host_arch arch;
        int error;
        bool root;
        const char *says, *never;
    } cases[] = {
        {HOST_ARCH_POWER, ENOENT, false, "/dev/kvm does not exist", "usermod"},
        {HOST_ARCH_POWER, EACCES, false, "usermod -aG kvm", "even as root"},
        {HOST_ARCH_POWER, EACCES, true, "even as root: a security module", "usermod"},
        {HOST_ARCH_POWER, EPERM, true, "this container may not use it", "usermod"},
        {HOST_ARCH_POWER, ENXIO, false, "no KVM module serves it", "usermod"},
        {HOST_ARCH_POWER, ENODEV, true, "no KVM module serves it", "usermod"},
        {HOST_ARCH_POWER, EPROTO, true, "does not answer with the KVM API version", "usermod"},
        {HOST_ARCH_POWER, EIO, true, "cannot open /dev/kvm: ", "usermod"},
        /* An x86 laptop: its KVM opens, or not, or is absent: never POWER KVM. */
        {HOST_ARCH_OTHER, 0, true, "this is not a POWER host (its CPU: Xeon)", "modprobe"},
        {HOST_ARCH_OTHER, EACCES, false, "this is not a POWER host", "usermod"},
        {HOST_ARCH_OTHER, ENOENT, false, "'make demo'", "modprobe"},
        /* No /proc/cpuinfo to tell: judged by /dev/kvm alone. */
        {HOST_ARCH_UNKNOWN, ENOENT, false, "/dev/kvm does not exist", "not a POWER host"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct host_facts h = host(RADIX_64K);
        h.arch = cases[i].arch;
        h.kvm_error = cases[i].error;
        h.root = cases[i].root;
        snprintf(h.cpu, sizeof(h.cpu), "%s", h.arch == HOST_ARCH_OTHER ? "Xeon" : "POWER9");
        struct compat_request r = {.kvm = KVM_TYPE_AUTO, .mmu = MMU_AUTO, .mem_size = GiB};
        struct compat_plan p;
        struct mvm_err e = {0};
        assert_int_equal(compat_plan(&h, &r, &p, &e), -1);
        assert_int_equal(e.status, MVM_E_HOST);
        if (!strstr(e.msg, cases[i].says) || strstr(e.msg, cases[i].never))
            fail_msg("case %zu: \"%s\"", i, e.msg);
        /* --check says the same, and names no guest kind as runnable. */
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        host_print_report(f, &h, GiB);
        fclose(f);
        assert_non_null(strstr(out, "guests this host can run: none: "));
        assert_non_null(strstr(out, cases[i].says));
        assert_null(strstr(out, "Radix guest, 64 KiB pages"));
        free(out);
    }
    struct host_facts ok = host(RADIX_64K);
    struct mvm_err e = {0};
    assert_int_equal(compat_kvm_usable(&ok, &e), 0);
}

static void test_htab_and_vrma_bounds(void **state)
{
    (void)state;
    assert_int_equal(compat_htab_shift(16 * MiB), 18);       /* never below 256 KiB */
    assert_int_equal(compat_htab_shift(64 * MiB), 19);
    assert_int_equal(compat_htab_shift(1ULL << 60), 46);     /* never above 64 TiB */
    assert_int_equal(compat_htab_shift(3 * GiB), 25);        /* rounds up */
    assert_int_equal(compat_vrma_limit(K64, 24), 8 * GiB);
    assert_int_equal(compat_vrma_limit(2 * MiB, 24), 8 * GiB);   /* 2 MiB maps as 64 KiB */
    assert_int_equal(compat_vrma_limit(16 * MiB, 46), 1ULL << 40);
}

/* ---- host.c: facts from a made-up host ---- */

static void put(const char *root, const char *path, const char *text)
{
    char full[512], dir[512];
    snprintf(full, sizeof(full), "%s%s", root, path);
    snprintf(dir, sizeof(dir), "%s", full);
    for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    FILE *f = fopen(full, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_host_facts(void **state)
{
    (void)state;
    char root[] = "/tmp/minivmm-host-XXXXXX";
    assert_non_null(mkdtemp(root));
    put(root, "/proc/cpuinfo",
        "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nclock\t\t: 1000MHz\n"
        "timebase\t: 512000000\nplatform\t: pSeries\nmodel\t\t: IBM pSeries (emulated by qemu)\n"
        "MMU\t\t: Hash\n");
    put(root, "/proc/meminfo", "MemTotal: 3000000 kB\nHugepagesize:      16384 kB\n");
    put(root, "/sys/kernel/mm/hugepages/hugepages-16384kB/free_hugepages", "130\n");
    put(root, "/sys/kernel/mm/hugepages/hugepages-16777216kB/free_hugepages", "0\n");
    put(root, "/proc/mounts", "proc /proc proc rw 0 0\n"
        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=16M 0 0\n"
        "none /mnt/huge hugetlbfs rw 0 0\n");
    put(root, "/sys/module/kvm_pr/parameters/x", "");
    struct host_facts h = {0};
    host_read_facts(&h, root, K4);
    assert_int_equal(h.mmu, HOST_MMU_HASH);
    assert_true(h.partition);
    assert_string_equal(h.cpu, "POWER9 (architected), altivec supported");
    assert_int_equal(h.page_size, K4);
    assert_true(h.pr_module);
    assert_false(h.hv_module);
    assert_int_equal(h.nhuge, 2);
    assert_int_equal(h.huge[0].size, 16 * MiB);   /* the default first */
    assert_int_equal(h.huge[0].free, 130);
    assert_string_equal(h.huge[0].mount, "/dev/hugepages");   /* the first mount wins */
    assert_int_equal(h.huge[1].size, 16ULL * GiB);
    assert_string_equal(h.huge[1].mount, "");

    assert_int_equal(h.arch, HOST_ARCH_POWER);

    /* The report names each guest kind; a Hash guest host with PR can run PR guests. */
    h.pr = true;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    host_print_report(f, &h, GiB);
    fclose(f);
    assert_non_null(strstr(out, "Hash MMU, 4 KiB pages, itself a guest"));
    assert_non_null(strstr(out, "16 MiB: 130 free, hugetlbfs at /dev/hugepages"));
    assert_non_null(strstr(out, "HPT guest, any page size (KVM-PR)        yes"));
    assert_non_null(strstr(out, "Radix guest, 4 KiB pages (HV)            no: KVM-HV is not "
                                "available: this host is itself a Hash (HPT) guest"));
    free(out);

    /* A bare machine with nothing to tell still yields facts, not a crash. */
    struct host_facts empty = {0};
    host_read_facts(&empty, "/nonexistent-root", K64);
    assert_int_equal(empty.mmu, HOST_MMU_UNKNOWN);
    assert_int_equal(empty.nhuge, 0);
    assert_int_equal(empty.arch, HOST_ARCH_UNKNOWN);

    /* An x86 machine (where a ppc64le minivmm runs under qemu-user): not POWER, named. */
    char cmd[600], x86[] = "/tmp/minivmm-x86-XXXXXX";
    assert_non_null(mkdtemp(x86));
    put(x86, "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
        "model\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2000.000\n");
    struct host_facts xh = {0};
    host_read_facts(&xh, x86, K4);
    assert_int_equal(xh.arch, HOST_ARCH_OTHER);
    assert_string_equal(xh.cpu, "Intel(R) Xeon(R) Processor");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x86);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_summary),
        cmocka_unit_test(test_hpt_on_4k_host_needs_hugepages),
        cmocka_unit_test(test_hpt_on_64k_host),
        cmocka_unit_test(test_nested_hv),
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_kvm_unusable),
        cmocka_unit_test(test_htab_and_vrma_bounds),
        cmocka_unit_test(test_host_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
