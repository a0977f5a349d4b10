/* Requests on directory entries: readdir, and making, linking, renaming and removing names.
 *
 * Every name comes from the guest as one component, checked (p9_get_name), and is used only
 * relative to the descriptor of a directory fid (mkdirat, symlinkat, renameat, ...), so a
 * name can neither climb out nor pass through a symlink: these calls never follow a symlink
 * in their last component, and the name has no other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "p9_impl.h"

#define DOTL_AT_REMOVEDIR 0x200

/* The parse's verdict: a truncated message first, then what was wrong with a name. */
static int parsed(const struct p9_req *q, int name_err)
{
    return q->rd.bad || name_err == -EPROTO ? -EPROTO : name_err;
}

/* The reply of a request that made name in directory dirfd: its qid. */
static int entry_qid(struct p9_req *q, int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
        return -errno;
    struct p9_qid qid;
    p9_qid(&st, &qid);
    p9_put_qid(&q->w, &qid);
    return 0;
}

int p9_mkdir(struct p9_req *q)
{
    uint32_t dfid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    uint32_t mode = p9_get32(&q->rd);
    p9_get32(&q->rd);   /* gid: new entries get minivmm's */
    struct p9_fid *d;
    if ((err = parsed(q, err) ?: p9_req_modify(q) ?: p9_req_fid(q, dfid, &d)))
        return err;
    err = mkdirat(d->fd, name, mode & 07777) ? -errno : entry_qid(q, d->fd, name);
    p9_fid_put(q->s, d);
    return err;
}

int p9_mknod(struct p9_req *q)
{
    uint32_t dfid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    uint32_t mode = p9_get32(&q->rd);
    p9_get32(&q->rd), p9_get32(&q->rd), p9_get32(&q->rd);   /* major, minor, gid */
    struct p9_fid *d;
    if ((err = parsed(q, err) ?: p9_req_modify(q)))
        return err;
    /* Device nodes would hand the guest host devices: refused. Fifos and sockets are names
     * only (the guest kernel serves them); a regular file is an empty one. */
    switch (mode & S_IFMT) {
    case S_IFCHR:
    case S_IFBLK:
        return -EPERM;
    case 0:
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
        break;
    default:
        return -EINVAL;
    }
    if ((err = p9_req_fid(q, dfid, &d)))
        return err;
    mode_t m = (mode & S_IFMT ? mode & S_IFMT : S_IFREG) | (mode & 07777);
    err = mknodat(d->fd, name, m, 0) ? -errno : entry_qid(q, d->fd, name);
    p9_fid_put(q->s, d);
    return err;
}

int p9_symlink(struct p9_req *q)
{
    uint32_t dfid = p9_get32(&q->rd);
    char name[NAME_MAX + 1], target[PATH_MAX];
    int err = p9_get_name(&q->rd, name);
    /* The target is text for the guest to resolve: any bytes but NUL. */
    int terr = err ? 0 : p9_get_str(&q->rd, target, sizeof(target));
    p9_get32(&q->rd);   /* gid */
    struct p9_fid *d;
    if ((err = parsed(q, err ?: terr) ?: p9_req_modify(q) ?: p9_req_fid(q, dfid, &d)))
        return err;
    err = symlinkat(target, d->fd, name) ? -errno : entry_qid(q, d->fd, name);
    p9_fid_put(q->s, d);
    return err;
}

int p9_readlink(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    struct p9_fid *f;
    int err = q->rd.bad ? -EPROTO : p9_req_fid(q, fid, &f);
    if (err)
        return err;
    char target[PATH_MAX];
    ssize_t n = readlinkat(f->fd, "", target, sizeof(target));
    p9_fid_put(q->s, f);
    if (n < 0)
        return -errno;
    if ((size_t)n == sizeof(target))
        return -ENAMETOOLONG;
    p9_put_str(&q->w, target, (size_t)n);
    return 0;
}

/* Checks that name in directory dirfd is still the object f holds (a rename on the host
 * could have put something else there): 0, -ESTALE or -errno. */
static int same_object(int dirfd, const char *name, const struct p9_fid *f, struct stat *st)
{
    struct stat a;
    if (fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) || p9_fstat(f->fd, st))
        return -errno;
    return a.st_dev == st->st_dev && a.st_ino == st->st_ino ? 0 : -ESTALE;
}

