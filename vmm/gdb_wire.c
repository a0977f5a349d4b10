#include "gdb_wire.h"

#include <string.h>

const char gdb_hexdigits[] = "0123456789abcdef";

int gdb_hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- parsing ---- */

bool gdb_pkt_end(const struct gdb_cur *c)
{
    return c->p == c->end;
}

bool gdb_pkt_eat(struct gdb_cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
        return false;
    c->p += n;
    return true;
}

bool gdb_pkt_is(const struct gdb_cur *c, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(c->end - c->p) == n && !memcmp(c->p, lit, n);
}

bool gdb_pkt_hex(struct gdb_cur *c, uint64_t *v)
{
    const uint8_t *start = c->p;
    uint64_t x = 0;
    for (; c->p < c->end && gdb_hexval(*c->p) >= 0; c->p++) {
        if (x >> 60)
            return false;
        x = x << 4 | (uint64_t)gdb_hexval(*c->p);
    }
    *v = x;
    return c->p != start;
}

bool gdb_pkt_bytes(struct gdb_cur *c, uint8_t *dst, size_t n)
{
    if ((size_t)(c->end - c->p) / 2 < n)
        return false;
    for (size_t i = 0; i < n; i++, c->p += 2) {
        int hi = gdb_hexval(c->p[0]), lo = gdb_hexval(c->p[1]);
        if (hi < 0 || lo < 0)
            return false;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool gdb_pkt_thread(struct gdb_cur *c, long *tid)
{
    uint64_t v;
    if (gdb_pkt_eat(c, "-1")) {
        *tid = -1;
        return true;
    }
    if (!gdb_pkt_hex(c, &v) || v > UINT32_MAX)
        return false;
    *tid = (long)v;
    return true;
}

/* ---- replies: built in s->last, kept there for a '-' ---- */

size_t gdb_out_room(const struct gdb_out *o)
{
    return o->len < GDB_OUT_SIZE ? GDB_OUT_SIZE - o->len : 0;
}

bool gdb_out_put(struct gdb_out *o, const void *p, size_t n)
{
    if (n > gdb_out_room(o))
        return false;
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return true;
}

void gdb_rep_begin(struct gdb_session *s)
{
    s->last[0] = '$';
    s->last_len = 1;
}

size_t gdb_rep_room(const struct gdb_session *s)
{
    return 1 + GDB_PACKET_MAX - s->last_len;
}

void gdb_rep_put(struct gdb_session *s, const void *p, size_t n)
{
    if (n > gdb_rep_room(s))
        n = gdb_rep_room(s);
    memcpy(s->last + s->last_len, p, n);
    s->last_len += n;
}

void gdb_rep_str(struct gdb_session *s, const char *str)
{
    gdb_rep_put(s, str, strlen(str));
}

void gdb_rep_hex(struct gdb_session *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && gdb_rep_room(s) >= 2; i++) {
        s->last[s->last_len++] = (uint8_t)gdb_hexdigits[p[i] >> 4];
        s->last[s->last_len++] = (uint8_t)gdb_hexdigits[p[i] & 15];
    }
}

void gdb_rep_num(struct gdb_session *s, uint64_t v, unsigned digits)
{
    char buf[16];
    unsigned n = 0;
    do {
        buf[15 - n++] = gdb_hexdigits[v & 15];
        v >>= 4;
    } while (v || n < digits);
    gdb_rep_put(s, buf + 16 - n, n);
}

/* Frames the reply and queues it; held for the next input call when out is full. */
void gdb_rep_send(struct gdb_session *s, struct gdb_out *out)
{
    uint8_t sum = 0;
    for (size_t i = 1; i < s->last_len; i++)
        sum = (uint8_t)(sum + s->last[i]);
    s->last[s->last_len++] = '#';
    s->last[s->last_len++] = (uint8_t)gdb_hexdigits[sum >> 4];
    s->last[s->last_len++] = (uint8_t)gdb_hexdigits[sum & 15];
    s->send_pending = !gdb_out_put(out, s->last, s->last_len);
}

void gdb_reply(struct gdb_session *s, struct gdb_out *out, const char *text)
{
    gdb_rep_begin(s);
    gdb_rep_str(s, text);
    gdb_rep_send(s, out);
}

void gdb_reply_err(struct gdb_session *s, struct gdb_out *out, long err)
{
    char text[4] = "E05";   /* EIO for what no two digits name */
    if (err > 0 && err < 100) {
        text[1] = (char)('0' + err / 10);
        text[2] = (char)('0' + err % 10);
    }
    gdb_reply(s, out, text);
}

/* ---- receiving ---- */

/* The checksum is in: ack a good packet, nak (ask again for) a bad one. In no-ack mode a
 * corrupt packet is dropped silently: acting on it would be worse. */
static enum gdb_rx_event rx_end(struct gdb_session *s, struct gdb_out *out)
{
    s->rx = GDB_RX_IDLE;
    if (s->rx_csum != s->rx_sum) {
        if (!s->no_ack)
            gdb_out_put(out, "-", 1);
        return GDB_GOT_NOTHING;
    }
    if (!s->no_ack)
        gdb_out_put(out, "+", 1);
    return GDB_GOT_PACKET;
}

static void rx_start(struct gdb_session *s)
{
    s->rx = GDB_RX_DATA;
    s->rx_len = 0;
    s->rx_sum = 0;
    s->rx_escape = s->rx_bad = false;
}

/* Inside a packet: the checksum covers the raw bytes; '}' escapes the next one (xor 0x20).
 * A '$' starts over: gdb escapes every '$' in data, so one here means the packet before
 * it was cut short. */
static void rx_data(struct gdb_session *s, uint8_t b)
{
    if (b == '$') {
        rx_start(s);
        return;
    }
    if (b == '#') {
        s->rx = GDB_RX_CSUM1;
        s->rx_bad |= s->rx_escape;
        return;
    }
    s->rx_sum = (uint8_t)(s->rx_sum + b);
    if (s->rx_escape) {
        b ^= 0x20;
        s->rx_escape = false;
    } else if (b == '}') {
        s->rx_escape = true;
        return;
    }
    if (s->rx_len < GDB_PACKET_MAX)
        s->rx_buf[s->rx_len++] = b;
    else
        s->rx_bad = true;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_session *s, uint8_t b, struct gdb_out *out)
{
    int v = gdb_hexval(b);
    switch (s->rx) {
    case GDB_RX_IDLE:
        if (b != '$')
            return GDB_GOT_OUTSIDE;
        rx_start(s);
        return GDB_GOT_NOTHING;
    case GDB_RX_DATA:
        rx_data(s, b);
        return GDB_GOT_NOTHING;
    case GDB_RX_CSUM1:
        s->rx_csum = v < 0 ? 0x100 : (unsigned)v << 4;
        s->rx = GDB_RX_CSUM2;
        return GDB_GOT_NOTHING;
    case GDB_RX_CSUM2:
        s->rx_csum |= v < 0 ? 0x100 : (unsigned)v;
        return rx_end(s, out);
    }
    return GDB_GOT_NOTHING;
}
