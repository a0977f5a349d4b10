/* cli_parse() and parse_size(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../devices/device.h"
#include "../../vmm/cli.h"
#include "../../vmm/config.h"
#include "../../vmm/err.h"
#include "../../vmm/mem.h"

static struct vm_config cfg;
static struct mvm_err err;

/* Parses "minivmm" + the NULL-terminated arguments into cfg (fresh defaults), err (empty). */
static int parse(const char *first, ...)
{
    char *argv[48];
    int argc = 0;
    argv[argc++] = (char *)"minivmm";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(argc < 47);
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    vm_config_defaults(&cfg);
    memset(&err, 0, sizeof(err));
    return cli_parse(argc, argv, &cfg, NULL, &err);
}

/* The last parse failed as a bad command line whose message mentions `word`. */
static void assert_input_error(int r, const char *word)
{
    assert_int_equal(r, -1);
    assert_int_equal(err.status, MVM_E_INPUT);
    if (!strstr(err.msg, word))
        fail_msg("message \"%s\" does not mention \"%s\"", err.msg, word);
}

static void test_defaults_with_kernel(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "vmlinux", NULL), CLI_RUN);
    assert_string_equal(cfg.kernel, "vmlinux");
    assert_null(cfg.initrd);
    assert_null(cfg.cmdline);
    assert_true(cfg.mem_size == VM_DEFAULT_MEM);
    assert_int_equal(cfg.ncpus, 1);
    assert_int_equal(cfg.kvm_type, KVM_TYPE_AUTO);
    assert_int_equal(cfg.mmu, MMU_AUTO);
    assert_false(cfg.reboot);
    assert_false(cfg.verbose);
    assert_string_equal(err.msg, "");
}

static void test_all_options(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "vmlinux", "-i", "initrd.cpio", "-a", "console=hvc0 quiet",
                           "-m", "2G", "-c", "4", "--mem-path", "/dev/hugepages",
                           "--kvm-type", "pr", "--mmu", "hash", "--reboot",
                           "--dump-dtb", "out.dtb", "-v", NULL), CLI_RUN);
    assert_string_equal(cfg.kernel, "vmlinux");
    assert_string_equal(cfg.initrd, "initrd.cpio");
    assert_string_equal(cfg.cmdline, "console=hvc0 quiet");
    assert_true(cfg.mem_size == 2ULL << 30);
    assert_int_equal(cfg.ncpus, 4);
    assert_string_equal(cfg.mem_path, "/dev/hugepages");
    assert_int_equal(cfg.kvm_type, KVM_TYPE_PR);
    assert_int_equal(cfg.mmu, MMU_HASH);
    assert_true(cfg.reboot);
    assert_string_equal(cfg.dump_dtb, "out.dtb");
    assert_true(cfg.verbose);

    /* long forms, with '=' */
    assert_int_equal(parse("--kernel=vm", "--initrd=rd", "--append=x", "--memory=1T",
                           "--cpus=256", "--kvm-type=hv", "--mmu=radix", "--verbose", NULL),
                     CLI_RUN);
    assert_string_equal(cfg.kernel, "vm");
    assert_string_equal(cfg.initrd, "rd");
    assert_string_equal(cfg.cmdline, "x");
    assert_true(cfg.mem_size == 1ULL << 40);
    assert_int_equal(cfg.ncpus, 256);
    assert_int_equal(cfg.kvm_type, KVM_TYPE_HV);
    assert_int_equal(cfg.mmu, MMU_RADIX);
    assert_true(cfg.verbose);

    assert_int_equal(parse("-k", "vm", "--kvm-type=auto", "--mmu=auto", NULL), CLI_RUN);
    assert_int_equal(cfg.kvm_type, KVM_TYPE_AUTO);
    assert_int_equal(cfg.mmu, MMU_AUTO);
}

static void test_memory_sizes(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "v", "-m", "2G", NULL), CLI_RUN);
    assert_true(cfg.mem_size == 2ULL << 30);
    assert_int_equal(parse("-k", "v", "-m", "512M", NULL), CLI_RUN);
    assert_true(cfg.mem_size == 512ULL << 20);
    assert_int_equal(parse("-k", "v", "-m", "512", NULL), CLI_RUN);   /* bare number: MiB */
    assert_true(cfg.mem_size == 512ULL << 20);
    assert_int_equal(parse("-k", "v", "-m", "1T", NULL), CLI_RUN);
    assert_true(cfg.mem_size == 1ULL << 40);
    assert_int_equal(parse("-k", "v", "-m", "65536K", NULL), CLI_RUN);
    assert_true(cfg.mem_size == 64ULL << 20);
    /* a bare number that overflows once scaled to MiB */
    assert_input_error(parse("-k", "v", "-m", "17592186044416", NULL), "-m");
}

