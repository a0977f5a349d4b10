/* The PAPR services a payload other than Linux relies on: terminal 0, H_SET_SPRG0,
 * H_PAGE_INIT, H_RANDOM, the hcalls refused on purpose, and the guest's settable clock (RTAS
 * set-/get-time-of-day and the calendar arithmetic under them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <time.h>

#include "../../vmm/civil.h"
#include "fake_machine.h"
#include "papr_calls.h"

#define PG H_PAGE_INIT_SIZE
#define DST 0x10000u
#define SRC 0x20000u

static void fill(uint64_t gpa, uint8_t v)
{
    memset((uint8_t *)m.mem.host + gpa, v, PG);
}

static bool all(uint64_t gpa, uint8_t v)
{
    for (uint64_t i = 0; i < PG; i++)
        if (((uint8_t *)m.mem.host)[gpa + i] != v)
            return false;
    return true;
}

static void test_terminal_zero(void **state)
{
    (void)state;
    uint64_t out[9];
    assert_int_equal(hcall(H_PUT_TERM_CHAR, 0, 2, (uint64_t)'o' << 56 | (uint64_t)'k' << 48, 0,
                           NULL), H_SUCCESS);
    assert_string_equal(console(), "ok");
    assert_int_equal(vty_push_input(m.vty, (const uint8_t *)"x", 1), 1);
    assert_int_equal(hcall(H_GET_TERM_CHAR, 0, 0, 0, 0, out), H_SUCCESS);
    assert_true(out[0] == 1 && out[1] == (uint64_t)'x' << 56);
    assert_int_equal(hcall(H_PUT_TERM_CHAR, 0, 17, 0, 0, NULL), H_PARAMETER);
}

static void test_set_sprg0(void **state)
{
    (void)state;
    assert_int_equal(hcall(H_SET_SPRG0, 0x1234567890abcdefULL, 0, 0, 0, NULL), H_SUCCESS);
    assert_true(fake.sprg0[0] == 0x1234567890abcdefULL);
    fake.sprg0_ret = -EIO;
    assert_int_equal(hcall(H_SET_SPRG0, 1, 0, 0, 0, NULL), H_HARDWARE);
}

static void test_page_init(void **state)
{
    (void)state;
    fill(DST, 0xaa), fill(SRC, 0x55);
    assert_int_equal(hcall(H_PAGE_INIT, H_ZERO_PAGE, DST, 0, 0, NULL), H_SUCCESS);
    assert_true(all(DST, 0) && all(SRC, 0x55));
    assert_int_equal(hcall(H_PAGE_INIT, H_COPY_PAGE | H_ICACHE_SYNCHRONIZE, DST, SRC, 0, NULL),
                     H_SUCCESS);
    assert_true(all(DST, 0x55));
    /* Copy wins over zero; cache flags alone touch no byte; no flag at all is a no-op. */
    fill(SRC, 0x66);
    assert_int_equal(hcall(H_PAGE_INIT, H_COPY_PAGE | H_ZERO_PAGE, DST, SRC, 0, NULL), H_SUCCESS);
    assert_true(all(DST, 0x66));
    assert_int_equal(hcall(H_PAGE_INIT, H_ICACHE_INVALIDATE, DST, 0, 0, NULL), H_SUCCESS);
    assert_int_equal(hcall(H_PAGE_INIT, 0, DST, 0, 0, NULL), H_SUCCESS);
    assert_true(all(DST, 0x66));
    /* The last page of RAM is fine; copying a page onto itself is too. */
    assert_int_equal(hcall(H_PAGE_INIT, H_COPY_PAGE, RAM - PG, RAM - PG, 0, NULL), H_SUCCESS);
}

