/* The payload's device-tree reader (dt.c), natively: on a tree dtc made from test.dts (path in
 * argv[1]), on that tree with NOPs in it and corrupted, and on the trees minivmm builds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/vty.h"
#include "../../vmm/err.h"
#include "../unit/fdt_fixture.h"
#include "dt.h"

static const char *dtb_path;
static uint8_t *blob;   /* the test.dts tree, in a buffer of exactly its size */

static uint8_t *read_dtb(void)
{
    FILE *f = fopen(dtb_path, "rb");
    assert_non_null(f);
    static uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(n > 40 && n < sizeof(buf));
    uint8_t *b = malloc(n);
    memcpy(b, buf, n);
    return b;
}

static int setup(void **state)
{
    (void)state;
    blob = read_dtb();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(blob);
    return 0;
}

static uint32_t prop_u32(const struct dt *t, uint32_t node, const char *name)
{
    uint32_t v = 0;
    assert_true(dt_prop_u32(t, node, name, &v));
    return v;
}

static void test_finds_what_the_payload_needs(void **state)
{
    (void)state;
    struct dt t;
    assert_int_equal(dt_open(&t, blob), 0);
    uint32_t root = dt_root(&t), rtas = dt_subnode(&t, root, "rtas"), len;
    assert_string_equal(dt_name(&t, root), "");
    assert_string_equal(dt_name(&t, rtas), "rtas");
    assert_int_equal(prop_u32(&t, rtas, "linux,rtas-entry"), 0x1fff0000);
    assert_int_equal(prop_u32(&t, rtas, "start-cpu"), 0x2006);
    assert_non_null(dt_prop(&t, rtas, "empty-prop", &len));
    assert_int_equal(len, 0);
    uint32_t v;
    assert_false(dt_prop_u32(&t, rtas, "long-prop", &v));   /* not one cell */
    assert_null(dt_prop(&t, rtas, "stop-self", &len));
    assert_int_equal(dt_subnode(&t, root, "memory"), dt_subnode(&t, root, "memory@0"));
    assert_string_equal(dt_name(&t, dt_subnode(&t, root, "memory@10000000")), "memory@10000000");
    assert_int_equal(dt_subnode(&t, root, "memory@1"), 0);
    assert_int_equal(dt_memory_end(&t), 0x40000000);

    uint32_t ids[4];
    assert_int_equal(dt_cpu_ids(&t, ids, 4), 2);   /* the cache node is no CPU */
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 8);
    assert_int_equal(dt_cpu_ids(&t, ids, 1), 1);
    uint32_t cpu0 = dt_child(&t, dt_subnode(&t, root, "cpus"), 0);
    assert_int_equal(prop_u32(&t, cpu0, "timebase-frequency"), 512000000);
    assert_true(dt_vty(&t, &v));
    assert_int_equal(v, 0x30000000);
}

static void test_skips_nops(void **state)
{
    (void)state;
    uint32_t size = fdt_totalsize(blob);
    uint8_t *b = malloc(size);
    memcpy(b, blob, size);
    assert_int_equal(fdt_nop_property(b, fdt_path_offset(b, "/rtas"), "linux,rtas-base"), 0);
    assert_int_equal(fdt_nop_node(b, fdt_path_offset(b, "/rtas-like")), 0);
    assert_int_equal(fdt_nop_node(b, fdt_path_offset(b, "/cpus/PowerPC,POWER9@0/deep")), 0);
    struct dt t;
    assert_int_equal(dt_open(&t, b), 0);
    uint32_t root = dt_root(&t), rtas = dt_subnode(&t, root, "rtas"), len;
    assert_int_equal(dt_child(&t, root, 0), dt_subnode(&t, root, "memory@0"));
    assert_int_equal(prop_u32(&t, rtas, "linux,rtas-entry"), 0x1fff0000);
    assert_null(dt_prop(&t, rtas, "linux,rtas-base", &len));
    uint32_t ids[2];
    assert_int_equal(dt_cpu_ids(&t, ids, 2), 2);
    assert_int_equal(ids[1], 8);
    free(b);
}

