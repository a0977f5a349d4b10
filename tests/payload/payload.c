/*
 * The test payload: a bare-metal pseries "kernel" of minivmm's own that checks, from inside the
 * guest, the contract a VMM owes the kernel it boots. Built for both byte orders
 * (build/tests/payload-le, ELFv2, and payload-be, ELFv1); booted by the boot tests in place of
 * a vmlinux.
 *
 * The image is linked at address 0 and runs wherever it is loaded (at 4 MiB by default, or
 * --kernel-addr): start.S finds its base from the program counter and nothing in the image
 * holds an absolute address, so it needs no relocation.
 *
 * The entry contract (as QEMU's pseries and kexec enter a kernel):
 *   - the boot CPU starts at the ELF entry in real mode, big-endian, MSR = SF|ME exactly;
 *     r3 = the device tree's physical address, r4 = where the image was loaded, r5 = 0;
 *   - a CPU started with RTAS start-cpu(id, entry, arg) starts the same way at `entry` with
 *     r3 = arg;
 *   - RTAS is entered big-endian in real mode: r3 = the argument buffer, return with blr.
 * The little-endian payload switches itself to little-endian at each entry and back to
 * big-endian around each RTAS call (start.S), as Linux does.
 *
 * It prints one line per check on the hvterm console (H_PUT_TERM_CHAR, terminal 0):
 * "payload: ok NAME" or "payload: FAIL NAME (detail)" (and "payload: skip NAME (why)" for a
 * check the machine cannot have, such as a second CPU on a one-CPU guest), then
 * "minivmm-exit-code: N" with N the number of failures, and powers off with RTAS. Without a
 * device tree or RTAS it prints a FAIL line and the exit-code line, and spins.
 *
 * The checks: the entry registers and MSR; the console on
 * terminal 0 (and H_PARAMETER for 17 bytes); H_GET_TERM_CHAR; H_SET_SPRG0; H_PAGE_INIT zeroing
 * and copying pages, and refusing unaligned, out-of-memory or unknown-flag requests; H_RANDOM;
 * H_FUNCTION for unknown hcalls; RTAS time of day (read, set, refuse month 13),
 * display-character, a bad token, the CPU services, and a second CPU started twice, each time
 * checking its entry and stopping itself (rtas.c).
 */
#include "payload.h"

#define PAGE 4096
#define H_ZERO_PAGE (1ULL << (63 - 48))
#define H_COPY_PAGE (1ULL << (63 - 49))
#define H_ICACHE_INVALIDATE (1ULL << (63 - 40))
#define H_ICACHE_SYNCHRONIZE (1ULL << (63 - 41))

/* GCC may call these for a struct's initialisation even in freestanding code. */
void *memset(void *d, int c, __SIZE_TYPE__ n);
void *memcpy(void *d, const void *s, __SIZE_TYPE__ n);

