/* Requests on one fid's object: attributes, open and create, read and write, fsync, statfs.
 * Each works on the fid's own O_PATH descriptor (AT_EMPTY_PATH, never by name) or on its
 * open descriptor; where the kernel needs a real descriptor, p9_reopen makes one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "p9_impl.h"

/* fchmodat2(2), Linux 6.6+: the only chmod that takes an O_PATH descriptor. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

#define P9_GETATTR_BASIC 0x7ffull
#define SETATTR_MODE 0x1
#define SETATTR_UID 0x2
#define SETATTR_GID 0x4
#define SETATTR_SIZE 0x8
#define SETATTR_ATIME 0x10
#define SETATTR_MTIME 0x20
#define SETATTR_ATIME_SET 0x80
#define SETATTR_MTIME_SET 0x100

int p9_getattr(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    p9_get64(&q->rd);   /* request_mask: the basic set is always answered */
    if (q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    struct stat st;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    err = p9_fstat(f->fd, &st);
    p9_fid_put(q->s, f);
    if (err)
        return err;
    struct p9_qid qid;
    p9_qid(&st, &qid);
    struct p9_wr *w = &q->w;
    p9_put64(w, P9_GETATTR_BASIC);
    p9_put_qid(w, &qid);
    p9_put32(w, st.st_mode), p9_put32(w, st.st_uid), p9_put32(w, st.st_gid);
    p9_put64(w, st.st_nlink), p9_put64(w, st.st_rdev), p9_put64(w, (uint64_t)st.st_size);
    p9_put64(w, (uint64_t)st.st_blksize), p9_put64(w, (uint64_t)st.st_blocks);
    p9_put64(w, (uint64_t)st.st_atim.tv_sec), p9_put64(w, (uint64_t)st.st_atim.tv_nsec);
    p9_put64(w, (uint64_t)st.st_mtim.tv_sec), p9_put64(w, (uint64_t)st.st_mtim.tv_nsec);
    p9_put64(w, (uint64_t)st.st_ctim.tv_sec), p9_put64(w, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)
        p9_put64(w, 0);   /* btime, gen, data_version: not in the basic set */
    return 0;
}

