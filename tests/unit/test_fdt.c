/* fdt_build(): every property the guest depends on, read back with libfdt; and
 * fdt_size_bound(): never below the size of a tree actually built. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/hcall.h"
#include "../../devices/pci.h"
#include "../../devices/vty.h"
#include "../../fdt/fdt.h"
#include "../../firmware/rtas.h"
#include "../../vmm/config.h"
#include "../../vmm/err.h"

#include "fdt_fixture.h"

static struct fdt_blob out;   /* the last tree built */
static const void *blob;      /* = out.data */

static void build_ok(const struct fdt_params *p)
{
    struct mvm_err e = {0};
    free(out.data);
    blob = NULL;
    if (fdt_build(p, &out, &e) != 0)
        fail_msg("fdt_build: %s", e.msg);
    assert_string_equal(e.msg, "");
    blob = out.data;
    assert_int_equal(fdt_check_header(blob), 0);
    assert_int_equal(out.size, fdt_totalsize(blob));
}

static int free_blob(void **state)
{
    (void)state;
    free(out.data);
    out.data = NULL;
    blob = NULL;
    return 0;
}

static int node(const char *path)
{
    int off = fdt_path_offset(blob, path);
    if (off < 0)
        fail_msg("node %s missing: %s", path, fdt_strerror(off));
    return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
    const void *v = fdt_getprop(blob, node(path), name, len);
    if (!v)
        fail_msg("property %s of %s missing", name, path);
    return v;
}

static uint32_t prop_u32(const char *path, const char *name)
{
    int len;
    const fdt32_t *v = prop(path, name, &len);
    assert_int_equal(len, 4);
    return fdt32_to_cpu(*v);
}

/* Cell pairs in a blob are only 4-byte aligned. */
static uint64_t ld64(const void *p, unsigned i)
{
    fdt64_t v;
    memcpy(&v, (const uint8_t *)p + 8 * i, sizeof(v));
    return fdt64_to_cpu(v);
}

static uint64_t prop_u64(const char *path, const char *name)
{
    int len;
    const void *v = prop(path, name, &len);
    assert_int_equal(len, 8);
    return ld64(v, 0);
}

static void assert_prop_str(const char *path, const char *name, const char *want)
{
    int len;
    const char *v = prop(path, name, &len);
    assert_int_equal(len, (int)strlen(want) + 1);
    assert_string_equal(v, want);
}

/* Compares a property with a list of cells. */
static void assert_prop_cells(const char *path, const char *name, const uint32_t *want,
                              unsigned n)
{
    int len;
    const fdt32_t *v = prop(path, name, &len);
    assert_int_equal(len, (int)(n * 4));
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(fdt32_to_cpu(v[i]), want[i]);
}

static void test_root_and_chosen(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    build_ok(&p);
    assert_prop_str("/", "device_type", "chrp");
    assert_int_equal(prop_u32("/", "#address-cells"), 2);
    assert_int_equal(prop_u32("/", "#size-cells"), 2);
    assert_int_equal(fdt_boot_cpuid_phys(blob), 0);
    assert_prop_str("/chosen", "bootargs", "console=hvc0 root=/dev/ram0");
    assert_true(prop_u64("/chosen", "linux,initrd-start") == 0x2000000);
    assert_true(prop_u64("/chosen", "linux,initrd-end") == 0x2345678);
    assert_prop_str("/chosen", "stdout-path", "/vdevice/vty@30000000");
    /* stdout-path must name a node that exists */
    assert_true(fdt_path_offset(blob, "/vdevice/vty@30000000") >= 0);
    assert_prop_str("/vdevice/vty@30000000", "compatible", "hvterm1");
    assert_int_equal(prop_u32("/vdevice/vty@30000000", "reg"), VTY_REG);
    /* H_RANDOM's vio device, for pseries-rng */
    assert_prop_str("/vdevice/ibm,random-v1@30000001", "device_type", "ibm,random-v1");
    assert_prop_str("/vdevice/ibm,random-v1@30000001", "compatible", "ibm,random");
    assert_int_equal(prop_u32("/vdevice/ibm,random-v1@30000001", "reg"), VTY_REG + 1);
    assert_prop_str("/interrupt-controller", "compatible", "IBM,ppc-xicp");
}

