/* The console sink writes a regular file without polling it first (a system call saved per
 * console write, 16 bytes each on the sPAPR vty), and still polls what can be full: a pipe.
 * This program's own poll() stands in for the C library's (the executable's definition is
 * the one the sink's calls bind to) and counts the calls for the fds under test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/console.h"

static int watched = -1;
static unsigned polls;

/* (glibc declares poll's array write-only, which the fds it is given are not.) */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (nfds == 1 && fds[0].fd == watched)
        polls++;
    struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L};
    return (int)syscall(SYS_ppoll, fds, nfds, timeout < 0 ? NULL : &ts, NULL, (size_t)8);
}

/* Writes "hello" through a sink whose output (or log) is fd, twice; returns the polls of fd. */
static unsigned polls_writing(int fd, bool as_log)
{
    struct console_sink s;
    console_sink_init(&s);
    if (as_log) {
        s.log_fd = fd;
        s.log_is_file = console_fd_is_file(fd);
    } else {
        s.out_fd = fd;
        s.out_is_file = console_fd_is_file(fd);
    }
    watched = fd;
    polls = 0;
    assert_int_equal(console_sink_write(&s, (const uint8_t *)"hello", 5), 0);
    assert_int_equal(console_sink_write(&s, (const uint8_t *)"hello", 5), 0);
    watched = -1;
    console_sink_destroy(&s);
    return polls;
}

static void test_file_is_not_polled(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = fileno(f);
    assert_true(console_fd_is_file(fd));
    assert_int_equal(polls_writing(fd, false), 0);
    assert_int_equal(polls_writing(fd, true), 0);
    char got[32] = {0};
    assert_int_equal(pread(fd, got, sizeof(got), 0), 20);
    assert_string_equal(got, "hellohellohellohello");
    fclose(f);
}

static void test_pipe_is_polled(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_false(console_fd_is_file(p[1]));
    assert_false(console_fd_is_file(-1));
    assert_int_equal(polls_writing(p[1], false), 2);
    assert_int_equal(polls_writing(p[1], true), 2);
    char got[32] = {0};
    assert_int_equal(read(p[0], got, sizeof(got)), 20);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_is_not_polled),
        cmocka_unit_test(test_pipe_is_polled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
