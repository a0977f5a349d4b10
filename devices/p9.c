/* The 9P2000.L protocol: one request in, one reply out, and the session-level messages
 * (version, attach, walk, clunk, flush, locks). File and directory operations are in
 * p9_file.c and p9_dir.c, the confinement primitives in p9_fs.c.
 *
 * Every T-message except Twrite is copied out of the driver's buffers once, whole, and
 * parsed from that copy: the guest can change its buffers at any time, and a length checked
 * in one read must be the length used. Twrite's data goes straight from the driver's buffers
 * to the file (pwritev), and Tread's straight from the file into them (preadv).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p9_impl.h"

int p9_req_fid(struct p9_req *q, uint32_t num, struct p9_fid **f)
{
    *f = p9_fid_get(q->s, num);
    return *f ? 0 : -EBADF;
}

int p9_req_modify(struct p9_req *q)
{
    return q->s->ro ? -EROFS : 0;
}

static int version(struct p9_req *q)
{
    uint32_t msize = p9_get32(&q->rd);
    char v[32];
    int err = p9_get_str(&q->rd, v, sizeof(v));
    if (err == -EPROTO || q->rd.bad)
        return -EPROTO;
    if (msize < P9_MIN_MSIZE)
        return -EMSGSIZE;
    if (msize > P9_MAX_MSIZE)
        msize = P9_MAX_MSIZE;
    /* A new session: whatever the previous one held is released. */
    p9_fid_clear(q->s);
    pthread_mutex_lock(&q->s->lock);
    q->s->msize = msize;
    pthread_mutex_unlock(&q->s->lock);
    const char *ours = (err == 0 && strcmp(v, "9P2000.L") == 0) ? "9P2000.L" : "unknown";
    p9_put32(&q->w, msize);
    p9_put_str(&q->w, ours, strlen(ours));
    return 0;
}

static int attach(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), afid = p9_get32(&q->rd);
    char name[256];
    /* uname and aname are ignored (one share, minivmm's credentials), only checked. */
    if (p9_get_str(&q->rd, name, sizeof(name)) == -EPROTO ||
        p9_get_str(&q->rd, name, sizeof(name)) == -EPROTO)
        return -EPROTO;
    p9_get32(&q->rd);   /* n_uname */
    if (q->rd.bad)
        return -EPROTO;
    if (afid != P9_NOFID)
        return -EINVAL;   /* no authentication: Tauth is refused, so no afid exists */
    int fd = p9_openat(q->s, q->s->root_fd, ".", O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    int err = p9_fstat(fd, &st);
    char *path = strdup("");
    struct p9_fid *f = (err || !path) ? NULL : p9_fid_new(fid, fd, path);
    if (!f) {
        close(fd);
        free(path);
        return err ? err : -ENOMEM;
    }
    err = p9_fid_insert(q->s, f);
    p9_fid_put(q->s, f);
    if (err)
        return err;
    struct p9_qid qid;
    p9_qid(&st, &qid);
    p9_put_qid(&q->w, &qid);
    return 0;
}

/* Where a walk has got to: a descriptor and the path below the root. */
struct walk_pos {
    int fd;
    char *path;
};

/* One step of a walk from pos: name, or ".." (which never goes above the root). */
static int walk_one(struct p9_server *s, struct walk_pos *pos, const char *name,
                    struct p9_qid *qid)
{
    char *path;
    int fd, err;
    if (strcmp(name, "..") == 0) {
        if (pos->path[0] == '\0')
            return -ENOENT;   /* the root has no parent the guest may see */
        if (!(path = p9_path_parent(pos->path)))
            return -ENOMEM;
        fd = p9_open_path(s, path);
    } else {
        if ((err = p9_check_name(name)) || (err = p9_path_join(pos->path, name, &path)))
            return err;
        fd = p9_openat(s, pos->fd, name, O_PATH, 0);
    }
    struct stat st;
    err = fd < 0 ? fd : p9_fstat(fd, &st);
    if (err) {
        if (fd >= 0)
            close(fd);
        free(path);
        return err;
    }
    p9_qid(&st, qid);
    close(pos->fd);
    free(pos->path);
    *pos = (struct walk_pos){fd, path};
    return 0;
}

