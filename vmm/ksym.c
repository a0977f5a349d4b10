#include "ksym.h"

#include <elf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

/* Appends name[0..len) to the table; the entries are sorted by ksym_finish(). */
struct builder {
    struct ksym *k;
    size_t cap, names_len, names_cap;
};

static int add(struct builder *b, uint64_t addr, uint64_t size, const char *name, size_t len)
{
    struct ksym *k = b->k;
    if (k->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        struct ksym_entry *v = realloc(k->v, cap * sizeof(*v));
        if (!v)
            return -1;
        k->v = v, b->cap = cap;
    }
    if (b->names_cap - b->names_len < len + 1) {
        size_t cap = b->names_cap ? 2 * b->names_cap : 16384;
        while (cap - b->names_len < len + 1)
            cap *= 2;
        char *names = realloc(k->names, cap);
        if (!names)
            return -1;
        k->names = names, b->names_cap = cap;
    }
    memcpy(k->names + b->names_len, name, len);
    k->names[b->names_len + len] = '\0';
    k->v[k->n++] = (struct ksym_entry){addr, size, (uint32_t)b->names_len};
    b->names_len += len + 1;
    return b->names_len > UINT32_MAX ? -1 : 0;
}

/* By address; at one address the symbol with a size first (a function over its aliases). */
static int by_addr(const void *a, const void *b)
{
    const struct ksym_entry *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (y->size != 0) - (x->size != 0);
}

static int finish(struct ksym *k, int r)
{
    if (r == 0 && k->n == 0)
        r = -1;
    if (r) {
        ksym_free(k);
        return -1;
    }
    qsort(k->v, k->n, sizeof(k->v[0]), by_addr);
    return 0;
}

/* One Elf64_Sym at p: kept if it names code or data at an address. */
static int elf_sym(struct builder *b, const uint8_t *p, bool be, const uint8_t *strtab,
                   size_t strsize)
{
    uint64_t name = elf_field(p + offsetof(Elf64_Sym, st_name), 4, be);
    unsigned type = ELF64_ST_TYPE(p[offsetof(Elf64_Sym, st_info)]);
    uint64_t shndx = elf_field(p + offsetof(Elf64_Sym, st_shndx), 2, be);
    uint64_t value = elf_field(p + offsetof(Elf64_Sym, st_value), 8, be);
    uint64_t size = elf_field(p + offsetof(Elf64_Sym, st_size), 8, be);
    if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) || shndx == SHN_UNDEF ||
        shndx >= SHN_LORESERVE || value == 0 || name >= strsize)
        return 0;
    const char *s = (const char *)strtab + name;
    size_t len = strnlen(s, strsize - name);
    if (len == 0 || len == strsize - name || s[0] == '$' || (s[0] == '.' && s[1] == 'L'))
        return 0;   /* unnamed, unterminated, or an assembler's local label */
    return add(b, value, size, s, len);
}

int ksym_load_elf(struct ksym *k, const uint8_t *buf, size_t size)
{
    memset(k, 0, sizeof(*k));
    if (size < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
        buf[EI_CLASS] != ELFCLASS64)
        return -1;
    bool be = buf[EI_DATA] == ELFDATA2MSB;
    uint64_t shoff = elf_field(buf + offsetof(Elf64_Ehdr, e_shoff), 8, be);
    uint64_t shentsize = elf_field(buf + offsetof(Elf64_Ehdr, e_shentsize), 2, be);
    uint64_t shnum = elf_field(buf + offsetof(Elf64_Ehdr, e_shnum), 2, be);
    if (shentsize < sizeof(Elf64_Shdr) || shoff > size || shnum > (size - shoff) / shentsize)
        return -1;
    struct builder b = {.k = k};
    for (uint64_t i = 0; i < shnum; i++) {
        const uint8_t *sh = buf + shoff + i * shentsize;
        if (elf_field(sh + offsetof(Elf64_Shdr, sh_type), 4, be) != SHT_SYMTAB)
            continue;
        uint64_t off = elf_field(sh + offsetof(Elf64_Shdr, sh_offset), 8, be);
        uint64_t len = elf_field(sh + offsetof(Elf64_Shdr, sh_size), 8, be);
        uint64_t link = elf_field(sh + offsetof(Elf64_Shdr, sh_link), 4, be);
        if (link >= shnum || off > size || len > size - off)
            return finish(k, -1);
        const uint8_t *str = buf + shoff + link * shentsize;
        uint64_t soff = elf_field(str + offsetof(Elf64_Shdr, sh_offset), 8, be);
        uint64_t slen = elf_field(str + offsetof(Elf64_Shdr, sh_size), 8, be);
        if (soff > size || slen > size - soff)
            return finish(k, -1);
        for (uint64_t s = 0; s + sizeof(Elf64_Sym) <= len; s += sizeof(Elf64_Sym))
            if (elf_sym(&b, buf + off + s, be, buf + soff, slen))
                return finish(k, -1);
        break;      /* one symbol table per file */
    }
    return finish(k, 0);
}

/* "c000000000012345 T name": a hex address, one type letter, a name to the end of line. */
static int map_line(struct builder *b, const char *p, size_t len)
{
    uint64_t addr = 0;
    size_t i = 0;
    for (; i < len && i < 16 && p[i] && strchr("0123456789abcdefABCDEF", p[i]); i++)
        addr = addr << 4 | (uint64_t)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    if (i == 0 || i + 3 > len || p[i] != ' ' || p[i + 2] != ' ' || !p[i + 1] ||
        !strchr("tTwWdDbBrR", p[i + 1]) || addr == 0)
        return 0;
    const char *name = p + i + 3;
    size_t n = len - i - 3;
    return n ? add(b, addr, 0, name, n) : 0;
}

int ksym_load_map(struct ksym *k, const char *text, size_t len)
{
    memset(k, 0, sizeof(*k));
    struct builder b = {.k = k};
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t line = nl ? (size_t)(nl - text) : len;
        if (map_line(&b, text, line))
            return finish(k, -1);
        text += line + (nl != NULL), len -= line + (nl != NULL);
    }
    return finish(k, 0);
}

void ksym_free(struct ksym *k)
{
    free(k->v);
    free(k->names);
    memset(k, 0, sizeof(*k));
}

const char *ksym_lookup(const struct ksym *k, uint64_t addr, uint64_t *offset)
{
    size_t lo = 0, hi = k->n;   /* the first entry above addr is at hi */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    /* The last entry at or below addr; among several at its address, the sized one. */
    size_t i = lo - 1;
    while (i > 0 && k->v[i - 1].addr == k->v[i].addr)
        i--;
    const struct ksym_entry *e = &k->v[i];
    if (e->size && addr - e->addr >= e->size)
        return NULL;   /* past the end of what it names: padding, or a symbol we dropped */
    *offset = addr - e->addr;
    return k->names + e->name;
}
