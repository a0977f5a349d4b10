/* Reading the host's facts from /proc and /sys, and the --check report (see host.h). */
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

#define KiB (1ULL << 10)

static FILE *open_under(const char *root, const char *path)
{
    char full[512];
    snprintf(full, sizeof(full), "%s%s", root, path);
    return fopen(full, "r");
}

static bool exists_under(const char *root, const char *path)
{
    char full[512];
    snprintf(full, sizeof(full), "%s%s", root, path);
    return access(full, F_OK) == 0;
}

/* "MMU : Radix" style lines: the value after the colon, without surrounding blanks. */
static const char *value_of(char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    char *v = line + n + strspn(line + n, " \t");   /* "cpu family" is not "cpu" */
    if (*v != ':')
        return NULL;
    v++;
    while (*v == ' ' || *v == '\t')
        v++;
    v[strcspn(v, "\n")] = '\0';
    return v;
}

/* POWER's /proc/cpuinfo ends with a summary ("platform", "MMU", "timebase") that no other
 * architecture prints; another one names its CPU in "model name" (x86) or not at all. */
static void read_cpuinfo(struct host_facts *h, const char *root)
{
    FILE *f = open_under(root, "/proc/cpuinfo");
    if (!f)
        return;   /* no /proc: nothing known, nothing refused on that ground */
    char line[256], model[64] = "";
    const char *v;
    bool power = false, any = false;
    while (fgets(line, sizeof(line), f)) {
        any = true;
        if ((v = value_of(line, "MMU"))) {
            power = true;
            h->mmu = !strcmp(v, "Radix") ? HOST_MMU_RADIX
                     : !strcmp(v, "Hash") ? HOST_MMU_HASH : HOST_MMU_UNKNOWN;
        } else if ((v = value_of(line, "platform"))) {
            power = true;
            h->partition = !strcmp(v, "pSeries");   /* PowerNV: bare metal */
        } else if ((v = value_of(line, "timebase"))) {
            power = true;
        } else if ((v = value_of(line, "cpu")) && !h->cpu[0]) {
            snprintf(h->cpu, sizeof(h->cpu), "%s", v);
        } else if ((v = value_of(line, "model name")) && !model[0]) {
            snprintf(model, sizeof(model), "%s", v);
        }
    }
    fclose(f);
    if (any)
        h->arch = power ? HOST_ARCH_POWER : HOST_ARCH_OTHER;
    if (h->arch == HOST_ARCH_OTHER)
        snprintf(h->cpu, sizeof(h->cpu), "%s", model);
}

static struct hugepage_pool *pool_of(struct host_facts *h, uint64_t size)
{
    for (unsigned i = 0; i < h->nhuge; i++)
        if (h->huge[i].size == size)
            return &h->huge[i];
    if (h->nhuge == HOST_MAX_HUGE || size == 0)
        return NULL;
    struct hugepage_pool *p = &h->huge[h->nhuge++];
    memset(p, 0, sizeof(*p));
    p->size = size;
    return p;
}

static void read_hugepages(struct host_facts *h, const char *root)
{
    /* The default size first: it is what a mount without pagesize= serves. */
    uint64_t def = 0;
    FILE *f = open_under(root, "/proc/meminfo");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
                def = kb * KiB;
        fclose(f);
    }
    pool_of(h, def);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/sys/kernel/mm/hugepages", root);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        unsigned long long kb;
        if (sscanf(de->d_name, "hugepages-%llukB", &kb) == 1)
            pool_of(h, kb * KiB);
    }
    if (d)
        closedir(d);
    for (unsigned i = 0; i < h->nhuge; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
                 (unsigned long long)(h->huge[i].size / KiB));
        unsigned long long n;
        if ((f = open_under(root, path))) {
            if (fscanf(f, "%llu", &n) == 1)
                h->huge[i].free = n;
            fclose(f);
        }
    }
    /* hugetlbfs mounts: "hugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0". */
    if (!(f = open_under(root, "/proc/mounts")))
        return;
    char line[512], dev[128], mnt[128], type[32], opts[256];
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%127s %127s %31s %255s", dev, mnt, type, opts) != 4 ||
            strcmp(type, "hugetlbfs") != 0)
            continue;
        uint64_t size = def;
        char *ps = strstr(opts, "pagesize=");
        if (ps) {
            ps[9 + strcspn(ps + 9, ",")] = '\0';
            if (parse_size(ps + 9, &size))
                continue;
        }
        struct hugepage_pool *p = pool_of(h, size);
        if (p && !p->mount[0])
            snprintf(p->mount, sizeof(p->mount), "%s", mnt);
    }
    fclose(f);
}

void host_read_facts(struct host_facts *h, const char *root, uint64_t page_size)
{
    h->page_size = page_size;
    read_cpuinfo(h, root);
    read_hugepages(h, root);
    h->hv_module = exists_under(root, "/sys/module/kvm_hv");
    h->pr_module = exists_under(root, "/sys/module/kvm_pr");
}

