#include "cpu_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define KERNELBASE 0xc000000000000000ULL

void cpu_state_read_code(struct cpu_state *s, const struct guest_mem *m)
{
    s->nwords = 0;
    s->code_at = cpu_state_code_at(s);
    uint64_t at = s->code_at;
    if (s->msr & MSR_IR) {
        if (at < KERNELBASE || at - KERNELBASE >= m->size)
            return;    /* not the linear map: this needs a page-table walk */
        at -= KERNELBASE;
    } else {
        at &= 0x0fffffffffffffffULL;   /* real mode ignores the top four bits */
    }
    const uint8_t *p = gpa_ptr(m, at, 4 * CPU_STATE_WORDS);
    if (p)
        cpu_state_set_code(s, p);
}

void cpu_state_set_code(struct cpu_state *s, const uint8_t *p)
{
    bool le = s->msr & MSR_LE;
    for (unsigned i = 0; i < CPU_STATE_WORDS; i++, p += 4)
        s->code[i] = le ? (uint32_t)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0]
                        : (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
    s->nwords = CPU_STATE_WORDS;
}

static void name(char *out, const struct ksym *k, uint64_t addr)
{
    uint64_t off;
    const char *sym = k ? ksym_lookup(k, addr, &off) : NULL;
    if (!sym)
        out[0] = '\0';
    else if (off)
        snprintf(out, CPU_STATE_SYM, "%s+0x%" PRIx64, sym, off);
    else
        snprintf(out, CPU_STATE_SYM, "%s", sym);
}

void cpu_state_symbolize(struct cpu_state *s, const struct ksym *k)
{
    name(s->nip_sym, k, s->nip);
    name(s->lr_sym, k, s->lr);
}

void cpu_state_lines(const struct cpu_state *s, void (*line)(void *opaque, const char *text),
                     void *opaque)
{
    char b[320];
    if (!s->have_regs) {
        snprintf(b, sizeof(b), "vCPU %u: %s", s->index, s->how == CPU_STATE_STOPPED
                 ? "stopped (never started, or RTAS stop-self)"
                 : "busy in minivmm, its registers could not be read");
        line(opaque, b);
        return;
    }
    snprintf(b, sizeof(b), "vCPU %u%s: NIP %016" PRIx64 "%s%s%s LR %016" PRIx64 "%s%s%s",
             s->index, s->how == CPU_STATE_STOPPED ? " (stopped)" : "", s->nip,
             s->nip_sym[0] ? " <" : "", s->nip_sym, s->nip_sym[0] ? ">" : "", s->lr,
             s->lr_sym[0] ? " <" : "", s->lr_sym, s->lr_sym[0] ? ">" : "");
    line(opaque, b);
    snprintf(b, sizeof(b), "vCPU %u: MSR %016" PRIx64 " CTR %016" PRIx64 " CR %08" PRIx64
             " XER %016" PRIx64 " SRR0 %016" PRIx64 " SRR1 %016" PRIx64, s->index, s->msr,
             s->ctr, s->cr, s->xer, s->srr0, s->srr1);
    line(opaque, b);
    for (int i = 0; i < 32; i += 4) {
        snprintf(b, sizeof(b), "vCPU %u: r%-2d %016" PRIx64 " %016" PRIx64 " %016" PRIx64
                 " %016" PRIx64, s->index, i, s->gpr[i], s->gpr[i + 1], s->gpr[i + 2],
                 s->gpr[i + 3]);
        line(opaque, b);
    }
    if (!s->nwords)
        return;
    int n = snprintf(b, sizeof(b), "vCPU %u: code at %016" PRIx64 ":", s->index, s->code_at);
    for (unsigned i = 0; i < s->nwords && n > 0 && (size_t)n < sizeof(b); i++)
        n += snprintf(b + n, sizeof(b) - (size_t)n, s->code_at + 4 * i == (s->nip & ~3ULL)
                      ? " <%08x>" : " %08x", s->code[i]);
    line(opaque, b);
}