/* The walk's result becomes newfid: a new fid, or fid itself replaced. */
static int walk_commit(struct p9_req *q, struct p9_fid *f, uint32_t newfid,
                       struct walk_pos *pos)
{
    struct p9_fid *nf = p9_fid_new(newfid, pos->fd, pos->path);
    if (!nf)
        return -ENOMEM;
    *pos = (struct walk_pos){-1, NULL};
    int err = newfid == f->num ? p9_fid_replace(q->s, f, nf) : p9_fid_insert(q->s, nf);
    p9_fid_put(q->s, nf);
    return err;
}

static int walk_names(struct p9_req *q, struct p9_fid *f, uint32_t newfid, uint16_t nwname)
{
    struct walk_pos pos = {fcntl(f->fd, F_DUPFD_CLOEXEC, 0), p9_fid_path(q->s, f)};
    int err = pos.fd < 0 ? -errno : pos.path ? 0 : -ENOMEM;
    uint16_t done = 0;
    size_t nwqid_at = q->w.pos;
    p9_put16(&q->w, 0);
    char name[256];
    for (; !err && done < nwname; done++) {
        struct p9_qid qid;
        if ((err = p9_get_str(&q->rd, name, sizeof(name))) ||
            (err = walk_one(q->s, &pos, name, &qid)))
            break;
        p9_put_qid(&q->w, &qid);
    }
    /* 9P: an error on the first name is an error; a later one is a partial walk, answered
     * with the qids of the names that were walked, and newfid is not touched. */
    if (!err && done == nwname)
        err = walk_commit(q, f, newfid, &pos);
    else if (done > 0 && err != -EPROTO)
        err = 0;
    if (pos.fd >= 0)
        close(pos.fd);
    free(pos.path);
    p9_patch(&q->w, nwqid_at, done, 2);
    return err;
}

static int walk(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), newfid = p9_get32(&q->rd);
    uint16_t nwname = p9_get16(&q->rd);
    if (q->rd.bad)
        return -EPROTO;
    if (nwname > P9_MAXWELEM)
        return -EINVAL;
    if (newfid == P9_NOFID)
        return -EINVAL;
    struct p9_fid *f;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    struct p9_fid *other = newfid != fid ? p9_fid_get(q->s, newfid) : NULL;
    if (other) {
        p9_fid_put(q->s, other);
        p9_fid_put(q->s, f);
        return -EEXIST;   /* newfid must be unused (or fid itself) */
    }
    err = walk_names(q, f, newfid, nwname);
    p9_fid_put(q->s, f);
    return err;
}

static int clunk(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    return q->rd.bad ? -EPROTO : p9_fid_clunk(q->s, fid);
}

/* Requests are answered in order on the thread that took them, so by the time a Tflush is
 * read the request it names has been (or is being) answered: nothing to cancel. */
static int flush(struct p9_req *q)
{
    p9_get16(&q->rd);
    return q->rd.bad ? -EPROTO : 0;
}

/* Locks: QEMU's simple model. Byte-range locks are the guest kernel's to keep among its own
 * processes; the host is not asked (a guest holding host locks could block host programs). */
