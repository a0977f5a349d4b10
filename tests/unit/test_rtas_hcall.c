/* hcall_dispatch() and RTAS against a hand-built machine whose hypervisor operations are fakes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/hcall.h"
#include "../../devices/vty.h"
#include "../../firmware/rtas.h"
#include "../../vmm/err.h"
#include "../../vmm/machine.h"
#include "../../vmm/stats.h"
#include "fake_machine.h"
#include "papr_calls.h"

/* ---- hcalls ---- */

static void test_put_term_char(void **state)
{
    (void)state;
    uint64_t hello = (uint64_t)'H' << 56 | (uint64_t)'e' << 48 | (uint64_t)'l' << 40 |
                     (uint64_t)'l' << 32 | (uint64_t)'o' << 24 | 0x414243;
    assert_int_equal(hcall(H_PUT_TERM_CHAR, VTY_REG, 5, hello, 0, NULL), H_SUCCESS);
    assert_string_equal(console(), "Hello");
    assert_int_equal(hcall(H_PUT_TERM_CHAR, VTY_REG, 16, 0x3031323334353637ULL,
                           0x38393a3b3c3d3e3fULL, NULL), H_SUCCESS);
    assert_string_equal(console(), "0123456789:;<=>?");
    assert_int_equal(hcall(H_PUT_TERM_CHAR, VTY_REG, 17, hello, hello, NULL), H_PARAMETER);
    assert_int_equal(hcall(H_PUT_TERM_CHAR, VTY_REG + 1, 5, hello, 0, NULL), H_PARAMETER);
    assert_int_equal(hcall(H_PUT_TERM_CHAR, 1, 5, hello, 0, NULL), H_PARAMETER);
    assert_int_equal(hcall(H_PUT_TERM_CHAR, VTY_REG, 0, hello, 0, NULL), H_SUCCESS);
    assert_string_equal(console(), "");
}

static void test_get_term_char(void **state)
{
    (void)state;
    uint64_t out[9];
    assert_int_equal(vty_push_input(m.vty, (const uint8_t *)"abc", 3), 3);
    assert_int_equal(hcall(H_GET_TERM_CHAR, VTY_REG, 0, 0x77, 0x77, out), H_SUCCESS);
    assert_int_equal(out[0], 3);
    assert_true(out[1] == ((uint64_t)'a' << 56 | (uint64_t)'b' << 48 | (uint64_t)'c' << 40));
    assert_true(out[2] == 0);
    assert_int_equal(hcall(H_GET_TERM_CHAR, VTY_REG, 0, 0x77, 0x77, out), H_SUCCESS);
    assert_int_equal(out[0], 0);
    assert_true(out[1] == 0 && out[2] == 0);
    /* 20 queued: 16 come back (9th lands in r6's top byte), then 4 */
    assert_int_equal(vty_push_input(m.vty, (const uint8_t *)"ABCDEFGHIJKLMNOPQRST", 20), 20);
    assert_int_equal(hcall(H_GET_TERM_CHAR, VTY_REG, 0, 0, 0, out), H_SUCCESS);
    assert_int_equal(out[0], 16);
    assert_true(out[1] == 0x4142434445464748ULL && out[2] == 0x494a4b4c4d4e4f50ULL);
    assert_int_equal(hcall(H_GET_TERM_CHAR, VTY_REG, 0, 0, 0, out), H_SUCCESS);
    assert_int_equal(out[0], 4);
    assert_int_equal(hcall(H_GET_TERM_CHAR, VTY_REG + 1, 0, 0, 0, out), H_PARAMETER);
}

