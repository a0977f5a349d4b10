/* Inside the 9P server (devices/p9*.c): the server and fid structures, the wire format
 * helpers and the confined file system primitives the request handlers are built from.
 * Nothing outside devices/p9*.c includes this; the device glue uses p9.h.
 *
 * Conventions: helpers and handlers return 0 (or a descriptor) on success and a negative
 * errno on failure; the dispatcher turns a handler's -errno into Rlerror.
 */
#ifndef MINIVMM_P9_IMPL_H
#define MINIVMM_P9_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "p9.h"

#define P9_MAX_FIDS 16384      /* fids one guest may hold at once */
#define P9_PATH_MAX 4096       /* a fid's path below the root, NUL included */
#define P9_MIN_MSIZE 4096      /* smaller and not even a full Twalk fits */
#define P9_SMALL_MAX 8192      /* any message but Twrite: Tsymlink with a PATH_MAX target fits */
#define P9_NOFID 0xffffffffu
#define P9_NOTAG 0xffff
#define P9_MAXWELEM 16
#define P9_HDR 7               /* size[4] type[1] tag[2] */
#define P9_IOHDR 11            /* Rread/Rreaddir: the header and count[4] before the data */
#define P9_QID_SIZE 13
#define P9_FID_BUCKETS 256

enum p9_type {
    P9_TLERROR = 6, P9_RLERROR = 7, P9_TSTATFS = 8, P9_TLOPEN = 12, P9_TLCREATE = 14,
    P9_TSYMLINK = 16, P9_TMKNOD = 18, P9_TRENAME = 20, P9_TREADLINK = 22, P9_TGETATTR = 24,
    P9_TSETATTR = 26, P9_TXATTRWALK = 30, P9_TXATTRCREATE = 32, P9_TREADDIR = 40,
    P9_TFSYNC = 50, P9_TLOCK = 52, P9_TGETLOCK = 54, P9_TLINK = 70, P9_TMKDIR = 72,
    P9_TRENAMEAT = 74, P9_TUNLINKAT = 76, P9_TVERSION = 100, P9_TAUTH = 102,
    P9_TATTACH = 104, P9_TFLUSH = 108, P9_TWALK = 110, P9_TREAD = 116, P9_TWRITE = 118,
    P9_TCLUNK = 120, P9_TREMOVE = 122,
};

struct p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* A fid: the guest's handle on one host object below the root. */
struct p9_fid {
    struct p9_fid *next;       /* hash chain */
    uint32_t num;
    unsigned refs;             /* the table's, plus one per request using it */
    int fd;                    /* O_PATH descriptor of the object: fixed for the struct's life,
                                  closed only when the last reference goes, so a request never
                                  uses a descriptor number another thread has closed */
    int ofd;                   /* after Tlopen/Tlcreate the open descriptor, else -1; set once */
    char *path;                /* below the root, "" or "a/b/c": how ".." and reopening find it
                                  (renames through the server rewrite it) */
    pthread_mutex_t dir_lock;  /* Treaddir's seek + getdents on ofd */
};

struct p9_server {
    int root_fd;               /* O_PATH descriptor of the share's root */
    bool ro;
    int no_openat2;            /* atomic: the kernel answered ENOSYS once */
    pthread_mutex_t lock;      /* the table, every fid's refs, ofd and path, and msize */
    uint32_t msize;
    unsigned nfids;
    unsigned max_fids;         /* P9_MAX_FIDS, or less: a quarter of RLIMIT_NOFILE */
    struct p9_fid *buckets[P9_FID_BUCKETS];
};

/* ---- the wire (p9_wire.c) ---- */

/* A message body being read: a contiguous copy; reading past its end sets bad. */
struct p9_rd {
    const uint8_t *p;
    size_t n;
    bool bad;
};
uint8_t p9_get8(struct p9_rd *r);
uint16_t p9_get16(struct p9_rd *r);
uint32_t p9_get32(struct p9_rd *r);
uint64_t p9_get64(struct p9_rd *r);
/* A string as a NUL-terminated copy in buf (size cap): -EPROTO if truncated or holding a NUL,
 * -ENAMETOOLONG if longer than cap - 1. */
int p9_get_str(struct p9_rd *r, char *buf, size_t cap);
/* A string that names one entry of a directory (p9_check_name). */
int p9_get_name(struct p9_rd *r, char name[256]);

/* A reply being written into the device-writable buffers, sequentially from a cursor. */
struct p9_wr {
    const struct iovec *iov;
    unsigned n, i;             /* buffers, and the one the cursor is in */
    size_t off;                /* the cursor's offset in iov[i] */
    size_t pos, cap;           /* bytes written so far; at most cap (the buffers and msize) */
    bool overflow;
};
void p9_wr_init(struct p9_wr *w, const struct iovec *iov, unsigned n, size_t cap);
void p9_put(struct p9_wr *w, const void *data, size_t len);
void p9_skip(struct p9_wr *w, size_t len);
void p9_put8(struct p9_wr *w, uint8_t v);
void p9_put16(struct p9_wr *w, uint16_t v);
void p9_put32(struct p9_wr *w, uint32_t v);
void p9_put64(struct p9_wr *w, uint64_t v);
void p9_put_str(struct p9_wr *w, const char *s, size_t len);
void p9_put_qid(struct p9_wr *w, const struct p9_qid *q);
/* Writes the `bytes`-byte value v at byte `at` (already written): a size or count known only
 * at the end. */
void p9_patch(const struct p9_wr *w, size_t at, uint32_t v, unsigned bytes);

