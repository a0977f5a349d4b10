#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

const char *report_reason(enum mvm_status status, bool pattern_matched, bool started)
{
    switch (status) {
    case MVM_OK: return pattern_matched ? "pattern" : "poweroff";
    case MVM_REBOOT: return "reboot";
    case MVM_PANIC: return "panic";
    case MVM_TIMEOUT: return "timeout";
    case MVM_FAIL_PATTERN: return "fail-pattern";
    case MVM_STOPPED: return "stopped";
    case MVM_E_INPUT: return started ? "vmm-error" : "input-error";
    case MVM_E_HOST: return started ? "vmm-error" : "host-error";
    default: return "vmm-error";
    }
}

int report_exit_status(enum mvm_status status, bool command, int command_status,
                       bool pattern_matched)
{
    if (!command)
        return (int)status;
    if (status == MVM_OK && command_status >= 0)
        return command_status;
    if (status == MVM_OK && pattern_matched)
        return 0;
    return status == MVM_TIMEOUT ? 124 : 125;
}

/* The length of the well-formed UTF-8 sequence at p (Unicode's table 3-7: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or 0 if there is none there; then *bad is how many
 * bytes one U+FFFD replaces: the longest start of a sequence that could have been well
 * formed, as Unicode recommends. A NUL is never a continuation byte, so a sequence cut short
 * by the end of the string stops there. */
static size_t utf8_len(const unsigned char *p, size_t *bad)
{
    unsigned char lo = 0x80, hi = 0xbf;   /* the range of the second byte */
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    else
        n = 0;   /* not a lead byte: C0 and C1 could only start overlong forms */
    for (size_t i = 1; i < n; i++, lo = 0x80, hi = 0xbf) {
        if (p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }
    }
    *bad = 1;
    return n;
}

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t bad, n = utf8_len(p, &bad);
        if (n == 0) {
            fputs("\xef\xbf\xbd", f);   /* U+FFFD */
            p += bad;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, n, f);
            p += n;
            continue;
        }
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)   /* DEL: allowed raw, but invisible */
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
        p++;
    }
    fputc('"', f);
}

static void field_str(FILE *f, const char *name, const char *v, bool last)
{
    fprintf(f, "  \"%s\": ", name);
    if (v)
        json_string(f, v);
    else
        fputs("null", f);
    fputs(last ? "\n" : ",\n", f);
}

static void field_seconds(FILE *f, const char *name, double v)
{
    if (v < 0)
        fprintf(f, "  \"%s\": null,\n", name);
    else
        fprintf(f, "  \"%s\": %.3f,\n", name, v);
}

static void string_or_null(FILE *f, const char *s)
{
    if (s && s[0])
        json_string(f, s);
    else
        fputs("null", f);
}

/* What the vCPUs were doing, when the run was reported on (a hang); null otherwise. */
static void vcpu_states(FILE *f, const struct vm_result *r)
{
    static const char *const how[] = {"running", "stopped", "busy"};
    if (!r->nstates) {
        fputs("  \"vcpu_state\": null,\n", f);
        return;
    }
    fputs("  \"vcpu_state\": [\n", f);
    for (unsigned i = 0; i < r->nstates; i++) {
        const struct cpu_state *s = &r->states[i];
        fprintf(f, "    {\"cpu\": %u, \"state\": \"%s\"", s->index, how[s->how]);
        if (s->have_regs) {
            fprintf(f, ", \"nip\": \"0x%" PRIx64 "\", \"nip_symbol\": ", s->nip);
            string_or_null(f, s->nip_sym);
            fprintf(f, ", \"lr\": \"0x%" PRIx64 "\", \"lr_symbol\": ", s->lr);
            string_or_null(f, s->lr_sym);
            fprintf(f, ", \"msr\": \"0x%" PRIx64 "\", \"code_at\": \"0x%" PRIx64
                    "\", \"code\": [", s->msr, s->code_at);
            for (unsigned w = 0; w < s->nwords; w++)
                fprintf(f, "%s\"%08x\"", w ? ", " : "", s->code[w]);
            fputc(']', f);
        }
        fputs(i + 1 < r->nstates ? "},\n" : "}\n", f);
    }
    fputs("  ],\n", f);
}

void report_json(FILE *f, const struct vm_result *r)
{
    fputs("{\n", f);
    field_str(f, "exit_reason", r->reason, false);
    fprintf(f, "  \"exit_status\": %d,\n", r->exit_status);
    if (r->guest_exit_code >= 0)
        fprintf(f, "  \"guest_exit_code\": %d,\n", r->guest_exit_code);
    else
        fputs("  \"guest_exit_code\": null,\n", f);
    field_str(f, "message", r->message[0] ? r->message : NULL, false);
    field_str(f, "pattern", r->pattern[0] ? r->pattern : NULL, false);
    field_seconds(f, "seconds_to_first_output", r->seconds_to_first_output);
    field_seconds(f, "seconds_to_exit", r->seconds_to_exit);
    fprintf(f, "  \"console_bytes\": %" PRIu64 ",\n", r->console_bytes);
    vcpu_states(f, r);
    fputs("  \"config\": {\n", f);
    fputs("  ", f);
    field_str(f, "kvm", r->kvm, false);
    fputs("  ", f);
    field_str(f, "mmu", r->mmu, false);
    fprintf(f, "    \"vcpus\": %u,\n", r->vcpus);
    fprintf(f, "    \"memory_bytes\": %" PRIu64 ",\n", r->memory_bytes);
    fputs("  ", f);
    field_str(f, "memory_backing", r->backing, false);
    fprintf(f, "    \"backing_page_bytes\": %" PRIu64 ",\n", r->backing_page_bytes);
    fprintf(f, "    \"disks\": %u,\n", r->disks);
    fputs("  ", f);
    field_str(f, "console", r->console, false);
    fputs("  ", f);
    field_str(f, "kernel_endian", r->kvm ? (r->kernel_big_endian ? "big" : "little") : NULL, true);
    fputs("  }\n}\n", f);
}

int report_json_file(const char *path, const struct vm_result *r, struct mvm_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mvm_fail(e, MVM_E_INPUT, "--json %s: %s", path, strerror(errno));
    report_json(f, r);
    if (fclose(f) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--json %s: %s", path, strerror(errno));
    return 0;
}
