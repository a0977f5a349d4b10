/* Guest RAM: one contiguous block at guest physical 0, and the only way to reach it.
 *
 * Every access the VMM makes on behalf of the guest goes through gpa_ptr(), which checks the
 * whole range [gpa, gpa+len) against the RAM size with overflow-safe arithmetic. There is
 * deliberately no "start address only" variant.
 */
#ifndef MINIVMM_MEM_H
#define MINIVMM_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct guest_mem {
    uint8_t *host;        /* mapping of guest physical 0 */
    uint64_t size;        /* bytes */
    uint64_t page_size;   /* backing page size: host base page, or the hugetlbfs page size */
    int hugetlb;          /* backed by hugetlbfs */
};

/* Maps `size` bytes of RAM: anonymous memory when mem_path is NULL, else a file created and
 * immediately unlinked in the hugetlbfs directory mem_path. Fails (with the fix in the
 * message) when mem_path is not hugetlbfs, the size is not a multiple of its page size, or
 * there are not enough free hugepages. */
int guest_mem_map(struct guest_mem *m, uint64_t size, const char *mem_path, struct mvm_err *e);
void guest_mem_unmap(struct guest_mem *m);

/* Private anonymous memory starting at a multiple of align (a power of two, at least a page),
 * with extra mmap flags: the range is over-allocated by align and trimmed at both ends. NULL
 * with errno set on failure. */
void *map_anon_aligned(size_t size, size_t align, int flags);

/* The page size of hugetlbfs mount dir; fails (with the fix) if dir is not one. */
int hugetlbfs_page_size(const char *dir, uint64_t *page, struct mvm_err *e);

/* Host pointer to guest range [gpa, gpa+len), or NULL if any byte lies outside RAM. */
static inline void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    uint64_t end;
    if (__builtin_add_overflow(gpa, len, &end) || end > m->size)
        return NULL;
    return m->host + gpa;
}

/* Big-endian accessors for guest data structures (RTAS buffers, PAPR structures are BE
 * whatever the guest's endianness). Return -1 when out of bounds. */
int gpa_read_be32(const struct guest_mem *m, uint64_t gpa, uint32_t *val);
int gpa_write_be32(const struct guest_mem *m, uint64_t gpa, uint32_t val);

/* Parses "512M", "2G", "1048576", "64K" into bytes. Returns -1 on junk or overflow. */
int parse_size(const char *s, uint64_t *out);

#endif
