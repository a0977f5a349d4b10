/* firmware/init_conf.c: the guest init's configuration parser, its status lines and the
 * decisions it takes without a system call (execvp's search and exit statuses, module flags,
 * /proc/filesystems, port names), built natively here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../firmware/init_conf.h"

static struct init_conf conf;   /* 70 KiB of pointers: not on the stack */
static char err[512];

/* Parses the records given as NUL-separated C literal text (sizeof includes the final NUL). */
#define PARSE(lit) parse(lit, sizeof(lit) - 1)
static int parse(const char *buf, size_t len)
{
    struct init_buf b;
    ib_init(&b, err, sizeof(err));
    return init_conf_parse(&conf, buf, len, &b);
}

static void test_parse_all_keys(void **state)
{
    (void)state;
    static const char cfg[] = "module=/minivmm/modules/9pnet.ko\0module=/minivmm/modules/9p.ko.xz\0"
                              "root=rootfs\0msize=262144\0rootrw=1\0cwd=/home/me\0"
                              "env=PATH=/bin:/usr/bin\0env=A==b\0arg=ls\0arg=\0arg=-l\0"
                              "rows=50\0cols=132\0";
    assert_int_equal(PARSE(cfg), 0);
    assert_int_equal(conf.nmodule, 2);
    assert_string_equal(conf.module[1], "/minivmm/modules/9p.ko.xz");
    assert_ptr_equal(conf.root, cfg + strlen("module=/minivmm/modules/9pnet.ko") + 1 +
                                strlen("module=/minivmm/modules/9p.ko.xz") + 1 + 5);
    assert_string_equal(conf.root, "rootfs");
    assert_int_equal(conf.msize, 262144);
    assert_int_equal(conf.rootrw, 1);
    assert_string_equal(conf.cwd, "/home/me");
    assert_int_equal(conf.nenv, 2);
    assert_string_equal(conf.env[0], "PATH=/bin:/usr/bin");
    assert_string_equal(conf.env[1], "A==b");
    assert_null(conf.env[2]);
    assert_int_equal(conf.narg, 3);
    assert_string_equal(conf.arg[1], "");     /* an empty argument is an argument */
    assert_string_equal(conf.arg[2], "-l");
    assert_null(conf.arg[3]);
    assert_int_equal(conf.rows, 50);
    assert_int_equal(conf.cols, 132);
}

static void test_parse_defaults(void **state)
{
    (void)state;
    conf.narg = 7, conf.cwd = "stale";   /* a parse starts from nothing */
    assert_int_equal(PARSE("root=r\0"), 0);
    assert_int_equal(conf.msize, INIT_DEFAULT_MSIZE);
    assert_int_equal(conf.rootrw, 0);
    assert_null(conf.cwd);
    assert_int_equal(conf.narg, 0);       /* interactive mode */
    assert_null(conf.arg[0]);
    assert_null(conf.env[0]);
    assert_int_equal(conf.rows, 0);
    assert_int_equal(PARSE("root=r\0rootrw=0\0"), 0);
    assert_int_equal(conf.rootrw, 0);
}

