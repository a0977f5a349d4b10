#include "virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/machine.h"
#include "blk_discard.h"
#include "device.h"
#include "spec.h"
#include "virtio_pci.h"
#include "vq_workers.h"

#define SECTOR 512
#define HDR_LEN sizeof(struct virtio_blk_outhdr)
/* The configuration structure up to the discard and write-zeroes fields; those between them
 * and blk_size (topology, writeback, num_queues) belong to features we do not offer and
 * read as zero. */
#define CONFIG_SIZE (offsetof(struct virtio_blk_config, unused1) + \
                     sizeof(((struct virtio_blk_config *)0)->unused1))
#define F_DWZ (1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES)

/* Requests in hand at once. One would leave the host's other CPUs idle while a large
 * transfer is copied; the guest keeps many requests queued (dd, writeback). */
#define BLK_WORKERS 4

struct virtio_blk {
    struct virtio_dev vdev;          /* first: the transport hands us back this pointer */
    struct disk_config cfg;
    int fd;
    uint8_t *snap;                   /* --snapshot: a private (copy-on-write) map of the image */
    uint64_t size;                   /* bytes; the guest sees size / 512 sectors */
    uint32_t blk_size;
    struct vq_workers io;            /* the I/O threads (vq_workers.h) */
};

int disk_parse(const char *spec, struct disk_config *d, struct mvm_err *e)
{
    memset(d, 0, sizeof(*d));
    const char *p = spec_path(spec, d->path, sizeof(d->path));
    if (!p)
        return mvm_fail(e, MVM_E_INPUT, "-d: image path too long");
    if (!d->path[0])
        return mvm_fail(e, MVM_E_INPUT, "-d %s: no image path", spec);
    const char *comma = *p ? p : NULL;
    while (comma) {
        const char *opt = comma + 1;
        comma = strchr(opt, ',');
        size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
        if (len == 2 && strncmp(opt, "ro", 2) == 0) {
            d->ro = true;
        } else if (len == 8 && strncmp(opt, "snapshot", 8) == 0) {
            d->snapshot = true;
        } else if (len == 15 && strncmp(opt, "cache=writeback", 15) == 0) {
            d->direct = false;
        } else if (len == 10 && strncmp(opt, "cache=none", 10) == 0) {
            d->direct = true;
        } else if (len >= 7 && strncmp(opt, "serial=", 7) == 0) {
            if (len - 7 > DISK_SERIAL_MAX)
                return mvm_fail(e, MVM_E_INPUT, "-d %s: serial is longer than %d characters",
                                spec, DISK_SERIAL_MAX);
            memset(d->serial, 0, sizeof(d->serial));   /* the last serial= wins, whole */
            memcpy(d->serial, opt + 7, len - 7);
        } else {
            return mvm_fail(e, MVM_E_INPUT, "-d %s: unknown disk option '%.*s' (use ro, "
                            "snapshot, cache=writeback|none, serial=S)", spec, (int)len, opt);
        }
    }
    return 0;
}

static struct virtio_blk *blk_of(struct virtio_dev *v)
{
    return (struct virtio_blk *)v;
}

static void blk_config_read(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len)
{
    struct virtio_blk *b = blk_of(v);
    struct virtio_blk_config cfg = {
        .capacity = htole64(b->size / SECTOR),
        .seg_max = htole32(VIRTQ_MAX_SIZE - 2),   /* room for header and status */
        .blk_size = htole32(b->blk_size),
        .max_discard_sectors = htole32(BLK_DISCARD_MAX_SECTORS),
        .max_discard_seg = htole32(BLK_DWZ_MAX_SEG),
        .discard_sector_alignment = htole32(BLK_DISCARD_ALIGN_SECTORS),
        .max_write_zeroes_sectors = htole32(BLK_ZEROES_MAX_SECTORS),
        .max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG),
        /* A snapshot's zeroed pages stay in memory; a file may get a hole. */
        .write_zeroes_may_unmap = !b->snap,
    };
    memcpy(data, (const uint8_t *)&cfg + off, len);
}

static void blk_notify(struct virtio_dev *v, uint16_t q)
{
    (void)q;
    vq_workers_notify(&blk_of(v)->io);
}

static void blk_reset(struct virtio_dev *v)
{
    /* The queues are already not ready, so nothing new is taken; wait for the requests in
     * hand. */
    vq_workers_quiesce(&blk_of(v)->io);
}

