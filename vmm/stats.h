/* Exit counters (--stats): what made each vCPU leave the guest, by exit reason, hcall and
 * MMIO direction. Where a profile of a slow guest starts. Each vCPU thread counts into its
 * own struct without atomics; the counts are summed once the threads have been joined. */
#ifndef MINIVMM_STATS_H
#define MINIVMM_STATS_H

#include <stdint.h>

#include "../devices/hcall.h"
#include "machine.h"

#define STATS_EXIT_REASONS 64

struct vcpu_stats {
    uint64_t exits[STATS_EXIT_REASONS];
    uint64_t hcalls[HCALL_SLOTS];   /* by hcall_slot() */
    uint64_t mmio_reads, mmio_writes;
};

/* The name of a KVM exit reason ("PAPR_HCALL"), or "unrecognised". */
const char *stats_exit_name(uint32_t reason);

/* A reason beyond the table is counted as UNKNOWN (such an exit ends the run anyway). */
static inline void stats_count_exit(struct vcpu_stats *s, uint32_t reason)
{
    s->exits[reason < STATS_EXIT_REASONS ? reason : 0]++;
}

static inline void stats_count_hcall(struct vcpu_stats *s, uint64_t nr)
{
    s->hcalls[hcall_slot(nr)]++;
}

/* Adds one vCPU's counts to a total. */
void stats_add(struct vcpu_stats *total, const struct vcpu_stats *s);

/* Logs the counts, most frequent first, with the rate over `seconds` of guest running. */
void stats_report(struct machine *m, const struct vcpu_stats *total, double seconds);

#endif