static void test_parse_any_byte_in_values(void **state)
{
    (void)state;
    static const char cfg[] = "root=r\0arg=a=b\n\xff\x01 c\0";
    assert_int_equal(PARSE(cfg), 0);
    assert_string_equal(conf.arg[0], "a=b\n\xff\x01 c");
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *buf;
        size_t len;
        const char *msg;
    } bad[] = {
#define BAD(lit, msg) {lit, sizeof(lit) - 1, msg}
        BAD("root=r", "/minivmm/config: the last record has no NUL"),
        BAD("root=r\0\0", "/minivmm/config: empty record"),
        BAD("root=r\0arg\0", "/minivmm/config: record without key= \"arg\""),
        BAD("root=r\0=x\0", "/minivmm/config: record without key= \"=x\""),
        BAD("root=r\0frob=1\0", "/minivmm/config: unknown record \"frob=1\""),
        BAD("root=r\0ROOT=s\0", "/minivmm/config: unknown record \"ROOT=s\""),
        BAD("root=r\0roo=s\0", "/minivmm/config: unknown record \"roo=s\""),
        BAD("root=r\0rootx=s\0", "/minivmm/config: unknown record \"rootx=s\""),
        BAD("root=r\0root=s\0", "/minivmm/config: repeated record \"root=s\""),
        BAD("root=\0", "/minivmm/config: empty value in \"root=\""),
        BAD("root=r\0cwd=/\0cwd=/\0", "/minivmm/config: repeated record \"cwd=/\""),
        BAD("root=r\0msize=8192\0msize=8192\0", "/minivmm/config: repeated record \"msize=8192\""),
        BAD("root=r\0msize=abc\0", "/minivmm/config: bad number in \"msize=abc\""),
        BAD("root=r\0msize=\0", "/minivmm/config: bad number in \"msize=\""),
        BAD("root=r\0msize=-4096\0", "/minivmm/config: bad number in \"msize=-4096\""),
        BAD("root=r\0msize=4095\0", "/minivmm/config: bad number in \"msize=4095\""),
        BAD("root=r\0msize=4294967296\0", "/minivmm/config: bad number in \"msize=4294967296\""),
        BAD("root=r\0msize=18446744073709551617\0",
            "/minivmm/config: bad number in \"msize=18446744073709551617\""),
        BAD("root=r\0rootrw=2\0", "/minivmm/config: bad number in \"rootrw=2\""),
        BAD("root=r\0rootrw=yes\0", "/minivmm/config: bad number in \"rootrw=yes\""),
        BAD("root=r\0rootrw=1\0rootrw=1\0", "/minivmm/config: repeated record \"rootrw=1\""),
        BAD("root=r\0rows=0\0", "/minivmm/config: bad number in \"rows=0\""),
        BAD("root=r\0cols=65536\0", "/minivmm/config: bad number in \"cols=65536\""),
        BAD("root=r\0rows=1\0rows=2\0", "/minivmm/config: repeated record \"rows=2\""),
        BAD("root=r\0env=PATH\0", "/minivmm/config: env record not NAME=VALUE: \"env=PATH\""),
        BAD("root=r\0env==x\0", "/minivmm/config: env record not NAME=VALUE: \"env==x\""),
        BAD("root=r\0env=\0", "/minivmm/config: env record not NAME=VALUE: \"env=\""),
        BAD("cwd=/\0", "/minivmm/config: no root record"),
        BAD("", "/minivmm/config: no root record"),
        BAD("root=r\0x\nyz=\x80\0", "/minivmm/config: unknown record \"x?yz=?\""),
        BAD("root=r\0qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq=1\0",
            "/minivmm/config: unknown record \"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\""),
#undef BAD
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("  %s\n", bad[i].msg);
        assert_int_equal(parse(bad[i].buf, bad[i].len), -1);
        assert_string_equal(err, bad[i].msg);
    }
}

/* The counts are bounded, and the lists stay NULL-terminated at the bound. */
static void test_parse_bounds(void **state)
{
    (void)state;
    static char buf[(INIT_MAX_ARGS + 1) * 8 + 16];
    static const struct {
        const char *rec;
        unsigned max;
    } list[] = {{"arg=a", INIT_MAX_ARGS}, {"env=A=", INIT_MAX_ENV}, {"module=m", INIT_MAX_MODULES}};
    for (size_t l = 0; l < 3; l++) {
        size_t len = 0;
        memcpy(buf, "root=r", 7), len = 7;
        for (unsigned i = 0; i < list[l].max; i++)
            len += (size_t)sprintf(buf + len, "%s", list[l].rec) + 1;
        assert_int_equal(parse(buf, len), 0);
        if (l == 0)
            assert_int_equal(conf.narg, INIT_MAX_ARGS), assert_null(conf.arg[INIT_MAX_ARGS]);
        if (l == 1)
            assert_int_equal(conf.nenv, INIT_MAX_ENV), assert_null(conf.env[INIT_MAX_ENV]);
        if (l == 2)
            assert_int_equal(conf.nmodule, INIT_MAX_MODULES);
        len += (size_t)sprintf(buf + len, "%s", list[l].rec) + 1;
        assert_int_equal(parse(buf, len), -1);
        assert_non_null(strstr(err, "too many records like"));
    }
}

static void test_env_get(void **state)
{
    (void)state;
    const char *env[] = {"PATHX=/x", "PAT=/y", "PATH=/bin:/sbin", "PATH=/late", "EMPTY=", NULL};
    assert_string_equal(init_env_get(env, 5, "PATH"), "/bin:/sbin");
    assert_string_equal(init_env_get(env, 5, "EMPTY"), "");
    assert_null(init_env_get(env, 5, "PA"));
    assert_null(init_env_get(env, 2, "PATH"));   /* only the n given */
}

