/* The 9P wire format: little-endian integers and len[2]-prefixed strings, read from a copy of
 * the T-message and written straight into the driver's scattered reply buffers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "p9_impl.h"

/* ---- reading: from a contiguous copy, so the guest cannot change a value after its check */

static uint64_t get_le(struct p9_rd *r, unsigned bytes)
{
    if (r->bad || r->n < bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes, r->n -= bytes;
    return v;
}

uint8_t p9_get8(struct p9_rd *r) { return (uint8_t)get_le(r, 1); }
uint16_t p9_get16(struct p9_rd *r) { return (uint16_t)get_le(r, 2); }
uint32_t p9_get32(struct p9_rd *r) { return (uint32_t)get_le(r, 4); }
uint64_t p9_get64(struct p9_rd *r) { return get_le(r, 8); }

int p9_get_str(struct p9_rd *r, char *buf, size_t cap)
{
    uint16_t len = p9_get16(r);
    if (r->bad || r->n < len) {
        r->bad = true;
        return -EPROTO;
    }
    /* A C string cannot hold a NUL: "a\0/../x" must not become "a" on one side and
     * something else on the other. */
    if (memchr(r->p, 0, len)) {
        r->bad = true;
        return -EINVAL;
    }
    if (len >= cap)
        return -ENAMETOOLONG;
    memcpy(buf, r->p, len);
    buf[len] = '\0';
    r->p += len, r->n -= len;
    return 0;
}

int p9_get_name(struct p9_rd *r, char name[256])
{
    int err = p9_get_str(r, name, 256);
    return err ? err : p9_check_name(name);
}

/* ---- writing: sequential, into the device-writable buffers, never past cap */

void p9_wr_init(struct p9_wr *w, const struct iovec *iov, unsigned n, size_t cap)
{
    *w = (struct p9_wr){.iov = iov, .n = n, .cap = cap};
}

/* Moves the cursor len bytes on, copying data there when given. */
static void advance(struct p9_wr *w, const uint8_t *data, size_t len)
{
    if (w->overflow || len > w->cap - w->pos) {
        w->overflow = true;
        return;
    }
    w->pos += len;
    while (len) {
        if (w->i >= w->n)   /* cannot happen: cap <= the buffers' total */
            return;
        size_t room = w->iov[w->i].iov_len - w->off;
        size_t k = len < room ? len : room;
        if (data) {
            memcpy((uint8_t *)w->iov[w->i].iov_base + w->off, data, k);
            data += k;
        }
        len -= k, w->off += k;
        if (w->off == w->iov[w->i].iov_len)
            w->i++, w->off = 0;
    }
}

void p9_put(struct p9_wr *w, const void *data, size_t len) { advance(w, data, len); }
void p9_skip(struct p9_wr *w, size_t len) { advance(w, NULL, len); }

static void put_le(struct p9_wr *w, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    advance(w, b, bytes);
}

void p9_put8(struct p9_wr *w, uint8_t v) { put_le(w, v, 1); }
void p9_put16(struct p9_wr *w, uint16_t v) { put_le(w, v, 2); }
void p9_put32(struct p9_wr *w, uint32_t v) { put_le(w, v, 4); }
void p9_put64(struct p9_wr *w, uint64_t v) { put_le(w, v, 8); }

void p9_put_str(struct p9_wr *w, const char *s, size_t len)
{
    if (len > UINT16_MAX) {
        w->overflow = true;
        return;
    }
    p9_put16(w, (uint16_t)len);
    advance(w, (const uint8_t *)s, len);
}

void p9_put_qid(struct p9_wr *w, const struct p9_qid *q)
{
    p9_put8(w, q->type);
    p9_put32(w, q->version);
    p9_put64(w, q->path);
}

void p9_patch(const struct p9_wr *w, size_t at, uint32_t v, unsigned bytes)
{
    if (at > w->pos || w->pos - at < bytes)
        return;
    struct p9_wr t;
    p9_wr_init(&t, w->iov, w->n, w->cap);
    p9_skip(&t, at);
    put_le(&t, v, bytes);
}

/* ---- scattered buffers */

size_t p9_iov_len(const struct iovec *v, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        if (__builtin_add_overflow(total, v[i].iov_len, &total))
            return SIZE_MAX;
    return total;
}

bool p9_iov_read(const struct iovec *v, unsigned n, size_t off, void *dst, size_t len)
{
    uint8_t *d = dst;
    for (unsigned i = 0; i < n && len; i++) {
        if (off >= v[i].iov_len) {
            off -= v[i].iov_len;
            continue;
        }
        size_t k = v[i].iov_len - off;
        if (k > len)
            k = len;
        memcpy(d, (const uint8_t *)v[i].iov_base + off, k);
        d += k, len -= k, off = 0;
    }
    return len == 0;
}

unsigned p9_iov_slice(const struct iovec *v, unsigned n, size_t off, size_t len,
                      struct iovec *dst, unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len && k < max; i++) {
        if (off >= v[i].iov_len) {
            off -= v[i].iov_len;
            continue;
        }
        size_t take = v[i].iov_len - off;
        if (take > len)
            take = len;
        if (take == 0)
            continue;
        dst[k++] = (struct iovec){(uint8_t *)v[i].iov_base + off, take};
        len -= take, off = 0;
    }
    return k;
}
