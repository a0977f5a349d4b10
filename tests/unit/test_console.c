/* The console sink (vmm/console.c): copies to every fd, first-output timing, --expect /
 * --fail-on / panic patterns across writes, the guest's exit-code line, and writes that give
 * up when aborted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/console.h"

static struct console_sink s;
static int outp[2], logp[2], tapp[2];

/* What on_match was told. */
static struct {
    int calls;
    enum console_pattern_kind kind;
    char pattern[CONSOLE_PATTERN_MAX + 1];
    bool line_null;
    char line[CONSOLE_LINE_MAX];
} match;

static void on_match(void *opaque, enum console_pattern_kind kind, const char *pattern,
                     const char *line)
{
    assert_ptr_equal(opaque, &match);
    match.calls++;
    match.kind = kind;
    snprintf(match.pattern, sizeof(match.pattern), "%s", pattern);
    match.line_null = line == NULL;
    snprintf(match.line, sizeof(match.line), "%s", line ? line : "");
}

static int open_pipe(int p[2])
{
    if (pipe(p) != 0)
        return -1;
    return fcntl(p[0], F_SETFL, O_NONBLOCK);
}

static int csetup(void **state)
{
    (void)state;
    memset(&match, 0, sizeof(match));
    console_sink_init(&s);
    if (open_pipe(outp) || open_pipe(logp) || open_pipe(tapp))
        return -1;
    s.out_fd = outp[1], s.log_fd = logp[1], s.tap_fd = tapp[1];
    s.on_match = on_match;
    s.match_opaque = &match;
    return 0;
}

static int cteardown(void **state)
{
    (void)state;
    console_sink_destroy(&s);
    int *fds[] = {outp, logp, tapp};
    for (int i = 0; i < 3; i++)
        close(fds[i][0]), close(fds[i][1]);
    return 0;
}

static void put(const char *text)
{
    assert_int_equal(console_sink_write(&s, (const uint8_t *)text, strlen(text)), 0);
}

static const char *drain(int fd)
{
    static char buf[512];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_copies_and_timing(void **state)
{
    (void)state;
    assert_true(s.start_ns > 0);
    assert_true(s.first_output_ns == 0);
    assert_int_equal(console_sink_write(&s, (const uint8_t *)"", 0), 0);
    assert_true(s.first_output_ns == 0);            /* nothing written yet */
    put("hello ");
    uint64_t first = s.first_output_ns;
    assert_true(first >= s.start_ns);
    put("world\r\n");
    assert_true(s.first_output_ns == first);        /* only the first write counts */
    assert_string_equal(drain(outp[0]), "hello world\r\n");
    assert_string_equal(drain(logp[0]), "hello world\r\n");
    assert_string_equal(drain(tapp[0]), "hello world\r\n");
    assert_int_equal(s.bytes, 13);
    assert_int_equal(match.calls, 0);               /* no patterns, no matches */
    assert_int_equal(s.exit_code, -1);
    console_sink_start(&s);                         /* timings start over */
    assert_true(s.first_output_ns == 0);
    put("x");
    assert_true(s.first_output_ns >= s.start_ns);
    /* an fd of -1 is simply skipped */
    s.log_fd = -1;
    put("y");
    assert_string_equal(drain(outp[0]), "xy");
    assert_string_equal(drain(logp[0]), "x");
    assert_string_equal(drain(tapp[0]), "xy");
}

static void test_expect_split(void **state)
{
    (void)state;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "MINIVMM-UP"), 0);
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_FAIL, "some failure"), 0);
    put("boot: MINI");
    put("VMM-");
    assert_int_equal(match.calls, 0);
    put("UP");                                      /* no newline: a prompt, say */
    assert_int_equal(match.calls, 1);
    assert_int_equal(match.kind, PATTERN_EXPECT);
    assert_string_equal(match.pattern, "MINIVMM-UP");
    assert_true(match.line_null);
    put("\nMINIVMM-UP\nsome failure\n");           /* only the first match fires */
    assert_int_equal(match.calls, 1);
    assert_string_equal(drain(outp[0]), "boot: MINIVMM-UP\nMINIVMM-UP\nsome failure\n");
}