void *memset(void *d, int c, __SIZE_TYPE__ n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, __SIZE_TYPE__ n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

/* Two pages for H_PAGE_INIT, 4 KiB-aligned in the image (which is loaded page-aligned). */
static uint8_t pages[2][PAGE] __attribute__((aligned(PAGE)));

static uint64_t ram_end;   /* from the device tree's memory nodes; 0 if unknown */

static void halt(void)
{
    out_flush();
    for (;;)
        ;
}

static void finish(void)
{
    out("minivmm-exit-code: ");
    out_dec(failures());
    out("\n");
    out_flush();
}

/* ---- the entry ---- */

static void check_entry(uint64_t r4, uint64_t r5, uint64_t msr, uint64_t base)
{
    if (msr == (MSR_SF | MSR_ME)) {
        pass("entry-msr");
    } else {
        fail_begin("entry-msr");
        out("MSR ");
        out_hex(msr);
        out(", want SF|ME = ");
        out_hex(MSR_SF | MSR_ME);
        out(msr & MSR_LE ? "; LE set" : "");
        out(msr & (MSR_IR | MSR_DR) ? "; relocation on" : "");
        fail_end();
    }
    expect_hex("entry-r4-load-address", r4, base);
    expect_hex("entry-r5", r5, 0);
    /* (Whether the loader zeroes bss is test_loader's: guest memory starts out zero here.) */
}

/* ---- hcalls ---- */

static void check_console(void)
{
    uint64_t r[8] = {0, 17};
    expect_dec("h-put-term-char-17-bytes", hcall(H_PUT_TERM_CHAR, r), H_PARAMETER);
    uint64_t g[8] = {0};
    int64_t st = hcall(H_GET_TERM_CHAR, g);
    if (st == H_SUCCESS && g[0] > 16)
        fail("h-get-term-char", "more than 16 characters");
    else
        expect_dec("h-get-term-char", st, H_SUCCESS);
}

static void check_sprg0(void)
{
    const uint64_t v = 0x5350524730c0ffeeULL;
    uint64_t r[8] = {v};
    int64_t st = hcall(H_SET_SPRG0, r);
    if (st != H_SUCCESS) {
        expect_dec("h-set-sprg0", st, H_SUCCESS);
        return;
    }
    uint64_t got;
    __asm__ volatile("mfspr %0,272" : "=r"(got));
    expect_hex("h-set-sprg0", got, v);
}

static int64_t page_init(uint64_t flags, uint64_t dest, uint64_t src)
{
    uint64_t r[8] = {flags, dest, src};
    return hcall(H_PAGE_INIT, r);
}

/* The first byte where page p is not zero (zero) or not what fill(p, seed) wrote, or -1. */
static int64_t page_differs(const uint8_t *p, bool zero, uint8_t seed)
{
    for (unsigned i = 0; i < PAGE; i++)
        if (p[i] != (zero ? 0 : (uint8_t)(seed + i * 7)))
            return i;
    return -1;
}

static void fill(uint8_t *p, uint8_t seed)
{
    for (unsigned i = 0; i < PAGE; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void expect_page(const char *name, int64_t st, const uint8_t *p, bool zero, uint8_t seed)
{
    int64_t at = page_differs(p, zero, seed);
    if (st != H_SUCCESS || at >= 0) {
        fail_begin(name);
        out("status ");
        out_dec(st);
        if (at >= 0) {
            out(", the page differs at byte ");
            out_dec(at);
        }
        fail_end();
    } else {
        pass(name);
    }
}

static void check_page_init(void)
{
    uint64_t a = (uint64_t)(uintptr_t)pages[0], b = (uint64_t)(uintptr_t)pages[1];
    if (a % PAGE) {
        fail("h-page-init", "the image was not loaded at a 4 KiB-aligned address");
        return;
    }
    fill(pages[0], 0x5a);
    expect_page("h-page-init-zero", page_init(H_ZERO_PAGE, a, 0), pages[0], true, 0);
    fill(pages[0], 0x11);
    fill(pages[1], 0x22);
    expect_page("h-page-init-copy", page_init(H_COPY_PAGE, b, a), pages[1], false, 0x11);
    fill(pages[0], 0x33);
    expect_page("h-page-init-copy-icache",
                page_init(H_COPY_PAGE | H_ICACHE_SYNCHRONIZE | H_ICACHE_INVALIDATE, b, a),
                pages[1], false, 0x33);

    /* Refusals; the pages must come out of them untouched. */
    fill(pages[0], 0x44);
    fill(pages[1], 0x55);
    expect_dec("h-page-init-unaligned-dest", page_init(H_ZERO_PAGE, a + 8, 0), H_PARAMETER);
    expect_dec("h-page-init-unaligned-src", page_init(H_COPY_PAGE, b, a + 8), H_PARAMETER);
    expect_dec("h-page-init-unknown-flag", page_init(H_ZERO_PAGE | (1ULL << (63 - 50)), a, 0),
               H_PARAMETER);
    uint64_t beyond = ram_end ? (ram_end + PAGE - 1) / PAGE * PAGE : 1ULL << 40;
    expect_dec("h-page-init-beyond-ram", page_init(H_ZERO_PAGE, beyond, 0), H_PARAMETER);
    expect_dec("h-page-init-beyond-ram-src", page_init(H_COPY_PAGE, b, beyond), H_PARAMETER);
    expect_true("h-page-init-refusals-wrote-nothing",
                page_differs(pages[0], false, 0x44) < 0 && page_differs(pages[1], false, 0x55) < 0,
                "a refused H_PAGE_INIT changed a page");
}

static void check_random(void)
{
    uint64_t r1[8] = {0}, r2[8] = {0};
    int64_t st1 = hcall(H_RANDOM, r1), st2 = hcall(H_RANDOM, r2);
    if (st1 == H_SUCCESS && st2 == H_SUCCESS && r1[0] != r2[0]) {
        pass("h-random");
        return;
    }
    fail_begin("h-random");
    out("status ");
    out_dec(st1);
    out(" and ");
    out_dec(st2);
    out(", values ");
    out_hex(r1[0]);
    out(" and ");
    out_hex(r2[0]);
    fail_end();
}

static void check_unknown_hcalls(void)
{
    uint64_t r[8] = {0};
    expect_dec("h-unknown-0x3fc", hcall(0x3fc, r), H_FUNCTION);
    uint64_t r2[8] = {0};
    expect_dec("h-unknown-0xf080", hcall(0xf080, r2), H_FUNCTION);
}

/* ---- the boot CPU ---- */

static void say_started(uint64_t base, uint64_t r3)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    out("payload: started (little-endian)\n");
#else
    out("payload: started (big-endian)\n");
#endif
    out("payload: loaded at ");
    out_hex(base);
    out(", device tree at ");
    out_hex(r3);
    out("\n");
}

/* Terminal 0 refused a character: on to the tree's vty, if it names one, so that the run
 * still tells what happened. */
static void console_fallback(const struct dt *t, bool tree_ok, int64_t st, uint64_t base,
                             uint64_t r3)
{
    uint32_t reg;
    if (!tree_ok || !dt_vty(t, &reg))
        return;
    console_init(reg);
    say_started(base, r3);
    fail_begin("console-terminal-0");
    out("H_PUT_TERM_CHAR on terminal 0: status ");
    out_dec(st);
    out("; this is terminal ");
    out_hex(reg);
    fail_end();
}

void payload_main(uint64_t r3, uint64_t r4, uint64_t r5, uint64_t msr, uint64_t base)
{
    /* Said before r3 is read: a bad address there may stop the CPU for good. */
    int64_t term0 = console_init(0);
    say_started(base, r3);
    struct dt tree;
    /* A tree is 8-byte aligned, and address 0 holds the interrupt vectors. */
    bool tree_ok = r3 && r3 % 8 == 0 && dt_open(&tree, (const void *)(uintptr_t)r3) == 0;
    if (term0 != H_SUCCESS)
        console_fallback(&tree, tree_ok, term0, base, r3);

    check_entry(r4, r5, msr, base);
    if (!tree_ok) {
        fail_begin("entry-r3-device-tree");
        out("no flattened device tree (magic 0xd00dfeed, version 16+) at r3 = ");
        out_hex(r3);
        fail_end();
        finish();
        halt();
    }
    pass("entry-r3-device-tree");
    ram_end = dt_memory_end(&tree);
    expect_true("fdt-memory", ram_end != 0, "no memory node with a reg");

    check_console();
    check_sprg0();
    check_page_init();
    check_random();
    check_unknown_hcalls();
    if (!rtas_setup(&tree)) {
        finish();
        halt();
    }
    rtas_checks(&tree);
    finish();
    rtas_power_off();
    halt();
}