/* ---- the --check report ---- */

static const char *size_str(uint64_t v, char buf[32])
{
    if (v >= (1ULL << 30) && v % (1ULL << 30) == 0)
        snprintf(buf, 32, "%llu GiB", (unsigned long long)(v >> 30));
    else if (v >= (1ULL << 20) && v % (1ULL << 20) == 0)
        snprintf(buf, 32, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(buf, 32, "%llu KiB", (unsigned long long)(v >> 10));
    return buf;
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

/* The guest kinds of the seed's compatibility summary and nested scenarios. A Hash guest's
 * page size is that of its hash entries, which need not be its kernel's page size. */
static const struct {
    const char *name;
    enum kvm_type_req kvm;
    enum mmu_req mmu;
    uint64_t guest_page;
    bool nested_hv;
} kinds[] = {
    {"Radix guest, 64 KiB pages (HV)", KVM_TYPE_HV, MMU_RADIX, 64 * KiB, false},
    {"Radix guest, 4 KiB pages (HV)", KVM_TYPE_HV, MMU_RADIX, 4 * KiB, false},
    {"HPT guest, 64 KiB hash pages (HV)", KVM_TYPE_HV, MMU_HASH, 64 * KiB, false},
    {"HPT guest, 4 KiB hash pages (HV)", KVM_TYPE_HV, MMU_HASH, 4 * KiB, false},
    {"HPT guest, any page size (KVM-PR)", KVM_TYPE_PR, MMU_HASH, 0, false},
    {"Radix guest running KVM-HV (nested HV)", KVM_TYPE_HV, MMU_RADIX, 0, true},
};

static const char *kvm_state(const struct host_facts *h)
{
    if (h->arch == HOST_ARCH_OTHER)
        return h->kvm_error ? "missing (and this is not a POWER host)"
                            : "another architecture's KVM, not POWER's";
    switch (h->kvm_error) {
    case 0: return "usable";
    case ENOENT: return "missing";
    case EACCES: return "no permission";
    case EPERM: return "not allowed in this container";
    case ENXIO:
    case ENODEV: return "no KVM module behind it";
    case EPROTO: return "not KVM's API";
    default: return "cannot be opened";
    }
}

void host_print_report(FILE *f, const struct host_facts *h, uint64_t mem_size)
{
    char a[32], b[32];
    if (h->arch == HOST_ARCH_OTHER)
        fprintf(f, "host: %s, not a POWER processor\n", h->cpu[0] ? h->cpu : "unknown CPU");
    else
        fprintf(f, "host: %s, %s MMU, %s pages, %s\n", h->cpu[0] ? h->cpu : "unknown CPU",
                h->mmu == HOST_MMU_RADIX ? "Radix" : h->mmu == HOST_MMU_HASH ? "Hash" : "unknown",
                size_str(h->page_size, a),
                h->partition ? "itself a guest (pseries partition)" : "bare metal");
    fprintf(f, "/dev/kvm: %s\n", kvm_state(h));
    /* A module built in shows in /sys/module only if it has parameters: "present" is
     * certain, its absence is not. */
    fprintf(f, "KVM-HV: %s%s", yes(h->hv), h->hv_module ? " (kvm_hv present)" : "");
    if (h->hv)
        fprintf(f, "; Radix guests: %s; Hash guests: %s; nested HV for guests: %s",
                yes(h->hv_radix), yes(h->hv_hash), yes(h->hv_nested));
    fprintf(f, "\nKVM-PR: %s%s\n", yes(h->pr), h->pr_module ? " (kvm_pr present)" : "");
    fprintf(f, "hugepages:");
    if (!h->nhuge)
        fprintf(f, " none");
    for (unsigned i = 0; i < h->nhuge; i++)
        fprintf(f, "%s %s: %llu free, %s%s", i ? ";" : "", size_str(h->huge[i].size, a),
                (unsigned long long)h->huge[i].free,
                h->huge[i].mount[0] ? "hugetlbfs at " : "no hugetlbfs mount", h->huge[i].mount);
    struct mvm_err e = {0};
    if (compat_kvm_usable(h, &e)) {
        fprintf(f, "\nguests this host can run: none: %s\n", e.msg);
        return;
    }
    fprintf(f, "\nguests of %s this host can run:\n", size_str(mem_size, b));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct compat_request r = {.kvm = kinds[i].kvm, .mmu = kinds[i].mmu,
                                   .guest_page = kinds[i].guest_page, .mem_size = mem_size,
                                   .nested_hv = kinds[i].nested_hv};
        struct compat_plan p;
        e = (struct mvm_err){0};
        if (compat_plan(h, &r, &p, &e) == 0)
            fprintf(f, "  %-40s yes%s%s\n", kinds[i].name,
                    p.hugetlbfs ? ", with hugepages from " : "", p.hugetlbfs ? p.hugetlbfs : "");
        else
            fprintf(f, "  %-40s no: %s\n", kinds[i].name, e.msg);
    }
}