static void test_bad_values(void **state)
{
    (void)state;
    assert_input_error(parse("-k", "v", "-m", "abc", NULL), "abc");
    assert_input_error(parse("-k", "v", "-m", "12Q", NULL), "12Q");
    assert_input_error(parse("-k", "v", "-m", "", NULL), "-m");
    assert_input_error(parse("-k", "v", "-c", "x", NULL), "-c x");
    assert_input_error(parse("-k", "v", "-c", "-1", NULL), "-c -1");
    assert_input_error(parse("-k", "v", "-c", "-0", NULL), "-c -0");
    assert_input_error(parse("-k", "v", "-c", "", NULL), "-c");
    assert_input_error(parse("-k", "v", "-c", "2x", NULL), "-c 2x");
    assert_input_error(parse("-k", "v", "-c", "4294967296", NULL), "-c");
    assert_input_error(parse("-k", "v", "-c", "99999999999999999999", NULL), "-c");
    assert_input_error(parse("-k", "v", "--kvm-type=foo", NULL), "foo");
    assert_input_error(parse("-k", "v", "--mmu=bar", NULL), "bar");
    assert_input_error(parse("-k", "v", "--mmu", "HASH", NULL), "HASH");
}

static void test_kernel_addr_rtc_base(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "v", NULL), CLI_RUN);
    assert_false(cfg.kernel_addr_set || cfg.rtc_base_set);
    assert_int_equal(parse("-k", "v", "--kernel-addr", "0x400000", NULL), CLI_RUN);
    assert_true(cfg.kernel_addr_set && cfg.kernel_addr == 0x400000);
    assert_int_equal(parse("-k", "v", "--kernel-addr=32M", NULL), CLI_RUN);
    assert_true(cfg.kernel_addr == 32ULL << 20);
    assert_int_equal(parse("-k", "v", "--kernel-addr", "0", NULL), CLI_RUN);
    assert_true(cfg.kernel_addr_set && cfg.kernel_addr == 0);
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x", NULL), "--kernel-addr 0x");
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x-1", NULL), "0x-1");
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x4g", NULL), "0x4g");
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x10000000000000000", NULL), "0x1");
    assert_input_error(parse("-k", "v", "--kernel-addr", "four", NULL), "four");
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x0x10", NULL), "0x0x10");
    assert_input_error(parse("-k", "v", "--kernel-addr", "0x 10", NULL), "0x 10");

    assert_int_equal(parse("-k", "v", "--rtc-base", "2006-06-17", NULL), CLI_RUN);
    assert_true(cfg.rtc_base_set && cfg.rtc_base == 1150502400);
    assert_int_equal(parse("-k", "v", "--rtc-base=2006-06-17", "--rtc-base", "utc", NULL),
                     CLI_RUN);
    assert_false(cfg.rtc_base_set);   /* the last one wins: the host's clock */
    assert_int_equal(parse("-k", "v", "--rtc-base", "now", NULL), CLI_RUN);
    assert_false(cfg.rtc_base_set);
    assert_input_error(parse("-k", "v", "--rtc-base", "2006-02-30", NULL), "YYYY-MM-DD");
    assert_input_error(parse("-k", "v", "--rtc-base", "yesterday", NULL), "yesterday");

    assert_int_equal(parse("-k", "v", "--gdb", "tcp:1234", "--gdb-wait", NULL), CLI_RUN);
    assert_string_equal(cfg.gdb, "tcp:1234");
    assert_true(cfg.gdb_wait);
    assert_int_equal(parse("-k", "v", "--gdb=unix:/tmp/g", NULL), CLI_RUN);
    assert_string_equal(cfg.gdb, "unix:/tmp/g");
    assert_false(cfg.gdb_wait);
    assert_input_error(parse("-k", "v", "--gdb", "1234", NULL), "tcp:[HOST:]PORT or unix:PATH");
    assert_input_error(parse("-k", "v", "--gdb", "tcp:70000", NULL), "1 to 65535");
    assert_input_error(parse("-k", "v", "--gdb", "tcp:host:1", NULL), "not an IPv4 address");
}