static int lock(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    p9_get8(&q->rd), p9_get32(&q->rd), p9_get64(&q->rd), p9_get64(&q->rd), p9_get32(&q->rd);
    char client[256];
    if (p9_get_str(&q->rd, client, sizeof(client)) == -EPROTO || q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    p9_fid_put(q->s, f);
    p9_put8(&q->w, 0);   /* P9_LOCK_SUCCESS */
    return 0;
}

static int getlock(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    p9_get8(&q->rd);
    uint64_t start = p9_get64(&q->rd), length = p9_get64(&q->rd);
    uint32_t proc = p9_get32(&q->rd);
    char client[256];
    if (p9_get_str(&q->rd, client, sizeof(client)) || q->rd.bad)
        return -EPROTO;
    struct p9_fid *f;
    int err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    p9_fid_put(q->s, f);
    p9_put8(&q->w, 2);   /* P9_LOCK_TYPE_UNLCK: nobody holds it */
    p9_put64(&q->w, start);
    p9_put64(&q->w, length);
    p9_put32(&q->w, proc);
    p9_put_str(&q->w, client, strlen(client));
    return 0;
}

/* Extended attributes are not served: the guest's getxattr/listxattr see EOPNOTSUPP. */
static int not_supported(struct p9_req *q)
{
    (void)q;
    return -EOPNOTSUPP;
}

static int (*const handlers[256])(struct p9_req *) = {
    [P9_TSTATFS] = p9_statfs, [P9_TLOPEN] = p9_lopen, [P9_TLCREATE] = p9_lcreate,
    [P9_TSYMLINK] = p9_symlink, [P9_TMKNOD] = p9_mknod, [P9_TRENAME] = p9_rename,
    [P9_TREADLINK] = p9_readlink, [P9_TGETATTR] = p9_getattr, [P9_TSETATTR] = p9_setattr,
    [P9_TXATTRWALK] = not_supported, [P9_TXATTRCREATE] = not_supported,
    [P9_TREADDIR] = p9_readdir, [P9_TFSYNC] = p9_fsync, [P9_TLOCK] = lock,
    [P9_TGETLOCK] = getlock, [P9_TLINK] = p9_link, [P9_TMKDIR] = p9_mkdir,
    [P9_TRENAMEAT] = p9_renameat, [P9_TUNLINKAT] = p9_unlinkat, [P9_TVERSION] = version,
    [P9_TAUTH] = not_supported, [P9_TATTACH] = attach, [P9_TFLUSH] = flush, [P9_TWALK] = walk,
    [P9_TREAD] = p9_read, [P9_TWRITE] = p9_write, [P9_TCLUNK] = clunk,
    [P9_TREMOVE] = p9_remove,
};

/* Copies the body after a header that said size (and type) into buf for parsing. */
static int read_body(struct p9_req *q, size_t total, uint32_t msize, uint8_t *buf)
{
    /* The size field must be exactly what the driver handed over: anything else is a
     * confused or hostile driver, and guessing which one is right helps neither. */
    if (q->size != total)
        return -EPROTO;
    if (q->size > msize)
        return -EMSGSIZE;
    size_t body = q->size - P9_HDR;
    if (q->type == P9_TWRITE)
        body = body < 16 ? body : 16;   /* fid, offset, count; the data stays in place */
    else if (body > P9_SMALL_MAX)
        return -EMSGSIZE;
    if (!p9_iov_read(q->out, q->nout, P9_HDR, buf, body))
        return -EPROTO;
    q->rd = (struct p9_rd){buf, body, false};
    return 0;
}

/* Finishes the reply: the handler's, or Rlerror; 0 if not even that fits. */
static size_t finish(struct p9_req *q, int err, uint16_t tag, const struct iovec *in,
                     unsigned nin, size_t cap)
{
    if (!err && q->w.overflow)
        err = -ENOBUFS;   /* the reply does not fit the driver's buffers or msize */
    if (err) {
        p9_wr_init(&q->w, in, nin, cap);
        p9_skip(&q->w, P9_HDR);
        p9_put32(&q->w, (uint32_t)-err);
    }
    if (q->w.overflow)
        return 0;
    p9_patch(&q->w, 0, (uint32_t)q->w.pos, 4);
    p9_patch(&q->w, 4, err ? P9_RLERROR : q->type + 1u, 1);
    p9_patch(&q->w, 5, tag, 2);
    return q->w.pos;
}

size_t p9_handle(struct p9_server *s, const struct iovec *out, unsigned nout,
                 const struct iovec *in, unsigned nin)
{
    pthread_mutex_lock(&s->lock);
    uint32_t msize = s->msize;
    pthread_mutex_unlock(&s->lock);
    size_t cap = p9_iov_len(in, nin);
    cap = cap < msize ? cap : msize;
    struct p9_req q = {.s = s, .out = out, .nout = nout};
    p9_wr_init(&q.w, in, nin, cap);
    p9_skip(&q.w, P9_HDR);

    uint8_t buf[P9_SMALL_MAX];
    uint16_t tag = P9_NOTAG;
    int err = -EPROTO;
    if (p9_iov_read(out, nout, 0, buf, P9_HDR)) {
        struct p9_rd h = {buf, P9_HDR, false};
        q.size = p9_get32(&h);
        q.type = p9_get8(&h);
        tag = p9_get16(&h);
        err = read_body(&q, p9_iov_len(out, nout), msize, buf);
    }
    if (!err) {
        int (*fn)(struct p9_req *) = handlers[q.type];
        err = fn ? fn(&q) : -EOPNOTSUPP;
        if (!err && q.rd.bad)
            err = -EPROTO;
    }
    return finish(&q, err, tag, in, nin, cap);
}