static void test_no_initrd_no_bootargs(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    p.initrd_start = p.initrd_end = 0;
    p.bootargs = NULL;
    build_ok(&p);
    int off = node("/chosen");
    assert_null(fdt_getprop(blob, off, "linux,initrd-start", NULL));
    assert_null(fdt_getprop(blob, off, "linux,initrd-end", NULL));
    assert_prop_str("/chosen", "bootargs", "");
    assert_null(fdt_getprop(blob, off, "rng-seed", NULL));   /* no seed given, none written */
}

static void test_rng_seed(void **state)
{
    (void)state;
    static const uint8_t seed[32] = {1, 2, 3, 0xfe, [31] = 0x5a};
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    p.rng_seed = seed;
    p.rng_seed_len = sizeof(seed);
    build_ok(&p);
    int len;
    const uint8_t *v = prop("/chosen", "rng-seed", &len);
    assert_int_equal(len, sizeof(seed));
    assert_memory_equal(v, seed, sizeof(seed));
}

static void check_vec5(bool radix)
{
    struct fdt_params p;
    fill_params(&p, radix, 1, 1);
    build_ok(&p);
    int len;
    const uint8_t *v = prop("/chosen", "ibm,architecture-vec-5", &len);
    assert_int_equal(len, 27);
    assert_int_equal(v[0], 25);   /* PAPR: byte 0 is the length - 2 of the option vector */
    assert_int_equal(v[24], radix ? 0x40 : 0x00);
    assert_int_equal(v[26], radix ? 0x40 : 0x00);
    const uint8_t *pa = prop("/cpus/PowerPC,POWER9@0", "ibm,pa-features", &len);
    assert_int_equal(len, 66);
    assert_int_equal(pa[0], 64);
    assert_int_equal(pa[2 + 40], radix ? 0x80 : 0x00);
}

static void test_vec5_radix(void **state)
{
    (void)state;
    check_vec5(true);
}

static void test_vec5_hash(void **state)
{
    (void)state;
    check_vec5(false);
}

static void test_memory_nodes(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, false, 1, 1);   /* rma 256M < ram 512M */
    build_ok(&p);
    int len;
    const void *reg = prop("/memory@0", "reg", &len);
    assert_int_equal(len, 16);
    assert_true(ld64(reg, 0) == 0 && ld64(reg, 1) == 256 * MiB);
    assert_prop_str("/memory@0", "device_type", "memory");
    reg = prop("/memory@10000000", "reg", &len);
    assert_int_equal(len, 16);
    assert_true(ld64(reg, 0) == 256 * MiB && ld64(reg, 1) == 256 * MiB);

    fill_params(&p, true, 1, 1);    /* rma == ram: exactly one memory node */
    build_ok(&p);
    reg = prop("/memory@0", "reg", &len);
    assert_true(ld64(reg, 0) == 0 && ld64(reg, 1) == 512 * MiB);
    int n = 0;
    for (int off = fdt_node_offset_by_prop_value(blob, -1, "device_type", "memory", 7);
         off >= 0; off = fdt_node_offset_by_prop_value(blob, off, "device_type", "memory", 7))
        n++;
    assert_int_equal(n, 1);
}

static void check_cpus_mmu(unsigned ncpus, uint32_t stride, bool radix)
{
    struct fdt_params p;
    fill_params(&p, radix, ncpus, stride);
    build_ok(&p);
    int cpus = node("/cpus");
    int n = 0, off;
    fdt_for_each_subnode(off, blob, cpus) {   /* in vCPU order, nothing else in between */
        char name[64];
        snprintf(name, sizeof(name), "PowerPC,POWER9@%x", n * stride);
        assert_string_equal(fdt_get_name(blob, off, NULL), name);
        n++;
    }
    assert_int_equal(n, (int)ncpus);
    for (unsigned i = 0; i < ncpus; i++) {
        char path[64];
        uint32_t id = i * stride;
        snprintf(path, sizeof(path), "/cpus/PowerPC,POWER9@%x", id);
        assert_int_equal(prop_u32(path, "reg"), id);
        assert_int_equal(prop_u32(path, "ibm,ppc-interrupt-server#s"), id);
        uint32_t gserver[2] = {id, 0};
        assert_prop_cells(path, "ibm,ppc-interrupt-gserver#s", gserver, 2);
        assert_prop_str(path, "device_type", "cpu");
        assert_int_equal(prop_u32(path, "cpu-version"), 0x004e1202);
        int len;
        const uint8_t *pa = prop(path, "ibm,pa-features", &len);
        assert_int_equal(pa[2 + 40], radix ? 0x80 : 0x00);
    }
    uint32_t range[2] = {0, ncpus * stride};
    assert_prop_cells("/interrupt-controller", "ibm,interrupt-server-ranges", range, 2);
    assert_int_equal(fdt_boot_cpuid_phys(blob), 0);
}

