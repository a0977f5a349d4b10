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
"Boots a pseries Linux guest on KVM-HV straight from a flattened device tree.\n"
"\n"
"Guest:\n"
"  -k, --kernel FILE     ELF vmlinux to boot (ppc64le or ppc64)\n"
"  -i, --initrd FILE     initial ramdisk\n"
"  -a, --append CMDLINE  kernel command line\n"
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
"      --timeout SECONDS stop the guest after SECONDS (exit status 7)\n"
"      --expect PATTERN  end with success as soon as the console shows PATTERN (repeatable)\n"
"      --fail-on PATTERN end with failure (status 8) when the console shows PATTERN\n"
"                        (repeatable); \"Kernel panic - not syncing\" is always watched for\n"
"                        (status 4) unless --no-default-fail\n"
"      --no-default-fail do not stop on \"Kernel panic - not syncing\"\n"
"      --log FILE        write the whole console to FILE as well\n"
"      --json FILE       write a summary of the run to FILE at exit\n"
"  -q, --quiet           do not copy guest output to stdout\n"
"A guest reports an exit code by printing a line \"minivmm-exit-code: N\" (0-255); it shows\n"
"in the JSON summary.\n"
"\n"
"Other:\n"
"      --check           report what this host offers and which guests it can run (the\n"
"                        seed's matrix), then judge the configuration the other flags ask\n"
"                        for; exit status 0 if it can run here, 2 if not (no kernel needed)\n"
"      --dump-dtb FILE   write the guest's device tree blob to FILE and exit\n"
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
"  8  a --fail-on pattern appeared on the console\n", f);
}

enum { OPT_MEM_PATH = 256, OPT_KVM_TYPE, OPT_MMU, OPT_REBOOT, OPT_DUMP_DTB, OPT_VERSION,
       OPT_CONSOLE, OPT_IRQCHIP, OPT_SNAPSHOT, OPT_NO_SECCOMP, OPT_TIMEOUT, OPT_EXPECT, OPT_FAIL_ON, OPT_NO_DEFAULT_FAIL, OPT_LOG, OPT_JSON,
       OPT_NESTED_HV, OPT_CHECK, OPT_STATS };

/* getopt codes from OPT_DEVICE on are device kinds: OPT_DEVICE + i is device_kinds[i]. */
#define OPT_DEVICE 1000

static const struct option core_options[] = {
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"append", required_argument, NULL, 'a'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'c'},
    {"mem-path", required_argument, NULL, OPT_MEM_PATH},
    {"kvm-type", required_argument, NULL, OPT_KVM_TYPE},
    {"mmu", required_argument, NULL, OPT_MMU},
    {"reboot", no_argument, NULL, OPT_REBOOT},
    {"nested-hv", no_argument, NULL, OPT_NESTED_HV},
    {"stats", no_argument, NULL, OPT_STATS},
    {"check", no_argument, NULL, OPT_CHECK},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"snapshot", no_argument, NULL, OPT_SNAPSHOT},
    {"irqchip", required_argument, NULL, OPT_IRQCHIP},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"no-default-fail", no_argument, NULL, OPT_NO_DEFAULT_FAIL},
    {"log", required_argument, NULL, OPT_LOG},
    {"json", required_argument, NULL, OPT_JSON},
    {"result-json", required_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
};
#define NCORE (sizeof(core_options) / sizeof(core_options[0]))
#define MAX_KINDS 16