static void test_fail_waits_for_line(void **state)
{
    (void)state;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_FAIL, "BAD THING"), 0);
    put("earlier line\r\n[   1.0] a BAD TH");
    put("ING happened");
    assert_int_equal(match.calls, 0);               /* the line is not complete */
    put(" here\r");
    assert_int_equal(match.calls, 0);
    put("\nnext line\n");
    assert_int_equal(match.calls, 1);
    assert_int_equal(match.kind, PATTERN_FAIL);
    assert_string_equal(match.pattern, "BAD THING");
    assert_false(match.line_null);
    assert_string_equal(match.line, "[   1.0] a BAD THING happened here");
    put("BAD THING again\n");
    assert_int_equal(match.calls, 1);
}

static void test_panic_and_first_match(void **state)
{
    (void)state;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "login:"), 0);
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_PANIC, CONSOLE_DEFAULT_PANIC), 0);
    put("Kernel panic - not syncing: VFS: Unable to mount root fs\r\nlogin:");
    assert_int_equal(match.calls, 1);               /* the panic came first */
    assert_int_equal(match.kind, PATTERN_PANIC);
    assert_string_equal(match.line, "Kernel panic - not syncing: VFS: Unable to mount root fs");
    put("login:\n");
    assert_int_equal(match.calls, 1);
}

/* Two patterns in one write: the earliest wins whatever the order they were added in. */
static void test_earliest_in_write(void **state)
{
    (void)state;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_FAIL, "oops"), 0);
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "ready"), 0);
    put("ready and then oops\n");
    assert_int_equal(match.calls, 1);
    assert_int_equal(match.kind, PATTERN_EXPECT);
}

static int exit_code_of(const char *text)
{
    struct console_sink t;
    console_sink_init(&t);
    assert_int_equal(console_sink_write(&t, (const uint8_t *)text, strlen(text)), 0);
    int code = t.exit_code;
    console_sink_destroy(&t);
    return code;
}

static void test_exit_code(void **state)
{
    (void)state;
    assert_int_equal(exit_code_of("minivmm-exit-code: 42\r\n"), 42);
    assert_int_equal(exit_code_of("x\nminivmm-exit-code: 0\n"), 0);
    assert_int_equal(exit_code_of("minivmm-exit-code: 255\n"), 255);
    assert_int_equal(exit_code_of("minivmm-exit-code: 300\n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: 256\n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: -1\n"), -1);
    assert_int_equal(exit_code_of("xminivmm-exit-code: 1\n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: 4x\n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: \n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: 99999999999999999999\n"), -1);
    assert_int_equal(exit_code_of("minivmm-exit-code: 42"), -1);   /* line not ended */
    /* split across writes, and a later report replaces an earlier one */
    put("minivmm-exit");
    put("-code: 9");
    assert_int_equal(s.exit_code, -1);
    put("\r\n");
    assert_int_equal(s.exit_code, 9);
    put("minivmm-exit-code: 3\n");
    assert_int_equal(s.exit_code, 3);
}

/* Lines after a match in the same write are still lines: the exit code that follows an
 * --expect pattern (or a failure line) must be seen. */
static void test_exit_code_after_match_same_write(void **state)
{
    (void)state;
    /* Regression: the rest of a write that fired a match was once not line-tracked. */
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "MINIVMM-UP"), 0);
    put("MINIVMM-UP\nminivmm-exit-code: 7\n");
    assert_int_equal(match.calls, 1);
    assert_int_equal(s.exit_code, 7);
}