/* The directory holding f (an O_PATH descriptor) and f's name in it, checked to be f. */
static int fid_parent(struct p9_server *s, struct p9_fid *f, char **path, const char **base,
                      struct stat *st)
{
    if (!(*path = p9_fid_path(s, f)))
        return -ENOMEM;
    int dir = p9_open_parent(s, *path, base);
    int err = dir < 0 ? dir : same_object(dir, *base, f, st);
    if (err && dir >= 0)
        close(dir);
    if (err) {
        free(*path);
        *path = NULL;
    }
    return err ? err : dir;
}

/* Links f's object as name in dirfd. */
static int link_fid(struct p9_server *s, struct p9_fid *f, int dirfd, const char *name)
{
    if (linkat(f->fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOENT)
        return -errno;
    /* Without CAP_DAC_READ_SEARCH, AT_EMPTY_PATH is refused with ENOENT: link by name from
     * the parent directory instead (linkat follows no symlink without AT_SYMLINK_FOLLOW). */
    char *path;
    const char *base;
    struct stat st;
    int dir = fid_parent(s, f, &path, &base, &st);
    if (dir < 0)
        return dir;
    int err = linkat(dir, base, dirfd, name, 0) ? -errno : 0;
    close(dir);
    free(path);
    return err;
}

int p9_link(struct p9_req *q)
{
    uint32_t dfid = p9_get32(&q->rd), fid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    struct p9_fid *d, *f;
    if ((err = parsed(q, err) ?: p9_req_modify(q) ?: p9_req_fid(q, dfid, &d)))
        return err;
    if (!(err = p9_req_fid(q, fid, &f))) {
        err = link_fid(q->s, f, d->fd, name);
        p9_fid_put(q->s, f);
    }
    p9_fid_put(q->s, d);
    return err;
}

/* After a rename of dir/name to ndir/nname: fids below the old path follow it. */
static void renamed(struct p9_server *s, const struct p9_fid *dir, const char *name,
                    const struct p9_fid *ndir, const char *nname)
{
    char *a = p9_fid_path(s, dir), *b = p9_fid_path(s, ndir), *from = NULL, *to = NULL;
    if (a && b && !p9_path_join(a, name, &from) && !p9_path_join(b, nname, &to))
        p9_fid_renamed(s, from, to);
    free(a), free(b), free(from), free(to);
}

int p9_renameat(struct p9_req *q)
{
    uint32_t ofid = p9_get32(&q->rd);
    char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, oname);
    uint32_t nfid = err ? 0 : p9_get32(&q->rd);
    err = err ?: p9_get_name(&q->rd, nname);
    struct p9_fid *od, *nd;
    if ((err = parsed(q, err) ?: p9_req_modify(q) ?: p9_req_fid(q, ofid, &od)))
        return err;
    if (!(err = p9_req_fid(q, nfid, &nd))) {
        err = renameat(od->fd, oname, nd->fd, nname) ? -errno : 0;
        if (!err)
            renamed(q->s, od, oname, nd, nname);
        p9_fid_put(q->s, nd);
    }
    p9_fid_put(q->s, od);
    return err;
}

/* Trename: f's object moves into directory d as name. */
static int rename_fid(struct p9_server *s, struct p9_fid *f, struct p9_fid *d,
                      const char *name)
{
    char *path;
    const char *base;
    struct stat st;
    int dir = fid_parent(s, f, &path, &base, &st);
    if (dir < 0)
        return dir;
    int err = renameat(dir, base, d->fd, name) ? -errno : 0;
    close(dir);
    char *to = NULL, *dpath = p9_fid_path(s, d);
    if (!err && dpath && !p9_path_join(dpath, name, &to))
        p9_fid_renamed(s, path, to);
    free(path), free(dpath), free(to);
    return err;
}

int p9_rename(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd), dfid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    struct p9_fid *f, *d;
    if ((err = parsed(q, err) ?: p9_req_modify(q) ?: p9_req_fid(q, fid, &f)))
        return err;
    if (!(err = p9_req_fid(q, dfid, &d))) {
        err = rename_fid(q->s, f, d, name);
        p9_fid_put(q->s, d);
    }
    p9_fid_put(q->s, f);
    return err;
}

