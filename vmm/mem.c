#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#define RAM_ALIGN (16ULL << 20)

static uint32_t be32_load(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int gpa_read_be32(const struct guest_mem *m, uint64_t gpa, uint32_t *val)
{
    const uint8_t *p = gpa_ptr(m, gpa, 4);
    if (!p)
        return -1;
    *val = be32_load(p);
    return 0;
}

int gpa_write_be32(const struct guest_mem *m, uint64_t gpa, uint32_t val)
{
    uint8_t *p = gpa_ptr(m, gpa, 4);
    if (!p)
        return -1;
    p[0] = val >> 24;
    p[1] = val >> 16;
    p[2] = val >> 8;
    p[3] = val;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end == 'i' && shift)   /* accept "2GiB" as well as "2G" */
        end++;
    if ((*end == 'B' || *end == 'b') && shift)
        end++;
    if (*end != '\0')
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* statfs of a --mem-path directory that must be hugetlbfs. */
static int hugetlbfs_statfs(const char *dir, struct statfs *fs, struct mvm_err *e)
{
    if (statfs(dir, fs) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--mem-path %s: %s", dir, strerror(errno));
    if (fs->f_type != HUGETLBFS_MAGIC)
        return mvm_fail(e, MVM_E_INPUT,
                        "--mem-path %s is not a hugetlbfs mount; mount one with "
                        "'mount -t hugetlbfs hugetlbfs %s'", dir, dir);
    return 0;
}

int hugetlbfs_page_size(const char *dir, uint64_t *page, struct mvm_err *e)
{
    struct statfs fs;
    if (hugetlbfs_statfs(dir, &fs, e))
        return -1;
    *page = (uint64_t)fs.f_bsize;
    return 0;
}

static int map_hugetlbfs(struct guest_mem *m, uint64_t size, const char *dir, struct mvm_err *e)
{
    struct statfs fs;
    if (hugetlbfs_statfs(dir, &fs, e))
        return -1;
    uint64_t page = (uint64_t)fs.f_bsize;
    if (size % page)
        return mvm_fail(e, MVM_E_INPUT,
                        "guest memory (%llu MiB) is not a multiple of the %llu KiB hugepages of %s",
                        (unsigned long long)(size >> 20), (unsigned long long)(page >> 10), dir);
    /* Check for enough free hugepages up front: a shortage would otherwise surface as a
     * failed mapping (or SIGBUS) with no hint of the fix. A mount with a size= limit reports
     * its free pages in statfs; without one, the pool's count is in sysfs. */
    uint64_t free_pages = (uint64_t)fs.f_bavail;
    if (fs.f_blocks == 0) {
        char sys[96];
        snprintf(sys, sizeof(sys), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
                 (unsigned long long)(page >> 10));
        FILE *f = fopen(sys, "r");
        unsigned long long n;
        free_pages = f && fscanf(f, "%llu", &n) == 1 ? n : UINT64_MAX;
        if (f)
            fclose(f);
    }
    if (free_pages < size / page)
        return mvm_fail(e, MVM_E_HOST,
                        "%s has %llu free %llu KiB hugepages but the guest needs %llu; "
                        "raise vm.nr_hugepages (sysctl vm.nr_hugepages=%llu)", dir,
                        (unsigned long long)free_pages, (unsigned long long)(page >> 10),
                        (unsigned long long)(size / page),
                        (unsigned long long)(size / page + 16));

    char path[4096];
    if (snprintf(path, sizeof(path), "%s/minivmm.XXXXXX", dir) >= (int)sizeof(path))
        return mvm_fail(e, MVM_E_INPUT, "--mem-path is too long");
    int fd = mkstemp(path);
    if (fd < 0)
        return mvm_fail(e, MVM_E_HOST, "cannot create a file in %s: %s", dir, strerror(errno));
    unlink(path);   /* nothing is left behind, whatever happens next */
    if (ftruncate(fd, (off_t)size) != 0) {
        int err = errno;
        close(fd);
        return mvm_fail(e, MVM_E_HOST, "cannot size hugetlbfs file in %s: %s", dir, strerror(err));
    }
    /* MAP_POPULATE reserves and faults in every page now, so a later shortage cannot kill the
     * VMM with SIGBUS in the middle of a run. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return mvm_fail(e, MVM_E_HOST, "cannot map %llu MiB of hugepages from %s: %s",
                        (unsigned long long)(size >> 20), dir, strerror(err));
    m->host = p;
    m->size = size;
    m->page_size = page;
    m->hugetlb = 1;
    return 0;
}

void *map_anon_aligned(size_t size, size_t align, int flags)
{
    if (size > SIZE_MAX - align) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    munmap(p + size, align - (size_t)(p - raw));   /* never empty */
    return p;
}

int guest_mem_map(struct guest_mem *m, uint64_t size, const char *mem_path, struct mvm_err *e)
{
    memset(m, 0, sizeof(*m));
    if (mem_path)
        return map_hugetlbfs(m, size, mem_path, e);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (size % page)
        return mvm_fail(e, MVM_E_INPUT, "guest memory must be a multiple of the %llu KiB page size",
                        (unsigned long long)(page >> 10));
    /* MAP_NORESERVE: guest RAM is touched lazily; a 2G guest that uses 100M costs about
     * 100M (rounded up to the huge pages a touch faults in, 2 or 16 MiB). Aligned, so that
     * transparent huge pages can back it and KVM can map them whole: a 2 MiB (Radix) or
     * 16 MiB (Hash) mapping needs guest-physical and host-virtual addresses that agree
     * modulo its size. */
    void *p = map_anon_aligned(size, RAM_ALIGN, MAP_NORESERVE);
    if (!p)
        return mvm_fail(e, MVM_E_HOST, "cannot allocate %llu MiB of guest memory: %s",
                        (unsigned long long)(size >> 20), strerror(errno));
    /* A hint, as QEMU gives: where the host's THP setting is "madvise" this is what turns them
     * on; where THP is missing it fails harmlessly. The rules of --check still go by the base
     * page, the only size the host promises. */
    (void)madvise(p, size, MADV_HUGEPAGE);
    m->host = p;
    m->size = size;
    m->page_size = page;
    return 0;
}

void guest_mem_unmap(struct guest_mem *m)
{
    if (m->host)
        munmap(m->host, m->size);
    m->host = NULL;
    m->size = 0;
}
