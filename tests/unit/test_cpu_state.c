/* cpu_state: the code around NIP from guest memory (real mode, the kernel's linear map, in
 * either byte order; nothing elsewhere), the symbols, and the report's lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/cpu_state.h"

#define RAM (1u << 20)
#define MSR_SF (1ULL << 63)

static struct guest_mem ram(void)
{
    struct guest_mem m = {.host = calloc(1, RAM), .size = RAM, .page_size = 4096};
    for (unsigned i = 0; i < RAM / 4; i++) {   /* word i holds i, big-endian */
        uint8_t *p = m.host + 4 * i;
        p[0] = (uint8_t)(i >> 24), p[1] = (uint8_t)(i >> 16), p[2] = (uint8_t)(i >> 8);
        p[3] = (uint8_t)i;
    }
    return m;
}

static void test_read_code(void **state)
{
    (void)state;
    struct guest_mem m = ram();
    struct cpu_state s = {.nip = 0x1002, .msr = MSR_SF};          /* real mode, BE */
    cpu_state_read_code(&s, &m);
    assert_int_equal(s.nwords, CPU_STATE_WORDS);
    assert_true(s.code_at == 0x1000 - 16);
    assert_int_equal(s.code[4], 0x1000 / 4);                     /* the word at NIP */
    s = (struct cpu_state){.nip = 0xc000000000002000ULL, .msr = MSR_SF | MSR_IR | MSR_LE};
    cpu_state_read_code(&s, &m);                                  /* linear map, LE */
    assert_int_equal(s.nwords, CPU_STATE_WORDS);
    assert_int_equal(s.code[4], __builtin_bswap32(0x2000 / 4));
    s = (struct cpu_state){.nip = 0xf000000000003000ULL, .msr = MSR_SF};   /* real: top bits go */
    cpu_state_read_code(&s, &m);
    assert_int_equal(s.code[4], 0x3000 / 4);
    static const uint64_t nowhere[] = {
        0xc008000000000000ULL,      /* vmalloc: needs the page tables */
        0x0000000010000000ULL,      /* user space */
        0xc000000000000000ULL + RAM - 8,   /* the words would leave RAM */
        0xc000000000000008ULL,      /* the words would start below the linear map */
    };
    for (size_t i = 0; i < sizeof(nowhere) / sizeof(nowhere[0]); i++) {
        s = (struct cpu_state){.nip = nowhere[i], .msr = MSR_SF | MSR_IR};
        cpu_state_read_code(&s, &m);
        assert_int_equal(s.nwords, 0);
    }
    free(m.host);
}

struct lines {
    char text[64][320];
    unsigned n;
};

static void collect(void *opaque, const char *text)
{
    struct lines *l = opaque;
    assert_true(l->n < 64);
    snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", text);
}

static void test_lines(void **state)
{
    (void)state;
    static const char map[] = "c000000000010000 T snooze_loop\nc000000000020000 T do_idle\n";
    struct ksym k;
    assert_int_equal(ksym_load_map(&k, map, sizeof(map) - 1), 0);
    struct guest_mem m = ram();
    struct cpu_state s = {.index = 1, .have_regs = true, .nip = 0xc000000000010040ULL,
                          .lr = 0xc000000000020008ULL, .msr = MSR_SF | MSR_IR};
    s.gpr[31] = 0x1f;
    cpu_state_read_code(&s, &m);
    cpu_state_symbolize(&s, &k);
    assert_string_equal(s.nip_sym, "snooze_loop+0x40");
    assert_string_equal(s.lr_sym, "do_idle+0x8");
    struct lines l = {0};
    cpu_state_lines(&s, collect, &l);
    assert_int_equal(l.n, 11);   /* NIP/LR, MSR..., 8 of GPRs, the code */
    assert_non_null(strstr(l.text[0], "vCPU 1: NIP c000000000010040 <snooze_loop+0x40> "
                                      "LR c000000000020008 <do_idle+0x8>"));
    assert_non_null(strstr(l.text[9], "r28 ") && strstr(l.text[9], " 000000000000001f"));
    assert_non_null(strstr(l.text[10], "code at c000000000010030: 0000400c 0000400d 0000400e "
                                       "0000400f <00004010> 00004011"));
    /* No symbols, a stopped vCPU, and one busy in minivmm. */
    cpu_state_symbolize(&s, NULL);
    assert_string_equal(s.nip_sym, "");
    l.n = 0;
    struct cpu_state stopped = {.index = 2, .how = CPU_STATE_STOPPED};
    cpu_state_lines(&stopped, collect, &l);
    struct cpu_state busy = {.index = 3, .how = CPU_STATE_BUSY};
    cpu_state_lines(&busy, collect, &l);
    assert_int_equal(l.n, 2);
    assert_non_null(strstr(l.text[0], "vCPU 2: stopped"));
    assert_non_null(strstr(l.text[1], "vCPU 3: busy in minivmm"));
    ksym_free(&k);
    free(m.host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_code),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
