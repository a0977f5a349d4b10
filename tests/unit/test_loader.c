/* kernel_parse(), kernel_load() and file_map_open() on images built in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/err.h"
#include "../../vmm/loader.h"
#include "../../vmm/mem.h"

#define KERNELBASE 0xc000000000000000ULL
#define PH_OFF 64            /* program headers right after the ELF header */
#define SEG_OFF 0x100        /* file offset of the segment's bytes */
#define SEG_FILESZ 0x40
#define SEG_MEMSZ 0x80
#define IMG_SIZE (SEG_OFF + SEG_FILESZ)
#define RAM_SIZE (1u << 20)

/* What make_elf() writes; elf_default() gives a valid ppc64 vmlinux-like image. */
struct elf_spec {
    bool be;
    uint8_t cls;
    uint16_t machine, type, phnum;
    uint64_t entry, phoff;
    uint32_t p_type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

static struct elf_spec elf_default(bool be)
{
    return (struct elf_spec){
        .be = be, .cls = ELFCLASS64, .machine = EM_PPC64, .type = ET_EXEC, .phnum = 1,
        .entry = KERNELBASE, .phoff = PH_OFF, .p_type = PT_LOAD, .offset = SEG_OFF,
        .vaddr = KERNELBASE, .paddr = 0, .filesz = SEG_FILESZ, .memsz = SEG_MEMSZ,
    };
}

static void put(uint8_t *p, unsigned n, uint64_t v, bool be)
{
    for (unsigned i = 0; i < n; i++)
        p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Writes the image into buf (IMG_SIZE bytes); every header at its ELF64 offset. */
static void make_elf(uint8_t *buf, const struct elf_spec *s)
{
    memset(buf, 0, IMG_SIZE);
    memcpy(buf, ELFMAG, SELFMAG);
    buf[EI_CLASS] = s->cls;
    buf[EI_DATA] = s->be ? ELFDATA2MSB : ELFDATA2LSB;
    buf[EI_VERSION] = EV_CURRENT;
    bool be = s->be;
    put(buf + offsetof(Elf64_Ehdr, e_type), 2, s->type, be);
    put(buf + offsetof(Elf64_Ehdr, e_machine), 2, s->machine, be);
    put(buf + offsetof(Elf64_Ehdr, e_version), 4, EV_CURRENT, be);
    put(buf + offsetof(Elf64_Ehdr, e_entry), 8, s->entry, be);
    put(buf + offsetof(Elf64_Ehdr, e_phoff), 8, s->phoff, be);
    put(buf + offsetof(Elf64_Ehdr, e_ehsize), 2, sizeof(Elf64_Ehdr), be);
    put(buf + offsetof(Elf64_Ehdr, e_phentsize), 2, sizeof(Elf64_Phdr), be);
    put(buf + offsetof(Elf64_Ehdr, e_phnum), 2, s->phnum, be);
    uint8_t *ph = buf + PH_OFF;
    put(ph + offsetof(Elf64_Phdr, p_type), 4, s->p_type, be);
    put(ph + offsetof(Elf64_Phdr, p_flags), 4, PF_R | PF_W | PF_X, be);
    put(ph + offsetof(Elf64_Phdr, p_offset), 8, s->offset, be);
    put(ph + offsetof(Elf64_Phdr, p_vaddr), 8, s->vaddr, be);
    put(ph + offsetof(Elf64_Phdr, p_paddr), 8, s->paddr, be);
    put(ph + offsetof(Elf64_Phdr, p_filesz), 8, s->filesz, be);
    put(ph + offsetof(Elf64_Phdr, p_memsz), 8, s->memsz, be);
    for (unsigned i = 0; i < SEG_FILESZ; i++)
        buf[SEG_OFF + i] = (uint8_t)(i + 1);
}

static void check_valid(bool be)
{
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(be);
    make_elf(buf, &s);
    struct kernel_image k;
    struct mvm_err e = {0};
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), 0);
    assert_string_equal(e.msg, "");
    assert_int_equal(k.big_endian, be);
    assert_true(k.entry == 0);
    assert_true(k.end == SEG_MEMSZ);
    assert_int_equal(k.nseg, 1);
    assert_true(k.seg[0].paddr == 0 && k.seg[0].offset == SEG_OFF);
    assert_true(k.seg[0].filesz == SEG_FILESZ && k.seg[0].memsz == SEG_MEMSZ);
}

