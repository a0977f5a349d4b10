#include "cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEWC_HEADER 110
#define NEWC_MAGIC "070701"
/* newc fields are 8 hex digits: no entry may hold more than this. */
#define NEWC_SIZE_MAX 0xffffffffULL
/* The kernel refuses longer names (init/initramfs.c compares with PATH_MAX). */
#define NEWC_NAME_MAX 4096

static size_t pad4(size_t n)
{
    return (4 - (n & 3)) & 3;
}

void cpio_init(struct cpio *c)
{
    c->buf = NULL;
    c->len = 0;
    c->cap = 0;
    c->next_ino = 1;
}

void cpio_free(struct cpio *c)
{
    free(c->buf);
    cpio_init(c);
}

/* Room for `more` bytes after c->len; doubling keeps many small entries linear. */
static int reserve(struct cpio *c, size_t more, struct mvm_err *e)
{
    if (more <= c->cap - c->len)
        return 0;
    size_t need;
    if (__builtin_add_overflow(c->len, more, &need))
        return mvm_fail(e, MVM_E_INPUT, "the initramfs would be larger than the address "
                        "space: put fewer or smaller files in it");
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *p = realloc(c->buf, cap);
    if (!p)
        return mvm_fail(e, MVM_E_VMM, "out of memory growing the initramfs to %zu bytes: "
                        "free host memory or put fewer files in it", cap);
    c->buf = p;
    c->cap = cap;
    return 0;
}

static void put_hex(unsigned char *p, uint32_t v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 7; i >= 0; i--, v >>= 4)
        p[i] = (unsigned char)hex[v & 15];
}

/* Writes the header and padded name of an entry whose `size` bytes of data follow, and
 * returns where the data goes. Nothing is committed (c->len stays) until entry_commit(), so
 * a caller that fails in between leaves the archive as it was. */
static unsigned char *entry_start(struct cpio *c, const char *path, uint32_t mode,
                                  uint32_t nlink, size_t size, unsigned rmajor,
                                  unsigned rminor, struct mvm_err *e)
{
    if (!path || !path[0] || path[0] == '/') {
        mvm_fail(e, MVM_E_VMM, "internal error: initramfs path \"%s\" is not a relative path",
                 path ? path : "(null)");
        return NULL;
    }
    size_t namesize = strlen(path) + 1;
    if (namesize > NEWC_NAME_MAX) {
        mvm_fail(e, MVM_E_INPUT, "initramfs path %.64s... is longer than the kernel takes "
                 "(%d bytes): use a shorter one", path, NEWC_NAME_MAX);
        return NULL;
    }
    if ((unsigned long long)size > NEWC_SIZE_MAX) {
        mvm_fail(e, MVM_E_INPUT, "%s is %zu bytes, more than an initramfs entry holds (4 GiB "
                 "less one byte): leave it out of the initramfs", path, size);
        return NULL;
    }
    size_t head = NEWC_HEADER + namesize + pad4(NEWC_HEADER + namesize);
    if (reserve(c, head + size + pad4(size), e) != 0)
        return NULL;
    /* ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize
     * check: owned by root, mtime 0, so the archive is reproducible. */
    const uint32_t fields[13] = { c->next_ino, mode, 0, 0, nlink, 0, (uint32_t)size, 0, 0,
                                  rmajor, rminor, (uint32_t)namesize, 0 };
    unsigned char *p = c->buf + c->len;
    memcpy(p, NEWC_MAGIC, 6);
    for (int i = 0; i < 13; i++)
        put_hex(p + 6 + 8 * i, fields[i]);
    memcpy(p + NEWC_HEADER, path, namesize);
    memset(p + NEWC_HEADER + namesize, 0, head - NEWC_HEADER - namesize);
    return p + head;
}

/* The entry whose data (size bytes at data) is now in place becomes part of the archive. */
static int entry_commit(struct cpio *c, unsigned char *data, size_t size)
{
    memset(data + size, 0, pad4(size));
    c->len = (size_t)(data - c->buf) + size + pad4(size);
    c->next_ino++;
    return 0;
}