int p9_unlinkat(struct p9_req *q)
{
    uint32_t dfid = p9_get32(&q->rd);
    char name[NAME_MAX + 1];
    int err = p9_get_name(&q->rd, name);
    uint32_t flags = p9_get32(&q->rd);
    struct p9_fid *d;
    if ((err = parsed(q, err) ?: (flags & ~DOTL_AT_REMOVEDIR ? -EINVAL : 0) ?:
               p9_req_modify(q) ?: p9_req_fid(q, dfid, &d)))
        return err;
    err = unlinkat(d->fd, name, flags & DOTL_AT_REMOVEDIR ? AT_REMOVEDIR : 0) ? -errno : 0;
    p9_fid_put(q->s, d);
    return err;
}

/* Tremove: unlinks the fid's object, and clunks the fid whatever happened (9P). */
int p9_remove(struct p9_req *q)
{
    uint32_t fid = p9_get32(&q->rd);
    struct p9_fid *f;
    int err = q->rd.bad ? -EPROTO : p9_req_fid(q, fid, &f);
    if (err)
        return err;
    char *path = NULL;
    const char *base;
    struct stat st;
    int dir = (err = p9_req_modify(q)) ? err : fid_parent(q->s, f, &path, &base, &st);
    if (dir >= 0) {
        err = unlinkat(dir, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) ? -errno : 0;
        close(dir);
    } else
        err = dir;
    free(path);
    p9_fid_put(q->s, f);
    int cerr = p9_fid_clunk(q->s, fid);
    return err ?: cerr;
}

/* ---- Treaddir: the host's own entries and cookies, via getdents64 */

struct linux_dirent64_hdr {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
} __attribute__((packed));
#define DIRENT_NAME_AT 19

/* Reads up to len bytes of entries from offset `cookie` of the open directory. */
static ssize_t read_entries(struct p9_fid *f, int fd, uint64_t cookie, void *buf, size_t len)
{
    pthread_mutex_lock(&f->dir_lock);   /* the seek and the read are one step */
    ssize_t n = lseek(fd, (off_t)cookie, SEEK_SET) < 0 ? -1
                                                      : syscall(SYS_getdents64, fd, buf, len);
    int err = errno;
    pthread_mutex_unlock(&f->dir_lock);
    return n < 0 ? -err : n;
}

/* Puts the entries of buf[0, n) that fit in count bytes; an entry is never split. Returns
 * how many were put. */
static unsigned put_entries(struct p9_wr *w, const uint8_t *buf, size_t n, uint32_t count)
{
    unsigned put = 0;
    size_t used = 0;
    for (size_t at = 0; at + DIRENT_NAME_AT < n;) {
        struct linux_dirent64_hdr h;
        memcpy(&h, buf + at, sizeof(h));
        if (h.d_reclen <= DIRENT_NAME_AT || h.d_reclen > n - at)
            break;
        const char *name = (const char *)buf + at + DIRENT_NAME_AT;
        size_t len = strnlen(name, h.d_reclen - DIRENT_NAME_AT);
        size_t size = P9_QID_SIZE + 8 + 1 + 2 + len;
        if (size > count - used)
            break;
        struct p9_qid qid = {.type = h.d_type == DT_DIR ? 0x80 : h.d_type == DT_LNK ? 0x02 : 0,
                             .path = h.d_ino};
        p9_put_qid(w, &qid);
        p9_put64(w, (uint64_t)h.d_off);
        p9_put8(w, h.d_type);
        p9_put_str(w, name, len);
        used += size, at += h.d_reclen, put++;
    }
    return put;
}

int p9_readdir(struct p9_req *q)
{
    uint32_t fid, count;
    uint64_t cookie;   /* the host's d_off of the entry before: a directory offset */
    int err = p9_io_args(q, &fid, &cookie, &count);
    if (err)
        return err;
    struct p9_fid *f;
    err = p9_req_fid(q, fid, &f);
    if (err)
        return err;
    int fd = p9_fid_ofd(q->s, f);
    size_t len = count < 512 ? 512 : count > 65536 ? 65536 : count;
    uint8_t *buf = fd < 0 ? NULL : malloc(len);
    ssize_t n = fd < 0 ? -EBADF : !buf ? -ENOMEM : read_entries(f, fd, cookie, buf, len);
    p9_fid_put(q->s, f);
    if (n >= 0) {
        size_t count_at = q->w.pos;
        p9_put32(&q->w, 0);
        /* No entry fitting where entries remain must not read as the end of the directory. */
        if (put_entries(&q->w, buf, (size_t)n, count) == 0 && n > 0)
            n = -EINVAL;
        else
            p9_patch(&q->w, count_at, (uint32_t)(q->w.pos - count_at - 4), 4);
    }
    free(buf);
    return n < 0 ? (int)n : 0;
}
