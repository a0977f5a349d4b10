/* The terminal (raw mode, its restoration on a fatal exit, the Ctrl-A escape) and the vty
 * console ring. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../devices/vty.h"
#include "../../vmm/term.h"

struct filtered {
    size_t n;
    uint8_t out[64];
    bool quit;
};

/* Runs the filter on `in` with an output buffer of exactly len + 1 heap bytes, so that ASan
 * catches any write past what the contract promises. */
static struct filtered filter(bool *pending, const char *in, size_t len)
{
    struct filtered f = {0};
    uint8_t *inbuf = malloc(len ? len : 1), *out = malloc(len + 1);
    assert_true(inbuf && out && len < sizeof(f.out));
    memcpy(inbuf, in, len);
    f.quit = true;   /* the filter must clear it */
    f.n = term_escape_filter(pending, inbuf, len, out, &f.quit);
    assert_true(f.n <= len + 1);
    memcpy(f.out, out, f.n);
    free(inbuf);
    free(out);
    return f;
}

static void assert_out(const struct filtered *f, const char *want, size_t len)
{
    assert_int_equal(f->n, len);
    assert_memory_equal(f->out, want, len);
}

static void test_plain(void **state)
{
    (void)state;
    bool pending = false;
    struct filtered f = filter(&pending, "hello\r\n\x02\xff", 9);
    assert_out(&f, "hello\r\n\x02\xff", 9);
    assert_false(f.quit);
    assert_false(pending);
    f = filter(&pending, "", 0);
    assert_int_equal(f.n, 0);
    assert_false(f.quit);
}

static void test_quit(void **state)
{
    (void)state;
    bool pending = false;
    struct filtered f = filter(&pending, "ab\x01xcd", 6);
    assert_true(f.quit);
    assert_out(&f, "ab", 2);               /* what came before still goes to the guest */
    assert_false(pending);
    f = filter(&pending, "\x01X", 2);
    assert_true(f.quit);
    assert_int_equal(f.n, 0);
}

static void test_escaped_escape(void **state)
{
    (void)state;
    bool pending = false;
    struct filtered f = filter(&pending, "\x01\x01", 2);
    assert_out(&f, "\x01", 1);
    assert_false(pending);
    f = filter(&pending, "\x01\x01\x01\x01", 4);
    assert_out(&f, "\x01\x01", 2);
    f = filter(&pending, "\x01" "a", 2);
    assert_out(&f, "\x01" "a", 2);
    assert_false(f.quit);
    f = filter(&pending, "\x01\x01x", 3);    /* an escaped Ctrl-A does not start a new escape */
    assert_out(&f, "\x01x", 2);
    assert_false(f.quit);
}

static void test_pending_across_calls(void **state)
{
    (void)state;
    bool pending = false;
    struct filtered f = filter(&pending, "ab\x01", 3);
    assert_out(&f, "ab", 2);
    assert_true(pending);
    assert_false(f.quit);
    f = filter(&pending, "cd", 2);            /* uses all len + 1 bytes of out */
    assert_out(&f, "\x01" "cd", 3);
    assert_false(pending);

    f = filter(&pending, "\x01", 1);
    assert_int_equal(f.n, 0);
    assert_true(pending);
    f = filter(&pending, "\x01", 1);
    assert_out(&f, "\x01", 1);
    assert_false(pending);

    f = filter(&pending, "\x01", 1);          /* quit split across two reads */
    assert_false(f.quit);
    f = filter(&pending, "x", 1);
    assert_true(f.quit);
    assert_int_equal(f.n, 0);
    assert_false(pending);

    f = filter(&pending, "q\x01", 2);         /* an empty read keeps the escape pending */
    f = filter(&pending, "", 0);
    assert_true(pending);
    assert_int_equal(f.n, 0);
}

/* ---- raw mode and a fatal exit ---- */

/* What sandbox.c's SIGSYS handler does, less the message. */
static void die_like_a_seccomp_violation(int sig)
{
    (void)sig;
    term_restore_fatal();
    _exit(5);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG1_LO offsetof(struct seccomp_data, args[1])
#else
#define ARG1_LO (offsetof(struct seccomp_data, args[1]) + 4)
#endif

/* The part of sandbox.c's filter that matters here: of the ioctls on a terminal, only TCGETS
 * and TCSETS are allowed, so the handler's restore must make do with them (a second SIGSYS
 * inside the handler would kill the process, terminal still raw). Anything else goes. */
static void sandbox_ioctls(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCGETS, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCSETS, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(3);
}

static bool is_raw(int fd)
{
    struct termios t;
    return tcgetattr(fd, &t) == 0 && !(t.c_lflag & (ECHO | ICANON | ISIG));
}

/* In the child: three terminals in raw mode, as two VMs and something else in one process
 * might have, the second twice (two VMs on one terminal), the third put back the ordinary way
 * and then given a mode of its own; many raw/restore cycles before, so that a slot left taken
 * would show; then a seccomp violation (TIOCSTI, which the VMM's filter also forbids). */
static void child_dies_raw(const int *slave)
{
    struct term_saved t[4];
    signal(SIGSYS, die_like_a_seccomp_violation);
    for (int i = 0; i < 50; i++) {
        if (term_raw(&t[0], slave[0]) != 0 || !t[0].active)
            _exit(1);
        term_restore(&t[0]);
    }
    for (int i = 0; i < 3; i++)
        if (term_raw(&t[i], slave[i]) != 0 || !is_raw(slave[i]))
            _exit(1);
    term_restore(&t[2]);
    if (term_raw(&t[3], slave[1]) != 0)      /* takes the slot t[2] left, after t[1]'s */
        _exit(1);
    struct termios own;
    tcgetattr(slave[2], &own);
    own.c_lflag &= ~(tcflag_t)ECHO;           /* not what term_raw saved: must stay */
    tcsetattr(slave[2], TCSANOW, &own);
    sandbox_ioctls();
    ioctl(slave[0], TIOCSTI, "x");
    _exit(2);
}

static void test_fatal_exit_restores(void **state)
{
    (void)state;
    int master[3], slave[3];
    struct termios before[3], after;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(openpty(&master[i], &slave[i], NULL, NULL, NULL), 0);
        assert_int_equal(tcgetattr(slave[i], &before[i]), 0);
        assert_false(is_raw(slave[i]));
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_dies_raw(slave);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 5);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tcgetattr(slave[i], &after), 0);
        assert_int_equal(after.c_lflag, before[i].c_lflag);
        assert_int_equal(after.c_iflag, before[i].c_iflag);
        assert_memory_equal(after.c_cc, before[i].c_cc, sizeof(after.c_cc));
    }
    assert_int_equal(tcgetattr(slave[2], &after), 0);
    assert_int_equal(after.c_lflag, before[2].c_lflag & ~(tcflag_t)ECHO);
    for (int i = 0; i < 3; i++)
        close(master[i]), close(slave[i]);
}