static void test_set_mode(void **state)
{
    (void)state;
    assert_int_equal(hcall(H_SET_MODE, 1, 4, 0, 0, NULL), H_SUCCESS);
    assert_true(fake.lpcr_mask == LPCR_ILE && fake.lpcr_val == LPCR_ILE);
    assert_int_equal(hcall(H_SET_MODE, 0, 4, 0, 0, NULL), H_SUCCESS);
    assert_true(fake.lpcr_mask == LPCR_ILE && fake.lpcr_val == 0);
    assert_int_equal(hcall(H_SET_MODE, 3, 3, 0, 0, NULL), H_SUCCESS);
    assert_true(fake.lpcr_mask == LPCR_AIL && fake.lpcr_val == 3ULL << 23);
    assert_int_equal(fake.lpcr_calls, 3);

    assert_int_equal(hcall(H_SET_MODE, 2, 4, 0, 0, NULL), H_UNSUPPORTED_FLAG_START);
    assert_int_equal(hcall(H_SET_MODE, 1, 4, 1, 0, NULL), H_P3);
    assert_int_equal(hcall(H_SET_MODE, 1, 4, 0, 1, NULL), H_P4);
    assert_int_equal(hcall(H_SET_MODE, 1, 3, 0, 0, NULL), H_UNSUPPORTED_FLAG_START);
    assert_int_equal(hcall(H_SET_MODE, 2, 3, 0, 0, NULL), H_UNSUPPORTED_FLAG_START);
    /* A guest value near INT64_MAX once overflowed the answer (found by fuzzing). */
    assert_int_equal(hcall(H_SET_MODE, 0x7ffffffffffffffcULL, 3, 0, 0, NULL), H_UNSUPPORTED_FLAG_START);
    assert_int_equal(hcall(H_SET_MODE, 0, 9, 0, 0, NULL), H_P2);
    assert_int_equal(fake.lpcr_calls, 3);      /* no rejected call reached the LPCR */
    /* A hypervisor that cannot do a mode (KVM-PR and AIL) says so; other failures are
     * hardware errors. */
    fake.lpcr_ret = -EOPNOTSUPP;
    assert_int_equal(hcall(H_SET_MODE, 3, 3, 0, 0, NULL), H_UNSUPPORTED_FLAG_START);
    fake.lpcr_ret = -EIO;
    assert_int_equal(hcall(H_SET_MODE, 1, 4, 0, 0, NULL), H_HARDWARE);
    fake.lpcr_ret = 0;
}

static void test_register_proc_tbl_radix(void **state)
{
    (void)state;
    m.radix = true;
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x18 | 0x04 | 0x01, 0x1000000, 0, 12, NULL),
                     H_SUCCESS);
    assert_int_equal(fake.mmu_calls, 1);
    assert_true(fake.radix && fake.gtse);
    assert_true(fake.proc_tbl == ((1ULL << 63) | 0x1000000 | 12));
    assert_true(m.radix);
    assert_true(m.process_table == fake.proc_tbl);   /* kept for translating its addresses */
    /* "keep radix" while in radix: nothing for the hypervisor to do */
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x04, 0, 0, 0, NULL), H_SUCCESS);

    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000800, 0, 12, NULL), H_P2);
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000000, 1, 12, NULL), H_P3);
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000000, 0, 25, NULL), H_P4);
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d | 0x20, 0x1000000, 0, 12, NULL),
                     H_PARAMETER);
    assert_int_equal(fake.mmu_calls, 1);

    fake.mmu_ret = -EINVAL;
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000000, 0, 12, NULL), H_PARAMETER);
    fake.mmu_ret = -ENODEV;
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000000, 0, 12, NULL), H_NOT_AVAILABLE);
    fake.mmu_ret = -EIO;
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x1d, 0x1000000, 0, 12, NULL), H_HARDWARE);
    assert_true(m.process_table == ((1ULL << 63) | 0x1000000 | 12));   /* failures keep it */
}

static void test_register_proc_tbl_hash(void **state)
{
    (void)state;
    m.radix = false;
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0, 0, 0, 0, NULL), H_SUCCESS);
    assert_int_equal(fake.mmu_calls, 1);
    assert_true(!fake.radix && !fake.gtse && fake.proc_tbl == 0);
    assert_false(m.radix);
    /* "keep radix" while the VM is in hash mode is inconsistent */
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x04, 0, 0, 0, NULL), H_PARAMETER);
    /* hash with segment tables: not offered */
    assert_int_equal(hcall(H_REGISTER_PROC_TBL, 0x18 | 0x02, 0x1000, 0, 0, NULL), H_P2);
    assert_int_equal(fake.mmu_calls, 1);
}

static void test_get_cpu_characteristics(void **state)
{
    (void)state;
    uint64_t out[9];
    fake.character = 0xfedcba9876543210ULL, fake.behaviour = 0x8000000000000000ULL;
    assert_int_equal(hcall(H_GET_CPU_CHARACTERISTICS, 0, 0, 0, 0, out), H_SUCCESS);
    assert_true(out[0] == fake.character && out[1] == fake.behaviour);
    fake.char_ret = -ENOTTY;      /* KVM cannot tell: the guest must assume the worst */
    assert_int_equal(hcall(H_GET_CPU_CHARACTERISTICS, 0, 0, 0, 0, out), H_FUNCTION);
}

