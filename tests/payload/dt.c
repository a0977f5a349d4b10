/* The payload's device-tree reader (dt.h): the flattened tree format of the Devicetree
 * Specification, chapter 5. A header, then a structure block of big-endian 32-bit tokens
 * (BEGIN_NODE name, PROP len nameoff value, END_NODE, NOP, END), each item padded to 4 bytes,
 * and a strings block holding property names. */
#include "dt.h"

#include <stddef.h>

#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_HEADER_SIZE 40
#define FDT_SIZE_MAX 0x10000000u   /* far above any real tree; keeps offset sums from wrapping */

uint32_t dt_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t dt_be64(const uint8_t *p)
{
    return (uint64_t)dt_be32(p) << 32 | dt_be32(p + 4);
}

static uint32_t align4(uint32_t off)
{
    return (off + 3) & ~3u;
}

/* A block [off, off + len) that lies inside a blob of `size` bytes. */
static bool block_ok(uint32_t off, uint32_t len, uint32_t size)
{
    return off <= size && len <= size - off;
}

int dt_open(struct dt *t, const void *blob)
{
    const uint8_t *h = blob;
    uint32_t size = dt_be32(h + 4), structs = dt_be32(h + 8), strings = dt_be32(h + 12);
    uint32_t version = dt_be32(h + 20), last_comp = dt_be32(h + 24);
    uint32_t strings_size = dt_be32(h + 32);
    if (dt_be32(h) != DT_MAGIC || version < 16 || last_comp > 17 || size < FDT_HEADER_SIZE ||
        size > FDT_SIZE_MAX)
        return -1;
    /* Version 16 has no size for the structure block: it may run to the end of the blob. */
    uint32_t structs_size = version >= 17 ? dt_be32(h + 36) : size - structs;
    if (structs < FDT_HEADER_SIZE || !block_ok(structs, structs_size, size) ||
        !block_ok(strings, strings_size, size))
        return -1;
    *t = (struct dt){.blob = h, .size = size, .structs = structs,
                     .structs_end = structs + structs_size, .strings = strings,
                     .strings_end = strings + strings_size};
    return 0;
}

/* The token at `off` in the structure block; 0 (no token) if off is outside it. */
static uint32_t token(const struct dt *t, uint32_t off)
{
    if (off < t->structs || off > t->structs_end || t->structs_end - off < 4)
        return 0;
    return dt_be32(t->blob + off);
}

/* Past a BEGIN_NODE and its NUL-terminated name; 0 if the name runs off the block. */
static uint32_t after_name(const struct dt *t, uint32_t node)
{
    for (uint32_t p = node + 4; p < t->structs_end; p++)
        if (t->blob[p] == '\0')
            return align4(p + 1);
    return 0;
}

/* The length of the PROP at `off` if its value lies inside the block, else -1. */
static int64_t prop_len(const struct dt *t, uint32_t off)
{
    if (t->structs_end - off < 12)
        return -1;
    uint32_t len = dt_be32(t->blob + off + 4);
    return len <= t->structs_end - off - 12 ? (int64_t)len : -1;
}

/* Past the PROP or NOP at `off`; 0 for anything else or a property that does not fit. */
static uint32_t skip_item(const struct dt *t, uint32_t off)
{
    uint32_t tok = token(t, off);
    if (tok == FDT_NOP)
        return off + 4;
    if (tok != FDT_PROP)
        return 0;
    int64_t len = prop_len(t, off);
    return len < 0 ? 0 : align4(off + 12 + (uint32_t)len);
}

/* Past the whole subtree that begins at `node`; 0 if it is corrupt. Every step moves forward
 * by at least one token, so a bad tree ends at the block's end. */
static uint32_t skip_node(const struct dt *t, uint32_t node)
{
    uint32_t off = node, depth = 0;
    while (off) {
        uint32_t tok = token(t, off);
        if (tok == FDT_BEGIN_NODE) {
            depth++;
            off = after_name(t, off);
        } else if (tok == FDT_END_NODE) {
            off += 4;
            if (--depth == 0)
                return off;
        } else {
            off = skip_item(t, off);
        }
    }
    return 0;
}

uint32_t dt_root(const struct dt *t)
{
    uint32_t off = t->structs;
    while (token(t, off) == FDT_NOP)
        off += 4;
    return token(t, off) == FDT_BEGIN_NODE ? off : 0;
}

uint32_t dt_child(const struct dt *t, uint32_t node, uint32_t prev)
{
    if (token(t, node) != FDT_BEGIN_NODE)
        return 0;
    /* A node's properties come first, then its children, then its END_NODE. */
    uint32_t off = prev ? skip_node(t, prev) : after_name(t, node);
    while (off) {
        uint32_t tok = token(t, off);
        if (tok == FDT_BEGIN_NODE)
            return off;
        off = skip_item(t, off);   /* 0 at END_NODE: no more children */
    }
    return 0;
}

