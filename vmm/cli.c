#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/device.h"
#include "console.h"
#include "mem.h"

void cli_usage(FILE *f)
{
    fputs(
"Usage: minivmm -k VMLINUX [options]\n"
"       minivmm -k VMLINUX --rootfs DIR [options] [-- COMMAND [ARG...]]\n"
"Boots a pseries Linux guest on KVM-HV straight from a flattened device tree.\n"
"\n"
"A host directory as the guest's root, one command:\n"
"      --rootfs DIR[,rw] the guest's / is DIR (virtio-9p), read-only with writes kept in\n"
"                        guest memory, gone at exit; rw: writes reach DIR. With no -i,\n"
"                        minivmm makes the initramfs: its own init and the modules the\n"
"                        root needs. Runs COMMAND with minivmm's stdin, stdout and stderr\n"
"                        (binary-safe; kernel messages go to --log, and stderr with -v)\n"
"                        and exits with its status; no COMMAND: an interactive shell\n"
"      --modules DIR     the kernel's modules (DIR has modules.dep); default: the root's\n"
"                        /lib/modules/VERSION, VERSION read from the vmlinux\n"
"\n"
"Guest:\n"
"  -k, --kernel FILE     ELF vmlinux to boot (ppc64le or ppc64)\n"
"  -i, --initrd FILE     initial ramdisk\n"
"  -a, --append CMDLINE  kernel command line\n"
"      --kernel-addr ADDR\n"
"                        load the image at ADDR (default: a vmlinux linked at\n"
"                        KERNELBASE where it is linked, any other image at 4M)\n"
"      --rtc-base DATE   now|utc|YYYY-MM-DD[THH:MM[:SS]]: the guest's clock starts there\n"
"                        (UTC; default now)\n"
"  -m, --memory SIZE     guest memory, e.g. 512M, 2G (default 512M)\n"
"  -c, --cpus N          number of vCPUs (default 1)\n", f);
    /* Each device kind brings its own option and says how to use it. */
    for (unsigned i = 0; device_kinds[i]; i++)
        if (device_kinds[i]->usage)
            fputs(device_kinds[i]->usage, f);
    fputs(
"      --irqchip WHERE   auto|kernel|user: the XICS interrupt controller in KVM or in\n"
"                        minivmm (default auto: KVM's when the host has one)\n"
"      --snapshot        every disk is a snapshot: guest writes are kept in memory and\n"
"                        discarded at exit (also per disk: -d PATH,snapshot)\n"
"      --mem-path DIR    back guest memory with hugepages from hugetlbfs mount DIR\n"
"      --kvm-type TYPE   auto|hv|pr: KVM flavour (default auto: HV when it can run the guest)\n"
"      --mmu MODE        auto|radix|hash: guest MMU mode (default auto: Radix when possible)\n"
"      --nested-hv       let the guest run KVM-HV itself (Radix guests on Radix hosts)\n"
"      --reboot          restart the guest when it reboots instead of exiting\n"
"      --console KIND    vty|virtio: the console that gets stdin (default vty, the guest's\n"
"                        hvc0); virtio adds a virtio console, the guest's hvc1\n"
"\n"
"Unattended runs (CI):\n"
"      --timeout SECONDS stop the guest SECONDS after minivmm began building it\n"
"                        (exit status 7)\n"
"      --expect PATTERN  end with success as soon as the console shows PATTERN (repeatable)\n"
"      --fail-on PATTERN end with failure (status 8) when the console shows PATTERN\n"
"                        (repeatable); \"Kernel panic - not syncing\" is always watched for\n"
"                        (status 4) unless --no-default-fail\n"
"      --no-default-fail do not stop on \"Kernel panic - not syncing\"\n"
"      --log FILE        write the whole console to FILE as well\n"
"      --json FILE       write a summary of the run to FILE at exit\n"
"      --system-map FILE the kernel's symbols for the report on a hang (default: the\n"
"                        vmlinux's own); the report (each vCPU's registers, code and\n"
"                        function) goes to stderr and the JSON at --timeout, and on SIGUSR1\n"
"                        at any time\n"
"  -q, --quiet           do not copy guest output to stdout\n"
"\n"
"Debugging:\n"
"      --gdb tcp:[HOST:]PORT | unix:PATH\n"
"                        a GDB remote stub there (HOST defaults to 127.0.0.1): gdb-multiarch\n"
"                        vmlinux -ex 'target remote HOST:PORT'; breakpoints, steps, registers\n"
"                        and memory by the guest's virtual addresses; vCPUs are threads\n"
"      --gdb-wait        hold every vCPU before its first instruction until gdb continues\n"
"A guest reports an exit code by printing a line \"minivmm-exit-code: N\" (0-255); it shows\n"
"in the JSON summary.\n"
"\n"
"Other:\n"
"      --check           report what this host offers and which guests it can run (the\n"
"                        seed's matrix), then judge the configuration the other flags ask\n"
"                        for; exit status 0 if it can run here, 2 if not (no kernel needed)\n"
"      --dump-dtb FILE   write the guest's device tree blob to FILE and exit\n"
"      --dump-initramfs FILE  write the initrd the guest would get to FILE and exit (with\n"
"                        --rootfs and no -i: the one minivmm makes, cpio newc)\n"
"      --no-seccomp      do not restrict the vCPU and disk threads with seccomp (debugging)\n"
"  -v, --verbose         report the machine minivmm built and unusual guest behaviour\n"
"      --stats           at exit, count what brought the vCPUs out of the guest: exit\n"
"                        reasons, hcalls by name, MMIO reads and writes (profiling)\n"
"  -h, --help            this text\n"
"      --version         print the version\n"
"\n"
"Console: the guest's hvc0 is on stdin/stdout. On a terminal, Ctrl-A x quits and\n"
"Ctrl-A Ctrl-A sends Ctrl-A.\n"
"\n"
"Exit status:\n"
"  0  the guest powered off, or an --expect pattern appeared\n"
"  1  invalid input: bad option, unreadable or invalid kernel/initrd, impossible size\n"
"  2  this host cannot run the VM (no /dev/kvm, no permission, KVM flavour missing,\n"
"     host and guest incompatible); the message says what to change\n"
"  3  the guest rebooted (without --reboot)\n"
"  4  the guest crashed: a kernel panic on the console, or reported through ibm,os-term\n"
"  5  minivmm failed while running the guest (the message and a register dump say why),\n"
"     or a sandboxed thread broke its seccomp filter\n"
"  6  stopped from outside: Ctrl-A x, SIGINT, SIGTERM or SIGHUP\n"
"  7  --timeout expired\n"
"  8  a --fail-on pattern appeared on the console\n"
"With --rootfs, the command's (or the shell's) own status instead, 128+N if signal N\n"
"killed it, and as env(1) does: 127 not found, 126 not executable, 125 anything above\n"
"but 0 (minivmm or the VM failed; the message says why), 124 --timeout.\n", f);
}