static void test_pattern_limits(void **state)
{
    (void)state;
    char big[CONSOLE_PATTERN_MAX + 2];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, ""), -1);
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, big), -1);   /* 129 bytes */
    big[CONSOLE_PATTERN_MAX] = '\0';
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_FAIL, big), 0);     /* 128: fits */
    for (int i = 1; i < CONSOLE_MAX_PATTERNS; i++) {
        char p[16];
        snprintf(p, sizeof(p), "pat-%d", i);
        assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, p), 0);
    }
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "one-too-many"), -1);
    assert_int_equal(s.npat, CONSOLE_MAX_PATTERNS);
    /* the longest pattern, split in three, is still found */
    put("<");
    assert_int_equal(console_sink_write(&s, (const uint8_t *)big, 50), 0);
    assert_int_equal(console_sink_write(&s, (const uint8_t *)big + 50, 50), 0);
    assert_int_equal(console_sink_write(&s, (const uint8_t *)big + 100, 28), 0);
    assert_int_equal(match.calls, 0);
    put(">\n");
    assert_int_equal(match.calls, 1);
    assert_int_equal(match.kind, PATTERN_FAIL);
    assert_int_equal(strlen(match.pattern), CONSOLE_PATTERN_MAX);
}

/* 100 KB in one write: the pattern is found past the sink's internal 4 KB chunks, including
 * across a chunk boundary. */
static void test_big_write(void **state)
{
    (void)state;
    s.out_fd = s.log_fd = s.tap_fd = -1;            /* more than a pipe holds */
    const size_t n = 100 * 1024;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)('a' + i % 26);
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "NEEDLE"), 0);
    memcpy(buf + n - 40, "NEEDLE", 6);
    assert_int_equal(console_sink_write(&s, buf, n), 0);
    assert_int_equal(match.calls, 1);
    console_sink_destroy(&s);

    console_sink_init(&s);                          /* straddling 20 * 4096 */
    s.on_match = on_match, s.match_opaque = &match;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_EXPECT, "NEEDLE"), 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)('a' + i % 26);
    memcpy(buf + 20 * 4096 - 3, "NEEDLE", 6);
    assert_int_equal(console_sink_write(&s, buf, n), 0);
    assert_int_equal(match.calls, 2);

    console_sink_destroy(&s);                       /* with lines, the failure line is reported */
    console_sink_init(&s);
    s.on_match = on_match, s.match_opaque = &match;
    assert_int_equal(console_sink_add_pattern(&s, PATTERN_FAIL, "NEEDLE"), 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = i % 80 == 79 ? '\n' : (uint8_t)('a' + i % 26);
    memcpy(buf + n - 70, "NEEDLE", 6);
    buf[n - 1] = '\n';
    assert_int_equal(console_sink_write(&s, buf, n), 0);
    assert_int_equal(match.calls, 3);
    assert_non_null(strstr(match.line, "NEEDLE"));
    assert_int_equal(s.bytes, n);
    free(buf);
}