static void test_page_init_refused(void **state)
{
    (void)state;
    fill(DST, 0xaa);
    static const struct { uint64_t flags, dst, src; } bad[] = {
        {H_ZERO_PAGE, DST + 8, 0},                 /* destination not page aligned */
        {H_ZERO_PAGE, DST + 0x800, 0},             /* aligned to 2 KiB only */
        {H_ZERO_PAGE, RAM, 0},                     /* beyond RAM */
        {H_ZERO_PAGE, UINT64_MAX & ~(PG - 1), 0},  /* the top of the address space */
        {H_COPY_PAGE, DST, SRC + 4},               /* source not aligned */
        {H_COPY_PAGE, DST, RAM},                   /* source beyond RAM */
        {H_COPY_PAGE, DST, UINT64_MAX & ~(PG - 1)},
        {H_ZERO_PAGE | 1, DST, 0},                 /* an undefined flag */
        {1ULL << 63 | H_ZERO_PAGE, DST, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hcall(H_PAGE_INIT, bad[i].flags, bad[i].dst, bad[i].src, 0, NULL),
                         H_PARAMETER);
    assert_true(all(DST, 0xaa));   /* nothing was written by any of them */
}

static void test_random(void **state)
{
    (void)state;
    uint64_t a[9], b[9];
    assert_int_equal(hcall(H_RANDOM, 0, 0, 0, 0, a), H_SUCCESS);
    assert_int_equal(hcall(H_RANDOM, 0, 0, 0, 0, b), H_SUCCESS);
    assert_true(a[0] != b[0]);   /* 2^-64 to fail by chance */
}

/* Asked at every boot by Linux for facilities KVM guests lack: refused, and not logged as
 * unknown (the log is for what nobody has looked at). */
static void test_absent_on_purpose(void **state)
{
    (void)state;
    int logp[2];
    log_capture(logp);
    const uint64_t absent[] = {H_REGISTER_VPA, H_SIGNAL_SYS_RESET, H_QUERY_VAS_CAPABILITIES,
                               H_GET_PERF_COUNTER_INFO, H_GET_24X7_CATALOG_PAGE, H_GET_24X7_DATA};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_int_equal(hcall(absent[i], 0, 0, 0, 0, NULL), H_FUNCTION);
        assert_non_null(hcall_name(absent[i]));
    }
    char log[256];
    assert_true(read(logp[0], log, sizeof(log)) < 0);
    log_capture_end(logp);
}

/* ---- the clock ---- */

static int64_t guest_clock(void)
{
    assert_int_equal(rtas("get-time-of-day", 0, 8, NULL), 0);
    struct civil_time t = {rtas_ret(BUF, 1), rtas_ret(BUF, 2), rtas_ret(BUF, 3),
                           rtas_ret(BUF, 4), rtas_ret(BUF, 5), rtas_ret(BUF, 6)};
    assert_true(civil_valid(&t));
    assert_in_range(rtas_ret(BUF, 7), 0, 999999999);
    return civil_to_secs(&t);
}

static void test_set_time_of_day(void **state)
{
    (void)state;
    int64_t host = time(NULL);
    assert_in_range(guest_clock() - host, 0, 2);          /* offset 0: the host's clock */
    uint32_t at[7] = {2006, 6, 17, 12, 0, 0, 500000000};
    assert_int_equal(rtas("set-time-of-day", 7, 1, at), 0);
    struct civil_time want = {2006, 6, 17, 12, 0, 0};
    assert_in_range(guest_clock() - civil_to_secs(&want), 0, 2);
    assert_in_range(time(NULL) - host, 0, 2);             /* the host's clock untouched */
    /* Far in both directions: the offset holds the whole calendar. */
    uint32_t far[7] = {9999, 12, 31, 23, 59, 0, 0};
    assert_int_equal(rtas("set-time-of-day", 7, 1, far), 0);
    assert_int_equal(rtas_ret(BUF, 0), 0);
    struct civil_time end = {9999, 12, 31, 23, 59, 0};
    assert_in_range(guest_clock() - civil_to_secs(&end), 0, 2);
    uint32_t early[7] = {1, 1, 1, 0, 0, 30, 0};
    assert_int_equal(rtas("set-time-of-day", 7, 1, early), 0);
    struct civil_time start = {1, 1, 1, 0, 0, 30};
    assert_in_range(guest_clock() - civil_to_secs(&start), 0, 2);
}