static void test_parse_be(void **state)
{
    (void)state;
    check_valid(true);
}

static void test_parse_le(void **state)
{
    (void)state;
    check_valid(false);
}

static void test_parse_virtual_paddr(void **state)
{
    (void)state;
    /* A linker that leaves p_paddr virtual: the top nibble is stripped. */
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(false);
    s.paddr = KERNELBASE + 0x1000;
    s.entry = KERNELBASE + 0x1010;
    make_elf(buf, &s);
    struct kernel_image k;
    struct mvm_err e = {0};
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), 0);
    assert_true(k.seg[0].paddr == 0x1000);
    assert_true(k.entry == 0x1010);
    assert_true(k.end == 0x1000 + SEG_MEMSZ);
}

static void expect_bad(const uint8_t *buf, size_t size, const char *word);

static void test_entry_outside_image(void **state)
{
    (void)state;
    /* An entry point in no loaded segment (or only in its bss) would start the vCPU on
     * whatever is in guest memory there. */
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(true);
    s.entry = KERNELBASE + 0x100000;
    make_elf(buf, &s);
    expect_bad(buf, sizeof(buf), "entry point");
    s.entry = KERNELBASE + SEG_FILESZ;       /* first byte of bss */
    make_elf(buf, &s);
    expect_bad(buf, sizeof(buf), "entry point");
}

/* kernel_parse() on buf[0..size) must fail with MVM_E_INPUT and a message naming `word`. */
static void expect_bad(const uint8_t *buf, size_t size, const char *word)
{
    struct kernel_image k;
    struct mvm_err e = {0};
    assert_int_equal(kernel_parse(&k, buf, size, "vmlinux", &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    if (!strstr(e.msg, word))
        fail_msg("message \"%s\" does not mention \"%s\"", e.msg, word);
    assert_non_null(strstr(e.msg, "vmlinux"));
}

static void expect_bad_spec(const struct elf_spec *s, const char *word)
{
    uint8_t buf[IMG_SIZE];
    make_elf(buf, s);
    expect_bad(buf, sizeof(buf), word);
}

static void test_not_elf(void **state)
{
    (void)state;
    uint8_t buf[IMG_SIZE] = "\x1f\x8b\x08 a gzip file, not a vmlinux";
    expect_bad(buf, sizeof(buf), "not an ELF");
    expect_bad(buf, 3, "not an ELF");   /* shorter than the magic */
}

static void test_bad_class_machine_type(void **state)
{
    (void)state;
    struct elf_spec s = elf_default(true);
    s.cls = ELFCLASS32;
    expect_bad_spec(&s, "32-bit");
    s = elf_default(false);
    s.machine = EM_X86_64;
    expect_bad_spec(&s, "machine");
    s = elf_default(true);
    s.machine = EM_PPC;
    expect_bad_spec(&s, "machine");
    s = elf_default(false);
    s.type = ET_REL;
    expect_bad_spec(&s, "not an executable");
}

static void test_truncated_header(void **state)
{
    (void)state;
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(true);
    make_elf(buf, &s);
    expect_bad(buf, sizeof(Elf64_Ehdr) - 1, "truncated");
    expect_bad(buf, EI_NIDENT, "truncated");
}

static void test_phdrs_outside_file(void **state)
{
    (void)state;
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(false);
    make_elf(buf, &s);
    /* the program header table ends at PH_OFF + 56: cut the file inside it */
    expect_bad(buf, PH_OFF + sizeof(Elf64_Phdr) - 1, "truncated");
    s.phoff = IMG_SIZE + 8;
    expect_bad_spec(&s, "truncated");
    s = elf_default(false);
    s.phoff = UINT64_MAX - 8;     /* phoff + size must not wrap into the file */
    expect_bad_spec(&s, "truncated");
    s = elf_default(false);
    s.phnum = 0xffff;
    expect_bad_spec(&s, "truncated");
}

static void test_segment_outside_file(void **state)
{
    (void)state;
    struct elf_spec s = elf_default(true);
    s.filesz = IMG_SIZE - SEG_OFF + 1;
    s.memsz = 0x1000;
    expect_bad_spec(&s, "truncated");
    s = elf_default(true);
    s.offset = IMG_SIZE + 1;
    expect_bad_spec(&s, "truncated");
    s = elf_default(true);
    s.offset = UINT64_MAX;        /* offset + filesz wraps */
    expect_bad_spec(&s, "truncated");
}

static void test_filesz_gt_memsz(void **state)
{
    (void)state;
    struct elf_spec s = elf_default(false);
    s.filesz = SEG_FILESZ;
    s.memsz = SEG_FILESZ - 1;
    uint8_t buf[IMG_SIZE];
    make_elf(buf, &s);
    struct kernel_image k;
    struct mvm_err e = {0};
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_true(e.msg[0] != '\0');
}

static void test_no_load(void **state)
{
    (void)state;
    struct elf_spec s = elf_default(true);
    s.p_type = PT_NOTE;
    expect_bad_spec(&s, "no loadable");
    s = elf_default(true);
    s.filesz = s.memsz = 0;       /* an empty PT_LOAD loads nothing */
    expect_bad_spec(&s, "no loadable");
}

static void test_wraps(void **state)
{
    (void)state;
    struct elf_spec s = elf_default(false);
    s.paddr = 0x0fffffffffff0000ULL;
    s.memsz = 0xfff0000000000000ULL;
    expect_bad_spec(&s, "wraps");
}

/* 1 MiB of "guest RAM" full of 0xAA. */
/* An image held in memory, as a test builds it (no descriptor: copied with memcpy). */
static const struct file_map *in_memory(const uint8_t *buf)
{
    static struct file_map f;
    f = (struct file_map){.data = buf, .size = IMG_SIZE, .fd = -1};
    return &f;
}

static struct guest_mem ram_alloc(void)
{
    struct guest_mem m = {.size = RAM_SIZE, .page_size = 4096};
    m.host = calloc(1, RAM_SIZE);
    assert_non_null(m.host);
    memset(m.host, 0xaa, RAM_SIZE);
    return m;
}

static void test_load(void **state)
{
    (void)state;
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(true);
    s.paddr = 0x2000;
    s.entry = KERNELBASE + 0x2000;
    make_elf(buf, &s);
    struct kernel_image k;
    struct mvm_err e = {0};
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), 0);
    struct guest_mem m = ram_alloc();
    assert_int_equal(kernel_load(&k, in_memory(buf), &m, "vmlinux", &e), 0);
    for (unsigned i = 0; i < SEG_FILESZ; i++)
        assert_int_equal(m.host[0x2000 + i], i + 1);
    for (unsigned i = SEG_FILESZ; i < SEG_MEMSZ; i++)
        assert_int_equal(m.host[0x2000 + i], 0);            /* bss zeroed */
    assert_int_equal(m.host[0x2000 - 1], 0xaa);             /* nothing else touched */
    assert_int_equal(m.host[0x2000 + SEG_MEMSZ], 0xaa);
    free(m.host);
}