/* A write end that is full and that nobody reads. */
static void full_pipe(int p[2])
{
    assert_int_equal(pipe(p), 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static uint8_t junk[4096];
    while (write(p[1], junk, sizeof(junk)) > 0)
        ;
    assert_int_equal(errno, EAGAIN);
}

static bool abort_flag;

static void *set_abort_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __atomic_store_n(&abort_flag, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_write_all_aborted(void **state)
{
    (void)state;
    int p[2];
    full_pipe(p);
    bool aborted = true;
    assert_int_equal(console_write_all(p[1], (const uint8_t *)"abc", 3, &aborted), -1);

    abort_flag = false;
    pthread_t t;
    double t0 = now_s();
    assert_int_equal(pthread_create(&t, NULL, set_abort_later, NULL), 0);
    assert_int_equal(console_write_all(p[1], (const uint8_t *)"abc", 3, &abort_flag), -1);
    pthread_join(t, NULL);
    double took = now_s() - t0;
    assert_true(took >= 0.09 && took < 5.0);

    /* the sink: its out_fd full, aborted -> the write reports failure instead of hanging */
    s.out_fd = p[1];
    console_sink_abort(&s);
    assert_int_equal(console_sink_write(&s, (const uint8_t *)"abc", 3), -1);

    /* a reader gone for good: an error, not a hang (SIGPIPE ignored, as the VMM does) */
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(console_write_all(p[1], (const uint8_t *)"abc", 3, NULL), -1);
    close(p[1]);
}

static void test_write_all_drained(void **state)
{
    (void)state;
    int p[2];
    full_pipe(p);
    char big[8192];
    assert_true(read(p[0], big, sizeof(big)) > 0);  /* room for the 3 bytes */
    bool aborted = false;
    assert_int_equal(console_write_all(p[1], (const uint8_t *)"abc", 3, &aborted), 0);
    close(p[0]);
    close(p[1]);
}

/* ---- a blocking stdout that nobody reads (the real one is blocking: not ours to change) ---- */

struct blocked_writer {
    int fd;
    size_t len;
    bool *aborted;
    struct console_sink *sink;   /* write through the sink instead, if set */
    int result;
    bool done;                   /* atomic */
};

static void *write_blocked(void *arg)
{
    struct blocked_writer *w = arg;
    size_t len = w->len;
    uint8_t *buf = calloc(1, len);
    w->result = w->sink ? console_sink_write(w->sink, buf, len)
                        : console_write_all(w->fd, buf, len, w->aborted);
    free(buf);
    __atomic_store_n(&w->done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static void kick_handler(int sig)
{
    (void)sig;
}

/* Waits up to `limit` seconds for the writer to give up; a writer stuck for ever is a
 * failure of the test, not a hung test run. */
static bool gave_up_within(struct blocked_writer *w, pthread_t t, double limit)
{
    double t0 = now_s();
    while (!__atomic_load_n(&w->done, __ATOMIC_SEQ_CST) && now_s() - t0 < limit) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!__atomic_load_n(&w->done, __ATOMIC_SEQ_CST))
        return false;   /* the thread is left blocked: the process ends with the test */
    pthread_join(t, NULL);
    return true;
}

/* A write larger than the pipe holds, on a blocking pipe: the stop flag and one signal (all
 * that a stop used to send each vCPU) must end it, although the signal lands after part of
 * the write went in, where write() returns short rather than failing with EINTR. */
static void test_blocking_pipe_stops(void **state)
{
    (void)state;
    struct sigaction sa = {.sa_handler = kick_handler};   /* no SA_RESTART, like the VMM */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    int p[2];
    assert_int_equal(pipe(p), 0);   /* blocking, never read */
    bool aborted = false;
    struct blocked_writer w = {.fd = p[1], .len = 1 << 20, .aborted = &aborted};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_blocked, &w), 0);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);   /* the pipe is full by now */
    __atomic_store_n(&aborted, true, __ATOMIC_SEQ_CST);
    pthread_kill(t, SIGUSR2);
    assert_true(gave_up_within(&w, t, 2.0));
    assert_int_equal(w.result, -1);
    close(p[0]);
    close(p[1]);
}

/* Two vCPUs writing to the same full, blocking stdout: the one waiting for the sink's lock
 * must not enter a blocking write once the run is stopping. */
static void test_sink_second_writer_stops(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    s.out_fd = p[1];
    struct blocked_writer a = {.len = 1 << 20, .sink = &s}, b = {.len = 1 << 20, .sink = &s};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, write_blocked, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, write_blocked, &b), 0);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    console_sink_abort(&s);
    assert_true(gave_up_within(&a, ta, 2.0));
    assert_true(gave_up_within(&b, tb, 2.0));
    assert_int_equal(a.result, -1);
    assert_int_equal(b.result, -1);
    close(p[0]);
    close(p[1]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, csetup, cteardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_copies_and_timing), T(test_expect_split), T(test_fail_waits_for_line),
        T(test_panic_and_first_match), T(test_earliest_in_write), T(test_exit_code),
        T(test_exit_code_after_match_same_write), T(test_pattern_limits), T(test_big_write),
        T(test_write_all_aborted), T(test_write_all_drained), T(test_blocking_pipe_stops),
        T(test_sink_second_writer_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
