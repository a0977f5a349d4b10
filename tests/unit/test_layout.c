/* layout_place() / layout_plan(): the kernel, initrd, RTAS and a device tree of any size
 * either fit without overlapping, below the real-mode limit, or are refused with the fix. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../fdt/fdt.h"
#include "../../vmm/config.h"
#include "../../devices/device.h"
#include "../../vmm/layout.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* Everything in its place, in order, nothing overlapping, all below the real-mode top. */
static void assert_sane(const struct boot_layout *l, uint64_t kernel_end, uint64_t initrd_size,
                        uint64_t fdt_size, uint64_t rma)
{
    uint64_t top = rma < GiB ? rma : GiB;
    assert_true(kernel_end <= l->initrd);
    assert_int_equal(l->initrd % LAYOUT_ALIGN, 0);
    assert_true(l->initrd_size == initrd_size);
    assert_true(l->initrd + l->initrd_size <= l->rtas);
    assert_true(l->rtas + LAYOUT_RTAS_AREA <= l->fdt);
    assert_true(l->fdt_area >= fdt_size);
    assert_true(l->fdt + l->fdt_area <= top);
    assert_int_equal(l->fdt % LAYOUT_ALIGN, 0);
}

static void test_typical(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_place(&l, 0, 20 * MiB + 5, 10 * MiB, 5 * KiB, 512 * MiB, MVM_E_INPUT,
                                  &e), 0);
    assert_sane(&l, 20 * MiB + 5, 10 * MiB, 5 * KiB, 512 * MiB);
    /* the tree at the very top, RTAS right below it, the initrd right after the kernel */
    assert_true(l.fdt == 512 * MiB - 64 * KiB);
    assert_true(l.rtas == l.fdt - 64 * KiB);
    assert_true(l.initrd == 20 * MiB + 64 * KiB);
}

/* RTAS must sit below 1 GiB however much the guest reaches in real mode. */
static void test_top_capped_at_1g(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_place(&l, 0, 20 * MiB, 0, 3 * KiB, 64 * GiB, MVM_E_INPUT, &e), 0);
    assert_sane(&l, 20 * MiB, 0, 3 * KiB, 64 * GiB);
    assert_true(l.fdt + l.fdt_area == GiB);
}

/* The tree of 256 vCPUs, 16 disks and a console is several times the old fixed 64 KiB: its
 * area grows downwards and RTAS moves down with it, still clear of the initrd. */
static void test_big_machine(void **state)
{
    (void)state;
    struct vm_config c;
    vm_config_defaults(&c);
    c.ncpus = VM_MAX_CPUS;
    c.ndevices = 17;   /* 16 disks and a virtio console */
    c.cmdline = "console=hvc1 root=/dev/vda";
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_plan(&l, &c, 8, 0, 30 * MiB, 40 * MiB, 512 * MiB, MVM_E_HOST, &e), 0);
    assert_true(l.fdt_area > 64 * KiB);
    assert_sane(&l, 30 * MiB, 40 * MiB, l.fdt_area, 512 * MiB);
    assert_true(l.fdt + l.fdt_area == 512 * MiB);

    struct boot_layout one;
    c.ncpus = 1;
    c.ndevices = 0;
    assert_int_equal(layout_plan(&one, &c, 1, 0, 30 * MiB, 40 * MiB, 512 * MiB, MVM_E_HOST, &e), 0);
    assert_true(one.fdt_area == 64 * KiB);   /* a small machine keeps the old footprint */
    assert_true(l.rtas < one.rtas);
}

/* Each device is one PCI function: the devices the configuration lists, of any kind. */
static void test_pci_devices(void **state)
{
    (void)state;
    struct vm_config c;
    struct mvm_err e = {0};
    vm_config_defaults(&c);
    assert_int_equal(vm_config_add_device(&c, "disk", "a.img", &e), 0);
    assert_int_equal(vm_config_add_device(&c, "disk", "b.img,ro", &e), 0);
    assert_int_equal(vm_config_add_device(&c, "virtio-console", "", &e), 0);
    assert_int_equal(c.ndevices, 3);
    assert_int_equal(vm_config_count_devices(&c, "disk"), 2);
    assert_int_equal(vm_config_add_device(&c, "virtio-console", "", &e), -1);   /* one at most */
    assert_int_equal(vm_config_add_device(&c, "floppy", "x", &e), -1);
    assert_int_equal(vm_config_add_device(&c, "disk", "c.img,bogus", &e), -1);
    vm_config_remove_devices(&c, "disk");
    assert_int_equal(c.ndevices, 1);
    assert_string_equal(c.devices[0].kind->name, "virtio-console");
}

/* The initrd may end exactly where RTAS begins, not a byte later. */
static void test_exact_fit(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    uint64_t rma = 256 * MiB, fdt = 100 * KiB;
    uint64_t room = rma - 128 * KiB - LAYOUT_RTAS_AREA - 16 * MiB;   /* tree area: 128 KiB */
    assert_int_equal(layout_place(&l, 0, 16 * MiB, room, fdt, rma, MVM_E_INPUT, &e), 0);
    assert_sane(&l, 16 * MiB, room, fdt, rma);
    assert_true(l.initrd + l.initrd_size == l.rtas);
    assert_int_equal(layout_place(&l, 0, 16 * MiB, room + 1, fdt, rma, MVM_E_INPUT, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "does not fit below"));
    assert_non_null(strstr(e.msg, "with its initrd"));
    assert_non_null(strstr(e.msg, "give the guest more memory with -m"));
}