/* Total length of n buffers, or SIZE_MAX if it does not fit a size_t. */
size_t p9_iov_len(const struct iovec *v, unsigned n);
/* Copies len bytes from offset off of the buffers into dst; false if they hold fewer. */
bool p9_iov_read(const struct iovec *v, unsigned n, size_t off, void *dst, size_t len);
/* The bytes [off, off + len) of the buffers as at most max iovecs in dst; returns how many
 * (the slice may end early if max is reached: callers treat it as a short transfer). */
unsigned p9_iov_slice(const struct iovec *v, unsigned n, size_t off, size_t len,
                      struct iovec *dst, unsigned max);

/* ---- the fid table (p9_fid.c) ---- */

/* A new fid struct owning fd and path (malloc'd), one reference for the caller; NULL if out
 * of memory (fd and path are then left to the caller). */
struct p9_fid *p9_fid_new(uint32_t num, int fd, char *path);
/* Looks a fid up and takes a reference; NULL if unknown. */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t num);
void p9_fid_put(struct p9_server *s, struct p9_fid *f);
/* Enters f under its number (the table takes its own reference): -EEXIST if the number is
 * taken, -EMFILE if the table is full, -EINVAL for NOFID. */
int p9_fid_insert(struct p9_server *s, struct p9_fid *f);
/* Puts nf where old is (same number): -EBADF if old was clunked meanwhile. */
int p9_fid_replace(struct p9_server *s, struct p9_fid *old, struct p9_fid *nf);
/* Removes the number from the table: -EBADF if unknown. */
int p9_fid_clunk(struct p9_server *s, uint32_t num);
/* Clunks every fid (Tversion starts a new session). */
void p9_fid_clear(struct p9_server *s);
/* A malloc'd copy of f's path (-ENOMEM as NULL). */
char *p9_fid_path(struct p9_server *s, const struct p9_fid *f);
/* f's open descriptor, or -1. */
int p9_fid_ofd(struct p9_server *s, const struct p9_fid *f);
/* Makes ofd f's open descriptor: -EBADF if it already has one (ofd is then the caller's). */
int p9_fid_set_ofd(struct p9_server *s, struct p9_fid *f, int ofd);
/* A rename through the server moved `from` to `to` (paths below the root): fids at or
 * beneath it follow. */
void p9_fid_renamed(struct p9_server *s, const char *from, const char *to);

/* ---- confined file system primitives (p9_fs.c) ---- */

/* 0 if name may name an entry of a directory: not empty, ".", "..", no '/', <= NAME_MAX. */
int p9_check_name(const char *name);
/* openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode) for one checked component,
 * through openat2 beneath dirfd where the kernel has it: a descriptor or -errno. */
int p9_openat(struct p9_server *s, int dirfd, const char *name, int flags, mode_t mode);
/* An O_PATH descriptor of the object at `path` below the root, walked one component at a
 * time from the root without following anything: a descriptor or -errno. */
int p9_open_path(struct p9_server *s, const char *path);
/* An O_PATH descriptor of the directory holding `path`, and *base its last component:
 * -EBUSY for the root itself. */
int p9_open_parent(struct p9_server *s, const char *path, const char **base);
/* "dir/name" (or "name" at the root) as a new string: -ENAMETOOLONG past P9_PATH_MAX. */
int p9_path_join(const char *dir, const char *name, char **out);
/* The parent of path ("" for a top-level entry) as a new string. */
char *p9_path_parent(const char *path);
/* fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): 0 or -errno. */
int p9_fstat(int fd, struct stat *st);
void p9_qid(const struct stat *st, struct p9_qid *q);
/* An open descriptor of f's object (a regular file or directory) with the host flags, never
 * following a symlink and checked to be the same object as f's: a descriptor or -errno. */
int p9_reopen(struct p9_server *s, struct p9_fid *f, int flags);
/* 9P2000.L open flags (Linux's values) to this host's; -EINVAL for a bad access mode. */
int p9_open_flags(uint32_t dotl);

/* ---- a request (p9.c) and the handlers (p9_file.c, p9_dir.c) ---- */

struct p9_req {
    struct p9_server *s;
    uint8_t type;
    uint32_t size;
    struct p9_rd rd;                /* the body, after the header (Twrite: its 16 fixed bytes) */
    const struct iovec *out;        /* the T-message as sent (Twrite's data) */
    unsigned nout;
    struct p9_wr w;                 /* the reply, cursor after its header */
};

/* The fid the request names: -EBADF if unknown. */
int p9_req_fid(struct p9_req *q, uint32_t num, struct p9_fid **f);
/* -EROFS on a read-only share. */
int p9_req_modify(struct p9_req *q);

int p9_getattr(struct p9_req *q);
int p9_setattr(struct p9_req *q);
int p9_lopen(struct p9_req *q);
int p9_lcreate(struct p9_req *q);
/* Tread's and Treaddir's arguments: fid, offset, count, the count cut to what the reply's
 * buffers (and msize) take after its header. 0 or -errno. */
int p9_io_args(struct p9_req *q, uint32_t *fid, uint64_t *offset, uint32_t *count);
int p9_read(struct p9_req *q);
int p9_write(struct p9_req *q);
int p9_readdir(struct p9_req *q);
int p9_fsync(struct p9_req *q);
int p9_statfs(struct p9_req *q);
int p9_mkdir(struct p9_req *q);
int p9_mknod(struct p9_req *q);
int p9_symlink(struct p9_req *q);
int p9_readlink(struct p9_req *q);
int p9_link(struct p9_req *q);
int p9_rename(struct p9_req *q);
int p9_renameat(struct p9_req *q);
int p9_unlinkat(struct p9_req *q);
int p9_remove(struct p9_req *q);

#endif
