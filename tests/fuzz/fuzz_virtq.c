/* Split virtqueue walking: the input is the driver's side of one queue. The program gives the
 * queue size, ring placement, the ring features negotiated (indirect tables, event indices)
 * and the device's indices; the rest of the input is guest RAM (16 KiB) holding the rings,
 * indirect tables and buffers. Chains that pop are read, written and returned, and the
 * notification decisions and requests (used_event, avail_event) made. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtq.h"
#include "fuzz_common.h"

#define RAM 0x4000u
#define MAX_POPS 64

static uint8_t scratch[RAM + 64];
static struct virtq_chain chain;   /* big: not on the stack */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, in;
    fz_split(data, size, &prog, &in);
    struct guest_mem m = {.host = calloc(1, RAM), .size = RAM, .page_size = 4096};
    if (!m.host)
        abort();
    memcpy(m.host, in.p, in.n < RAM ? in.n : RAM);

    /* Default placement: desc at 0, then avail, then used (4-byte aligned), buffers after. */
    uint8_t flags = fz_u8(&prog);
    uint64_t n = 1u << (flags % 9);
    struct virtq q = {.size = (uint16_t)n, .desc = 0, .avail = 16 * n,
                      .used = (16 * n + 6 + 2 * n + 3) & ~3ull, .ready = true};
    q.last_avail = fz_u16(&prog);
    q.used_idx = fz_u16(&prog);
    if (flags & 0x10)   /* any placement, any size: virtq_check_rings decides */
        q.desc = fz_u16(&prog), q.avail = fz_u16(&prog), q.used = fz_u16(&prog);
    if (flags & 0x20)
        q.size = fz_u16(&prog);
    q.indirect = flags & 0x40;
    q.event_idx = flags & 0x80;
    q.signalled_used = (flags & 0x8) ? fz_u16(&prog) : q.used_idx;

    if (virtq_check_rings(&q, &m) == 0) {
        for (unsigned i = 0; i < MAX_POPS; i++) {
            int r = virtq_pop(&q, &m, &chain);
            if (r <= 0)
                break;
            if (chain.head >= q.size || chain.n_out + chain.n_in > q.size)
                abort();
            uint64_t skip = fz_u16(&prog) % (RAM + 16), len = fz_u16(&prog) % sizeof(scratch);
            uint64_t got = virtq_read_out(&chain, skip, scratch, len);
            if (got > len || got > chain.out_len)
                abort();
            skip = fz_u16(&prog) % (RAM + 16), len = fz_u16(&prog) % sizeof(scratch);
            uint64_t put = virtq_write_in(&chain, skip, scratch, len);
            if (put > len || put > chain.in_len)
                abort();
            virtq_push(&q, &m, chain.head, (uint32_t)put);
            uint8_t op = fz_u8(&prog);
            if (op & 1)   /* else the decision covers several pushes */
                virtq_should_notify(&q, &m);
            if (op & 2)
                virtq_ask_kick(&q, &m, (uint16_t)(q.last_avail + (op >> 2)));
        }
        virtq_should_notify(&q, &m);
    }
    free(m.host);
    return 0;
}