int cpio_add_dir(struct cpio *c, const char *path, unsigned mode, struct mvm_err *e)
{
    /* nlink 2: "." and the entry in its parent, as a file system reports an empty one. */
    unsigned char *d = entry_start(c, path, S_IFDIR | (mode & 07777), 2, 0, 0, 0, e);
    return d ? entry_commit(c, d, 0) : -1;
}

int cpio_add_file(struct cpio *c, const char *path, unsigned mode, const void *data,
                  size_t len, struct mvm_err *e)
{
    unsigned char *d = entry_start(c, path, S_IFREG | (mode & 07777), 1, len, 0, 0, e);
    if (!d)
        return -1;
    if (len)
        memcpy(d, data, len);
    return entry_commit(c, d, len);
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target, struct mvm_err *e)
{
    /* A link's data is its target, without the NUL. */
    size_t len = strlen(target);
    unsigned char *d = entry_start(c, path, S_IFLNK | 0777, 1, len, 0, 0, e);
    if (!d)
        return -1;
    memcpy(d, target, len);
    return entry_commit(c, d, len);
}

int cpio_add_node(struct cpio *c, const char *path, unsigned mode, unsigned major,
                  unsigned minor, struct mvm_err *e)
{
    if ((mode & S_IFMT) != S_IFCHR && (mode & S_IFMT) != S_IFBLK)
        return mvm_fail(e, MVM_E_VMM, "internal error: initramfs node %s has mode %o, neither "
                        "a character nor a block device", path, mode);
    unsigned char *d = entry_start(c, path, mode & (S_IFMT | 07777), 1, 0, major, minor, e);
    return d ? entry_commit(c, d, 0) : -1;
}

/* Reads exactly len bytes: a file that shrinks under us would leave a hole of garbage. */
static int read_all(int fd, unsigned char *to, size_t len, const char *host_path,
                    struct mvm_err *e)
{
    for (size_t got = 0; got < len;) {
        ssize_t r = read(fd, to + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mvm_fail(e, MVM_E_INPUT, "cannot read %s for the initramfs: %s", host_path,
                            strerror(errno));
        if (r == 0)
            return mvm_fail(e, MVM_E_INPUT, "%s shrank while it was read for the initramfs: "
                            "leave it alone while minivmm starts", host_path);
        got += (size_t)r;
    }
    return 0;
}

int cpio_add_file_from(struct cpio *c, const char *path, unsigned mode, const char *host_path,
                       struct mvm_err *e)
{
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot open %s for the initramfs: %s", host_path,
                        strerror(errno));
    struct stat st;
    int r = -1;
    if (fstat(fd, &st) != 0)
        mvm_fail(e, MVM_E_INPUT, "cannot stat %s for the initramfs: %s", host_path,
                 strerror(errno));
    else if (!S_ISREG(st.st_mode))
        mvm_fail(e, MVM_E_INPUT, "%s is not a regular file: the initramfs takes files only",
                 host_path);
    else if ((unsigned long long)st.st_size > NEWC_SIZE_MAX)
        mvm_fail(e, MVM_E_INPUT, "%s is larger than an initramfs entry holds (4 GiB less one "
                 "byte): leave it out", host_path);
    else {
        size_t size = (size_t)st.st_size;
        unsigned char *d = entry_start(c, path, S_IFREG | (mode & 07777), 1, size, 0, 0, e);
        if (d && read_all(fd, d, size, host_path, e) == 0)
            r = entry_commit(c, d, size);
    }
    close(fd);
    return r;
}

int cpio_finish(struct cpio *c, struct mvm_err *e)
{
    unsigned char *d = entry_start(c, "TRAILER!!!", 0, 1, 0, 0, 0, e);
    return d ? entry_commit(c, d, 0) : -1;
}
