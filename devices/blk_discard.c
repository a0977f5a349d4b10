#include "blk_discard.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 512
#define HDR_LEN sizeof(struct virtio_blk_outhdr)
#define SEG_LEN sizeof(struct virtio_blk_discard_write_zeroes)

/* One checked range of the image, in bytes. */
struct range {
    uint64_t off, len;
};

/* Checks one segment; returns VIRTIO_BLK_S_OK and fills r, or the status that refuses the
 * request. */
static uint8_t check_seg(const struct blk_image *im, bool discard,
                         const struct virtio_blk_discard_write_zeroes *s, struct range *r)
{
    uint64_t sector = le64toh(s->sector), end;
    uint32_t n = le32toh(s->num_sectors), flags = le32toh(s->flags);
    /* Unknown flags, and unmap on a discard (which always may unmap), are UNSUPP: the
     * spec's words (§5.2.6.2), so that a later flag is never silently taken as no flag. */
    if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
        (discard && flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
        return VIRTIO_BLK_S_UNSUPP;
    if (n > (discard ? BLK_DISCARD_MAX_SECTORS : BLK_ZEROES_MAX_SECTORS))
        return VIRTIO_BLK_S_IOERR;
    /* n is below 2^23 sectors: only the sector number can overflow. */
    if (__builtin_mul_overflow(sector, SECTOR, &r->off) ||
        __builtin_add_overflow(r->off, (uint64_t)n * SECTOR, &end) || end > im->size)
        return VIRTIO_BLK_S_IOERR;
    r->len = (uint64_t)n * SECTOR;
    return VIRTIO_BLK_S_OK;
}

static int falloc(int fd, int mode, const struct range *r)
{
    int ret;
    do
        ret = fallocate(fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)r->off, (off_t)r->len);
    while (ret != 0 && errno == EINTR);
    return ret;
}

/* A file system (or device) that does not do this kind of fallocate. */
static bool unsupported(void)
{
    return errno == EOPNOTSUPP || errno == ENOSYS || errno == ENODEV;
}

/* Writes zeros over r. The buffer is aligned for O_DIRECT (cache=none): blk_size, which
 * the guest was told, is at most 4096. */
static int write_zeros(int fd, const struct range *r)
{
    static const uint8_t zeros[64 << 10] __attribute__((aligned(4096)));
    uint64_t off = r->off, left = r->len;
    while (left) {
        size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (uint64_t)w;
        left -= (uint64_t)w;
    }
    return 0;
}

/* Discard: a hole punched where the host can (reads return zeros, the space is freed);
 * where it cannot, nothing: the spec lets a device ignore a discard (what the guest reads
 * there afterwards is unspecified), and a --snapshot never frees anything. */
static int discard(const struct blk_image *im, const struct range *r)
{
    if (im->snap || r->len == 0)
        return 0;
    return falloc(im->fd, FALLOC_FL_PUNCH_HOLE, r) == 0 || unsupported() ? 0 : -1;
}

/* Write zeroes: afterwards the range must read as zeros, whatever the host supports. With
 * unmap the space may be freed too (a hole); else it stays allocated (ZERO_RANGE), or is
 * written with zeros where the file system has neither (tmpfs has no ZERO_RANGE). */
static int zero(const struct blk_image *im, const struct range *r, bool unmap)
{
    if (r->len == 0)
        return 0;
    if (im->snap) {
        memset(im->snap + r->off, 0, r->len);
        return 0;
    }
    if (unmap && falloc(im->fd, FALLOC_FL_PUNCH_HOLE, r) == 0)
        return 0;
    if (falloc(im->fd, FALLOC_FL_ZERO_RANGE, r) == 0)
        return 0;
    return unsupported() ? write_zeros(im->fd, r) : -1;
}

uint8_t blk_discard_zeroes(const struct blk_image *im, uint32_t type, const struct virtq_chain *c)
{
    struct virtio_blk_discard_write_zeroes seg[BLK_DWZ_MAX_SEG];
    struct range r[BLK_DWZ_MAX_SEG];
    bool is_discard = type == VIRTIO_BLK_T_DISCARD;
    uint64_t data = c->out_len - HDR_LEN;
    /* Whole segments, at least one, at most as many as advertised (§5.2.6.1). */
    if (data == 0 || data % SEG_LEN || data / SEG_LEN > BLK_DWZ_MAX_SEG)
        return VIRTIO_BLK_S_IOERR;
    unsigned n = (unsigned)(data / SEG_LEN);
    /* One copy: the guest may change its buffers while we work. */
    if (virtq_read_out(c, HDR_LEN, seg, data) != data)
        return VIRTIO_BLK_S_IOERR;
    for (unsigned i = 0; i < n; i++) {
        uint8_t st = check_seg(im, is_discard, &seg[i], &r[i]);
        if (st != VIRTIO_BLK_S_OK)
            return st;
    }
    for (unsigned i = 0; i < n; i++) {
        bool unmap = le32toh(seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
        if ((is_discard ? discard(im, &r[i]) : zero(im, &r[i], unmap)) != 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}