/* Corrupt trees: refused, or read as far as they make sense; never a read outside the blob
 * (AddressSanitizer watches the exactly-sized copy). */
static void test_survives_corruption(void **state)
{
    (void)state;
    uint32_t size = fdt_totalsize(blob);
    uint8_t *b = malloc(size);
    struct dt t;
    static const struct {
        unsigned at;
        uint32_t value;
        bool opens;
    } cases[] = {
        {0, 0xd00dfeee, false},                   /* magic */
        {4, 0x7fffffff, false},                   /* totalsize beyond the blob */
        {8, 0x7ffffff0, false},                   /* off_dt_struct */
        {20, 15, false},                          /* version */
        {36, 0x00100000, false},                  /* size_dt_struct past the end */
        {36, 16, true},                           /* a structure block cut short */
        {32, 3, true},                            /* a strings block cut short */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(b, blob, size);
        fdt32_st(b + cases[i].at, cases[i].value);
        assert_int_equal(dt_open(&t, b), cases[i].opens ? 0 : -1);
        if (!cases[i].opens)
            continue;
        uint32_t ids[2], len;
        uint32_t rtas = dt_subnode(&t, dt_root(&t), "rtas");
        assert_null(dt_prop(&t, rtas, "linux,rtas-entry", &len));
        assert_int_equal(dt_cpu_ids(&t, ids, 2), 0);
        assert_int_equal(dt_memory_end(&t), 0);
    }
    /* A property whose length runs past the block: it and what follows are not found. */
    memcpy(b, blob, size);
    int rtas_off = fdt_path_offset(b, "/rtas"), len;
    const struct fdt_property *p = fdt_get_property(b, rtas_off, "linux,rtas-entry", &len);
    assert_non_null(p);
    fdt32_st((uint8_t *)&p->len, 0x7ffffff0);
    assert_int_equal(dt_open(&t, b), 0);
    uint32_t rtas = dt_subnode(&t, dt_root(&t), "rtas"), plen;
    assert_true(rtas != 0);
    assert_null(dt_prop(&t, rtas, "linux,rtas-entry", &plen));
    assert_null(dt_prop(&t, rtas, "start-cpu", &plen));
    assert_int_equal(dt_subnode(&t, dt_root(&t), "vdevice"), 0);   /* after /rtas: lost */
    free(b);
}

/* minivmm's own trees: what the payload reads there is what minivmm put there. */
static void check_minivmm_tree(unsigned ncpus, uint32_t stride)
{
    struct fdt_params p;
    fill_params(&p, false, ncpus, stride);
    struct fdt_blob out;
    struct mvm_err e = {0};
    assert_int_equal(fdt_build(&p, &out, &e), 0);
    struct dt t;
    assert_int_equal(dt_open(&t, out.data), 0);
    uint32_t rtas = dt_subnode(&t, dt_root(&t), "rtas");
    assert_int_equal(prop_u32(&t, rtas, "linux,rtas-entry"), RTAS_BASE);
    static const char *const services[] = {
        "get-time-of-day", "display-character", "query-cpu-stopped-state", "start-cpu",
        "stop-self", "power-off",
    };
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        assert_int_equal(prop_u32(&t, rtas, services[i]), rtas_token(&rtas_reg, services[i]));
    uint32_t ids[3];
    assert_int_equal(dt_cpu_ids(&t, ids, 3), ncpus < 3 ? ncpus : 3);
    for (unsigned i = 0; i < ncpus && i < 3; i++)
        assert_int_equal(ids[i], i * stride);
    assert_int_equal(dt_memory_end(&t), p.ram_size);
    uint32_t vty;
    assert_true(dt_vty(&t, &vty));
    assert_int_equal(vty, VTY_REG);
    free(out.data);
}

static void test_minivmm_trees(void **state)
{
    (void)state;
    check_minivmm_tree(1, 1);
    check_minivmm_tree(2, 8);
    check_minivmm_tree(4, 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST.dtb\n", argv[0]);
        return 2;
    }
    dtb_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_what_the_payload_needs),
        cmocka_unit_test(test_skips_nops),
        cmocka_unit_test(test_survives_corruption),
        cmocka_unit_test(test_minivmm_trees),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