static void test_module_flags(void **state)
{
    (void)state;
    assert_int_equal(init_module_flags("/minivmm/modules/9p.ko"), 0);
    assert_int_equal(init_module_flags("/minivmm/modules/9p.ko.xz"), 4);
    assert_int_equal(init_module_flags("/minivmm/modules/9p.ko.zst"), 4);
    assert_int_equal(init_module_flags("/minivmm/modules/9p.ko.gz"), 4);
    assert_int_equal(init_module_flags("a.xz.ko"), 0);
    assert_int_equal(init_module_flags("gz"), 0);
    assert_int_equal(init_module_flags(".gz"), 4);
}

static void test_fs_listed(void **state)
{
    (void)state;
    static const char fs[] = "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\t9p\nnodev\toverlayfs2\n"
                             "\tvfat";
    size_t len = sizeof(fs) - 1;
    assert_true(init_fs_listed(fs, len, "9p"));
    assert_true(init_fs_listed(fs, len, "ext4"));
    assert_true(init_fs_listed(fs, len, "vfat"));         /* no newline at the end */
    assert_true(init_fs_listed(fs, len, "sysfs"));
    assert_false(init_fs_listed(fs, len, "overlay"));     /* a longer name is not it */
    assert_false(init_fs_listed(fs, len, "nodev"));
    assert_false(init_fs_listed(fs, len, "fs"));
    assert_false(init_fs_listed(fs, len - 1, "vfat"));    /* only len bytes */
    assert_false(init_fs_listed("", 0, "9p"));
}

static void test_9p_options(void **state)
{
    (void)state;
    char o[128];
    struct init_buf b;
    ib_init(&b, o, sizeof(o));
    init_9p_options(&b, 524288, 0);
    assert_string_equal(o, "trans=virtio,version=9p2000.L,msize=524288,cache=none");
    ib_init(&b, o, sizeof(o));
    init_9p_options(&b, 4294967295ul, 1);
    assert_string_equal(o, "trans=virtio,version=9p2000.L,msize=4294967295,cache=none,ro");
}

static void test_port_which(void **state)
{
    (void)state;
    assert_int_equal(init_port_which("minivmm.stdin\n", 14), INIT_PORT_STDIN);
    assert_int_equal(init_port_which("minivmm.stdout\n", 15), INIT_PORT_STDOUT);
    assert_int_equal(init_port_which("minivmm.stderr", 14), INIT_PORT_STDERR);
    assert_int_equal(init_port_which("minivmm.status\n", 15), INIT_PORT_STATUS);
    assert_int_equal(init_port_which("minivmm.stdinx\n", 15), -1);
    assert_int_equal(init_port_which("minivmm.std\n", 12), -1);
    assert_int_equal(init_port_which("\n", 1), -1);
    assert_int_equal(init_port_which("", 0), -1);
    assert_int_equal(init_port_which("minivmm.stdin\n\n", 15), -1);
}

static void test_path_next(void **state)
{
    (void)state;
    char out[16];
    const char *path = ":/bin::/a-very-long-directory:/usr/bin:";
    const char *want[] = {"ls", "/bin/ls", "ls", NULL, "/usr/bin/ls", "ls"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int r = init_path_next(&path, "ls", out, sizeof(out));
        assert_int_equal(r, want[i] ? 1 : -1);
        if (want[i])
            assert_string_equal(out, want[i]);
    }
    assert_int_equal(init_path_next(&path, "ls", out, sizeof(out)), 0);
    assert_int_equal(init_path_next(&path, "ls", out, sizeof(out)), 0);
    path = "/1234567890/";   /* "/1234567890//ls": exactly 16 bytes with the NUL */
    assert_int_equal(init_path_next(&path, "ls", out, sizeof(out)), 1);
    assert_string_equal(out, "/1234567890//ls");
    path = "/12345678901/";
    assert_int_equal(init_path_next(&path, "ls", out, sizeof(out)), -1);
}

static void test_exec_search_goes_on(void **state)
{
    (void)state;
    int on[] = {ENOENT, ENOTDIR, EACCES, ENODEV, ESTALE, ETIMEDOUT};
    int off[] = {ENOEXEC, E2BIG, ENOMEM, EISDIR, ETXTBSY, ELOOP, ENAMETOOLONG, EPERM, EIO};
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
        assert_true(init_exec_search_goes_on(on[i]));
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        assert_false(init_exec_search_goes_on(off[i]));
}