static void test_unknown_hcalls(void **state)
{
    (void)state;
    int logp[2];
    log_capture(logp);
    assert_int_equal(hcall(0x1234, 0, 0, 0, 0, NULL), H_FUNCTION);
    assert_int_equal(hcall(0x59, VTY_REG, 1, 0, 0, NULL), H_FUNCTION);   /* not a multiple of 4 */
    assert_int_equal(hcall(0x100, 0, 0, 0, 0, NULL), H_FUNCTION);
    assert_int_equal(hcall(0x100, 0, 0, 0, 0, NULL), H_FUNCTION);
    assert_int_equal(hcall(UINT64_MAX, 0, 0, 0, 0, NULL), H_FUNCTION);
    assert_string_equal(console(), "");
    char log[1024] = {0};
    ssize_t n = read(logp[0], log, sizeof(log) - 1);
    assert_true(n > 0);
    char *first = strstr(log, "unimplemented hcall 0x100");
    assert_non_null(first);
    assert_null(strstr(first + strlen("unimplemented hcall 0x100"), "hcall 0x100")); /* once */
    /* Out-of-range and misaligned opcodes share one report, so a guest cannot flood the log. */
    assert_non_null(strstr(log, "unimplemented hcall 0x1234"));
    assert_null(strstr(log, "hcall 0x59"));
    assert_null(strstr(log, "hcall 0xffffffffffffffff"));
    log_capture_end(logp);
}

/* --stats: opcodes map to their own slots (and back), made-up ones to one shared slot; the
 * report lists the largest counts first, by name, and sums vCPUs. */
static void test_stats(void **state)
{
    (void)state;
    assert_int_equal(hcall_slot(H_PUT_TERM_CHAR), H_PUT_TERM_CHAR / 4);
    assert_int_equal(hcall_slot(H_MAX_OPCODE), H_MAX_OPCODE / 4);
    assert_int_equal(hcall_slot(KVMPPC_H_RTAS), HCALL_SLOT_RTAS);
    assert_int_equal(hcall_slot(H_MAX_OPCODE + 4), HCALL_SLOT_OTHER);
    assert_int_equal(hcall_slot(0x59), HCALL_SLOT_OTHER);
    assert_int_equal(hcall_slot(UINT64_MAX), HCALL_SLOT_OTHER);
    assert_true(hcall_of_slot(hcall_slot(H_SET_MODE)) == H_SET_MODE);
    assert_true(hcall_of_slot(HCALL_SLOT_RTAS) == KVMPPC_H_RTAS);

    static struct vcpu_stats a, b, total;
    for (int i = 0; i < 5; i++)
        stats_count_hcall(&a, H_PUT_TERM_CHAR);
    stats_count_hcall(&b, H_PUT_TERM_CHAR);
    for (int i = 0; i < 3; i++)
        stats_count_hcall(&b, KVMPPC_H_RTAS);
    stats_count_hcall(&b, 0x100);        /* served by nobody: shown by number */
    stats_count_hcall(&b, 0x12345);      /* made up: "unknown" */
    for (int i = 0; i < 10; i++)
        stats_count_exit(&a, 19);        /* KVM_EXIT_PAPR_HCALL */
    stats_count_exit(&b, 6);             /* KVM_EXIT_MMIO */
    stats_count_exit(&b, 1000);          /* out of range: counted, not out of bounds */
    a.mmio_reads = 2;
    stats_add(&total, &a);
    stats_add(&total, &b);
    assert_int_equal(total.hcalls[H_PUT_TERM_CHAR / 4], 6);

    int logp[2];
    assert_int_equal(pipe(logp), 0);
    m.log_fd = logp[1];
    stats_report(&m, &total, 2.0);
    m.log_fd = -1;
    close(logp[1]);
    char log[2048] = {0};
    assert_true(read(logp[0], log, sizeof(log) - 1) > 0);
    close(logp[0]);
    assert_non_null(strstr(log, "stats: 12 exits to minivmm in 2.00 s (6/s): PAPR_HCALL 10, "));
    assert_non_null(strstr(log, "stats: hcalls: H_PUT_TERM_CHAR 6, H_RTAS 3, "));
    assert_non_null(strstr(log, "0x100 1"));
    assert_non_null(strstr(log, "unknown 1"));
    assert_non_null(strstr(log, "stats: MMIO: 2 reads, 0 writes"));

    /* More hcalls than one line holds: whole entries only, the first (largest) among them. */
    static struct vcpu_stats many;
    for (uint64_t nr = 4; nr <= 400 * 4; nr += 4)
        for (uint64_t k = 0; k < nr; k++)
            stats_count_hcall(&many, nr);
    assert_int_equal(pipe(logp), 0);
    m.log_fd = logp[1];
    stats_report(&m, &many, 1.0);
    m.log_fd = -1;
    close(logp[1]);
    memset(log, 0, sizeof(log));
    assert_true(read(logp[0], log, sizeof(log) - 1) > 0);
    close(logp[0]);
    char *hl = strstr(log, "stats: hcalls: 0x640 1600, 0x63c 1596, ");
    assert_non_null(hl);
    char *end = strchr(hl, '\n');
    assert_non_null(end);
    *end = 0;
    /* Opcode nr was counted nr times: the last entry must say so in full, not cut short. */
    unsigned long long nr, count;
    assert_int_equal(sscanf(strrchr(hl, ',') + 2, "0x%llx %llu", &nr, &count), 2);
    assert_true(count == nr);
}

