/* Loading what the guest boots: an ELF vmlinux (either byte order) and an initrd.
 *
 * Files are mapped read-only and validated completely before anything is created, so a bad
 * file costs nothing but a one-line error. The parser works on a plain buffer, which is also
 * what the unit tests and fuzzers feed it.
 */
#ifndef MINIVMM_LOADER_H
#define MINIVMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

#define KERNEL_MAX_SEGMENTS 16

/* Where an image not linked at KERNELBASE goes by default: QEMU pseries's kernel-addr. */
#define KERNEL_ADDR_DEFAULT (4ULL << 20)
#define KERNEL_ADDR_ALIGN (64ULL << 10)    /* keeps 64 KiB-aligned segments aligned */

struct kernel_image {
    bool big_endian;
    bool kernelbase;     /* linked at KERNELBASE (0xc000...): Linux's vmlinux */
    uint64_t load_addr;  /* guest physical address the image's physical 0 is loaded at */
    uint64_t entry;      /* guest physical entry point */
    uint64_t end;        /* first guest physical byte after the loaded image (incl. bss) */
    unsigned nseg;
    struct kernel_segment {
        uint64_t paddr, offset, filesz, memsz;
    } seg[KERNEL_MAX_SEGMENTS];
};

/* An n-byte field of an ELF file in its own byte order: a little-endian host must read
 * big-endian vmlinux files and vice versa. */
static inline uint64_t elf_field(const uint8_t *p, unsigned n, bool be)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[be ? i : n - 1 - i] << (8 * (n - 1 - i));
    return v;
}

/* A whole file: mapped read-only to be parsed, and its descriptor kept open so that what goes
 * into guest memory is read with pread(), the kernel copying from its page cache (a memcpy
 * from the mapping faults in a 45 MiB vmlinux page by page: ~700 faults, most of minivmm's
 * CPU before the guest's first instruction in an emulated host). fd is -1 for bytes held in
 * memory (an initramfs made by minivmm, a test's image). */
struct file_map {
    const uint8_t *data;
    size_t size;
    int fd;
};

int file_map_open(struct file_map *f, const char *path, const char *what, struct mvm_err *e);
void file_map_close(struct file_map *f);
/* Copies len bytes at off (inside the file) to dst; 0, or -1 with errno. */
int file_map_read(const struct file_map *f, void *dst, size_t off, size_t len);

/* Validates an ELF64 PowerPC vmlinux held in buf and fills k. `name` is used in messages. */
int kernel_parse(struct kernel_image *k, const uint8_t *buf, size_t size, const char *name,
                 struct mvm_err *e);

/* Moves a parsed image to where it is loaded: at `addr` when `given`, else Linux's vmlinux
 * (linked at KERNELBASE) at its own physical addresses from 0 and any other image (linked
 * at 0, say, with its exception vectors to install there) at KERNEL_ADDR_DEFAULT. */
int kernel_place(struct kernel_image *k, bool given, uint64_t addr, const char *name,
                 struct mvm_err *e);

/* Copies the segments into guest RAM (zero-filling bss). Fails if any segment does not fit. */
int kernel_load(const struct kernel_image *k, const struct file_map *f,
                const struct guest_mem *m, const char *name, struct mvm_err *e);

#endif
