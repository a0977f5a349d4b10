/* fdt_size_bound(): the size the guest memory layout reserves for the device tree before the
 * machine exists must never be smaller than the tree built later, for any machine minivmm can
 * make; and it must stay close enough to be worth having. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/pci.h"
#include "../../vmm/config.h"
#include "../../vmm/machine.h"
#include "fdt_fixture.h"

/* KVM-HV on POWER8 spaces vCPU ids by a core's 8 threads, the widest any host does. */
#define P8_STRIDE 8

/* The RTAS services of a complete machine: minivmm's own, the XICS calls (the same names
 * whether KVM or minivmm serves them) and, with devices, the PCI config calls. */
static struct machine mach;
static struct rtas mach_rtas;
static const struct rtas_service xics_names[] = {
    {"ibm,set-xive", NULL, 3, 1},
    {"ibm,get-xive", NULL, 1, 3},
    {"ibm,int-off", NULL, 1, 1},
    {"ibm,int-on", NULL, 1, 1},
};

static struct bus bus;
static struct pci_host host;
static struct pci_device devs[PCI_MAX_DEVICES];

/* A machine as vm.c describes it, with npci virtio devices behind the PCI host bridge. */
static void real_params(struct fdt_params *p, bool radix, unsigned ncpus, uint32_t stride,
                        unsigned npci, const char *bootargs)
{
    static const uint8_t seed[32];
    fill_params(p, radix, ncpus, stride);
    p->ram_size = 1ULL << 40;
    p->rma_size = 1ULL << 30;
    p->cpu_model = "POWER10";
    p->rng_seed = seed;
    p->rng_seed_len = sizeof(seed);
    p->bootargs = bootargs;
    mach.rtas = &mach_rtas;
    rtas_init(mach.rtas);
    for (size_t i = 0; i < sizeof(xics_names) / sizeof(xics_names[0]); i++)
        assert_true(rtas_register(mach.rtas, &xics_names[i]) > 0);
    p->rtas = mach.rtas;
    memset(&bus, 0, sizeof(bus));
    memset(&host, 0, sizeof(host));
    for (unsigned i = 0; i < npci; i++)
        assert_int_equal(pci_add_device(&host, &bus, &devs[i], 0x1af4, 0x1042, 0x010000,
                                        0x1af4, 2, 0x4000), 0);
    if (npci) {
        mach.pci = &host;
        assert_int_equal(pci_register_rtas(&mach), 0);
        p->pci = &host;
    }
}

static size_t built_size(const struct fdt_params *p)
{
    struct fdt_blob b;
    struct mvm_err e = {0};
    if (fdt_build(p, &b, &e))
        fail_msg("fdt_build: %s", e.msg);
    free(b.data);
    return b.size;
}

static size_t bound(unsigned ncpus, uint32_t stride, unsigned npci, const char *bootargs)
{
    struct fdt_shape s = {.ncpus = ncpus, .vcpu_id_stride = stride, .npci = npci,
                          .bootargs = bootargs};
    struct mvm_err e = {0};
    size_t size;
    if (fdt_size_bound(&s, &size, &e))
        fail_msg("fdt_size_bound: %s", e.msg);
    return size;
}

static char *text(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = "console=hvc0 root=/dev/vda "[i % 27];
    s[n] = '\0';
    return s;
}

static void test_bound_covers_built_trees(void **state)
{
    (void)state;
    char *long_line = text(4096);
    const char *lines[] = {"console=hvc0 root=/dev/vda", long_line};
    const unsigned cpus[] = {1, 2, 133, VM_MAX_CPUS};
    const uint32_t strides[] = {1, P8_STRIDE};
    const unsigned npcis[] = {0, 1, PCI_MAX_DEVICES};
    for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++)
        for (size_t s = 0; s < sizeof(strides) / sizeof(strides[0]); s++)
            for (size_t d = 0; d < sizeof(npcis) / sizeof(npcis[0]); d++)
                for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
                    size_t b = bound(cpus[c], strides[s], npcis[d], lines[l]);
                    for (int radix = 0; radix < 2; radix++) {
                        struct fdt_params p;
                        real_params(&p, radix, cpus[c], strides[s], npcis[d], lines[l]);
                        size_t real = built_size(&p);
                        if (real > b || b > 2 * real + 16 * 1024)
                            fail_msg("%u vCPUs, stride %u, %u devices, %s: built %zu, bound %zu",
                                     cpus[c], strides[s], npcis[d], radix ? "radix" : "hash",
                                     real, b);
                    }
                }
    free(long_line);
}

/* The largest machine -c and -d allow, with a long command line: the bound holds it, and the
 * tree built into that much room has every CPU, every disk and the whole line. */
static void test_many_disks_long_cmdline(void **state)
{
    (void)state;
    char *line = text(64 * 1024);
    unsigned ndev = 17;   /* 16 disks and the virtio console */
    size_t b = bound(VM_MAX_CPUS, P8_STRIDE, ndev, line);
    struct fdt_params p;
    real_params(&p, false, VM_MAX_CPUS, P8_STRIDE, ndev, line);
    struct fdt_blob t;
    struct mvm_err e = {0};
    assert_int_equal(fdt_build(&p, &t, &e), 0);
    assert_true(t.size <= b);
    int len;
    const char *args = fdt_getprop(t.data, fdt_path_offset(t.data, "/chosen"), "bootargs", &len);
    assert_non_null(args);
    assert_int_equal(len, (int)strlen(line) + 1);
    assert_string_equal(args, line);
    char path[64];
    snprintf(path, sizeof(path), "/pci@%llx", (unsigned long long)PHB_BUID);
    int phb = fdt_path_offset(t.data, path);
    assert_true(phb >= 0);
    int n = 0, off;
    fdt_for_each_subnode(off, t.data, phb)
        n++;
    assert_int_equal(n, (int)ndev);
    n = 0;
    fdt_for_each_subnode(off, t.data, fdt_path_offset(t.data, "/cpus"))
        n++;
    assert_int_equal(n, VM_MAX_CPUS);
    free(t.data);
    free(line);
}

/* Everything at its largest stays far below FDT_SIZE_LIMIT: only the command line gets there. */
static void test_worst_machine(void **state)
{
    (void)state;
    char *line = text(2048);   /* powerpc Linux's COMMAND_LINE_SIZE */
    size_t b = bound(VM_MAX_CPUS, P8_STRIDE, PCI_MAX_DEVICES, line);
    assert_true(b < 256 * 1024);
    assert_true(b < FDT_SIZE_LIMIT / 4);
    free(line);
}

static void test_huge_cmdline_refused(void **state)
{
    (void)state;
    char *line = text(FDT_SIZE_LIMIT);
    struct fdt_shape s = {.ncpus = 1, .vcpu_id_stride = 1, .bootargs = line};
    struct mvm_err e = {0};
    size_t size;
    assert_int_equal(fdt_size_bound(&s, &size, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "shorten the command line"));
    free(line);
}

static void test_too_many_devices(void **state)
{
    (void)state;
    struct fdt_shape s = {.ncpus = 1, .vcpu_id_stride = 1, .npci = PCI_MAX_DEVICES + 1};
    struct mvm_err e = {0};
    size_t size;
    assert_int_equal(fdt_size_bound(&s, &size, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_covers_built_trees),
        cmocka_unit_test(test_many_disks_long_cmdline),
        cmocka_unit_test(test_worst_machine),
        cmocka_unit_test(test_huge_cmdline_refused),
        cmocka_unit_test(test_too_many_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
