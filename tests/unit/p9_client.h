/* A tiny 9P2000.L client for the server's tests (test_p9.c, test_p9_escape.c): builds
 * T-messages, sends them through p9_handle() split into separately allocated pieces (so
 * AddressSanitizer sees any access past one), and parses the reply.
 *
 * Each test gets a fresh scratch directory:
 *   BASE/canary            "CANARY\n", atime 1000, mtime 2000: outside the share
 *   BASE/outside/inner     "OUTSIDE\n": outside too, reached by the symlinks below
 *   BASE/share/file        "hello world\n"
 *   BASE/share/dir/inner   "inner\n", and BASE/share/dir/sub/
 *   BASE/share/abs -> BASE/canary, rel -> ../canary, up -> .., rootlink -> /,
 *   BASE/share/out -> BASE/outside
 */
#ifndef MINIVMM_TEST_P9_CLIENT_H
#define MINIVMM_TEST_P9_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/p9.h"

/* Each test file uses some of the helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

enum {
    TSTATFS = 8, TLOPEN = 12, TLCREATE = 14, TSYMLINK = 16, TMKNOD = 18, TRENAME = 20,
    TREADLINK = 22, TGETATTR = 24, TSETATTR = 26, TXATTRWALK = 30, TXATTRCREATE = 32,
    TREADDIR = 40, TFSYNC = 50, TLOCK = 52, TGETLOCK = 54, TLINK = 70, TMKDIR = 72,
    TRENAMEAT = 74, TUNLINKAT = 76, TVERSION = 100, TAUTH = 102, TATTACH = 104, TFLUSH = 108,
    TWALK = 110, TREAD = 116, TWRITE = 118, TCLUNK = 120, TREMOVE = 122, RLERROR = 7,
};
#define NOFID 0xffffffffu
#define L_RDONLY 0
#define L_WRONLY 1
#define L_RDWR 2
#define L_EXCL 0200
#define L_TRUNC 01000
#define L_DIRECTORY 0200000
#define ROOT 1u   /* the fid attach() makes */

static char base[64], share[96], canary[96];
static struct p9_server *srv;

/* ---- building a T-message ---- */

static uint8_t msg[P9_MAX_MSIZE + 64];
static size_t msg_len;

static void m_raw(const void *p, size_t n) { memcpy(msg + msg_len, p, n), msg_len += n; }
static void m_le(uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        msg[msg_len++] = (uint8_t)(v >> (8 * i));
}
#define m8(v) m_le((v), 1)
#define m16(v) m_le((v), 2)
#define m32(v) m_le((v), 4)
#define m64(v) m_le((v), 8)
static void mstr(const char *s) { m16(strlen(s)), m_raw(s, strlen(s)); }
static void m_begin(uint8_t type) { msg_len = 0, m32(0), m8(type), m16(0x1234); }

/* ---- sending: pieces of sizes taken in turn from split (0 = one piece) ---- */

static const unsigned *split;
static const unsigned odd_split[] = {1, 3, 2, 7, 5, 13, 4, 6, 0};
static uint8_t reply[P9_MAX_MSIZE + 64];
static size_t reply_len, reply_cap = sizeof(reply), rpos;

/* Cuts total bytes (copied from `from` when copy) into pieces: split's sizes in turn over the
 * first 4 KiB, the rest in one (a malloc per byte of 512 KiB helps nobody). */
#define MAX_PIECES 4200
static unsigned pieces(size_t total, const void *from, struct iovec *v, bool copy)
{
    unsigned n = 0, k = 0;
    for (size_t at = 0; at < total || n == 0; n++) {
        size_t len = total - at;
        if (split && at < 4096 && split[k] && split[k] < len)
            len = split[k];
        k = split && split[k + 1] ? k + 1 : 0;
        v[n].iov_base = malloc(len ? len : 1);
        v[n].iov_len = len;
        if (copy)
            memcpy(v[n].iov_base, (const uint8_t *)from + at, len);
        at += len;
    }
    return n;
}

static size_t send_raw(const uint8_t *m, size_t len, size_t cap)
{
    static struct iovec out[MAX_PIECES], in[MAX_PIECES];
    unsigned nout = pieces(len, m, out, true);
    unsigned nin = pieces(cap, NULL, in, false);
    size_t n = p9_handle(srv, out, nout, in, nin);
    assert_true(n <= cap);
    size_t at = 0;
    for (unsigned i = 0; i < nin; i++) {
        size_t k = in[i].iov_len;
        if (at < n)
            memcpy(reply + at, in[i].iov_base, n - at < k ? n - at : k);
        at += k;
        free(in[i].iov_base);
    }
    for (unsigned i = 0; i < nout; i++)
        free(out[i].iov_base);
    return n;
}

