/* Host facts that /proc and /sys tell: the MMU the host runs, whether it is itself a guest,
 * its hugepage pools and hugetlbfs mounts, which KVM modules are present. Portable (no KVM
 * header); reads its files under `root` so tests can hand it a made-up host. */
#ifndef MINIVMM_HOST_H
#define MINIVMM_HOST_H

#include <stdio.h>

#include "compat.h"

/* Fills the /proc and /sys part of *h (the KVM part is probe.c's); page_size is the caller's
 * (sysconf), since it is a property of the running kernel, not of a file. */
void host_read_facts(struct host_facts *h, const char *root, uint64_t page_size);

/* Prints what --check reports: the facts, then each kind of guest the seed lists with
 * whether this host can run it and, if not, why and what to change. */
void host_print_report(FILE *f, const struct host_facts *h, uint64_t mem_size);

#endif