/* The core options, then one per device kind that has one (with its short letter, if any). */
static void all_options(struct option *opts, char *shorts, size_t shorts_len)
{
    memcpy(opts, core_options, sizeof(core_options));
    size_t n = NCORE, s = strlen(strcpy(shorts, ":k:i:a:m:c:qvh"));
    for (unsigned i = 0; device_kinds[i] && i < MAX_KINDS; i++) {
        const struct device_kind *k = device_kinds[i];
        if (!k->usage)
            continue;
        int code = k->short_option ? k->short_option : OPT_DEVICE + (int)i;
        opts[n++] = (struct option){k->name, required_argument, NULL, code};
        if (k->short_option && s + 3 < shorts_len) {
            shorts[s++] = k->short_option;
            shorts[s++] = ':';
            shorts[s] = '\0';
        }
    }
    opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* A device option: its kind from the getopt code. */
static const struct device_kind *device_option(int opt)
{
    for (unsigned i = 0; device_kinds[i]; i++)
        if (opt == (device_kinds[i]->short_option ? device_kinds[i]->short_option
                                                  : OPT_DEVICE + (int)i))
            return device_kinds[i];
    return NULL;
}

int cli_parse(int argc, char **argv, struct vm_config *c, struct mvm_err *e)
{
    bool check = false;
    struct option opts[NCORE + MAX_KINDS + 1];
    char shorts[64];
    all_options(opts, shorts, sizeof(shorts));
    opterr = 0;      /* we word the errors ourselves */
    optind = 0;      /* glibc: restart scanning from scratch (the tests parse many times) */
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        const struct device_kind *kind = device_option(opt);
        if (kind) {
            if (vm_config_add_device(c, kind->name, optarg, e))
                return -1;
            continue;
        }
        switch (opt) {
        case 'k': c->kernel = optarg; break;
        case 'i': c->initrd = optarg; break;
        case 'a': c->cmdline = optarg; break;
        case 'm':
            if (parse_size(optarg, &c->mem_size) != 0)
                return mvm_fail(e, MVM_E_INPUT, "-m %s: not a size (use e.g. 512M or 2G)", optarg);
            /* A bare number means MiB, as with QEMU's -m. */
            if (strspn(optarg, "0123456789") == strlen(optarg)) {
                if (c->mem_size > (UINT64_MAX >> 20))
                    return mvm_fail(e, MVM_E_INPUT, "-m %s: too large", optarg);
                c->mem_size <<= 20;
            }
            break;
        case 'c': {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || *optarg == '-' || n > 0xffffffffUL)
                return mvm_fail(e, MVM_E_INPUT, "-c %s: not a number of vCPUs", optarg);
            c->ncpus = (unsigned)n;
            break;
        }
        case OPT_MEM_PATH: c->mem_path = optarg; break;
        case OPT_KVM_TYPE:
            if (strcmp(optarg, "auto") == 0) c->kvm_type = KVM_TYPE_AUTO;
            else if (strcmp(optarg, "hv") == 0) c->kvm_type = KVM_TYPE_HV;
            else if (strcmp(optarg, "pr") == 0) c->kvm_type = KVM_TYPE_PR;
            else return mvm_fail(e, MVM_E_INPUT, "--kvm-type %s: use auto, hv or pr", optarg);
            break;
        case OPT_MMU:
            if (strcmp(optarg, "auto") == 0) c->mmu = MMU_AUTO;
            else if (strcmp(optarg, "radix") == 0) c->mmu = MMU_RADIX;
            else if (strcmp(optarg, "hash") == 0) c->mmu = MMU_HASH;
            else return mvm_fail(e, MVM_E_INPUT, "--mmu %s: use auto, radix or hash", optarg);
            break;
        case OPT_REBOOT: c->reboot = true; break;
        case OPT_NESTED_HV: c->nested_hv = true; break;
        case OPT_STATS: c->stats = true; break;
        case OPT_CHECK: check = true; break;
        case OPT_CONSOLE:
            if (strcmp(optarg, "vty") != 0 && strcmp(optarg, "virtio") != 0)
                return mvm_fail(e, MVM_E_INPUT, "--console %s: use vty or virtio", optarg);
            vm_config_remove_devices(c, "virtio-console");   /* the last --console wins */
            if (strcmp(optarg, "virtio") == 0 && vm_config_add_device(c, "virtio-console", "", e))
                return -1;
            break;
        case OPT_DUMP_DTB: c->dump_dtb = optarg; break;
        case 'v': c->verbose = true; break;
        case 'q': c->quiet = true; break;
        case OPT_TIMEOUT: {
            char *end;
            unsigned long s = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end != '\0' || s > 7 * 24 * 3600)
                return mvm_fail(e, MVM_E_INPUT, "--timeout %s: give whole seconds, 1 to 604800",
                                optarg);
            c->timeout_s = (unsigned)s;
            break;
        }
        case OPT_EXPECT:
        case OPT_FAIL_ON: {
            bool exp = opt == OPT_EXPECT;
            unsigned *n = exp ? &c->nexpect : &c->nfail_on;
            if (*n == VM_MAX_PATTERNS)
                return mvm_fail(e, MVM_E_INPUT, "--%s: at most %d patterns",
                                exp ? "expect" : "fail-on", VM_MAX_PATTERNS);
            if (optarg[0] == '\0' || strlen(optarg) > CONSOLE_PATTERN_MAX)
                return mvm_fail(e, MVM_E_INPUT, "--%s: a pattern has 1 to %d bytes",
                                exp ? "expect" : "fail-on", CONSOLE_PATTERN_MAX);
            (exp ? c->expect : c->fail_on)[(*n)++] = optarg;
            break;
        }
        case OPT_NO_DEFAULT_FAIL: c->no_default_fail = true; break;
        case OPT_SNAPSHOT: c->snapshot_all = true; break;
        case OPT_IRQCHIP:
            if (strcmp(optarg, "auto") == 0) c->irqchip = IRQCHIP_AUTO;
            else if (strcmp(optarg, "kernel") == 0) c->irqchip = IRQCHIP_KERNEL;
            else if (strcmp(optarg, "user") == 0) c->irqchip = IRQCHIP_USER;
            else return mvm_fail(e, MVM_E_INPUT, "--irqchip %s: use auto, kernel or user", optarg);
            break;
        case OPT_NO_SECCOMP: c->seccomp = false; break;
        case OPT_LOG: c->log_path = optarg; break;
        case OPT_JSON: c->json_path = optarg; break;
        case 'h': return CLI_HELP;
        case OPT_VERSION: return CLI_VERSION;
        case ':':
            return mvm_fail(e, MVM_E_INPUT, "option %s needs an argument (see --help)",
                            argv[optind - 1]);
        default:
            /* A bad short option is named by optopt: inside a cluster (-zv) optind has not
             * moved past it yet. Long options are named by the argument itself. */
            if (optopt > 0 && optopt < 128 && strncmp(argv[optind - 1], "--", 2) != 0)
                return mvm_fail(e, MVM_E_INPUT, "unknown option -%c (see --help)", optopt);
            return mvm_fail(e, MVM_E_INPUT, "unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return mvm_fail(e, MVM_E_INPUT, "unexpected argument '%s' (see --help)", argv[optind]);
    if (check)
        return CLI_CHECK;
    if (!c->kernel)
        return mvm_fail(e, MVM_E_INPUT, "no kernel given: minivmm -k vmlinux (see --help)");
    return CLI_RUN;
}