/* H_READ (KVM-PR only): entries come out of the table big-endian, one or an aligned four,
 * and an index outside the table is refused whatever its size. */
static void test_h_read(void **state)
{
    (void)state;
    uint64_t out[9];
    assert_int_equal(hcall(H_READ, 0, 0, 0, 0, out), H_FUNCTION);   /* KVM-HV: no table here */
    static uint8_t hpt[64 * 16];
    for (unsigned i = 0; i < sizeof(hpt); i++)
        hpt[i] = (uint8_t)i;
    m.hpt = hpt;
    m.hpt_size = sizeof(hpt);
    assert_int_equal(hcall(H_READ, 0, 1, 0, 0, out), H_SUCCESS);
    assert_true(out[0] == 0x1011121314151617ULL && out[1] == 0x18191a1b1c1d1e1fULL);
    assert_int_equal(hcall(H_READ, H_READ_4, 6, 0, 0, out), H_SUCCESS);   /* entries 4..7 */
    assert_true(out[0] == 0x4041424344454647ULL && out[7] == 0x78797a7b7c7d7e7fULL);
    assert_int_equal(hcall(H_READ, H_READ_4, 63, 0, 0, out), H_SUCCESS);  /* 60..63: the end */
    assert_int_equal(hcall(H_READ, 0, 64, 0, 0, out), H_PARAMETER);
    assert_int_equal(hcall(H_READ, 0, UINT64_MAX, 0, 0, out), H_PARAMETER);
    assert_int_equal(hcall(H_READ, H_READ_4, UINT64_MAX, 0, 0, out), H_PARAMETER);
    assert_int_equal(hcall(H_READ, 0, 1ULL << 60, 0, 0, out), H_PARAMETER);
    m.hpt = NULL;
    m.hpt_size = 0;
}

/* ---- RTAS ---- */

static void test_rtas_time_of_day(void **state)
{
    (void)state;
    assert_int_equal(rtas("get-time-of-day", 0, 8, NULL), 0);
    assert_in_range(rtas_ret(BUF, 1), 2024, 9999);
    assert_in_range(rtas_ret(BUF, 2), 1, 12);
    assert_in_range(rtas_ret(BUF, 3), 1, 31);
    assert_in_range(rtas_ret(BUF, 4), 0, 23);
    assert_in_range(rtas_ret(BUF, 7), 0, 999999999);
    /* the top nibble of the buffer address is ignored, as by the kernel */
    rtas_buf(BUF, (uint32_t)tok("get-time-of-day"), 0, 8, NULL);
    uint64_t a[9] = {0xc000000000000000ULL | BUF};
    assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_SUCCESS);
    assert_int_equal(rtas_ret(BUF, 0), 0);
}

static void test_rtas_power_reboot(void **state)
{
    (void)state;
    uint32_t args[2] = {0xffffffff, 0xffffffff};
    assert_int_equal(rtas("power-off", 1, 1, args), RTAS_PARAM_ERROR);   /* needs 2 args */
    assert_int_equal(fake.shutdown_calls, 0);
    assert_int_equal(rtas("power-off", 2, 1, args), 0);
    assert_int_equal(fake.shutdown_calls, 1);
    assert_int_equal(fake.status, MVM_OK);
    assert_int_equal(rtas("system-reboot", 0, 1, NULL), 0);
    assert_int_equal(fake.shutdown_calls, 2);
    assert_int_equal(fake.status, MVM_REBOOT);
}

