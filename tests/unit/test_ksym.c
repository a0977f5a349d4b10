/* ksym: symbols from a System.map and from ELF symbol tables (hand-built, both byte orders, and
 * this test's own executable), and lookups at, inside, between and past them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/ksym.h"

static const char *at(const struct ksym *k, uint64_t addr, uint64_t want_off)
{
    uint64_t off = ~0ULL;
    const char *name = ksym_lookup(k, addr, &off);
    if (name)
        assert_true(off == want_off);
    return name;
}

static void test_system_map(void **state)
{
    (void)state;
    static const char map[] =
        "c000000000000000 T _stext\n"
        "c000000000002000 t snooze_loop\n"
        "c000000000001000 T start_kernel\n"       /* out of order: sorted on load */
        "c000000000003000 A absolute_ignored\n"
        "0000000000000000 T zero_ignored\n"
        "not a line at all\n"
        "c000000000004000 D jiffies_64";           /* no final newline */
    struct ksym k;
    assert_int_equal(ksym_load_map(&k, map, sizeof(map) - 1), 0);
    assert_int_equal(k.n, 4);
    assert_string_equal(at(&k, 0xc000000000001000ULL, 0), "start_kernel");
    assert_string_equal(at(&k, 0xc000000000001ffcULL, 0xffc), "start_kernel");
    assert_string_equal(at(&k, 0xc000000000002010ULL, 0x10), "snooze_loop");
    assert_string_equal(at(&k, 0xc000000000004008ULL, 8), "jiffies_64");
    assert_null(at(&k, 0xbfffffffffffffffULL, 0));   /* below every symbol */
    ksym_free(&k);
    assert_int_equal(ksym_load_map(&k, "junk\n\n", 6), -1);
    assert_null(k.v);
}

/* A minimal ELF64: header, then .symtab and .strtab, then the section headers. */
static size_t make_elf(uint8_t *buf, bool be)
{
    static const char strtab[] = "\0start_kernel\0alias\0.Lloc\0data\0undef";
    struct { uint32_t name; uint8_t type; uint16_t shndx; uint64_t value, size; } syms[] = {
        {0, 0, 0, 0, 0},                                    /* the null symbol */
        {1, STT_FUNC, 1, 0xc000000000001000ULL, 0x100},     /* start_kernel */
        {14, STT_NOTYPE, 1, 0xc000000000001000ULL, 0},      /* alias, same address */
        {20, STT_NOTYPE, 1, 0xc000000000001080ULL, 0},      /* .Lloc: a local label */
        {26, STT_OBJECT, 2, 0xc000000000005000ULL, 8},      /* data */
        {31, STT_FUNC, SHN_UNDEF, 0xc000000000006000ULL, 4},/* undef */
    };
    size_t nsyms = sizeof(syms) / sizeof(syms[0]);
    size_t sym_off = 64, str_off = sym_off + nsyms * 24, sh_off = (str_off + sizeof(strtab) + 7) & ~7u;
    memset(buf, 0, sh_off + 3 * 64);
#define PUT(p, n, v) do { for (unsigned i_ = 0; i_ < (n); i_++) \
        (p)[be ? (n) - 1 - i_ : i_] = (uint8_t)((uint64_t)(v) >> (8 * i_)); } while (0)
    memcpy(buf, ELFMAG, SELFMAG);
    buf[EI_CLASS] = ELFCLASS64, buf[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
    PUT(buf + offsetof(Elf64_Ehdr, e_shoff), 8, sh_off);
    PUT(buf + offsetof(Elf64_Ehdr, e_shentsize), 2, 64);
    PUT(buf + offsetof(Elf64_Ehdr, e_shnum), 2, 3);
    for (size_t i = 0; i < nsyms; i++) {
        uint8_t *p = buf + sym_off + 24 * i;
        PUT(p + offsetof(Elf64_Sym, st_name), 4, syms[i].name);
        p[offsetof(Elf64_Sym, st_info)] = ELF64_ST_INFO(STB_GLOBAL, syms[i].type);
        PUT(p + offsetof(Elf64_Sym, st_shndx), 2, syms[i].shndx);
        PUT(p + offsetof(Elf64_Sym, st_value), 8, syms[i].value);
        PUT(p + offsetof(Elf64_Sym, st_size), 8, syms[i].size);
    }
    memcpy(buf + str_off, strtab, sizeof(strtab));
    uint8_t *sh = buf + sh_off + 64;                    /* [1] .symtab, linked to [2] */
    PUT(sh + offsetof(Elf64_Shdr, sh_type), 4, SHT_SYMTAB);
    PUT(sh + offsetof(Elf64_Shdr, sh_offset), 8, sym_off);
    PUT(sh + offsetof(Elf64_Shdr, sh_size), 8, nsyms * 24);
    PUT(sh + offsetof(Elf64_Shdr, sh_link), 4, 2);
    sh += 64;                                           /* [2] .strtab */
    PUT(sh + offsetof(Elf64_Shdr, sh_type), 4, SHT_STRTAB);
    PUT(sh + offsetof(Elf64_Shdr, sh_offset), 8, str_off);
    PUT(sh + offsetof(Elf64_Shdr, sh_size), 8, sizeof(strtab));
#undef PUT
    return sh_off + 3 * 64;
}

static void check_elf(bool be)
{
    uint8_t buf[1024];
    size_t size = make_elf(buf, be);
    struct ksym k;
    assert_int_equal(ksym_load_elf(&k, buf, size), 0);
    assert_int_equal(k.n, 3);   /* start_kernel, alias, data: not the label, the undefined */
    assert_string_equal(at(&k, 0xc000000000001000ULL, 0), "start_kernel");  /* over its alias */
    assert_string_equal(at(&k, 0xc0000000000010ffULL, 0xff), "start_kernel");
    assert_null(at(&k, 0xc000000000001100ULL, 0));     /* past its size */
    assert_string_equal(at(&k, 0xc000000000005004ULL, 4), "data");
    ksym_free(&k);
    /* Cut anywhere, the file is refused or read within its bounds (ASan watches). */
    for (size_t cut = 0; cut < size; cut += 7) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        if (ksym_load_elf(&k, part, cut) == 0)
            ksym_free(&k);
        free(part);
    }
}

static void test_elf_le(void **state) { (void)state; check_elf(false); }
static void test_elf_be(void **state) { (void)state; check_elf(true); }

/* A real toolchain's symbol table: this executable's own, where main is a function. */
static void test_own_executable(void **state)
{
    (void)state;
    int fd = open("/proc/self/exe", O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    struct ksym k;
    assert_int_equal(ksym_load_elf(&k, p, (size_t)st.st_size), 0);
    uint64_t main_at = 0;
    for (size_t i = 0; i < k.n; i++)
        if (strcmp(k.names + k.v[i].name, "main") == 0)
            main_at = k.v[i].addr;
    assert_true(main_at != 0);
    assert_string_equal(at(&k, main_at + 1, 1), "main");
    ksym_free(&k);
    munmap((void *)p, (size_t)st.st_size);
    static const uint8_t not_elf[64] = "not an ELF";
    assert_int_equal(ksym_load_elf(&k, not_elf, sizeof(not_elf)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_map),
        cmocka_unit_test(test_elf_le),
        cmocka_unit_test(test_elf_be),
        cmocka_unit_test(test_own_executable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