/* chmod without following: fchmodat2 on the O_PATH descriptor, else through an open one. */
static int set_mode(struct p9_server *s, struct p9_fid *f, mode_t mode)
{
    if (syscall(SYS_fchmodat2, f->fd, "", mode, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL)
        return -errno;
    int fd = p9_reopen(s, f, O_RDONLY);
    if (fd == -EACCES)
        fd = p9_reopen(s, f, O_WRONLY);
    if (fd < 0)
        return fd == -EPERM || fd == -ELOOP ? -EOPNOTSUPP : fd;
    int err = fchmod(fd, mode) ? -errno : 0;
    close(fd);
    return err;
}

static int set_size(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
    if (size > INT64_MAX)
        return -EFBIG;
    int fd = p9_fid_ofd(s, f);
    bool own = fd < 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY;
    if (own && (fd = p9_reopen(s, f, O_WRONLY)) < 0)
        return fd == -ELOOP ? -EINVAL : fd;
    int err = ftruncate(fd, (off_t)size) ? -errno : 0;
    if (own)
        close(fd);
    return err;
}

static struct timespec set_time(uint32_t valid, uint32_t given, uint32_t set, uint64_t sec,
                                uint64_t nsec)
{
    if (!(valid & given))
        return (struct timespec){0, UTIME_OMIT};
    if (!(valid & set))
        return (struct timespec){0, UTIME_NOW};
    return (struct timespec){(time_t)sec, (long)(nsec < 1000000000 ? nsec : 1000000000)};
}

static int apply_setattr(struct p9_server *s, struct p9_fid *f, uint32_t valid, uint32_t mode,
                         uint32_t uid, uint32_t gid, uint64_t size, const uint64_t t[4])
{
    int err = 0;
    if (valid & SETATTR_MODE)
        err = set_mode(s, f, mode & 07777);
    if (!err && (valid & (SETATTR_UID | SETATTR_GID))) {
        uid_t u = (valid & SETATTR_UID) ? uid : (uid_t)-1;
        gid_t g = (valid & SETATTR_GID) ? gid : (gid_t)-1;
        if (fchownat(f->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
            err = -errno;
    }
    if (!err && (valid & SETATTR_SIZE))
        err = set_size(s, f, size);
    if (!err && (valid & (SETATTR_ATIME | SETATTR_MTIME))) {
        struct timespec ts[2] = {
            set_time(valid, SETATTR_ATIME, SETATTR_ATIME_SET, t[0], t[1]),
            set_time(valid, SETATTR_MTIME, SETATTR_MTIME_SET, t[2], t[3]),
        };
        if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
            err = -errno;
    }
    return err;
}

int p9_setattr(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), valid = p9_get32(&q->rd), mode = p9_get32(&q->rd);
    uint32_t uid = p9_get32(&q->rd), gid = p9_get32(&q->rd);
    uint64_t size = p9_get64(&q->rd), t[4];
    for (int i = 0; i < 4; i++)
        t[i] = p9_get64(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    err = p9_req_modify(q);
    if (!err)
        err = apply_setattr(q->s, f, valid, mode, uid, gid, size, t);
    p9_fid_put(q->s, f);
    return err;
}

static int open_reply(struct p9_req *q, int fd)
{
    struct stat st;
    int err = p9_fstat(fd, &st);
    if (err)
        return err;
    struct p9_qid qid;
    p9_qid(&st, &qid);
    p9_put_qid(&q->w, &qid);
    p9_put32(&q->w, 0);   /* iounit: the client uses msize */
    return 0;
}

static bool writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

int p9_lopen(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), dotl = p9_get32(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    int flags = p9_open_flags(dotl);
    if (flags < 0)
        return flags;
    if (writes(flags) && q->s->ro)
        return -EROFS;
    struct p9_fid *f;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    int fd = p9_fid_ofd(q->s, f) >= 0 ? -EBADF : p9_reopen(q->s, f, flags & ~O_EXCL);
    err = fd < 0 ? fd : open_reply(q, fd);
    if (!err && (err = p9_fid_set_ofd(q->s, f, fd)) == 0)
        fd = -1;
    if (fd >= 0)
        close(fd);
    p9_fid_put(q->s, f);
    return err;
}

/* Creates name in directory f, opened with flags into *ofd; returns an O_PATH descriptor of
 * the same file. */
static int create_open(struct p9_req *q, struct p9_fid *f, const char *name, int flags,
                       mode_t mode, int *ofd)
{
    /* O_NONBLOCK: the name may be a fifo already (the guest can make one), whose open
     * would wait for a writer for ever and take an I/O thread with it; only a regular file
     * is kept open. */
    *ofd = p9_openat(q->s, f->fd, name, flags | O_CREAT | O_NOCTTY | O_NONBLOCK, mode);
    if (*ofd < 0)
        return *ofd;
    int fd = p9_openat(q->s, f->fd, name, O_PATH, 0);
    struct stat a, b;
    if (fd >= 0 && (p9_fstat(fd, &a) || p9_fstat(*ofd, &b) || a.st_ino != b.st_ino ||
                    a.st_dev != b.st_dev)) {
        close(fd);
        fd = -ESTALE;   /* replaced on the host between the two opens */
    } else if (fd >= 0 && !S_ISREG(b.st_mode)) {
        close(fd);
        fd = -EINVAL;   /* a fifo, socket or device of that name: not a file to create */
    } else if (fd >= 0 && !(flags & O_NONBLOCK)) {
        int fl = fcntl(*ofd, F_GETFL);
        if (fl >= 0)
            fcntl(*ofd, F_SETFL, fl & ~O_NONBLOCK);
    }
    if (fd < 0) {
        close(*ofd);
        *ofd = -1;
    }
    return fd;
}

/* Tlcreate's work: the fid then stands for the new, open file. */
static int create_in(struct p9_req *q, struct p9_fid *f, const char *name, int flags,
                     mode_t mode)
{
    char *dir = p9_fid_path(q->s, f), *path = NULL;
    int err = dir ? p9_path_join(dir, name, &path) : -ENOMEM;
    free(dir);
    if (err)
        return err;
    int ofd, fd = create_open(q, f, name, flags, mode, &ofd);
    struct p9_fid *nf = fd < 0 ? NULL : p9_fid_new(f->num, fd, path);
    if (!nf) {
        if (fd >= 0)
            close(fd), close(ofd);
        free(path);
        return fd < 0 ? fd : -ENOMEM;
    }
    nf->ofd = ofd;   /* nf owns both descriptors and the path from here */
    err = open_reply(q, ofd);
    if (!err)
        err = p9_fid_replace(q->s, f, nf);
    p9_fid_put(q->s, nf);
    return err;
}

int p9_lcreate(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    uint32_t dotl = p9_get32(&q->rd), mode = p9_get32(&q->rd);
    p9_get32(&q->rd);   /* gid: files get minivmm's */
    if (q->rd.bad)
        return -EPROTO;
    int flags = p9_open_flags(dotl);
    struct p9_fid *f;
    if (err || (err = flags < 0 ? flags : 0) || (err = p9_req_fid(q, fid, &f)))
        return err;
    err = p9_req_modify(q);
    if (!err && p9_fid_ofd(q->s, f) >= 0)
        err = -EBADF;
    if (!err)
        err = create_in(q, f, name, flags & ~O_DIRECTORY, mode & 07777);
    p9_fid_put(q->s, f);
    return err;
}

/* The open descriptor of the fid a Tread/Twrite/Tfsync names. */
static int open_fid(struct p9_req *q, uint32_t fid, struct p9_fid **f)
{
    int err = p9_req_fid(q, fid, f);
    if (err)
        return err;
    int fd = p9_fid_ofd(q->s, *f);
    if (fd < 0) {
        p9_fid_put(q->s, *f);
        return -EBADF;   /* not opened with Tlopen/Tlcreate */
    }
    return fd;
}

/* I/O between the file and the driver's buffers [off, off + len): no copy in between. */
static ssize_t file_io(int fd, const struct iovec *v, unsigned n, size_t off, size_t len,
                       uint64_t pos, bool write)
{
    struct iovec local[64], *s = local;
    unsigned max = n < IOV_MAX ? n : IOV_MAX;
    if (max > 64 && !(s = malloc(max * sizeof(*s))))
        return -ENOMEM;
    unsigned k = p9_iov_slice(v, n, off, len, s, max);
    ssize_t done = 0;
    if (k)
        done = write ? pwritev(fd, s, (int)k, (off_t)pos) : preadv(fd, s, (int)k, (off_t)pos);
    if (done < 0)
        done = -errno;
    if (s != local)
        free(s);
    return done;
}

int p9_io_args(struct p9_req *q, uint32_t *fid, uint64_t *offset, uint32_t *count)
{
    *fid = p9_get32(&q->rd);
    *offset = p9_get64(&q->rd);
    *count = p9_get32(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    if (*offset > INT64_MAX)
        return -EINVAL;
    if (q->w.cap < P9_IOHDR)
        return -ENOBUFS;
    /* The reply carries at most what the buffers (and msize) take after its header. */
    if (*count > q->w.cap - P9_IOHDR)
        *count = (uint32_t)(q->w.cap - P9_IOHDR);
    return 0;
}

int p9_read(struct p9_req *q)
{
    uint32_t fid, count;
    uint64_t offset;
    int err = p9_io_args(q, &fid, &offset, &count);
    if (err)
        return err;
    struct p9_fid *f;
    int fd = open_fid(q, fid, &f);
    if (fd < 0)
        return fd;
    ssize_t n = file_io(fd, q->w.iov, q->w.n, P9_IOHDR, count, offset, false);
    p9_fid_put(q->s, f);
    if (n < 0)
        return (int)n;
    p9_put32(&q->w, (uint32_t)n);
    p9_skip(&q->w, (size_t)n);
    return 0;
}

int p9_write(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    uint64_t offset = p9_get64(&q->rd);
    uint32_t count = p9_get32(&q->rd);
    if (q->rd.bad || count != q->size - (P9_HDR + 16))
        return -EPROTO;   /* the data must be exactly the rest of the message */
    if (offset > INT64_MAX)
        return -EINVAL;
    int err = p9_req_modify(q);
    if (err)
        return err;
    struct p9_fid *f;
    int fd = open_fid(q, fid, &f);
    if (fd < 0)
        return fd;
    ssize_t n = file_io(fd, q->out, q->nout, P9_HDR + 16, count, offset, true);
    p9_fid_put(q->s, f);
    if (n < 0)
        return (int)n;
    p9_put32(&q->w, (uint32_t)n);
    return 0;
}

int p9_fsync(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), datasync = p9_get32(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    int fd = open_fid(q, fid, &f);
    if (fd < 0)
        return fd;
    int err = (datasync ? fdatasync(fd) : fsync(fd)) ? -errno : 0;
    p9_fid_put(q->s, f);
    return err;
}

int p9_statfs(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    struct statfs sf;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    err = fstatfs(f->fd, &sf) ? -errno : 0;
    p9_fid_put(q->s, f);
    if (err)
        return err;
    uint64_t fsid;
    memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
    p9_put32(&q->w, (uint32_t)sf.f_type);
    p9_put32(&q->w, (uint32_t)sf.f_bsize);
    p9_put64(&q->w, sf.f_blocks), p9_put64(&q->w, sf.f_bfree), p9_put64(&q->w, sf.f_bavail);
    p9_put64(&q->w, sf.f_files), p9_put64(&q->w, sf.f_ffree);
    p9_put64(&q->w, fsid);
    p9_put32(&q->w, (uint32_t)sf.f_namelen);
    return 0;
}