const char *dt_name(const struct dt *t, uint32_t node)
{
    if (token(t, node) != FDT_BEGIN_NODE || !after_name(t, node))
        return "";
    return (const char *)t->blob + node + 4;
}

/* "memory@0" is "memory" with a unit address. */
static bool name_matches(const char *have, const char *want)
{
    while (*want && *have == *want) {
        have++;
        want++;
    }
    return *want == '\0' && (*have == '\0' || *have == '@');
}

uint32_t dt_subnode(const struct dt *t, uint32_t node, const char *name)
{
    for (uint32_t c = dt_child(t, node, 0); c; c = dt_child(t, node, c))
        if (name_matches(dt_name(t, c), name))
            return c;
    return 0;
}

/* The property name at `nameoff` in the strings block, or NULL if it is not terminated there. */
static const char *string_at(const struct dt *t, uint32_t nameoff)
{
    if (nameoff >= t->strings_end - t->strings)
        return NULL;
    for (uint32_t p = t->strings + nameoff; p < t->strings_end; p++)
        if (t->blob[p] == '\0')
            return (const char *)t->blob + t->strings + nameoff;
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const uint8_t *dt_prop(const struct dt *t, uint32_t node, const char *name, uint32_t *len)
{
    if (token(t, node) != FDT_BEGIN_NODE)
        return NULL;
    for (uint32_t off = after_name(t, node); off; off = skip_item(t, off)) {
        if (token(t, off) != FDT_PROP)
            continue;   /* a NOP; anything else ends the loop through skip_item */
        int64_t plen = prop_len(t, off);   /* >= 0: the 12-byte header is inside the block */
        if (plen < 0)
            continue;
        const char *pname = string_at(t, dt_be32(t->blob + off + 8));
        if (pname && str_eq(pname, name)) {
            *len = (uint32_t)plen;
            return t->blob + off + 12;
        }
    }
    return NULL;
}

bool dt_prop_u32(const struct dt *t, uint32_t node, const char *name, uint32_t *v)
{
    uint32_t len;
    const uint8_t *p = dt_prop(t, node, name, &len);
    if (!p || len != 4)
        return false;
    *v = dt_be32(p);
    return true;
}

bool dt_prop_is(const struct dt *t, uint32_t node, const char *name, const char *s)
{
    uint32_t len, n = 0;
    const uint8_t *p = dt_prop(t, node, name, &len);
    if (!p)
        return false;
    while (s[n])
        n++;
    if (len != n + 1 || p[n] != '\0')
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)s[i])
            return false;
    return true;
}

/* ---- what the payload asks of a pseries tree ---- */

unsigned dt_cpu_ids(const struct dt *t, uint32_t *ids, unsigned max)
{
    uint32_t cpus = dt_subnode(t, dt_root(t), "cpus");
    unsigned n = 0;
    for (uint32_t c = dt_child(t, cpus, 0); c && n < max; c = dt_child(t, cpus, c))
        if (dt_prop_is(t, c, "device_type", "cpu") && dt_prop_u32(t, c, "reg", &ids[n]))
            n++;
    return n;
}

/* A value of `cells` (1 or 2) big-endian cells. */
static uint64_t cells_value(const uint8_t *p, uint32_t cells)
{
    return cells == 2 ? dt_be64(p) : dt_be32(p);
}

uint64_t dt_memory_end(const struct dt *t)
{
    uint32_t root = dt_root(t), ac = 2, sc = 2, len;
    dt_prop_u32(t, root, "#address-cells", &ac);
    dt_prop_u32(t, root, "#size-cells", &sc);
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
        return 0;
    uint32_t entry = 4 * (ac + sc);
    uint64_t end = 0;
    for (uint32_t n = dt_child(t, root, 0); n; n = dt_child(t, root, n)) {
        const uint8_t *reg = dt_prop(t, n, "reg", &len);
        if (!reg || !dt_prop_is(t, n, "device_type", "memory"))
            continue;
        for (uint32_t o = 0; len - o >= entry; o += entry) {
            uint64_t base = cells_value(reg + o, ac), size = cells_value(reg + o + 4 * ac, sc);
            if (base + size > end)
                end = base + size;
        }
    }
    return end;
}

bool dt_vty(const struct dt *t, uint32_t *reg)
{
    uint32_t vdev = dt_subnode(t, dt_root(t), "vdevice");
    for (uint32_t n = dt_child(t, vdev, 0); n; n = dt_child(t, vdev, n))
        if (dt_prop_is(t, n, "compatible", "hvterm1") && dt_prop_u32(t, n, "reg", reg))
            return true;
    return false;
}
