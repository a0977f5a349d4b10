/* The payload's hcall wrapper, its console (H_PUT_TERM_CHAR, 16 bytes a call) and the report
 * lines every check prints. Only the boot CPU prints. */
#include "payload.h"

#define TERM_CHUNK 16   /* the most H_PUT_TERM_CHAR takes in one call */

static uint64_t term;
static char buf[TERM_CHUNK];
static unsigned used;
static unsigned nfail;

/* PAPR's hcall convention: `sc 1` with the opcode in r3 and arguments from r4; the status comes
 * back in r3, results in r4 on. r0 and r3-r12, CTR and XER are volatile, and the whole CR is
 * taken as such (Linux saves it around an hcall). */
int64_t hcall(uint64_t opcode, uint64_t r[8])
{
    register uint64_t r3 __asm__("r3") = opcode;
    register uint64_t r4 __asm__("r4") = r[0], r5 __asm__("r5") = r[1];
    register uint64_t r6 __asm__("r6") = r[2], r7 __asm__("r7") = r[3];
    register uint64_t r8 __asm__("r8") = r[4], r9 __asm__("r9") = r[5];
    register uint64_t r10 __asm__("r10") = r[6], r11 __asm__("r11") = r[7];
    __asm__ volatile("sc 1"
                     : "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8), "+r"(r9),
                       "+r"(r10), "+r"(r11)
                     :
                     : "r0", "r12", "ctr", "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6",
                       "cr7", "memory");
    r[0] = r4, r[1] = r5, r[2] = r6, r[3] = r7, r[4] = r8, r[5] = r9, r[6] = r10, r[7] = r11;
    return (int64_t)r3;
}

uint64_t mftb(void)
{
    uint64_t tb;
    __asm__ volatile("mfspr %0,268" : "=r"(tb));
    return tb;
}

/* The bytes go into r6 and r7 most significant first, whatever our byte order. */
static int64_t put_chars(const char *s, unsigned n)
{
    uint64_t r[8] = {term, n};
    for (unsigned i = 0; i < n; i++)
        r[2 + i / 8] |= (uint64_t)(uint8_t)s[i] << (56 - 8 * (i % 8));
    return hcall(H_PUT_TERM_CHAR, r);
}

void out_flush(void)
{
    if (used)
        put_chars(buf, used);   /* a failure here has nowhere to be told */
    used = 0;
}

/* Uses terminal `term` from now on, and tells whether it takes a character. */
int64_t console_init(uint64_t t)
{
    term = t;
    used = 0;
    return put_chars("\n", 1);
}

static void out_char(char c)
{
    buf[used++] = c;
    if (used == TERM_CHUNK || c == '\n')
        out_flush();
}

void out(const char *s)
{
    while (*s)
        out_char(*s++);
}

void out_hex(uint64_t v)
{
    int shift = 60;
    out("0x");
    while (shift > 0 && !(v >> shift))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        out_char("0123456789abcdef"[(v >> shift) & 0xf]);
}

void out_dec(int64_t v)
{
    char digits[20];
    unsigned n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        out_char('-');
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        out_char(digits[--n]);
}

void pass(const char *name)
{
    out("payload: ok ");
    out(name);
    out("\n");
}

void fail_begin(const char *name)
{
    nfail++;
    out("payload: FAIL ");
    out(name);
    out(" (");
}

void fail_end(void)
{
    out(")\n");
}

void fail(const char *name, const char *detail)
{
    fail_begin(name);
    out(detail);
    fail_end();
}

void expect_true(const char *name, bool ok, const char *detail)
{
    if (ok)
        pass(name);
    else
        fail(name, detail);
}

void expect_dec(const char *name, int64_t got, int64_t want)
{
    if (got == want) {
        pass(name);
        return;
    }
    fail_begin(name);
    out("got ");
    out_dec(got);
    out(", want ");
    out_dec(want);
    fail_end();
}

void expect_hex(const char *name, uint64_t got, uint64_t want)
{
    if (got == want) {
        pass(name);
        return;
    }
    fail_begin(name);
    out("got ");
    out_hex(got);
    out(", want ");
    out_hex(want);
    fail_end();
}

void skip(const char *name, const char *why)
{
    out("payload: skip ");
    out(name);
    out(" (");
    out(why);
    out(")\n");
}

unsigned failures(void)
{
    return nfail;
}