static void test_load_does_not_fit(void **state)
{
    (void)state;
    uint8_t buf[IMG_SIZE];
    struct elf_spec s = elf_default(false);
    s.paddr = RAM_SIZE - SEG_MEMSZ;          /* exactly fits */
    s.entry = KERNELBASE + s.paddr;
    make_elf(buf, &s);
    struct kernel_image k;
    struct mvm_err e = {0};
    struct guest_mem m = ram_alloc();
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), 0);
    assert_int_equal(kernel_load(&k, in_memory(buf), &m, "vmlinux", &e), 0);
    assert_int_equal(m.host[RAM_SIZE - 1], 0);

    s.paddr = RAM_SIZE - SEG_MEMSZ + 1;      /* bss sticks out by one byte */
    s.entry = KERNELBASE + s.paddr;
    make_elf(buf, &s);
    memset(m.host, 0xaa, RAM_SIZE);
    assert_int_equal(kernel_parse(&k, buf, sizeof(buf), "vmlinux", &e), 0);
    assert_int_equal(kernel_load(&k, in_memory(buf), &m, "vmlinux", &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "does not fit"));
    assert_int_equal(m.host[RAM_SIZE - SEG_MEMSZ + 1], 0xaa);   /* nothing copied */
    free(m.host);
}

/* Where an image goes: a vmlinux linked at KERNELBASE stays at its physical addresses, an
 * image linked at 0 moves to 4 MiB (QEMU's kernel-addr), and --kernel-addr moves either. */
static void place(const struct elf_spec *s, bool given, uint64_t addr, struct kernel_image *k,
                  int want)
{
    uint8_t buf[IMG_SIZE];
    struct mvm_err e = {0};
    make_elf(buf, s);
    assert_int_equal(kernel_parse(k, buf, sizeof(buf), "image", &e), 0);
    assert_int_equal(kernel_place(k, given, addr, "image", &e), want);
    if (want)
        assert_int_equal(e.status, MVM_E_INPUT);
}