/* The status is the caller's: input before the host is asked, host once its limit is known. */
static void test_refusals(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_place(&l, 0, 300 * MiB, 0, 4 * KiB, 256 * MiB, MVM_E_HOST, &e), -1);
    assert_int_equal(e.status, MVM_E_HOST);
    assert_non_null(strstr(e.msg, "the kernel (300 MiB) does not fit below"));

    memset(&e, 0, sizeof(e));   /* with 1 GiB reached, more memory would not help */
    assert_int_equal(layout_place(&l, 0, 20 * MiB, 2 * GiB, 4 * KiB, 4 * GiB, MVM_E_INPUT, &e), -1);
    assert_non_null(strstr(e.msg, "smaller initrd"));

    memset(&e, 0, sizeof(e));   /* the firmware alone does not fit */
    assert_int_equal(layout_place(&l, 0, 0, 0, 200 * KiB, 256 * KiB, MVM_E_INPUT, &e), -1);
    assert_non_null(strstr(e.msg, "the device tree (200 KiB) and RTAS"));
}

/* An image loaded away from 0 (--kernel-addr) that would fit lower is told how low to go; one
 * that fits nowhere is told what it is, by its own size (not its end). */
static void test_kernel_addr(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    /* 40 MiB at 1 GiB of a 2 GiB guest: RTAS sits just under 1 GiB */
    assert_int_equal(layout_place(&l, GiB, GiB + 40 * MiB, 0, 4 * KiB, 2 * GiB, MVM_E_INPUT, &e),
                     -1);
    assert_non_null(strstr(e.msg, "the kernel (40 MiB) loaded at 0x40000000 does not fit"));
    char *at = strstr(e.msg, "give a lower --kernel-addr (at most 0x");
    assert_non_null(at);
    uint64_t most = strtoull(at + strlen("give a lower --kernel-addr (at most "), NULL, 16);
    assert_true(most % (64 * KiB) == 0);
    /* the address it names fits, and the next 64 KiB step does not */
    memset(&e, 0, sizeof(e));
    assert_int_equal(layout_place(&l, most, most + 40 * MiB, 0, 4 * KiB, 2 * GiB, MVM_E_INPUT, &e),
                     0);
    uint64_t next = most + 64 * KiB;
    assert_int_equal(layout_place(&l, next, next + 40 * MiB, 0, 4 * KiB, 2 * GiB, MVM_E_INPUT, &e),
                     -1);
    /* with an initrd, the room it takes comes off the address */
    memset(&e, 0, sizeof(e));
    assert_int_equal(layout_place(&l, GiB, GiB + 40 * MiB, 100 * MiB, 4 * KiB, 2 * GiB,
                                  MVM_E_INPUT, &e), -1);
    at = strstr(e.msg, "(at most 0x");
    assert_non_null(at);
    assert_true(strtoull(at + strlen("(at most "), NULL, 16) == most - 100 * MiB);
    /* too big for anywhere: its size, and the fix of old */
    memset(&e, 0, sizeof(e));
    assert_int_equal(layout_place(&l, 4 * MiB, 4 * MiB + 300 * MiB, 0, 4 * KiB, 256 * MiB,
                                  MVM_E_INPUT, &e), -1);
    assert_non_null(strstr(e.msg, "the kernel (300 MiB) does not fit below"));
    assert_null(strstr(e.msg, "--kernel-addr"));
}

/* Sizes near the top of the range must be refused, never wrapped into a "fit". */
static void test_no_wraparound(void **state)
{
    (void)state;
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_place(&l, 0, UINT64_MAX, 0, 4 * KiB, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(layout_place(&l, 0, UINT64_MAX - 100, 0, 4 * KiB, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(layout_place(&l, 0, 20 * MiB, UINT64_MAX, 4 * KiB, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(layout_place(&l, 0, 20 * MiB, 0, UINT64_MAX, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(layout_place(&l, 0, 20 * MiB, 0, UINT64_MAX - 100, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(layout_place(&l, 0, 20 * MiB, 0, 4 * KiB, 0, MVM_E_INPUT, &e), -1);
}

/* Whatever the sizes, the answer is a sane layout or a refusal. */
static void test_random(void **state)
{
    (void)state;
    srand(12345);
    for (int i = 0; i < 20000; i++) {
        uint64_t kernel_end = (uint64_t)rand() % (512 * MiB);
        uint64_t initrd = (uint64_t)rand() % (512 * MiB);
        uint64_t fdt = (uint64_t)rand() % (2 * MiB);
        uint64_t rma = ((uint64_t)rand() % 2048 + 1) * MiB;
        struct boot_layout l;
        struct mvm_err e = {0};
        if (layout_place(&l, 0, kernel_end, initrd, fdt, rma, MVM_E_INPUT, &e) == 0)
            assert_sane(&l, kernel_end, initrd, fdt, rma);
        else
            assert_true(e.msg[0] != '\0');
    }
}

/* A command line too long for any tree is refused from the configuration alone. */
static void test_huge_cmdline(void **state)
{
    (void)state;
    struct vm_config c;
    vm_config_defaults(&c);
    char *line = malloc(FDT_SIZE_LIMIT + 1);
    assert_non_null(line);
    memset(line, 'x', FDT_SIZE_LIMIT);
    line[FDT_SIZE_LIMIT] = '\0';
    c.cmdline = line;
    struct boot_layout l;
    struct mvm_err e = {0};
    assert_int_equal(layout_plan(&l, &c, 1, 0, 20 * MiB, 0, GiB, MVM_E_INPUT, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "shorten the command line"));
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical),
        cmocka_unit_test(test_top_capped_at_1g),
        cmocka_unit_test(test_big_machine),
        cmocka_unit_test(test_pci_devices),
        cmocka_unit_test(test_exact_fit),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_kernel_addr),
        cmocka_unit_test(test_no_wraparound),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_huge_cmdline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
