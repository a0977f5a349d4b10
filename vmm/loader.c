#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int file_map_open(struct file_map *f, const char *path, const char *what, struct mvm_err *e)
{
    f->data = NULL;
    f->size = 0;
    f->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mvm_fail(e, MVM_E_INPUT, "%s %s is not a regular file", what, path);
    }
    if (st.st_size == 0) {
        close(fd);
        return mvm_fail(e, MVM_E_INPUT, "%s %s is empty", what, path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(fd);
        return mvm_fail(e, MVM_E_INPUT, "cannot read %s %s: %s", what, path, strerror(err));
    }
    f->data = p;
    f->size = (size_t)st.st_size;
    f->fd = fd;
    return 0;
}

void file_map_close(struct file_map *f)
{
    if (f->data) {   /* only what file_map_open() made: a map held in memory is not ours */
        munmap((void *)f->data, f->size);
        if (f->fd >= 0)
            close(f->fd);
    }
    f->data = NULL;
    f->size = 0;
    f->fd = -1;
}

int file_map_read(const struct file_map *f, void *dst, size_t off, size_t len)
{
    if (off > f->size || len > f->size - off) {
        errno = EINVAL;
        return -1;
    }
    if (f->fd < 0) {
        memcpy(dst, f->data + off, len);
        return 0;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = pread(f->fd, (uint8_t *)dst + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;            /* the file shrank since it was parsed */
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* vmlinux links at 0xc000000000000000 (KERNELBASE) and states physical addresses in p_paddr;
 * some linkers leave p_paddr virtual, so strip the top nibble as the kernel itself does. */
static uint64_t to_phys(uint64_t addr)
{
    return addr & 0x0fffffffffffffffULL;
}

int kernel_parse(struct kernel_image *k, const uint8_t *buf, size_t size, const char *name,
                 struct mvm_err *e)
{
    memset(k, 0, sizeof(*k));
    if (size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
        return mvm_fail(e, MVM_E_INPUT, "%s is not an ELF file (minivmm boots an uncompressed "
                        "vmlinux, not a zImage or a compressed image)", name);
    if (buf[EI_CLASS] != ELFCLASS64)
        return mvm_fail(e, MVM_E_INPUT, "%s is a 32-bit ELF; minivmm boots 64-bit pseries "
                        "kernels (ppc64/ppc64le vmlinux)", name);
    if (buf[EI_DATA] != ELFDATA2LSB && buf[EI_DATA] != ELFDATA2MSB)
        return mvm_fail(e, MVM_E_INPUT, "%s: unknown ELF byte order %u", name, buf[EI_DATA]);
    bool be = buf[EI_DATA] == ELFDATA2MSB;
    if (size < sizeof(Elf64_Ehdr))
        return mvm_fail(e, MVM_E_INPUT, "%s is truncated (no complete ELF header)", name);

    uint64_t machine = elf_field(buf + offsetof(Elf64_Ehdr, e_machine), 2, be);
    if (machine != EM_PPC64)
        return mvm_fail(e, MVM_E_INPUT, "%s is an ELF for machine %llu, not 64-bit PowerPC "
                        "(EM_PPC64); build the guest kernel for ppc64le or ppc64", name,
                        (unsigned long long)machine);
    uint64_t type = elf_field(buf + offsetof(Elf64_Ehdr, e_type), 2, be);
    if (type != ET_EXEC && type != ET_DYN)
        return mvm_fail(e, MVM_E_INPUT, "%s is not an executable ELF (type %llu)", name,
                        (unsigned long long)type);

    uint64_t phoff = elf_field(buf + offsetof(Elf64_Ehdr, e_phoff), 8, be);
    uint64_t phentsize = elf_field(buf + offsetof(Elf64_Ehdr, e_phentsize), 2, be);
    uint64_t phnum = elf_field(buf + offsetof(Elf64_Ehdr, e_phnum), 2, be);
    if (phentsize < sizeof(Elf64_Phdr) || phnum == 0 || phoff > size ||
        phnum > (size - phoff) / phentsize)
        return mvm_fail(e, MVM_E_INPUT, "%s is truncated or corrupt (program headers outside "
                        "the file)", name);

    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = buf + phoff + i * phentsize;
        if (elf_field(ph + offsetof(Elf64_Phdr, p_type), 4, be) != PT_LOAD)
            continue;
        struct kernel_segment s = {
            .paddr = to_phys(elf_field(ph + offsetof(Elf64_Phdr, p_paddr), 8, be)),
            .offset = elf_field(ph + offsetof(Elf64_Phdr, p_offset), 8, be),
            .filesz = elf_field(ph + offsetof(Elf64_Phdr, p_filesz), 8, be),
            .memsz = elf_field(ph + offsetof(Elf64_Phdr, p_memsz), 8, be),
        };
        if (s.memsz == 0)
            continue;
        if (k->nseg == KERNEL_MAX_SEGMENTS)
            return mvm_fail(e, MVM_E_INPUT, "%s has more than %d loadable segments", name,
                            KERNEL_MAX_SEGMENTS);
        uint64_t seg_end;
        if (s.filesz > s.memsz || s.offset > size || s.filesz > size - s.offset)
            return mvm_fail(e, MVM_E_INPUT, "%s is truncated: segment %llu needs bytes beyond "
                            "the end of the file (%zu bytes)", name, (unsigned long long)i, size);
        if (__builtin_add_overflow(s.paddr, s.memsz, &seg_end))
            return mvm_fail(e, MVM_E_INPUT, "%s: segment %llu wraps the address space", name,
                            (unsigned long long)i);
        if (seg_end > k->end)
            k->end = seg_end;
        k->seg[k->nseg++] = s;
    }
    if (k->nseg == 0)
        return mvm_fail(e, MVM_E_INPUT, "%s has no loadable segments", name);
    k->big_endian = be;
    uint64_t entry = elf_field(buf + offsetof(Elf64_Ehdr, e_entry), 8, be);
    k->kernelbase = entry >> 60 == 0xc;
    k->entry = to_phys(entry);
    for (unsigned i = 0; i < k->nseg; i++)
        if (k->entry >= k->seg[i].paddr && k->entry - k->seg[i].paddr < k->seg[i].filesz)
            return 0;
    return mvm_fail(e, MVM_E_INPUT, "%s: the entry point 0x%llx is not inside any loaded "
                    "segment", name, (unsigned long long)k->entry);
}

int kernel_place(struct kernel_image *k, bool given, uint64_t addr, const char *name,
                 struct mvm_err *e)
{
    uint64_t base = given ? addr : k->kernelbase ? 0 : KERNEL_ADDR_DEFAULT;
    if (base % KERNEL_ADDR_ALIGN)
        return mvm_fail(e, MVM_E_INPUT, "--kernel-addr 0x%llx: not a multiple of 64 KiB (an "
                        "image's segments are aligned for 64 KiB pages)", (unsigned long long)base);
    uint64_t end;
    if (__builtin_add_overflow(k->end, base, &end) || end >> 60)
        return mvm_fail(e, MVM_E_INPUT, "%s does not fit at 0x%llx: its %llu MiB would end "
                        "beyond the physical address space", name, (unsigned long long)base,
                        (unsigned long long)(k->end >> 20));
    for (unsigned i = 0; i < k->nseg; i++)
        k->seg[i].paddr += base;
    k->entry += base;
    k->end = end;
    k->load_addr = base;
    return 0;
}

int kernel_load(const struct kernel_image *k, const struct file_map *f,
                const struct guest_mem *m, const char *name, struct mvm_err *e)
{
    for (unsigned i = 0; i < k->nseg; i++) {
        const struct kernel_segment *s = &k->seg[i];
        uint8_t *dst = gpa_ptr(m, s->paddr, s->memsz);
        if (!dst)
            return mvm_fail(e, MVM_E_INPUT, "%s does not fit in guest memory (it needs %llu MiB "
                            "at physical 0x%llx); give the guest more memory with -m", name,
                            (unsigned long long)((k->end + (1 << 20) - 1) >> 20),
                            (unsigned long long)s->paddr);
        if (file_map_read(f, dst, s->offset, s->filesz))
            return mvm_fail(e, MVM_E_INPUT, "cannot read %s: %s", name, strerror(errno));
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    return 0;
}