static void test_rtas_os_term(void **state)
{
    (void)state;
    static const char panic[] = "Kernel panic - test";
    memcpy(m.mem.host + 0x8000, panic, sizeof(panic));
    uint32_t arg = 0x8000;
    assert_int_equal(rtas("ibm,os-term", 1, 1, &arg), 0);
    assert_int_equal(fake.status, MVM_PANIC);
    assert_non_null(strstr(fake.why, panic));

    /* a string that runs into the end of RAM without a NUL: ASan watches the last byte */
    m.mem.host[RAM - 1] = 'Z';
    arg = RAM - 1;
    assert_int_equal(rtas("ibm,os-term", 1, 1, &arg), 0);
    assert_int_equal(fake.status, MVM_PANIC);
    assert_non_null(strstr(fake.why, "Z"));
    arg = 0xfffffff0;                 /* outside RAM altogether */
    assert_int_equal(rtas("ibm,os-term", 1, 1, &arg), 0);
    assert_int_equal(fake.shutdown_calls, 3);
}

static void test_rtas_display_character(void **state)
{
    (void)state;
    uint32_t arg = 'Q';
    assert_int_equal(rtas("display-character", 1, 1, &arg), 0);
    assert_string_equal(console(), "Q");
}

static void test_rtas_cpus(void **state)
{
    (void)state;
    uint32_t args[3] = {1, 0x1234560, 0xabcdef};
    assert_int_equal(rtas("query-cpu-stopped-state", 1, 2, args), 0);
    assert_int_equal(rtas_ret(BUF, 1), CPU_STOPPED);
    assert_int_equal(rtas("start-cpu", 3, 1, args), 0);
    assert_int_equal(fake.start_calls, 1);
    assert_true(fake.start_cpu == 1 && fake.start_pc == 0x1234560 && fake.start_r3 == 0xabcdef);
    assert_int_equal(rtas("query-cpu-stopped-state", 1, 2, args), 0);
    assert_int_equal(rtas_ret(BUF, 1), CPU_RUNNING);
    assert_int_equal(rtas("start-cpu", 3, 1, args), RTAS_HW_ERROR);      /* -EBUSY */
    args[0] = 5;
    assert_int_equal(rtas("start-cpu", 3, 1, args), RTAS_PARAM_ERROR);   /* -ENOENT */
    assert_int_equal(rtas("query-cpu-stopped-state", 1, 2, args), RTAS_PARAM_ERROR);
    assert_int_equal(fake.start_calls, 1);
    assert_int_equal(rtas_on(1, "stop-self", 0, 1, NULL), 0);
    assert_true(fake.stop_calls == 1 && fake.stop_cpu == 1);
}

static void test_rtas_bad_tokens(void **state)
{
    (void)state;
    const uint32_t tokens[] = {0x1fff, RTAS_TOKEN_BASE + 99, 0, 0xffffffff};
    for (unsigned i = 0; i < 4; i++) {
        rtas_buf(BUF, tokens[i], 0, 2, NULL);
        uint64_t a[9] = {BUF};
        assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_SUCCESS);
        assert_int_equal((int32_t)rtas_ret(BUF, 0), -3);
    }
    assert_int_equal(fake.shutdown_calls + fake.start_calls + fake.stop_calls, 0);
}

/* The call must be refused as a whole with H_PARAMETER and no byte of RAM changed. */
static void expect_rejected(uint64_t gpa)
{
    uint8_t *before = malloc(RAM);
    assert_non_null(before);
    memcpy(before, m.mem.host, RAM);
    uint64_t a[9] = {gpa};
    assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_PARAMETER);
    assert_memory_equal(before, m.mem.host, RAM);
    free(before);
}

static void test_rtas_bad_buffers(void **state)
{
    (void)state;
    uint32_t t = (uint32_t)tok("get-time-of-day");
    rtas_buf(BUF, t, 17, 0, NULL);
    expect_rejected(BUF);
    rtas_buf(BUF, t, 0, 17, NULL);
    expect_rejected(BUF);
    rtas_buf(BUF, t, 8, 9, NULL);                  /* nargs + nret = 17 */
    expect_rejected(BUF);
    rtas_buf(BUF, t, 0, 0, NULL);                  /* nowhere to put the status */
    expect_rejected(BUF);
    put_be32(BUF + 4, 0x80000000);                 /* nargs + nret must not wrap */
    put_be32(BUF + 8, 0x80000001);
    expect_rejected(BUF);
    expect_rejected(RAM);                          /* beyond RAM */
    expect_rejected(RAM - 8);                      /* header straddles the end */
    expect_rejected(UINT64_MAX - 3);
    put_be32(RAM - 16, t);                         /* header fits, cells do not */
    put_be32(RAM - 12, 0);
    put_be32(RAM - 8, 8);
    expect_rejected(RAM - 16);
}

