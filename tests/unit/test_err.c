/* vmm/err.c: mvm_fail() and mvm_strerror(), the error text of the sandboxed threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../vmm/err.h"

static void test_fail_first_wins(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    assert_int_equal(mvm_fail(&e, MVM_E_HOST, "no %s here", "KVM"), -1);
    assert_int_equal(mvm_fail(&e, MVM_E_VMM, "cleanup failed"), -1);
    assert_string_equal(e.msg, "no KVM here");
    assert_int_equal(e.status, MVM_E_HOST);
}

static void on_sigsys(int sig)
{
    (void)sig;
    _exit(77);
}

/* From here on, a system call that opens a file ends this process with status 77, as the
 * VMM's filter and SIGSYS handler end it with status 5 when a vCPU or disk thread opens one. */
static void forbid_open(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 3, 0),
#ifdef SYS_open
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 2, 0),
#else
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 2, 0),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    signal(SIGSYS, on_sigsys);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(3);
}

/* Runs mvm_strerror(ENOENT) in a child that has set a locale, as an embedding program may,
 * with LANGUAGE asking for French messages; with `sandboxed`, under forbid_open(). Returns
 * the child's exit status: 0 if it got the English text, 4 if another, 77 if it opened a file. */
static int strerror_in_child(bool sandboxed)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("LANGUAGE", "fr", 1);
        if (!setlocale(LC_ALL, "C.UTF-8"))
            _exit(2);
        if (sandboxed)
            forbid_open();
        _exit(strcmp(mvm_strerror(ENOENT), "No such file or directory") == 0 ? 0 : 4);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* glibc's strerror translates through gettext, which opens a message catalogue once a locale
 * is set: an openat the sandbox forbids. */
static void test_strerror_opens_nothing(void **state)
{
    (void)state;
    assert_int_equal(strerror_in_child(true), 0);
}

static void test_strerror_english(void **state)
{
    (void)state;
    assert_int_equal(strerror_in_child(false), 0);
    assert_string_equal(mvm_strerror(EINVAL), "Invalid argument");
    assert_non_null(mvm_strerror(-12345));   /* not an error number: still some text */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_first_wins), cmocka_unit_test(test_strerror_opens_nothing),
        cmocka_unit_test(test_strerror_english),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