static void test_place(void **state)
{
    (void)state;
    struct kernel_image k;
    struct elf_spec linux_ = elf_default(false);
    place(&linux_, false, 0, &k, 0);
    assert_true(k.kernelbase && k.load_addr == 0 && k.entry == 0 && k.seg[0].paddr == 0);

    struct elf_spec at0 = elf_default(true);     /* a payload linked at 0 */
    at0.vaddr = 0, at0.paddr = 0x100, at0.entry = 0x110;
    place(&at0, false, 0, &k, 0);
    assert_true(!k.kernelbase && k.load_addr == KERNEL_ADDR_DEFAULT);
    assert_true(k.seg[0].paddr == KERNEL_ADDR_DEFAULT + 0x100);
    assert_true(k.entry == KERNEL_ADDR_DEFAULT + 0x110);
    assert_true(k.end == KERNEL_ADDR_DEFAULT + 0x100 + SEG_MEMSZ);

    place(&at0, true, 0, &k, 0);                 /* asked for 0: where it is linked */
    assert_true(k.load_addr == 0 && k.entry == 0x110);
    place(&linux_, true, 32ULL << 20, &k, 0);    /* either kind goes where it is asked */
    assert_true(k.load_addr == 32ULL << 20 && k.entry == 32ULL << 20);
    assert_true(k.seg[0].paddr == 32ULL << 20);

    place(&at0, true, 0x1000, &k, -1);           /* not 64 KiB aligned */
    place(&at0, true, 0xf000000000000000ULL, &k, -1);   /* beyond the physical space */
    place(&at0, true, UINT64_MAX & ~0xffffULL, &k, -1); /* would wrap */
}

static void expect_map_fails(const char *path)
{
    struct file_map f = {(const uint8_t *)"junk", 4};
    struct mvm_err e = {0};
    assert_int_equal(file_map_open(&f, path, "kernel", &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, path));
    assert_null(f.data);
    assert_int_equal(f.size, 0);
    assert_int_equal(f.fd, -1);
}

static void test_file_map(void **state)
{
    (void)state;
    expect_map_fails("/nonexistent/minivmm-test/vmlinux");
    expect_map_fails("/tmp");

    char path[] = "/tmp/minivmm-loader-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    expect_map_fails(path);            /* empty */

    static const char text[] = "hello, vmlinux";
    assert_int_equal(write(fd, text, sizeof(text)), (ssize_t)sizeof(text));
    struct file_map f;
    struct mvm_err e = {0};
    assert_int_equal(file_map_open(&f, path, "kernel", &e), 0);
    unlink(path);
    assert_int_equal(f.size, sizeof(text));
    assert_memory_equal(f.data, text, sizeof(text));
    /* What goes to guest memory is read from the descriptor, within the file only. */
    char got[sizeof(text)] = {0};
    assert_int_equal(file_map_read(&f, got, 7, sizeof(text) - 7), 0);
    assert_memory_equal(got, text + 7, sizeof(text) - 7);
    assert_int_equal(file_map_read(&f, got, 7, sizeof(text) - 6), -1);
    assert_int_equal(file_map_read(&f, got, sizeof(text) + 1, 0), -1);
    assert_int_equal(file_map_read(&f, got, sizeof(text), 0), 0);
    /* A file cut short after it was parsed is an error, not a partial copy called done. */
    assert_int_equal(ftruncate(fd, 3), 0);
    close(fd);
    assert_int_equal(file_map_read(&f, got, 2, 4), -1);
    file_map_close(&f);
    assert_null(f.data);
    assert_int_equal(f.size, 0);
    assert_int_equal(f.fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_be),
        cmocka_unit_test(test_parse_le),
        cmocka_unit_test(test_parse_virtual_paddr),
        cmocka_unit_test(test_not_elf),
        cmocka_unit_test(test_bad_class_machine_type),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_phdrs_outside_file),
        cmocka_unit_test(test_segment_outside_file),
        cmocka_unit_test(test_filesz_gt_memsz),
        cmocka_unit_test(test_no_load),
        cmocka_unit_test(test_wraps),
        cmocka_unit_test(test_entry_outside_image),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_does_not_fit),
        cmocka_unit_test(test_file_map),
        cmocka_unit_test(test_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
