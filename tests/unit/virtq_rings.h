/* Split virtqueue rings built by hand in calloc'd guest memory, for the unit tests of
 * devices/virtq.c: the driver's side, one queue of QSIZE entries. Included after cmocka.h;
 * setup/teardown are the fixture. */
#ifndef MINIVMM_TEST_VIRTQ_RINGS_H
#define MINIVMM_TEST_VIRTQ_RINGS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtq.h"
#include "../../vmm/mem.h"

#define RAM_SIZE 0x10000u
#define QSIZE 8
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define DATA 0x4000u
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain chain;   /* 4 KiB of iovecs: not on the stack */
static uint16_t avail_idx;         /* the driver's copy */

static inline void st16(uint64_t gpa, uint16_t v)
{
    gm.host[gpa] = (uint8_t)v, gm.host[gpa + 1] = (uint8_t)(v >> 8);
}

static inline void st32(uint64_t gpa, uint32_t v)
{
    st16(gpa, (uint16_t)v), st16(gpa + 2, (uint16_t)(v >> 16));
}

static inline uint16_t ld16(uint64_t gpa)
{
    return (uint16_t)(gm.host[gpa] | gm.host[gpa + 1] << 8);
}

static inline uint32_t ld32(uint64_t gpa)
{
    return ld16(gpa) | (uint32_t)ld16(gpa + 2) << 16;
}

/* A descriptor at guest address d (in the ring or in an indirect table). */
static inline void desc_at(uint64_t d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    st32(d, (uint32_t)addr), st32(d + 4, (uint32_t)(addr >> 32));
    st32(d + 8, len), st16(d + 12, flags), st16(d + 14, next);
}

/* Descriptor i of the ring. */
static inline void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    desc_at(q.desc + 16ull * i, addr, len, flags, next);
}

/* Makes chain `head` available. */
static inline void offer(uint16_t head)
{
    st16(q.avail + 4 + 2ull * (avail_idx % q.size), head);
    avail_idx++;
    st16(q.avail + 2, avail_idx);
}

static inline int setup(void **state)
{
    (void)state;
    gm = (struct guest_mem){.host = calloc(1, RAM_SIZE), .size = RAM_SIZE, .page_size = 4096};
    q = (struct virtq){.size = QSIZE, .ready = true, .desc = DESC, .avail = AVAIL, .used = USED};
    avail_idx = 0;
    memset(&chain, 0x5a, sizeof(chain));
    return gm.host ? 0 : -1;
}

static inline int teardown(void **state)
{
    (void)state;
    free(gm.host);
    return 0;
}

#endif