static void test_rtas_buffer_at_end_of_ram(void **state)
{
    (void)state;
    uint64_t gpa = RAM - 12 - 4 * 8;               /* the last cell is the last word of RAM */
    rtas_buf(gpa, (uint32_t)tok("get-time-of-day"), 0, 8, NULL);
    uint64_t a[9] = {gpa};
    assert_int_equal(hcall_dispatch(&m, 0, KVMPPC_H_RTAS, a), H_SUCCESS);
    assert_int_equal(rtas_ret(gpa, 0), 0);
    assert_true(rtas_ret(gpa, 7) != 0xdeadbeef);
}

static uint32_t seen_args[3];

static int32_t svc_echo(struct machine *mm, int cpu, const uint32_t *args, unsigned nargs,
                        uint32_t *rets, unsigned nret)
{
    (void)mm, (void)cpu;
    memcpy(seen_args, args, sizeof(seen_args));
    assert_int_equal(nargs, 3);
    assert_int_equal(nret, 3);
    rets[1] = args[0] + 1;
    rets[2] = args[2];
    return 7;
}

static void test_rtas_register(void **state)
{
    (void)state;
    static const struct rtas_service echo = {"test-echo", svc_echo, 3, 2};
    static const struct rtas_service in_kvm = {"test-in-kvm", NULL, 0, 1};
    static const struct rtas_service dup = {"power-off", svc_echo, 0, 1};
    assert_int_equal(rtas_register(m.rtas, &dup), -1);
    int next = RTAS_TOKEN_BASE + (int)m.rtas->n;   /* tokens are handed out in order */
    int t = rtas_register(m.rtas, &echo);
    assert_int_equal(t, next);
    assert_int_equal(rtas_token(m.rtas, "test-echo"), t);
    assert_int_equal(rtas_token(m.rtas, "no-such-service"), -1);
    uint32_t args[3] = {0x11223344, 0x55667788, 0x99aabbcc};
    assert_int_equal(rtas("test-echo", 3, 3, args), 7);
    assert_memory_equal(seen_args, args, sizeof(args));
    assert_int_equal(rtas_ret(BUF, 1), 0x11223345);
    assert_int_equal(rtas_ret(BUF, 2), 0x99aabbcc);
    assert_true(rtas_register(m.rtas, &in_kvm) > 0);
    assert_int_equal(rtas("test-in-kvm", 0, 1, NULL), RTAS_HW_ERROR);

    static char names[RTAS_MAX_SERVICES][16];
    static struct rtas_service more[RTAS_MAX_SERVICES];
    for (unsigned i = 0; m.rtas->n < RTAS_MAX_SERVICES; i++) {
        snprintf(names[i], sizeof(names[i]), "filler-%u", i);
        more[i] = (struct rtas_service){names[i], svc_echo, 0, 1};
        int want = RTAS_TOKEN_BASE + (int)m.rtas->n;
        assert_int_equal(rtas_register(m.rtas, &more[i]), want);
    }
    static const struct rtas_service extra = {"one-too-many", svc_echo, 0, 1};
    assert_int_equal(rtas_register(m.rtas, &extra), -1);
    assert_int_equal(m.rtas->n, RTAS_MAX_SERVICES);
    assert_int_equal(rtas_token(m.rtas, "one-too-many"), -1);
}

static void test_rtas_blob(void **state)
{
    (void)state;
    static const uint8_t sc1[4] = {0x44, 0x00, 0x00, 0x22}, blr[4] = {0x4e, 0x80, 0x00, 0x20};
    assert_int_equal(rtas_blob_size, 20);
    assert_memory_equal(rtas_blob + 12, sc1, 4);
    assert_memory_equal(rtas_blob + rtas_blob_size - 4, blr, 4);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_term_char), T(test_get_term_char), T(test_set_mode),
        T(test_register_proc_tbl_radix), T(test_register_proc_tbl_hash),
        T(test_get_cpu_characteristics), T(test_unknown_hcalls), T(test_h_read),
        T(test_rtas_time_of_day), T(test_rtas_power_reboot), T(test_rtas_os_term),
        T(test_rtas_display_character), T(test_rtas_cpus), T(test_rtas_bad_tokens),
        T(test_rtas_bad_buffers), T(test_rtas_buffer_at_end_of_ram), T(test_rtas_register),
        T(test_rtas_blob), T(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