static void check_cpus(unsigned ncpus, uint32_t stride)
{
    check_cpus_mmu(ncpus, stride, true);
}

static void test_cpus_stride1(void **state)
{
    (void)state;
    check_cpus(4, 1);
}

static void test_cpus_stride8(void **state)
{
    (void)state;
    check_cpus(3, 8);
    /* ids are hex in node names: vCPU 2 is id 16 = 0x10 */
    assert_true(fdt_path_offset(blob, "/cpus/PowerPC,POWER9@10") >= 0);
    assert_true(fdt_path_offset(blob, "/cpus/PowerPC,POWER9@1") < 0);
}

/* The most vCPUs -c accepts: every one of them must be in the tree. 133 or so used to be the
 * most a fixed 64 KiB tree could hold. */
static void test_cpus_256(void **state)
{
    (void)state;
    check_cpus(VM_MAX_CPUS, 1);
    assert_true(out.size > 0x10000);
}

/* The same with POWER8 KVM-HV's ids (a core's 8 threads apart) and the larger per-CPU
 * properties of a Hash guest. */
static void test_cpus_256_stride8_hash(void **state)
{
    (void)state;
    check_cpus_mmu(VM_MAX_CPUS, 8, false);
    assert_true(fdt_path_offset(blob, "/cpus/PowerPC,POWER9@7f8") >= 0);
}

static void test_hash_mmu_props(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, false, 1, 1);
    build_ok(&p);
    const char *cpu = "/cpus/PowerPC,POWER9@0";
    uint32_t pft[2] = {0, 22};
    assert_prop_cells(cpu, "ibm,pft-size", pft, 2);
    uint32_t sps[] = {12, 0, 1, 12, 0, 16, 0x110, 2, 16, 1, 24, 8};
    assert_prop_cells(cpu, "ibm,segment-page-sizes", sps, sizeof(sps) / 4);
    assert_null(fdt_getprop(blob, node(cpu), "ibm,processor-radix-AP-encodings", NULL));
}

static void test_radix_mmu_props(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    build_ok(&p);
    const char *cpu = "/cpus/PowerPC,POWER9@0";
    assert_prop_cells(cpu, "ibm,processor-radix-AP-encodings", p.radix_ap, 4);
    assert_null(fdt_getprop(blob, node(cpu), "ibm,pft-size", NULL));
    assert_null(fdt_getprop(blob, node(cpu), "ibm,segment-page-sizes", NULL));
}

static void test_rtas_node_and_reserve(void **state)
{
    (void)state;
    struct fdt_params p;
    fill_params(&p, true, 2, 1);
    build_ok(&p);
    assert_true(rtas_reg.n >= 8);
    for (unsigned i = 0; i < rtas_reg.n; i++) {
        const char *name = rtas_reg.svc[i]->name;
        assert_int_equal(prop_u32("/rtas", name), (uint32_t)rtas_token(&rtas_reg, name));
    }
    assert_int_equal(prop_u32("/rtas", "get-time-of-day"), RTAS_TOKEN_BASE + 1);
    assert_int_equal(prop_u32("/rtas", "linux,rtas-base"), (uint32_t)RTAS_BASE);
    assert_int_equal(prop_u32("/rtas", "linux,rtas-entry"), (uint32_t)RTAS_BASE);
    assert_int_equal(prop_u32("/rtas", "rtas-size"), RTAS_SIZE);

    int len;
    const char *ht = prop("/rtas", "ibm,hypertas-functions", &len);
    bool found = false;
    for (const char *s = ht; s < ht + len; s += strlen(s) + 1)
        found |= strcmp(s, "hcall-set-mode") == 0;
    assert_true(found);
    assert_int_equal(ht[len - 1], '\0');

    assert_int_equal(fdt_num_mem_rsv(blob), 1);
    uint64_t addr = 0, size = 0;
    assert_int_equal(fdt_get_mem_rsv(blob, 0, &addr, &size), 0);
    assert_true(addr == RTAS_BASE);
    assert_true(size == RTAS_SIZE);
}