static uint64_t r_le(unsigned n)
{
    assert_true(rpos + n <= reply_len);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)reply[rpos++] << (8 * i);
    return v;
}
static uint8_t r8(void) { return (uint8_t)r_le(1); }
static uint16_t r16(void) { return (uint16_t)r_le(2); }
static uint32_t r32(void) { return (uint32_t)r_le(4); }
static uint64_t r64(void) { return r_le(8); }

/* Sends the message built; 0 with the reply's body ready to read, or -errno of Rlerror. */
static int call(void)
{
    uint8_t type = msg[4];
    for (unsigned i = 0; i < 4; i++)
        msg[i] = (uint8_t)(msg_len >> (8 * i));
    reply_len = send_raw(msg, msg_len, reply_cap);
    assert_true(reply_len >= 7);
    rpos = 0;
    assert_int_equal(r32(), reply_len);
    uint8_t rtype = r8();
    assert_int_equal(r16(), 0x1234);
    if (rtype == RLERROR) {
        int e = (int)r32();
        assert_int_equal(rpos, reply_len);
        assert_true(e > 0);
        return -e;
    }
    assert_int_equal(rtype, type + 1);
    return 0;
}

/* ---- the requests ---- */

static uint32_t t_version(uint32_t msize, const char *v, char *got)
{
    m_begin(TVERSION), m32(msize), mstr(v);
    if (call())
        return 0;
    uint32_t m = r32();
    uint16_t n = r16();
    memcpy(got, reply + rpos, n), got[n] = 0;
    return m;
}

static int t_attach(uint32_t fid)
{
    m_begin(TATTACH), m32(fid), m32(NOFID), mstr("user"), mstr(""), m32(0);
    return call();
}

/* Walks names (a NULL-terminated list): the number of qids, or -errno; *qtype the last's. */
static int t_walkv(uint32_t fid, uint32_t newfid, const char *const *names, uint8_t *qtype)
{
    uint16_t n = 0;
    while (names[n])
        n++;
    m_begin(TWALK), m32(fid), m32(newfid), m16(n);
    for (uint16_t i = 0; i < n; i++)
        mstr(names[i]);
    int err = call();
    if (err)
        return err;
    uint16_t nq = r16();
    for (uint16_t i = 0; i < nq; i++) {
        uint8_t t = r8();
        r32(), r64();
        if (qtype)
            *qtype = t;
    }
    assert_int_equal(rpos, reply_len);
    return nq;
}
#define t_walk(fid, newfid, ...) t_walkv((fid), (newfid), (const char *[]){__VA_ARGS__, NULL}, NULL)

static int t_fid_op(uint8_t type, uint32_t fid)
{
    m_begin(type), m32(fid);
    return call();
}
#define t_clunk(fid) t_fid_op(TCLUNK, (fid))
#define t_remove(fid) t_fid_op(TREMOVE, (fid))

static int t_lopen(uint32_t fid, uint32_t flags)
{
    m_begin(TLOPEN), m32(fid), m32(flags);
    return call();
}

static int t_lcreate(uint32_t fid, const char *name, uint32_t flags, uint32_t mode)
{
    m_begin(TLCREATE), m32(fid), mstr(name), m32(flags), m32(mode), m32(0);
    return call();
}

/* Reads into buf: the count, or -errno. */
static int t_read(uint32_t fid, uint64_t off, uint32_t count, char *buf)
{
    m_begin(TREAD), m32(fid), m64(off), m32(count);
    int err = call();
    if (err)
        return err;
    uint32_t n = r32();
    assert_int_equal(rpos + n, reply_len);
    memcpy(buf, reply + rpos, n);
    return (int)n;
}

static int t_write(uint32_t fid, uint64_t off, const void *data, uint32_t count)
{
    m_begin(TWRITE), m32(fid), m64(off), m32(count), m_raw(data, count);
    int err = call();
    return err ? err : (int)r32();
}

static int t_getattr(uint32_t fid, uint32_t *mode, uint64_t *size)
{
    m_begin(TGETATTR), m32(fid), m64(0x7ff);
    int err = call();
    if (err)
        return err;
    assert_int_equal(reply_len, 160);
    r64(), r8(), r32(), r64();
    *mode = r32();
    rpos += 4 + 4 + 8 + 8;
    *size = r64();
    return 0;
}