static void test_exec_error(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int err, st;
        const char *text;
    } c[] = {
        {"frobnicate", ENOENT, 127, "frobnicate: command not found"},
        {"frobnicate", ENOTDIR, 127, "frobnicate: command not found"},
        {"./frob", ENOENT, 127, "./frob: not found (No such file or directory)"},
        {"/etc/passwd", EACCES, 126, "/etc/passwd: not executable (Permission denied)"},
        {"ls", EACCES, 126, "ls: not executable (Permission denied)"},
        {"/x", ENOEXEC, 126, "/x: not executable (Exec format error)"},
        {"/x", EPERM, 126, "/x: not executable (Operation not permitted)"},
        {"/tmp", EISDIR, 126, "/tmp: not executable (Is a directory)"},
        {"/x", ETXTBSY, 126, "/x: not executable (Text file busy)"},
        {"/x", E2BIG, 125, "/x: cannot execute (Argument list too long)"},
        {"x", ELOOP, 125, "x: cannot execute (Too many levels of symbolic links)"},
        {"x", 4000, 125, "x: cannot execute (error 4000)"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char text[128];
        struct init_buf b;
        ib_init(&b, text, sizeof(text));
        assert_int_equal(init_exec_error(&b, c[i].name, c[i].err), c[i].st);
        assert_string_equal(text, c[i].text);
    }
}

