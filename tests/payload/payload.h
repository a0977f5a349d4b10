/* What the test payload's files share: the entry points in start.S, the hcall and RTAS
 * wrappers, and the console's report lines (console.c). payload.c says what the payload is. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "dt.h"

/* Every symbol is defined inside the image, and the compiler must know it: then it reaches
 * each one relative to the TOC pointer (which start.S computes from where the code runs), never
 * through a TOC slot holding a link-time address. */
#pragma GCC visibility push(hidden)

#define MSR_SF (1ULL << 63)
#define MSR_EE (1ULL << 15)
#define MSR_ME (1ULL << 12)
#define MSR_IR (1ULL << 5)
#define MSR_DR (1ULL << 4)
#define MSR_LE (1ULL << 0)

/* hcall opcodes and return codes (PAPR; Linux arch/powerpc/include/asm/hvcall.h). */
#define H_SUCCESS 0
#define H_FUNCTION (-2)
#define H_PARAMETER (-4)
#define H_SET_SPRG0 0x24
#define H_PAGE_INIT 0x2c
#define H_GET_TERM_CHAR 0x54
#define H_PUT_TERM_CHAR 0x58
#define H_RANDOM 0x300

/* start.S: the entries and the RTAS trampoline. */
extern const char _start[], secondary_entry[];
void rtas_enter(uint64_t args, uint64_t entry);
/* C entry points, called by start.S with the MSR seen at entry (before any byte-order
 * switch) and the image's run-time base. */
void payload_main(uint64_t r3, uint64_t r4, uint64_t r5, uint64_t msr, uint64_t base);
void secondary_main(uint64_t r3, uint64_t msr);

/* An hcall: r[0..7] are r4..r11 going in and what the hypervisor left there coming out. */
int64_t hcall(uint64_t opcode, uint64_t r[8]);
uint64_t mftb(void);

/* The console: H_PUT_TERM_CHAR to terminal `term` (console_init), line by line. */
int64_t console_init(uint64_t term);
void out(const char *s);
void out_hex(uint64_t v);
void out_dec(int64_t v);
void out_flush(void);

/* Report lines: "payload: ok NAME" or "payload: FAIL NAME (detail)". */
void pass(const char *name);
void fail_begin(const char *name);   /* then out*() the detail, then fail_end() */
void fail_end(void);
void fail(const char *name, const char *detail);
void expect_true(const char *name, bool ok, const char *detail);
void expect_dec(const char *name, int64_t got, int64_t want);
void expect_hex(const char *name, uint64_t got, uint64_t want);
void skip(const char *name, const char *why);
unsigned failures(void);

/* rtas.c: the RTAS checks, the secondary CPU's among them. */
bool rtas_setup(const struct dt *t);
void rtas_checks(const struct dt *t);
void rtas_power_off(void);

#pragma GCC visibility pop

#endif
