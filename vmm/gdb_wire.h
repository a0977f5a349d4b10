/* The bytes of the GDB remote protocol, for vmm/gdb_proto.c and vmm/gdb_regs.c only:
 * packets in (framing, checksum, acks, '}' escapes), a cursor to parse one, and replies
 * built in the session's retransmit buffer and framed into the caller's gdb_out. */
#ifndef MINIVMM_GDB_WIRE_H
#define MINIVMM_GDB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_proto.h"

extern const char gdb_hexdigits[];   /* "0123456789abcdef" */

/* A hex digit's value, or -1. */
int gdb_hexval(uint8_t c);

/* ---- receiving ---- */

enum gdb_rx_event {
    GDB_GOT_NOTHING,   /* the byte was part of a packet (or a bad one, nak'd) */
    GDB_GOT_PACKET,     /* a packet with a good checksum is in s->rx_buf (acked; s->rx_bad
                       * if it was too long or ended inside an escape) */
    GDB_GOT_OUTSIDE,   /* the byte came between packets: the caller's to interpret */
};

/* Feeds one byte to the framing; an ack or nak may go to out (room for one assumed). */
enum gdb_rx_event gdb_rx_byte(struct gdb_session *s, uint8_t b, struct gdb_out *out);

/* ---- parsing a packet: a cursor over its unescaped bytes ---- */

struct gdb_cur {
    const uint8_t *p, *end;
};

bool gdb_pkt_end(const struct gdb_cur *c);
/* Takes lit if the packet continues with it. */
bool gdb_pkt_eat(struct gdb_cur *c, const char *lit);
/* Whether the rest of the packet is exactly lit (the cursor stays). */
bool gdb_pkt_is(const struct gdb_cur *c, const char *lit);
/* One or more hex digits; leading zeros are fine, a value past 64 bits is refused. */
bool gdb_pkt_hex(struct gdb_cur *c, uint64_t *v);
/* Exactly 2 * n hex digits into n bytes. */
bool gdb_pkt_bytes(struct gdb_cur *c, uint8_t *dst, size_t n);
/* A thread id: -1 (all), 0 (any), or a vCPU index + 1 (anything up to 32 bits here). */
bool gdb_pkt_thread(struct gdb_cur *c, long *tid);

/* ---- replying ---- */

size_t gdb_out_room(const struct gdb_out *o);
/* All n bytes, or nothing (false) when they do not fit. */
bool gdb_out_put(struct gdb_out *o, const void *p, size_t n);

/* A reply is begun, filled (what would pass GDB_PACKET_MAX is dropped: no reply is built
 * that long) and sent: framed, queued to out and kept for a '-'; held in the session
 * (s->send_pending) when out is full. */
void gdb_rep_begin(struct gdb_session *s);
size_t gdb_rep_room(const struct gdb_session *s);
void gdb_rep_put(struct gdb_session *s, const void *p, size_t n);
void gdb_rep_str(struct gdb_session *s, const char *str);
void gdb_rep_hex(struct gdb_session *s, const uint8_t *p, size_t n);   /* 2 digits a byte */
void gdb_rep_num(struct gdb_session *s, uint64_t v, unsigned digits);   /* >= digits */
void gdb_rep_send(struct gdb_session *s, struct gdb_out *out);

/* A whole reply of text (may be "", gdb's "not supported"). */
void gdb_reply(struct gdb_session *s, struct gdb_out *out, const char *text);
/* "Enn", nn the errno in decimal as gdbserver and QEMU send it (E14 EFAULT, E22 EINVAL). */
void gdb_reply_err(struct gdb_session *s, struct gdb_out *out, long err);

#endif