/* The command's own options (what to do, and where its output goes) have codes of their own;
 * every other option is the library's, handed over by name (vm_config_set here, and
 * minivmm_set_option() in main) with OPT_LIBRARY, or with its short letter. */
enum { OPT_LIBRARY = 256, OPT_CHECK, OPT_DUMP_DTB, OPT_DUMP_INITRAMFS, OPT_JSON, OPT_VERSION };

static const struct option core_options[] = {
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"append", required_argument, NULL, 'a'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'c'},
    {"mem-path", required_argument, NULL, OPT_LIBRARY},
    {"kvm-type", required_argument, NULL, OPT_LIBRARY},
    {"mmu", required_argument, NULL, OPT_LIBRARY},
    {"reboot", no_argument, NULL, OPT_LIBRARY},
    {"nested-hv", no_argument, NULL, OPT_LIBRARY},
    {"stats", no_argument, NULL, OPT_LIBRARY},
    {"console", required_argument, NULL, OPT_LIBRARY},
    {"snapshot", no_argument, NULL, OPT_LIBRARY},
    {"irqchip", required_argument, NULL, OPT_LIBRARY},
    {"no-seccomp", no_argument, NULL, OPT_LIBRARY},
    {"timeout", required_argument, NULL, OPT_LIBRARY},
    {"expect", required_argument, NULL, OPT_LIBRARY},
    {"fail-on", required_argument, NULL, OPT_LIBRARY},
    {"no-default-fail", no_argument, NULL, OPT_LIBRARY},
    {"log", required_argument, NULL, OPT_LIBRARY},
    {"rootfs", required_argument, NULL, OPT_LIBRARY},
    {"modules", required_argument, NULL, OPT_LIBRARY},
    {"kernel-addr", required_argument, NULL, OPT_LIBRARY},
    {"rtc-base", required_argument, NULL, OPT_LIBRARY},
    {"system-map", required_argument, NULL, OPT_LIBRARY},
    {"gdb", required_argument, NULL, OPT_LIBRARY},
    {"gdb-wait", no_argument, NULL, OPT_LIBRARY},
    {"check", no_argument, NULL, OPT_CHECK},
    {"json", required_argument, NULL, OPT_JSON},
    {"result-json", required_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
    {"dump-initramfs", required_argument, NULL, OPT_DUMP_INITRAMFS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
};
#define NCORE (sizeof(core_options) / sizeof(core_options[0]))
#define MAX_KINDS 16

/* The core options, then one per device kind that has one (with its short letter, if any).
 * "+": getopt stops at the first word that is not an option, instead of moving it to the end:
 * a stray word must not slip into the guest's command after "--". */
static void all_options(struct option *opts, char *shorts, size_t shorts_len)
{
    memcpy(opts, core_options, sizeof(core_options));
    size_t n = NCORE, s = strlen(strcpy(shorts, "+:k:i:a:m:c:qvh"));
    for (unsigned i = 0; device_kinds[i] && i < MAX_KINDS; i++) {
        const struct device_kind *k = device_kinds[i];
        if (!k->usage)
            continue;
        int code = k->short_option ? k->short_option : OPT_LIBRARY;
        opts[n++] = (struct option){k->name, required_argument, NULL, code};
        if (k->short_option && s + 3 < shorts_len) {
            shorts[s++] = k->short_option;
            shorts[s++] = ':';
            shorts[s] = '\0';
        }
    }
    opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* The long name of the option getopt returned: the one it matched, or the one a short
 * letter stands for. */
static const char *name_of(const struct option *opts, int opt, int index)
{
    if (index >= 0)
        return opts[index].name;
    for (; opts->name; opts++)
        if (opts->val == opt)
            return opts->name;
    return NULL;
}

static int bad_option(int argc, char **argv, int opt, struct mvm_err *e)
{
    (void)argc;
    if (opt == ':')
        return mvm_fail(e, MVM_E_INPUT, "option %s needs an argument (see --help)",
                        argv[optind - 1]);
    /* A bad short option is named by optopt: inside a cluster (-zv) optind has not moved
     * past it yet. Long options are named by the argument itself. */
    if (optopt > 0 && optopt < 128 && strncmp(argv[optind - 1], "--", 2) != 0)
        return mvm_fail(e, MVM_E_INPUT, "unknown option -%c (see --help)", optopt);
    return mvm_fail(e, MVM_E_INPUT, "unknown option %s (see --help)", argv[optind - 1]);
}

/* Applies a library option to c (so a bad value is refused here, with the library's words)
 * and records it for main() to hand over. */
static int library_option(struct vm_config *c, struct cli_settings *s, const char *name,
                          const char *value, struct mvm_err *e)
{
    if (vm_config_set(c, name, value, e))
        return -1;
    if (s) {
        if (s->n == CLI_MAX_SETTINGS)
            return mvm_fail(e, MVM_E_INPUT, "more than %d options", CLI_MAX_SETTINGS);
        s->set[s->n].name = name;
        s->set[s->n++].value = value;
    }
    return 0;
}

int cli_parse(int argc, char **argv, struct vm_config *c, struct cli_settings *s,
              struct mvm_err *e)
{
    bool check = false;
    struct option opts[NCORE + MAX_KINDS + 1];
    char shorts[64];
    all_options(opts, shorts, sizeof(shorts));
    if (s)
        s->n = 0;
    opterr = 0;      /* we word the errors ourselves */
    optind = 0;      /* glibc: restart scanning from scratch (the tests parse many times) */
    int opt, index = -1;
    while ((opt = getopt_long(argc, argv, shorts, opts, &index)) != -1) {
        const char *name = name_of(opts, opt, index);
        index = -1;
        switch (opt) {
        case OPT_CHECK: check = true; break;
        case OPT_DUMP_DTB: c->dump_dtb = optarg; break;
        case OPT_DUMP_INITRAMFS: c->dump_initramfs = optarg; break;
        case OPT_JSON: c->json_path = optarg; break;
        case 'v': c->verbose = true; break;
        case 'q': c->quiet = true; break;
        case 'h': return CLI_HELP;
        case OPT_VERSION: return CLI_VERSION;
        case ':':
        case '?': return bad_option(argc, argv, opt, e);
        default:
            if (!name)
                return bad_option(argc, argv, opt, e);
            if (library_option(c, s, name, optarg, e))
                return -1;
        }
    }
    /* Words after "--" are the command run in the guest (getopt stops there). */
    bool dashes = optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0;
    if (dashes && !c->rootfs)
        return mvm_fail(e, MVM_E_INPUT, "a command after -- runs in a guest whose root is a "
                        "host directory: add --rootfs DIR (e.g. --rootfs /)");
    if (optind < argc && !dashes)
        return mvm_fail(e, MVM_E_INPUT, "unexpected argument '%s' (see --help; a command to "
                        "run in the guest goes after --rootfs DIR --)", argv[optind]);
    if (optind < argc)
        c->command = (const char *const *)&argv[optind];
    if (check)
        return CLI_CHECK;
    if (!c->kernel)
        return mvm_fail(e, MVM_E_INPUT, "no kernel given: minivmm -k vmlinux (see --help)");
    return CLI_RUN;
}