static void test_bad_command_lines(void **state)
{
    (void)state;
    assert_input_error(parse("-k", "v", "--bogus", NULL), "--bogus");
    assert_input_error(parse("-k", "v", "-z", NULL), "-z");
    assert_input_error(parse("-k", NULL), "-k");               /* missing argument */
    assert_input_error(parse("-k", "v", "--initrd", NULL), "--initrd");
    assert_input_error(parse("-k", "v", "stray", NULL), "stray");
    assert_input_error(parse("stray", "-k", "v", NULL), "stray");
    assert_input_error(parse("-i", "rd", NULL), "no kernel");
    assert_input_error(parse(NULL), "no kernel");
    assert_input_error(parse("--reboot=yes", "-k", "v", NULL), "--reboot");
}

/* --rootfs DIR -- COMMAND: the words after "--" are the guest's command, options included,
 * and only with --rootfs; without words, an interactive shell. */
static void test_rootfs_command(void **state)
{
    (void)state;
    static char words[][16] = {"minivmm", "-k", "v", "--rootfs", "/,rw", "--modules", "/m",
                               "--", "ls", "-l", "--", "x y"};
    char *argv[13];
    for (int i = 0; i < 12; i++)
        argv[i] = words[i];
    argv[12] = NULL;
    vm_config_defaults(&cfg);
    assert_int_equal(cli_parse(12, argv, &cfg, NULL, &err), CLI_RUN);
    assert_string_equal(cfg.rootfs, "/,rw");
    assert_string_equal(cfg.modules_dir, "/m");
    assert_non_null(cfg.command);
    assert_string_equal(cfg.command[0], "ls");
    assert_string_equal(cfg.command[1], "-l");           /* not minivmm's -l */
    assert_string_equal(cfg.command[2], "--");
    assert_string_equal(cfg.command[3], "x y");
    assert_null(cfg.command[4]);
    assert_int_equal(parse("-k", "v", "--rootfs", "/", NULL), CLI_RUN);
    assert_null(cfg.command);                             /* a shell */
    assert_int_equal(parse("-k", "v", "--rootfs", "/", "--", NULL), CLI_RUN);
    assert_null(cfg.command);
    assert_input_error(parse("-k", "v", "--", "ls", NULL), "add --rootfs DIR");
    assert_input_error(parse("-k", "v", "--rootfs", "/", "ls", NULL), "goes after --rootfs DIR --");
    assert_input_error(parse("-k", "v", "stray", "--rootfs", "/", "--", "ls", NULL), "stray");
    assert_input_error(parse("-k", "v", "--rootfs", "/no-such-dir-here", NULL), "no-such-dir");
    assert_input_error(parse("-k", "v", "--rootfs", "/etc/hostname", NULL), "not a directory");
    assert_input_error(parse("-k", "v", "--rootfs", "/,ro", NULL), "--rootfs DIR,rw");
}

static void test_unknown_option_in_cluster(void **state)
{
    (void)state;
    /* Inside a cluster ("-zv") getopt has not advanced optind past the bad option, so the
     * message must come from optopt, not from argv[optind - 1] (which is the -k value). */
    assert_input_error(parse("-k", "v", "-zv", NULL), "-z");
}

/* Device options come from the device kinds (devices/list.c): each becomes a device SPEC of
 * its kind, checked at once, kept in order; --console and --snapshot shape them. */
static void test_devices(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "v", "-d", "a.img", "--disk", "b,,c.img,ro", "--console",
                           "virtio", "-d", "d.img,serial=x", "--snapshot", NULL), CLI_RUN);
    assert_int_equal(cfg.ndevices, 4);
    assert_string_equal(cfg.devices[0].kind->name, "disk");
    assert_string_equal(cfg.devices[1].spec, "b,,c.img,ro");
    assert_string_equal(cfg.devices[2].kind->name, "virtio-console");
    assert_string_equal(cfg.devices[3].spec, "d.img,serial=x");
    assert_true(cfg.snapshot_all);
    assert_int_equal(parse("-k", "v", "--console", "virtio", "--console", "vty", NULL), CLI_RUN);
    assert_int_equal(cfg.ndevices, 0);   /* the last --console wins */
    assert_input_error(parse("-k", "v", "-d", "a.img,bogus", NULL), "bogus");
    assert_input_error(parse("-k", "v", "--disk", NULL), "needs an argument");
    assert_input_error(parse("-k", "v", "--console", "serial", NULL), "vty or virtio");
    const char *many[40] = {"-k", "v"};
    for (int i = 0; i < 17; i++)
        many[2 + 2 * i] = "-d", many[3 + 2 * i] = "x.img";
    assert_input_error(parse(many[0], many[1], many[2], many[3], many[4], many[5], many[6],
                             many[7], many[8], many[9], many[10], many[11], many[12], many[13],
                             many[14], many[15], many[16], many[17], many[18], many[19],
                             many[20], many[21], many[22], many[23], many[24], many[25],
                             many[26], many[27], many[28], many[29], many[30], many[31],
                             many[32], many[33], many[34], many[35], NULL), "at most 16");
}

