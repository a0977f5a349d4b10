/* Confinement: how the server reaches host objects without ever leaving the share.
 *
 * Every host object is reached from a descriptor already beneath the root, one name at a
 * time, by a single openat that refuses to follow a symlink (O_NOFOLLOW, and through openat2
 * also RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the kernel has
 * it). The check ("is this a symlink?") and the use are therefore one system call, and a
 * symlink swapped in between two requests is never traversed. No /proc/self/fd path is ever
 * opened: they are magic links that lead wherever the descriptor leads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "p9_impl.h"

/* openat2(2), Linux 5.6+. musl has no wrapper (and may lack the header), so the call is made
 * by number, with its own copy of struct open_how (whose layout is ABI). */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define P9_RESOLVE_NO_MAGICLINKS 0x02
#define P9_RESOLVE_NO_SYMLINKS 0x04
#define P9_RESOLVE_BENEATH 0x08

struct p9_open_how {
    uint64_t flags, mode, resolve;
};

int p9_check_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
        return -EINVAL;
    return len > NAME_MAX ? -ENAMETOOLONG : 0;
}

int p9_openat(struct p9_server *s, int dirfd, const char *name, int flags, mode_t mode)
{
    flags |= O_NOFOLLOW | O_CLOEXEC;
    if (!__atomic_load_n(&s->no_openat2, __ATOMIC_RELAXED)) {
        struct p9_open_how how = {
            .flags = (uint64_t)(unsigned)flags,
            .mode = (flags & O_CREAT) ? mode : 0,
            .resolve = P9_RESOLVE_BENEATH | P9_RESOLVE_NO_SYMLINKS | P9_RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* ENOSYS: an old kernel, or a seccomp filter that does not know the call; EPERM: a
         * filter that refuses it. Both leave plain openat, as safe for one component. */
        if (errno == ENOSYS)
            __atomic_store_n(&s->no_openat2, 1, __ATOMIC_RELAXED);
        else if (errno != EPERM)
            return -errno;
    }
    int fd = openat(dirfd, name, flags, mode);
    return fd < 0 ? -errno : fd;
}

int p9_open_path(struct p9_server *s, const char *path)
{
    int fd = p9_openat(s, s->root_fd, ".", O_PATH | O_DIRECTORY, 0);
    char name[NAME_MAX + 1];
    while (fd >= 0 && *path) {
        const char *end = strchrnul(path, '/');
        size_t len = (size_t)(end - path);
        if (len > NAME_MAX) {
            close(fd);
            return -ENAMETOOLONG;
        }
        memcpy(name, path, len);
        name[len] = '\0';
        path = *end ? end + 1 : end;
        /* Paths are built from checked names only; checked again, as it costs nothing. */
        int next = p9_check_name(name);
        if (next == 0)
            next = p9_openat(s, fd, name, O_PATH | (*path ? O_DIRECTORY : 0), 0);
        close(fd);
        fd = next;
    }
    return fd;
}

int p9_open_parent(struct p9_server *s, const char *path, const char **base)
{
    if (path[0] == '\0')
        return -EBUSY;
    char *parent = p9_path_parent(path);
    if (!parent)
        return -ENOMEM;
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    int fd = p9_open_path(s, parent);
    free(parent);
    return fd;
}

int p9_path_join(const char *dir, const char *name, char **out)
{
    size_t dl = strlen(dir), nl = strlen(name), len = dl + (dl ? 1 : 0) + nl + 1;
    *out = NULL;
    if (len > P9_PATH_MAX)
        return -ENAMETOOLONG;
    char *p = malloc(len);
    if (!p)
        return -ENOMEM;
    memcpy(p, dir, dl);
    if (dl)
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    *out = p;
    return 0;
}

char *p9_path_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strndup(path, slash ? (size_t)(slash - path) : 0);
}

int p9_fstat(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

void p9_qid(const struct stat *st, struct p9_qid *q)
{
    q->type = S_ISDIR(st->st_mode) ? 0x80 : S_ISLNK(st->st_mode) ? 0x02 : 0;
    q->version = 0;
    q->path = (uint64_t)st->st_ino;
}

/* Opens a regular file from its parent directory: O_NONBLOCK so that, should the name now be
 * a fifo, the open cannot hang the I/O thread (the identity check then refuses it). */
static int reopen_file(struct p9_server *s, struct p9_fid *f, int flags)
{
    char *path = p9_fid_path(s, f);
    if (!path)
        return -ENOMEM;
    const char *base;
    int dir = p9_open_parent(s, path, &base);
    int fd = dir;
    if (dir >= 0) {
        fd = p9_openat(s, dir, base, flags | O_NONBLOCK | O_NOCTTY, 0);
        close(dir);
    }
    free(path);
    if (fd >= 0 && !(flags & O_NONBLOCK)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    return fd;
}

int p9_reopen(struct p9_server *s, struct p9_fid *f, int flags)
{
    struct stat want, got;
    int err = p9_fstat(f->fd, &want);
    if (err)
        return err;
    if (S_ISLNK(want.st_mode))
        return -ELOOP;
    if (!S_ISREG(want.st_mode) && !S_ISDIR(want.st_mode))
        return -EPERM;   /* fifos, sockets and devices are the guest kernel's business */
    bool trunc = flags & O_TRUNC;
    flags &= ~(O_TRUNC | O_CREAT | O_EXCL);
    /* A directory reopens from its own descriptor: "." is the object itself. */
    int fd = S_ISDIR(want.st_mode) ? p9_openat(s, f->fd, ".", flags | O_DIRECTORY, 0)
                                   : reopen_file(s, f, flags);
    if (fd < 0)
        return fd;
    if (p9_fstat(fd, &got) || got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
        close(fd);
        return -ESTALE;   /* the name now leads to something else (renamed on the host) */
    }
    if (trunc && ftruncate(fd, 0)) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Linux's open flag values as 9P2000.L carries them (P9_DOTL_*). */
#define DOTL_EXCL 00000200
#define DOTL_TRUNC 00001000
#define DOTL_APPEND 00002000
#define DOTL_DSYNC 00010000
#define DOTL_DIRECTORY 00200000
#define DOTL_SYNC 04000000

int p9_open_flags(uint32_t dotl)
{
    static const int acc[4] = {O_RDONLY, O_WRONLY, O_RDWR, -1};
    int f = acc[dotl & 3];
    if (f < 0)
        return -EINVAL;
    /* Kept: what changes the semantics the guest sees. Dropped: O_DIRECT (its alignment rules
     * would apply to the guest's buffers), O_NOATIME (EPERM unless owner), O_ASYNC, O_NONBLOCK,
     * O_NOCTTY; O_NOFOLLOW and O_CLOEXEC are always added. */
    if (dotl & DOTL_EXCL)
        f |= O_EXCL;
    if (dotl & DOTL_TRUNC)
        f |= O_TRUNC;
    if (dotl & DOTL_APPEND)
        f |= O_APPEND;
    if (dotl & DOTL_DSYNC)
        f |= O_DSYNC;
    if (dotl & DOTL_SYNC)
        f |= O_SYNC;
    if (dotl & DOTL_DIRECTORY)
        f |= O_DIRECTORY;
    return f;
}
