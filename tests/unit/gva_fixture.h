/* Shared by test_gva.c and test_gva_hash.c: guest RAM for gva_translate(), calloc'd (so
 * AddressSanitizer sees every byte past its end), with a bump allocator for page tables and
 * big-endian accessors. Include after <cmocka.h>. */
#ifndef MINIVMM_GVA_FIXTURE_H
#define MINIVMM_GVA_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>

#include "../../vmm/gva.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define RAM (16 * MiB)

#define MSR_VIRT 0x8000000000000030ULL   /* SF | IR | DR */
#define MSR_IR 0x20ULL
#define MSR_DR 0x10ULL

/* ---- guest RAM with a bump allocator for tables ---- */

struct fake {
    struct guest_mem m;
    uint64_t next;          /* tables are allocated from 8 MiB upwards */
};

static inline struct fake *fake_new(uint64_t size)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->m = (struct guest_mem){.host = calloc(1, size), .size = size, .page_size = 4096};
    assert_non_null(f->m.host);
    f->next = 8 * MiB;
    return f;
}

static inline void fake_free(struct fake *f)
{
    free(f->m.host);
    free(f);
}

/* size bytes aligned to size, zeroed (RAM starts zeroed and is never reused). */
static inline uint64_t alloc(struct fake *f, uint64_t size)
{
    uint64_t a = (f->next + size - 1) & ~(size - 1);
    f->next = a + size;
    assert_true(f->next <= f->m.size);
    return a;
}

static inline void put64(struct fake *f, uint64_t gpa, uint64_t v)
{
    assert_true(gpa + 8 <= f->m.size);
    for (int i = 0; i < 8; i++)
        f->m.host[gpa + i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t get64(struct fake *f, uint64_t gpa)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | f->m.host[gpa + i];
    return v;
}

#endif