/* The part of an iovec array that starts `skip` bytes in and is `len` bytes long. */
static unsigned iov_slice(const struct iovec *src, unsigned n, uint64_t skip, uint64_t len,
                          struct iovec *dst)
{
    unsigned out = 0;
    for (unsigned i = 0; i < n && len; i++) {
        uint64_t l = src[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        uint64_t take = l - skip < len ? l - skip : len;
        dst[out++] = (struct iovec){(uint8_t *)src[i].iov_base + skip, take};
        len -= take;
        skip = 0;
    }
    return out;
}

/* Moves all of iov to or from the image at off; retries short transfers. */
static int do_io(struct virtio_blk *b, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
    if (b->snap) {
        /* Reads see the image plus this run's writes; writes touch only private pages. */
        for (unsigned i = 0; i < n; i++) {
            if (write)
                memcpy(b->snap + off, iov[i].iov_base, iov[i].iov_len);
            else
                memcpy(iov[i].iov_base, b->snap + off, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        return 0;
    }
    while (n > 0) {
        ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off) : preadv(b->fd, iov, (int)n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (uint64_t)r;
        while (n > 0 && (uint64_t)r >= iov->iov_len) {
            r -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return 0;
}

/* DISCARD and WRITE_ZEROES (blk_discard.c), each only if its feature was negotiated: a driver
 * that did not is broken, and a read-only disk never offers them. */
static uint8_t discard_or_zeroes(struct virtio_blk *b, uint32_t type, const struct virtq_chain *c)
{
    if (b->cfg.ro)
        return VIRTIO_BLK_S_IOERR;    /* as a write would be */
    pthread_mutex_lock(&b->vdev.lock);
    uint64_t f = b->vdev.drv_features;
    pthread_mutex_unlock(&b->vdev.lock);
    int bit = type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
    if (!(f & 1ULL << bit))
        return VIRTIO_BLK_S_UNSUPP;
    const struct blk_image im = {.fd = b->fd, .snap = b->snap, .size = b->size};
    return blk_discard_zeroes(&im, type, c);
}

/* Performs one request; returns its status and sets *written to the data bytes written into
 * the guest's buffers (not counting the status byte), always less than 4 GiB - 1. */
static uint8_t handle(struct virtio_blk *b, const struct virtq_chain *c, uint64_t *written)
{
    struct iovec io[VIRTQ_MAX_SIZE];
    uint8_t hdr[HDR_LEN];
    *written = 0;
    virtq_read_out(c, 0, hdr, HDR_LEN);
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = le32toh(type);
    sector = le64toh(sector);
    uint64_t data_in = c->in_len - 1;            /* the last writable byte is the status */

    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool wr = type == VIRTIO_BLK_T_OUT;
        uint64_t len = wr ? c->out_len - HDR_LEN : data_in;
        uint64_t off, end;
        if (wr && b->cfg.ro)
            return VIRTIO_BLK_S_IOERR;
        if (len % SECTOR || __builtin_mul_overflow(sector, SECTOR, &off) ||
            __builtin_add_overflow(off, len, &end) || end > b->size)
            return VIRTIO_BLK_S_IOERR;
        /* The used ring tells the driver what was read, status byte included, in 32 bits:
         * a longer read (buffers may repeat, so their sum is not bounded by guest RAM) could
         * only be reported wrapped. No driver needs one; refuse it. */
        if (!wr && len > UINT32_MAX - 1)
            return VIRTIO_BLK_S_IOERR;
        unsigned n = wr ? iov_slice(c->iov, c->n_out, HDR_LEN, len, io)
                        : iov_slice(c->iov + c->n_out, c->n_in, 0, len, io);
        if (do_io(b, io, n, off, wr) != 0)
            return VIRTIO_BLK_S_IOERR;
        if (!wr)
            *written = len;
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_FLUSH:
        if (b->snap)
            return VIRTIO_BLK_S_OK;   /* nothing is meant to last */
        return fdatasync(b->fd) == 0 || errno == EINVAL ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return discard_or_zeroes(b, type, c);
    case VIRTIO_BLK_T_GET_ID: {
        char id[DISK_SERIAL_MAX] = {0};
        memcpy(id, b->cfg.serial, strnlen(b->cfg.serial, DISK_SERIAL_MAX));
        *written = virtq_write_in(c, 0, id, data_in < sizeof(id) ? data_in : sizeof(id));
        return VIRTIO_BLK_S_OK;
    }
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

/* The next request, if it has the header and room for the status (else nothing sensible
 * can be answered: the driver broke the ring). */
static int blk_take(void *opaque, struct virtq_chain *c)
{
    return virtio_take(&((struct virtio_blk *)opaque)->vdev, 0, c, HDR_LEN, 1);
}

static void blk_serve(void *opaque, struct virtq_chain *c)
{
    struct virtio_blk *b = opaque;
    struct virtio_dev *v = &b->vdev;
    uint64_t written;
    uint8_t status = handle(b, c, &written);
    virtq_write_in(c, c->in_len - 1, &status, 1);
    virtio_complete_quiet(v, 0, c->head, (uint32_t)(written + 1));   /* < 4 GiB */
}

static void blk_signal(void *opaque)
{
    virtio_signal_used(&((struct virtio_blk *)opaque)->vdev, 0);
}

/* Others' interrupts may wait for a read or a write, whose time its size bounds, but not for
 * a flush (fdatasync: seconds, on a busy host), a discard or a write of zeroes (a range as
 * large as the disk). The guest may change the type before blk_serve() reads it: that only
 * moves one interrupt. */
static bool blk_quick(void *opaque, const struct virtq_chain *c)
{
    (void)opaque;
    uint32_t type = 0;   /* (blk_take() saw the header's 16 bytes) */
    virtq_read_out(c, 0, &type, sizeof(type));
    type = le32toh(type);
    return type != VIRTIO_BLK_T_FLUSH && type != VIRTIO_BLK_T_DISCARD &&
           type != VIRTIO_BLK_T_WRITE_ZEROES;
}

unsigned virtio_blk_process(struct virtio_blk *b)
{
    return vq_workers_process(&b->io);
}

/* Disk threads run under the same seccomp filter as vCPUs: they touch guest memory. */
static int blk_thread_init(void *opaque)
{
    struct machine *m = ((struct virtio_blk *)opaque)->vdev.m;
    if (!m->thread_init || m->thread_init(m) == 0)
        return 0;
    m->ops->shutdown(m, MVM_E_HOST, "a disk thread could not restrict itself with seccomp "
                     "(kernel without seccomp?); run with --no-seccomp");
    return -1;
}

static int blk_queue_eventfd(struct virtio_dev *v, uint16_t q)
{
    (void)q;
    return vq_workers_eventfd(&blk_of(v)->io);
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
    return &b->vdev;
}

static const struct virtio_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = 0x018000,      /* mass storage, other */
    .num_queues = 1,
    .features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
                1ULL << VIRTIO_BLK_F_FLUSH,
    .config_size = CONFIG_SIZE,
    .config_read = blk_config_read,
    .notify = blk_notify,
    .queue_eventfd = blk_queue_eventfd,
    .reset = blk_reset,
};


uint32_t virtio_blk_dio_block(const struct dio_facts *f)
{
    uint32_t need = 4096;   /* a regular file the kernel says nothing about: enough anywhere */
    if (f->statx_dio) {
        if (f->offset_align == 0)
            return 0;
        need = f->offset_align > f->mem_align ? f->offset_align : f->mem_align;
    } else if (f->blockdev && f->logical_block) {
        need = f->logical_block;
    }
    if (need < SECTOR)
        need = SECTOR;
    /* Linux refuses a block size that is not a power of two or exceeds its page size (4 KiB
     * for some guests). */
    return need > 4096 || (need & (need - 1)) ? 0 : need;
}

/* statx's direct I/O alignment, read from the kernel's struct statx at its fixed offsets
 * (include/uapi/linux/stat.h): the C libraries' own struct statx may lack these fields (musl's
 * does, and musl before 1.2.5 has no statx at all), while the system call is the same. */
#define STATX_DIOALIGN_BIT 0x2000u
#define STX_DIO_MEM_ALIGN 0x98
#define STX_DIO_OFFSET_ALIGN 0x9c

static void dio_facts_of(int fd, bool blockdev, struct dio_facts *f)
{
    uint32_t stx[256 / 4] = {0};     /* struct statx, stx_mask first */
    int lbs;
    memset(f, 0, sizeof(*f));
    f->blockdev = blockdev;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN_BIT, stx) == 0 &&
        (stx[0] & STATX_DIOALIGN_BIT)) {
        f->statx_dio = true;
        f->mem_align = stx[STX_DIO_MEM_ALIGN / 4];
        f->offset_align = stx[STX_DIO_OFFSET_ALIGN / 4];
    }
    if (blockdev && ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > 0)
        f->logical_block = (uint32_t)lbs;
}

static int open_image(struct virtio_blk *b, struct mvm_err *e)
{
    const struct disk_config *d = &b->cfg;
    /* A snapshot never writes the image: open it read-only, whatever the guest does. */
    int flags = (d->ro || d->snapshot ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    struct stat st;
    if (stat(d->path, &st) != 0)
        return mvm_fail(e, MVM_E_INPUT, "disk %s: %s", d->path, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return mvm_fail(e, MVM_E_INPUT, "disk %s is not a regular file or a block device", d->path);
    b->fd = open(d->path, flags | (d->direct ? O_DIRECT : 0));
    if (b->fd < 0 && d->direct && errno == EINVAL)
        return mvm_fail(e, MVM_E_INPUT, "disk %s: cache=none needs O_DIRECT, which this file "
                        "system does not support; use cache=writeback", d->path);
    if (b->fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot open disk %s%s: %s", d->path,
                        d->ro ? "" : " for writing (add ,ro for a read-only disk)", strerror(errno));
    off_t end = lseek(b->fd, 0, SEEK_END);
    if (end < 0)
        return mvm_fail(e, MVM_E_INPUT, "disk %s: cannot find its size: %s", d->path, strerror(errno));
    if (end < SECTOR)
        return mvm_fail(e, MVM_E_INPUT, "disk %s is smaller than one 512-byte sector", d->path);
    b->size = (uint64_t)end / SECTOR * SECTOR;
    if (d->snapshot) {
        void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, b->fd, 0);
        if (p == MAP_FAILED)
            return mvm_fail(e, MVM_E_INPUT, "disk %s: cannot map it for a snapshot: %s", d->path,
                            strerror(errno));
        b->snap = p;
    }
    /* O_DIRECT transfers must be aligned as the kernel says (not to st_blksize, the preferred
     * I/O size); telling the guest that block size makes it issue only such requests. */
    b->blk_size = SECTOR;
    if (d->direct) {
        struct dio_facts f;
        dio_facts_of(b->fd, S_ISBLK(st.st_mode), &f);
        b->blk_size = virtio_blk_dio_block(&f);
        if (!b->blk_size)
            return mvm_fail(e, MVM_E_INPUT, "disk %s: cache=none: the host cannot do O_DIRECT on "
                            "it in blocks a guest takes (512 to 4096 bytes); use cache=writeback",
                            d->path);
    }
    return 0;
}

int virtio_blk_create(struct virtio_blk **out, struct machine *m, const struct disk_config *d,
                      struct mvm_err *e)
{
    *out = NULL;
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    b->cfg = *d;
    b->fd = -1;
    if (open_image(b, e) ||
        vq_workers_init(&b->io, BLK_WORKERS, "disk", blk_take, blk_serve, blk_thread_init, b, e))
        goto fail;
    vq_workers_batch(&b->io, blk_signal, blk_quick);
    int r = virtio_pci_init(&b->vdev, m, &blk_ops);
    /* Discard and write zeroes change the image: not for a read-only disk. */
    b->vdev.extra_features = d->ro ? 1ULL << VIRTIO_BLK_F_RO : F_DWZ;
    if (r) {
        mvm_fail(e, MVM_E_INPUT, "cannot add disk %s: %s", d->path,
                 r == -ENOSPC ? "no free PCI slot" : strerror(-r));
        goto fail;
    }
    *out = b;
    return 0;
fail:
    virtio_blk_destroy(b);
    return -1;
}

int virtio_blk_start(struct virtio_blk *b, struct mvm_err *e)
{
    return vq_workers_start(&b->io, e);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    if (!b)
        return;
    vq_workers_destroy(&b->io);   /* each worker finishes the request in hand */
    if (b->snap)
        munmap(b->snap, b->size);
    if (b->fd >= 0) {
        if (!b->cfg.ro && !b->cfg.snapshot)
            fdatasync(b->fd);   /* whatever the guest did not flush, keep anyway */
        close(b->fd);
    }
    if (b->vdev.m)
        virtio_pci_destroy(&b->vdev);
    free(b);
}

/* ---- the device kind (device.h) ---- */

static int blk_check(const char *spec, struct mvm_err *e)
{
    struct disk_config d;
    return disk_parse(spec, &d, e);
}

static void *blk_create(struct machine *m, const char *spec, bool snapshot_all, struct mvm_err *e)
{
    struct disk_config d;
    struct virtio_blk *b;
    if (disk_parse(spec, &d, e))
        return NULL;
    d.snapshot |= snapshot_all;
    return virtio_blk_create(&b, m, &d, e) ? NULL : b;
}

static int blk_start(void *dev, struct mvm_err *e)
{
    return virtio_blk_start(dev, e);
}

static void blk_destroy(void *dev)
{
    virtio_blk_destroy(dev);
}

static struct virtio_dev *blk_virtio(void *dev)
{
    return virtio_blk_dev(dev);
}

const struct device_kind virtio_blk_kind = {
    .name = "disk",
    .short_option = 'd',
    .usage = "  -d, --disk SPEC       add a virtio-blk disk:\n"
             "                        PATH[,ro][,snapshot][,cache=writeback|none][,serial=S]\n"
             "                        (repeatable; raw images or block devices; the first is\n"
             "                        /dev/vda; ,, in PATH stands for a comma)\n",
    .max = 16,
    .check = blk_check,
    .create = blk_create,
    .start = blk_start,
    .destroy = blk_destroy,
    .virtio = blk_virtio,
};