static int t_mkdir(uint32_t dfid, const char *name)
{
    m_begin(TMKDIR), m32(dfid), mstr(name), m32(0755), m32(0);
    return call();
}

static int t_mknod(uint32_t dfid, const char *name, uint32_t mode)
{
    m_begin(TMKNOD), m32(dfid), mstr(name), m32(mode), m32(1), m32(3), m32(0);
    return call();
}

static int t_renameat(uint32_t od, const char *on, uint32_t nd, const char *nn)
{
    m_begin(TRENAMEAT), m32(od), mstr(on), m32(nd), mstr(nn);
    return call();
}

static int t_link(uint32_t dfid, uint32_t fid, const char *name)
{
    m_begin(TLINK), m32(dfid), m32(fid), mstr(name);
    return call();
}

static int t_unlinkat(uint32_t dfid, const char *name, uint32_t flags)
{
    m_begin(TUNLINKAT), m32(dfid), mstr(name), m32(flags);
    return call();
}

static int t_symlink(uint32_t dfid, const char *name, const char *target)
{
    m_begin(TSYMLINK), m32(dfid), mstr(name), mstr(target), m32(0);
    return call();
}

/* ---- the scratch directory ---- */

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The file's content ("" if missing). */
static const char *host_read(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY | O_NOATIME);   /* the canary's atime tells reads */
    ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static const char *in_share(const char *rel)
{
    static char p[2][512];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof(p[k]), "%s/%s", share, rel);
    return p[k];
}

static const char *in_base(const char *rel)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    return p;
}

/* The canary outside the share: unchanged, unread, never linked. */
static void assert_canary(void)
{
    struct stat st;
    assert_int_equal(lstat(canary, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(st.st_atim.tv_sec, 1000);
    assert_int_equal(st.st_mtim.tv_sec, 2000);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(lstat(in_base("outside/inner"), &st), 0);
    assert_int_equal(st.st_atim.tv_sec, 1000);
    assert_string_equal(host_read(in_base("outside/inner")), "OUTSIDE\n");
    assert_string_equal(host_read(canary), "CANARY\n");
}

static void set_old_times(const char *path)
{
    struct timespec ts[2] = {{1000, 0}, {2000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int setup_share(bool ro)
{
    strcpy(base, "/tmp/minivmm-p9.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(share, sizeof(share), "%s/share", base);
    snprintf(canary, sizeof(canary), "%s/canary", base);
    assert_int_equal(mkdir(share, 0755), 0);
    assert_int_equal(mkdir(in_base("outside"), 0755), 0);
    put_file(in_base("outside/inner"), "OUTSIDE\n");
    set_old_times(in_base("outside/inner"));
    put_file(canary, "CANARY\n");
    chmod(canary, 0600);
    set_old_times(canary);
    put_file(in_share("file"), "hello world\n");
    assert_int_equal(mkdir(in_share("dir"), 0755), 0);
    assert_int_equal(mkdir(in_share("dir/sub"), 0755), 0);
    put_file(in_share("dir/inner"), "inner\n");
    assert_int_equal(symlink(canary, in_share("abs")), 0);
    assert_int_equal(symlink("../canary", in_share("rel")), 0);
    assert_int_equal(symlink("..", in_share("up")), 0);
    assert_int_equal(symlink("/", in_share("rootlink")), 0);
    assert_int_equal(symlink(in_base("outside"), in_share("out")), 0);
    struct mvm_err e = {0};
    assert_int_equal(p9_server_create(&srv, share, ro, &e), 0);
    split = NULL;
    reply_cap = sizeof(reply);
    char v[32];
    assert_int_equal(t_version(P9_MAX_MSIZE, "9P2000.L", v), P9_MAX_MSIZE);
    assert_int_equal(t_attach(ROOT), 0);
    return 0;
}

/* rm -r of name in directory dir, by descriptors: paths may be longer than PATH_MAX
 * (test_deep). */
static void rm_tree(int dir, const char *name)
{
    if (unlinkat(dir, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
        return;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rm_tree(fd, e->d_name);
    if (d)
        closedir(d);
    unlinkat(dir, name, AT_REMOVEDIR);
}

static int teardown_share(void **state)
{
    (void)state;
    assert_canary();
    p9_server_destroy(srv);
    srv = NULL;
    rm_tree(AT_FDCWD, base);
    assert_int_equal(access(base, F_OK), -1);
    return 0;
}

static int setup_rw(void **state) { (void)state; return setup_share(false); }
static int setup_ro(void **state) { (void)state; return setup_share(true); }

#endif
