/* Kernel symbols, to name the code a vCPU was running when minivmm reports on it (a hang at
 * --timeout, SIGUSR1, an unexpected exit): from the vmlinux's own symbol table, or from a
 * System.map. Pure: buffers in, no files (tests/unit/test_ksym.c, tests/fuzz/fuzz_ksym.c).
 */
#ifndef MINIVMM_KSYM_H
#define MINIVMM_KSYM_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
    struct ksym_entry {
        uint64_t addr, size;   /* size 0: up to the next symbol */
        uint32_t name;         /* offset in names */
    } *v;
    size_t n;
    char *names;
};

/* Symbols of an ELF64 (either byte order): its .symtab's functions and objects with an
 * address. 0, or -1 when the file has no symbol table (a stripped vmlinux). */
int ksym_load_elf(struct ksym *k, const uint8_t *buf, size_t size);
/* Symbols of a System.map ("ADDRESS TYPE NAME" lines; other lines are skipped). 0, or -1
 * when no line is one. */
int ksym_load_map(struct ksym *k, const char *text, size_t len);
void ksym_free(struct ksym *k);

/* The symbol that holds addr, and addr's offset in it; NULL when none does. */
const char *ksym_lookup(const struct ksym *k, uint64_t addr, uint64_t *offset);

#endif