static void test_set_time_of_day_refused(void **state)
{
    (void)state;
    m.rtc_offset_us = 1000000;
    static const uint32_t bad[][7] = {
        {2006, 13, 1, 0, 0, 0, 0}, {2006, 0, 1, 0, 0, 0, 0}, {2006, 2, 29, 0, 0, 0, 0},
        {2006, 4, 31, 0, 0, 0, 0}, {2006, 1, 0, 0, 0, 0, 0}, {2006, 1, 1, 24, 0, 0, 0},
        {2006, 1, 1, 0, 60, 0, 0}, {2006, 1, 1, 0, 0, 60, 0}, {2006, 1, 1, 0, 0, 0, 1000000000},
        {0, 1, 1, 0, 0, 0, 0}, {10000, 1, 1, 0, 0, 0, 0}, {UINT32_MAX, 1, 1, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rtas("set-time-of-day", 7, 1, bad[i]), RTAS_PARAM_ERROR);
    uint32_t leap[7] = {2004, 2, 29, 0, 0, 0, 0};
    assert_int_equal(rtas("set-time-of-day", 6, 1, leap), RTAS_PARAM_ERROR);   /* 7 args */
    assert_true(m.rtc_offset_us == 1000000);   /* none of them moved the clock */
    assert_int_equal(rtas("set-time-of-day", 7, 1, leap), 0);
}

/* lparcfg's parameters: a 2-byte length, then the value, cut to the buffer. */
static void test_get_system_parameter(void **state)
{
    (void)state;
    const uint64_t out = 0x8000;
    uint8_t *b = (uint8_t *)m.mem.host + out;
    uint32_t a[3] = {20, out, 256};
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), 0);
    const char want[] = "MaxEntCap=200,DesMem=1,DesProcs=2,MaxPlatProcs=2";
    assert_int_equal(b[0] << 8 | b[1], sizeof(want));      /* the NUL counts */
    assert_memory_equal(b + 2, want, sizeof(want));
    memset(b, 0xee, 32);
    a[2] = 12;                                               /* 10 bytes of value fit */
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), 0);
    assert_true(b[0] == 0 && b[1] == 10 && memcmp(b + 2, want, 10) == 0 && b[12] == 0xee);
    a[0] = 42;
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), 0);
    assert_true(b[0] == 0 && b[1] == 1 && b[2] == 0);
    a[0] = 48;                                               /* no UUID: not supported */
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), RTAS_NOT_SUPPORTED);
    a[0] = 20, a[2] = 1;
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), -9999);
    a[1] = RAM - 4, a[2] = 256;                               /* the value would leave RAM */
    assert_int_equal(rtas("ibm,get-system-parameter", 3, 1, a), -9999);
    assert_int_equal(rtas("ibm,get-system-parameter", 2, 1, a), RTAS_PARAM_ERROR);
}

static void test_civil(void **state)
{
    (void)state;
    struct civil_time t;
    assert_int_equal(civil_to_days(1970, 1, 1), 0);
    assert_int_equal(civil_to_days(2000, 3, 1), 11017);
    assert_int_equal(civil_to_days(1969, 12, 31), -1);
    assert_int_equal(civil_to_days(1, 1, 1), -719162);
    for (int64_t d = -719162; d < 2932897; d += 997) {   /* both ways agree, years 1 to 9999 */
        civil_from_days(d, &t);
        assert_int_equal(civil_to_days(t.year, t.month, t.day), d);
    }
    civil_from_secs(-1, &t);
    assert_true(t.year == 1969 && t.month == 12 && t.day == 31 && t.hour == 23 && t.sec == 59);
    int64_t s;
    assert_int_equal(civil_parse("2006-06-17", &s), 0);
    assert_int_equal(s, 1150502400);
    assert_int_equal(civil_parse("2006-06-17T16:01:21", &s), 0);
    assert_int_equal(s, 1150502400 + 16 * 3600 + 60 + 21);
    assert_int_equal(civil_parse("2006-06-17 16:01", &s), 0);
    assert_int_equal(s, 1150502400 + 16 * 3600 + 60);
    static const char *const bad[] = {
        "", "2006", "2006-6-17", "2006-06-17T", "2006-06-17X16:01", "2006-02-30", "2006-13-01",
        "2006-06-17T24:00", "2006-06-17T16:01:60", " 2006-06-17", "2006-06-17 ", "2006/06/17",
        "0000-01-01", "+006-06-17", "2006-06-17T16:01:21Z", "now",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(civil_parse(bad[i], &s), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_terminal_zero), T(test_set_sprg0), T(test_page_init), T(test_page_init_refused),
        T(test_random), T(test_absent_on_purpose), T(test_set_time_of_day),
        T(test_set_time_of_day_refused), T(test_get_system_parameter), T(test_civil),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
