/* A minimal reader of flattened device trees for the test payload: enough to find a node by
 * name, walk its children and read its properties. No libc, no allocation, no function
 * pointers (an ELFv1 function pointer is an absolute descriptor address, wrong once the
 * payload runs away from its link address), and every read bounds-checked against the blob's
 * own sizes, so a corrupt tree gives "not found", never a wild read.
 *
 * Nodes are named by their offset from the start of the blob. The structure block never starts
 * at offset 0 (the header is there), so 0 means "no node".
 *
 * Portable C: the payload builds it for both byte orders and the unit test natively.
 */
#ifndef PAYLOAD_DT_H
#define PAYLOAD_DT_H

#include <stdbool.h>
#include <stdint.h>

#define DT_MAGIC 0xd00dfeedu

struct dt {
    const uint8_t *blob;
    uint32_t size;                   /* totalsize from the header */
    uint32_t structs, structs_end;   /* the structure block, as offsets into the blob */
    uint32_t strings, strings_end;   /* the strings block */
};

/* Big-endian reads that need no alignment. */
uint32_t dt_be32(const uint8_t *p);
uint64_t dt_be64(const uint8_t *p);

/* Checks the header of the blob at `blob` (magic, version 16 or later, blocks inside
 * totalsize) and fills t. Returns 0, or -1 if it is no usable tree. */
int dt_open(struct dt *t, const void *blob);

/* The root node, or 0. */
uint32_t dt_root(const struct dt *t);

/* The child of `node` that follows `prev` (prev 0: the first child); 0 when there is no more. */
uint32_t dt_child(const struct dt *t, uint32_t node, uint32_t prev);

/* The node's name as written in the tree ("cpus", "PowerPC,POWER9@8"); "" for the root. */
const char *dt_name(const struct dt *t, uint32_t node);

/* The first child of `node` called `name`, with or without a unit address: "memory" finds
 * "memory" and "memory@0"; "memory@0" finds only that one. 0 if none. */
uint32_t dt_subnode(const struct dt *t, uint32_t node, const char *name);

/* The value of property `name` of `node` and its length in *len; NULL if the node has no such
 * property. */
const uint8_t *dt_prop(const struct dt *t, uint32_t node, const char *name, uint32_t *len);

/* A one-cell property: true and *v set if it exists and is exactly 4 bytes long. */
bool dt_prop_u32(const struct dt *t, uint32_t node, const char *name, uint32_t *v);

/* A string property equal to `s`. */
bool dt_prop_is(const struct dt *t, uint32_t node, const char *name, const char *s);

/* What the payload asks of a pseries tree. */

/* The reg of each child of /cpus whose device_type is "cpu", in tree order (the boot CPU
 * first), at most max of them; returns how many. */
unsigned dt_cpu_ids(const struct dt *t, uint32_t *ids, unsigned max);

/* The end of the highest range the root's memory nodes cover (cells as the root's
 * #address-cells and #size-cells say, 2 and 2 by default); 0 if there is none. */
uint64_t dt_memory_end(const struct dt *t);

/* The reg of the first "hvterm1" under /vdevice: true and *reg set if there is one. */
bool dt_vty(const struct dt *t, uint32_t *reg);

#endif
