/* ppc_step: the successors of each kind of branch, conditional or not, relative or absolute,
 * to LR, CTR and TAR, rfid and rfscv with the MSR they install, 32-bit wrap-around, prefixed
 * instructions and everything else. Encodings from the Power ISA (checked with objdump). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../vmm/ppc_step.h"

#define SF (1ULL << 63)
#define PC 0xc000000000001000ULL

static struct ppc_step_regs regs(void)
{
    return (struct ppc_step_regs){.pc = PC, .msr = SF | 0x37, .lr = 0xc000000000222220ULL,
                                  .ctr = 0xc000000000333331ULL, .tar = 0xc000000000444442ULL,
                                  .srr0 = 0x10000503ULL, .srr1 = SF | 0x4033};
}

static unsigned next_of(uint32_t insn, const struct ppc_step_regs *r, struct ppc_step_next n[2])
{
    n[0] = n[1] = (struct ppc_step_next){~0ULL, ~0ULL};
    return ppc_step_successors(insn, r, n);
}

static void one(uint32_t insn, uint64_t want)
{
    struct ppc_step_regs r = regs();
    struct ppc_step_next n[2];
    assert_int_equal(next_of(insn, &r, n), 1);
    assert_true(n[0].addr == want);
    assert_true(n[0].msr == r.msr);
}

static void two(uint32_t insn, uint64_t target)
{
    struct ppc_step_regs r = regs();
    struct ppc_step_next n[2];
    assert_int_equal(next_of(insn, &r, n), 2);
    assert_true(n[0].addr == PC + 4);
    assert_true(n[1].addr == target);
}

static void test_plain(void **state)
{
    (void)state;
    one(0x38600000, PC + 4);        /* li r3,0 */
    one(0x7c0802a6, PC + 4);        /* mflr r0 */
    one(0x44000022, PC + 4);        /* sc 1: the step ends when the hcall returns */
    one(0x44000001, PC + 4);        /* scv 0 */
    one(0x4c00012c, PC + 4);        /* isync (opcode 19, not a branch) */
    one(0x04000000, PC + 8);        /* a prefix: the instruction is 8 bytes */
}

static void test_branch(void **state)
{
    (void)state;
    one(0x48000010, PC + 0x10);              /* b .+16 */
    one(0x4bfffff1, PC - 0x10);              /* bl .-16 */
    one(0x48000102, 0x100);                  /* ba 0x100 */
    one(0x4bfffffe, 0xfffffffffffffffcULL);  /* ba -4: sign-extended */
    one(0x42800008, PC + 8);                 /* bc 20,0,.+8: always */
    two(0x41820008, PC + 8);                 /* beq .+8 */
    two(0x4082fff8, PC - 8);                 /* bne .-8 */
    two(0x42000010, PC + 0x10);              /* bdnz .+16 */
    two(0x4182000a, 8);                      /* beqa 8 */
}

static void test_register_targets(void **state)
{
    (void)state;
    one(0x4e800020, 0xc000000000222220ULL);  /* blr */
    one(0x4e800421, 0xc000000000333330ULL);  /* bctrl: the low 2 bits dropped */
    one(0x4e800460, 0xc000000000444440ULL);  /* bctar */
    two(0x4d820020, 0xc000000000222220ULL);  /* beqlr */
    two(0x4c820420, 0xc000000000333330ULL);  /* bnectr */
}

static void test_rfi(void **state)
{
    (void)state;
    struct ppc_step_regs r = regs();
    struct ppc_step_next n[2];
    assert_int_equal(next_of(0x4c000024, &r, n), 1);   /* rfid: SRR0 under SRR1 */
    assert_true(n[0].addr == 0x10000500ULL);
    assert_true(n[0].msr == r.srr1);
    assert_int_equal(next_of(0x4c0000a4, &r, n), 1);   /* rfscv: LR under CTR */
    assert_true(n[0].addr == 0xc000000000222220ULL);
    assert_true(n[0].msr == r.ctr);
    r.srr1 = 0x4033;                                    /* back to a 32-bit process */
    r.srr0 = 0xc000000010000500ULL;
    assert_int_equal(next_of(0x4c000024, &r, n), 1);
    assert_true(n[0].addr == 0x10000500ULL);
}

static void test_32bit(void **state)
{
    (void)state;
    struct ppc_step_regs r = regs();
    struct ppc_step_next n[2];
    r.msr = 0x4033;
    r.pc = 0xfffffffcULL;
    assert_int_equal(next_of(0x60000000, &r, n), 1);   /* nop at the top wraps to 0 */
    assert_true(n[0].addr == 0);
    assert_int_equal(next_of(0x41820008, &r, n), 2);   /* beq .+8 */
    assert_true(n[0].addr == 0 && n[1].addr == 4);
}

/* A conditional branch to the next instruction has one successor, not the same one twice. */
static void test_distinct(void **state)
{
    (void)state;
    one(0x41820004, PC + 4);                 /* beq .+4 */
    struct ppc_step_regs r = regs();
    struct ppc_step_next n[2];
    r.lr = PC + 4;
    assert_int_equal(next_of(0x4d820020, &r, n), 1);   /* beqlr with LR = PC + 4 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_branch),
        cmocka_unit_test(test_register_targets),
        cmocka_unit_test(test_rfi),
        cmocka_unit_test(test_32bit),
        cmocka_unit_test(test_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