/* A command line longer than the tree's first buffer: the buffer grows, the line arrives whole. */
static void test_long_cmdline(void **state)
{
    (void)state;
    size_t n = 200 * 1024;
    char *line = malloc(n + 1);
    assert_non_null(line);
    for (size_t i = 0; i < n; i++)
        line[i] = "abcdefghijklmnopqrstuvwxyz= "[i % 28];
    line[n] = '\0';
    struct fdt_params p;
    fill_params(&p, true, 2, 1);
    p.bootargs = line;
    build_ok(&p);
    assert_prop_str("/chosen", "bootargs", line);
    assert_true(out.size > n);
    free(line);
}

/* Beyond FDT_SIZE_LIMIT only the command line can be at fault: the message says so. */
static void test_cmdline_too_long(void **state)
{
    (void)state;
    size_t n = FDT_SIZE_LIMIT;
    char *line = malloc(n + 1);
    assert_non_null(line);
    memset(line, 'x', n);
    line[n] = '\0';
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    p.bootargs = line;
    struct mvm_err e = {0};
    struct fdt_blob b;
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_null(b.data);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "shorten the command line"));
    free(line);
}

/* A value longer than a fixed limit is an internal error at once, not a buffer to grow. */
static void test_value_beyond_limit(void **state)
{
    (void)state;
    static const char *const many[] = {
        "hcall-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "hcall-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "hcall-cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "hcall-dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
        NULL};
    struct fdt_params p;
    fill_params(&p, true, 1, 1);
    p.hypertas = many;
    struct mvm_err e = {0};
    struct fdt_blob b;
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
    assert_non_null(strstr(e.msg, "limits"));

    static const struct rtas_service longname = {"ibm,a-service-name-longer-than-39-characters", NULL, 0, 0};
    fill_params(&p, true, 1, 1);
    assert_true(rtas_register(&rtas_reg, &longname) > 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
}

static void test_inconsistent(void **state)
{
    (void)state;
    struct fdt_params p;
    struct mvm_err e = {0};
    struct fdt_blob b;
    fill_params(&p, true, 1, 1);
    p.rma_size = 0;
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_true(e.msg[0] != '\0');

    memset(&e, 0, sizeof(e));
    fill_params(&p, true, 1, 1);
    p.ncpus = 0;
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_true(e.msg[0] != '\0');

    memset(&e, 0, sizeof(e));
    fill_params(&p, true, 1, 1);
    p.rma_size = p.ram_size + 1;
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_true(e.msg[0] != '\0');

    memset(&e, 0, sizeof(e));
    fill_params(&p, true, 1, 1);
    p.cpu_model = "POWER-WITH-A-LONG-NAME";   /* beyond FDT_CPU_MODEL_MAX */
    assert_int_equal(fdt_build(&p, &b, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
}

static void dtc_check(bool radix)
{
    struct fdt_params p;
    fill_params(&p, radix, 2, 8);
    build_ok(&p);
    char path[] = "/tmp/minivmm-fdt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = fdt_totalsize(blob);
    assert_int_equal(write(fd, blob, n), (ssize_t)n);
    close(fd);
    /* dtc is the independent reader; tests/host/deps.sh installs it, so its absence fails
     * the test rather than skipping the check. */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s", path);
    int r = system(cmd);
    unlink(path);
    assert_int_equal(r, 0);
}

static void test_dtc_accepts_radix(void **state)
{
    (void)state;
    dtc_check(true);
}

static void test_dtc_accepts_hash(void **state)
{
    (void)state;
    dtc_check(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_chosen),
        cmocka_unit_test(test_no_initrd_no_bootargs),
        cmocka_unit_test(test_rng_seed),
        cmocka_unit_test(test_vec5_radix),
        cmocka_unit_test(test_vec5_hash),
        cmocka_unit_test(test_memory_nodes),
        cmocka_unit_test(test_cpus_stride1),
        cmocka_unit_test(test_cpus_stride8),
        cmocka_unit_test(test_cpus_256),
        cmocka_unit_test(test_cpus_256_stride8_hash),
        cmocka_unit_test(test_hash_mmu_props),
        cmocka_unit_test(test_radix_mmu_props),
        cmocka_unit_test(test_rtas_node_and_reserve),
        cmocka_unit_test(test_long_cmdline),
        cmocka_unit_test(test_cmdline_too_long),
        cmocka_unit_test(test_value_beyond_limit),
        cmocka_unit_test(test_inconsistent),
        cmocka_unit_test(test_dtc_accepts_radix),
        cmocka_unit_test(test_dtc_accepts_hash),
    };
    return cmocka_run_group_tests(tests, NULL, free_blob);
}
