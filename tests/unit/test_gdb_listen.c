/* gdb_listen: --gdb's address forms, the one-line refusals of bad ones, and the sockets: a
 * unix socket replaces its own stale file but never another file, a TCP port in use is
 * refused with the fix, and a debugger can connect to what was opened. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/gdb_listen.h"

static void refused(const char *spec, const char *says)
{
    struct mvm_err e = {0};
    assert_int_equal(gdb_spec_check(spec, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    if (!strstr(e.msg, says))
        fail_msg("'%s': '%s' does not say '%s'", spec, e.msg, says);
}

static void test_forms(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    assert_int_equal(gdb_spec_check("tcp:1234", &e), 0);
    assert_int_equal(gdb_spec_check("tcp:0.0.0.0:1", &e), 0);
    assert_int_equal(gdb_spec_check("tcp:10.0.2.15:65535", &e), 0);
    assert_int_equal(gdb_spec_check("unix:/tmp/x", &e), 0);
    refused("1234", "tcp:[HOST:]PORT or unix:PATH");
    refused("tcp:", "1 to 65535");
    refused("tcp:0", "1 to 65535");
    refused("tcp:65536", "1 to 65535");
    refused("tcp:12x", "1 to 65535");
    refused("tcp:-1", "1 to 65535");
    refused("tcp::1234", "tcp:[HOST:]PORT");
    refused("tcp:localhost:1234", "not an IPv4 address");
    refused("tcp:1.2.3:1234", "not an IPv4 address");
    refused("unix:", "1 to");
    char long_path[200];
    memset(long_path, 'a', sizeof(long_path));
    memcpy(long_path, "unix:", 5);
    long_path[sizeof(long_path) - 1] = '\0';
    refused(long_path, "1 to");
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    return r;
}

static void test_unix(void **state)
{
    (void)state;
    char dir[] = "/tmp/gdb-listen-XXXXXX", path[64], spec[80], desc[160];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s", path);
    struct mvm_err e = {0};
    int fd = gdb_listen(spec, desc, sizeof(desc), &e);
    assert_true(fd >= 0);
    assert_non_null(strstr(desc, path));
    assert_int_equal(connect_unix(path), 0);
    close(fd);   /* the file stays, as after a run that was killed */
    fd = gdb_listen(spec, desc, sizeof(desc), &e);
    assert_true(fd >= 0);   /* the stale socket was replaced */
    close(fd);
    unlink(path);
    e = (struct mvm_err){0};
    FILE *f = fopen(path, "w");   /* a file that is not a socket is never removed */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(gdb_listen(spec, desc, sizeof(desc), &e), -1);
    assert_non_null(strstr(e.msg, "not a socket"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(path);
    rmdir(dir);
}

static void test_tcp(void **state)
{
    (void)state;
    char spec[64], desc[160];
    struct mvm_err e = {0};
    int fd = -1;
    unsigned port;
    for (port = 40000 + (unsigned)getpid() % 20000; port < 65535 && fd < 0; port++) {
        snprintf(spec, sizeof(spec), "tcp:%u", port);
        fd = gdb_listen(spec, desc, sizeof(desc), &e);
    }
    assert_true(fd >= 0);
    port--;
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_non_null(strstr(desc, want));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    close(c);
    e = (struct mvm_err){0};
    assert_int_equal(gdb_listen(spec, desc, sizeof(desc), &e), -1);   /* in use */
    assert_non_null(strstr(e.msg, "pick another port"));
    close(fd);
    snprintf(spec, sizeof(spec), "tcp:192.0.2.1:%u", port);   /* TEST-NET: not this host's */
    e = (struct mvm_err){0};
    assert_int_equal(gdb_listen(spec, desc, sizeof(desc), &e), -1);
    assert_non_null(strstr(e.msg, "0.0.0.0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