/* --net: passt by default (an empty SPEC, or options alone), refusals with the fix. */
static void test_net(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "v", "--net", "", "--net", "mac=02:00:00:00:00:02", "--net",
                           "tap=tap0", NULL), CLI_RUN);
    assert_int_equal(cfg.ndevices, 3);
    assert_string_equal(cfg.devices[0].kind->name, "net");
    assert_string_equal(cfg.devices[1].spec, "mac=02:00:00:00:00:02");
    assert_input_error(parse("-k", "v", "--net", "mac=03:00:00:00:00:01", NULL), "unicast");
    assert_input_error(parse("-k", "v", "--net", "user", NULL), "tap=NAME");
    assert_input_error(parse("-k", "v", "--net", "tap=a-very-long-name0", NULL), "15 characters");
}

static void test_help_version(void **state)
{
    (void)state;
    assert_int_equal(parse("-h", NULL), CLI_HELP);
    assert_int_equal(parse("--help", NULL), CLI_HELP);
    assert_int_equal(parse("--version", NULL), CLI_VERSION);
    assert_int_equal(parse("-k", "v", "--version", NULL), CLI_VERSION);
    assert_string_equal(err.msg, "");
}

static void test_reparse_is_independent(void **state)
{
    (void)state;
    /* getopt state is global: a second parse must start from scratch */
    assert_input_error(parse("-k", "v", "-c", "x", NULL), "-c x");
    assert_int_equal(parse("-c", "3", "-k", "w", NULL), CLI_RUN);
    assert_string_equal(cfg.kernel, "w");
    assert_int_equal(cfg.ncpus, 3);
}

static void test_parse_size(void **state)
{
    (void)state;
    uint64_t v = 12345;
    assert_int_equal(parse_size("64K", &v), 0);
    assert_true(v == 64 << 10);
    assert_int_equal(parse_size("2GiB", &v), 0);
    assert_true(v == 2ULL << 30);
    assert_int_equal(parse_size("3mb", &v), 0);
    assert_true(v == 3ULL << 20);
    assert_int_equal(parse_size("1048576", &v), 0);
    assert_true(v == 1048576);
    assert_int_equal(parse_size("16777215T", &v), 0);            /* 2^64 - 2^40: fits */
    assert_true(v == 16777215ULL << 40);

    v = 777;
    assert_int_equal(parse_size("", &v), -1);
    assert_int_equal(parse_size("M", &v), -1);
    assert_int_equal(parse_size("99999999999T", &v), -1);
    assert_int_equal(parse_size("16777216T", &v), -1);           /* exactly 2^64 */
    assert_int_equal(parse_size("18446744073709551616", &v), -1);
    assert_int_equal(parse_size("-1", &v), -1);
    assert_int_equal(parse_size(" 1", &v), -1);
    assert_int_equal(parse_size("1 G", &v), -1);
    assert_int_equal(parse_size("1GX", &v), -1);
    assert_int_equal(parse_size("1iB", &v), -1);                 /* no unit, then "iB" */
    assert_int_equal(parse_size("1B", &v), -1);
    assert_int_equal(parse_size(NULL, &v), -1);
    assert_true(v == 777);                                       /* untouched on failure */
}

/* --vsock is the vsock device kind's option: its SPEC checked as the command line is read,
 * at most one per VM. */
static void test_vsock_option(void **state)
{
    (void)state;
    assert_int_equal(parse("-k", "vmlinux", "--vsock", "3,uds=/tmp/v.sock", NULL), CLI_RUN);
    assert_int_equal(cfg.ndevices, 1);
    assert_string_equal(cfg.devices[0].kind->name, "vsock");
    assert_string_equal(cfg.devices[0].spec, "3,uds=/tmp/v.sock");
    assert_input_error(parse("-k", "vmlinux", "--vsock", "2,uds=/tmp/v.sock", NULL),
                       "CID must be 3 to 4294967294");
    assert_input_error(parse("-k", "vmlinux", "--vsock", "3", NULL), "no uds=PATH");
    assert_input_error(parse("-k", "vmlinux", "--vsock", "3,uds=/a", "--vsock", "4,uds=/b",
                             NULL), "vsock");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_with_kernel),
        cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_memory_sizes),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_kernel_addr_rtc_base),
        cmocka_unit_test(test_bad_command_lines),
        cmocka_unit_test(test_unknown_option_in_cluster),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_net),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_reparse_is_independent),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_vsock_option),
        cmocka_unit_test(test_rootfs_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