/* ---- vty ---- */

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7);
}

static void test_ring_full(void **state)
{
    (void)state;
    struct vty v;
    vty_init(&v, -1);
    static uint8_t in[VTY_IN_SIZE + 100], out[VTY_IN_SIZE + 100];
    fill_pattern(in, sizeof(in), 3);
    assert_int_equal(vty_input_room(&v), VTY_IN_SIZE);
    assert_int_equal(vty_push_input(&v, in, 10), 10);
    assert_int_equal(vty_input_room(&v), VTY_IN_SIZE - 10);
    assert_int_equal(vty_push_input(&v, in + 10, sizeof(in) - 10), VTY_IN_SIZE - 10);
    assert_int_equal(vty_input_room(&v), 0);
    assert_int_equal(vty_push_input(&v, in, 1), 0);
    assert_int_equal(vty_read(&v, out, 5), 5);
    assert_int_equal(vty_input_room(&v), 5);
    assert_int_equal(vty_read(&v, out + 5, sizeof(out) - 5), VTY_IN_SIZE - 5);
    assert_memory_equal(out, in, VTY_IN_SIZE);
    assert_int_equal(vty_read(&v, out, sizeof(out)), 0);
    assert_int_equal(vty_input_room(&v), VTY_IN_SIZE);
    vty_destroy(&v);
}

static void test_ring_wraparound(void **state)
{
    (void)state;
    struct vty v;
    vty_init(&v, -1);
    uint8_t in[300], out[300];
    /* sizes coprime with the ring size walk the head over every boundary position */
    const size_t sizes[] = {1, 7, 300, 129, 256, 3};
    size_t total = 0;
    for (unsigned round = 0; round < 60; round++) {
        size_t n = sizes[round % 6];
        fill_pattern(in, n, round);
        assert_int_equal(vty_push_input(&v, in, n), n);
        /* leave some bytes behind every other round, then pick them up */
        size_t first = round % 2 ? n / 2 : n;
        assert_int_equal(vty_read(&v, out, first), first);
        assert_int_equal(vty_read(&v, out + first, sizeof(out) - first), n - first);
        assert_memory_equal(out, in, n);
        assert_int_equal(vty_input_room(&v), VTY_IN_SIZE);
        total += n;
    }
    assert_true(total > 2 * VTY_IN_SIZE);

    /* a ring that is full across the boundary still reads back in order */
    static uint8_t big[2 * VTY_IN_SIZE], back[2 * VTY_IN_SIZE];
    fill_pattern(big, sizeof(big), 99);
    assert_int_equal(vty_push_input(&v, big, 500), 500);
    assert_int_equal(vty_read(&v, back, 400), 400);
    assert_memory_equal(back, big, 400);
    assert_int_equal(vty_push_input(&v, big + 500, 1000), VTY_IN_SIZE - 100);
    assert_int_equal(vty_input_room(&v), 0);
    assert_int_equal(vty_read(&v, back, sizeof(back)), VTY_IN_SIZE);
    assert_memory_equal(back, big + 400, VTY_IN_SIZE);
    vty_destroy(&v);
}

static void test_vty_write(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct vty v;
    vty_init(&v, p[1]);
    static const uint8_t msg[] = "Linux version 6.x\r\n";
    assert_int_equal(vty_write(&v, msg, sizeof(msg) - 1), 0);
    assert_int_equal(vty_write(&v, msg, 0), 0);
    char got[64] = {0};
    assert_int_equal(read(p[0], got, sizeof(got)), (ssize_t)sizeof(msg) - 1);
    assert_memory_equal(got, msg, sizeof(msg) - 1);
    vty_destroy(&v);

    vty_init(&v, -1);                         /* no console: output is discarded */
    assert_int_equal(vty_write(&v, msg, sizeof(msg) - 1), 0);
    vty_destroy(&v);

    close(p[0]);                              /* the reader went away for good */
    signal(SIGPIPE, SIG_IGN);
    vty_init(&v, p[1]);
    assert_int_equal(vty_write(&v, msg, sizeof(msg) - 1), -1);
    vty_destroy(&v);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_quit),
        cmocka_unit_test(test_escaped_escape),
        cmocka_unit_test(test_pending_across_calls),
        cmocka_unit_test(test_fatal_exit_restores),
        cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_ring_wraparound),
        cmocka_unit_test(test_vty_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