/* Real wait statuses, from real children. */
static int status_of(int how)
{
    int st;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (how < 0) {
            signal(-how, SIG_DFL);   /* not the sanitizer's handler */
            raise(-how);
        }
        _exit(how);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void test_status_wait(void **state)
{
    (void)state;
    static const struct {
        int how;
        const char *line;
    } c[] = {{0, "exit 0\n"}, {3, "exit 3\n"}, {255, "exit 255\n"}, {256 + 7, "exit 7\n"},
             {-SIGKILL, "signal 9\n"}, {-SIGTERM, "signal 15\n"}, {-SIGSEGV, "signal 11\n"}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char line[32];
        struct init_buf b;
        ib_init(&b, line, sizeof(line));
        init_status_wait(&b, status_of(c[i].how));
        assert_string_equal(line, c[i].line);
    }
}

static void test_status_error(void **state)
{
    (void)state;
    char line[64];
    struct init_buf b;
    ib_init(&b, line, sizeof(line));
    init_status_error(&b, 127, "frobnicate: command not found");
    assert_string_equal(line, "error 127 frobnicate: command not found\n");
    ib_init(&b, line, sizeof(line));
    init_status_error(&b, 126, "a\nb\rc\td\x7f" "e\xc3\xa9");   /* one line of ASCII */
    assert_string_equal(line, "error 126 a?b?c?d?e??\n");
    ib_init(&b, line, 16);   /* too long: cut, but still one whole line */
    init_status_error(&b, 125, "cannot mount the root share");
    assert_string_equal(line, "error 125 cann\n");
    assert_int_equal(b.len, 15);
}

static void test_strerror(void **state)
{
    (void)state;
    char scratch[32];
    int must[] = {EPERM, ENOENT, EACCES, ENOEXEC, ENODEV, EINVAL, EBUSY, ENOTDIR, EISDIR,
                  ETXTBSY, E2BIG, ENOMEM, ELOOP, ENAMETOOLONG, EOPNOTSUPP, EKEYREJECTED, ENOKEY,
                  EPROTONOSUPPORT, EIO, ENXIO, EROFS, ENOSPC, ENOSYS, EEXIST};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        assert_string_equal(init_strerror(must[i], scratch, sizeof(scratch)), strerror(must[i]));
    /* Whatever the table has, it has the C library's words. */
    for (int e = 1; e < 200; e++) {
        const char *t = init_strerror(e, scratch, sizeof(scratch));
        if (t != scratch)
            assert_string_equal(t, strerror(e));
    }
    assert_string_equal(init_strerror(4095, scratch, sizeof(scratch)), "error 4095");
    assert_string_equal(init_strerror(-4095, scratch, sizeof(scratch)), "error 4095");
}

static void test_init_buf(void **state)
{
    (void)state;
    char s[8];
    struct init_buf b;
    ib_init(&b, s, sizeof(s));
    ib_putu(&b, 0);
    ib_puts(&b, "ab");
    ib_putu(&b, 18446744073709551615ul);
    assert_string_equal(s, "0ab1844");
    assert_int_equal(b.len, 7);
    ib_putc(&b, 'x');
    assert_string_equal(s, "0ab1844");
    assert_true(ic_has_suffix("abc", "bc") && !ic_has_suffix("c", "bc") && ic_has_suffix("", ""));
    assert_true(ic_streq("", "") && !ic_streq("a", "ab") && !ic_streq("ab", "a"));
}

/* net= and nameserver=: what minivmm writes for a NIC, and what it must never get wrong. */
static void test_parse_net(void **state)
{
    (void)state;
    static const char cfg[] = "root=r\0net=10.0.2.15/24,10.0.2.2,65520\0nameserver=10.0.2.2\0";
    assert_int_equal(PARSE(cfg), 0);
    assert_true(conf.net.set);
    assert_int_equal(conf.net.addr, 0x0a00020f);
    assert_int_equal(conf.net.gateway, 0x0a000202);
    assert_int_equal(conf.net.prefix, 24);
    assert_int_equal(conf.net.mtu, 65520);
    assert_int_equal(conf.nameserver, 0x0a000202);
    assert_int_equal(PARSE("root=r\0"), 0);
    assert_false(conf.net.set);
    assert_int_equal(conf.nameserver, 0);
    static const char *const bad_net[] = {
        "10.0.2.15/24,10.0.2.2",          /* no MTU */
        "10.0.2.15,10.0.2.2,1500",        /* no prefix */
        "10.0.2/24,10.0.2.2,1500",        /* three parts */
        "10.0.2.15.1/24,10.0.2.2,1500",   /* five */
        "10.0.2.256/24,10.0.2.2,1500",    /* a part over 255 */
        "10.0..15/24,10.0.2.2,1500",      /* an empty part */
        "10.0.2.15/0,10.0.2.2,1500",      /* prefixes 1..31 */
        "10.0.2.15/32,10.0.2.2,1500",
        "10.0.2.15/24,10.0.3.2,1500",     /* the gateway outside the subnet */
        "10.0.2.15/24,10.0.2.15,1500",    /* the gateway is the address */
        "10.0.2.15/24,10.0.2.2,67",       /* MTUs 68..65535 */
        "10.0.2.15/24,10.0.2.2,65536",
        "10.0.2.15/24,10.0.2.2,1500,1",   /* trailing garbage */
        "1000.0.2.15/24,10.0.2.2,1500",
    };
    for (size_t i = 0; i < sizeof(bad_net) / sizeof(bad_net[0]); i++) {
        char buf[128], want[160];
        int n = snprintf(buf, sizeof(buf), "root=r%cnet=%s", 0, bad_net[i]);
        print_message("  net=%s\n", bad_net[i]);
        assert_int_equal(parse(buf, (size_t)n + 1), -1);
        snprintf(want, sizeof(want), "/minivmm/config: bad address, gateway or MTU in \"net=%s\"",
                 bad_net[i]);
        assert_string_equal(err, want);
    }
    assert_int_equal(PARSE("root=r\0net=10.0.2.15/24,10.0.2.2,1500\0net=10.0.2.15/24,10.0.2.2,1500\0"), -1);
    assert_int_equal(PARSE("root=r\0nameserver=0.0.0.0\0"), -1);
    assert_int_equal(PARSE("root=r\0nameserver=1.2.3\0"), -1);
    assert_int_equal(PARSE("root=r\0nameserver=1.1.1.1\0nameserver=1.1.1.1\0"), -1);
    assert_int_equal(init_netmask(24), 0xffffff00);
    assert_int_equal(init_netmask(1), 0x80000000);
    char text[20];
    struct init_buf b;
    ib_init(&b, text, sizeof(text));
    ib_put_ipv4(&b, 0xc0a80001);
    assert_string_equal(text, "192.168.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_all_keys),      cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_any_byte_in_values), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_bounds),        cmocka_unit_test(test_env_get),
        cmocka_unit_test(test_module_flags),        cmocka_unit_test(test_fs_listed),
        cmocka_unit_test(test_9p_options),          cmocka_unit_test(test_port_which),
        cmocka_unit_test(test_path_next),           cmocka_unit_test(test_exec_search_goes_on),
        cmocka_unit_test(test_exec_error),          cmocka_unit_test(test_status_wait),
        cmocka_unit_test(test_status_error),        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_init_buf),           cmocka_unit_test(test_parse_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
