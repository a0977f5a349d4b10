/* The 9P2000.L server (devices/p9*.c) as a guest's v9fs client sees it: every T-message it
 * serves, the fid table, msize negotiation and malformed messages, sent whole and split at
 * odd places. The escape attempts are in test_p9_escape.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/uio.h>

#include "p9_client.h"

static void test_version(void **state)
{
    (void)state;
    char v[32];
    assert_int_equal(t_version(8192, "9P2000.L", v), 8192);
    assert_string_equal(v, "9P2000.L");
    assert_int_equal(t_version(1u << 30, "9P2000.L", v), P9_MAX_MSIZE);
    assert_int_equal(t_version(P9_MAX_MSIZE, "9P2000.u", v), P9_MAX_MSIZE);
    assert_string_equal(v, "unknown");
    assert_int_equal(t_version(100, "9P2000.L", v), 0);   /* too small: Rlerror */
    /* A new session: the old fids are gone. */
    assert_int_equal(t_version(4096, "9P2000.L", v), 4096);
    assert_int_equal(t_walk(ROOT, 2, "file"), -EBADF);
    assert_int_equal(t_attach(ROOT), 0);
    /* msize bounds Rread and any message the guest sends. */
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_lopen(2, L_RDONLY), 0);
    char buf[8192];
    assert_int_equal(t_read(2, 0, 100000, buf), 12);
    put_file(in_share("big"), "");
    assert_int_equal(truncate(in_share("big"), 10000), 0);
    assert_int_equal(t_walk(ROOT, 3, "big"), 1);
    assert_int_equal(t_lopen(3, L_RDWR), 0);
    assert_int_equal(t_read(3, 0, 100000, buf), 4096 - 11);
    static char data[5000];
    assert_int_equal(t_write(3, 0, data, sizeof(data)), -EMSGSIZE);
}

static void test_fids(void **state)
{
    (void)state;
    uint8_t qt = 0;
    assert_int_equal(t_attach(ROOT), -EEXIST);
    m_begin(TATTACH), m32(9), m32(5), mstr(""), mstr(""), m32(0);
    assert_int_equal(call(), -EINVAL);   /* no afid without Tauth */
    assert_int_equal(t_walkv(ROOT, 2, (const char *[]){"dir", "sub", NULL}, &qt), 2);
    assert_int_equal(qt, 0x80);
    assert_int_equal(t_walk(ROOT, 2, "file"), -EEXIST);     /* newfid in use */
    assert_int_equal(t_walk(77, 3, "file"), -EBADF);        /* unknown fid */
    assert_int_equal(t_walkv(2, 3, (const char *[]){NULL}, NULL), 0);   /* a clone */
    assert_int_equal(t_walk(3, 4, ".."), 1);
    assert_int_equal(t_walk(4, 5, "inner"), 1);
    /* Partial walk: the qids walked, newfid untouched. */
    assert_int_equal(t_walk(ROOT, 6, "dir", "nope", "x"), 1);
    assert_int_equal(t_clunk(6), -EBADF);
    assert_int_equal(t_walk(ROOT, 6, "nope", "dir"), -ENOENT);
    assert_int_equal(t_walk(ROOT, 6, "file", "x"), 1);       /* through a file: ENOTDIR */
    const char *many[18] = {0};
    for (int i = 0; i < 17; i++)
        many[i] = "dir";
    assert_int_equal(t_walkv(ROOT, 6, many, NULL), -EINVAL);   /* > 16 names */
    /* fid == newfid moves the fid itself. */
    assert_int_equal(t_walk(4, 4, "sub"), 1);
    assert_int_equal(t_walk(4, 7, ".."), 1);
    assert_int_equal(t_walk(7, 8, "inner"), 1);
    /* Clunk, then the number is free for reuse. */
    assert_int_equal(t_clunk(2), 0);
    assert_int_equal(t_clunk(2), -EBADF);
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_walk(ROOT, NOFID, "file"), -EINVAL);
    assert_int_equal(t_clunk(ROOT), 0);
    assert_int_equal(t_walk(ROOT, 9, "file"), -EBADF);
}

static void test_read_write(void **state)
{
    (void)state;
    char buf[64];
    split = odd_split;
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_read(2, 0, 5, buf), -EBADF);          /* not open */
    assert_int_equal(t_lopen(2, L_RDONLY), 0);
    assert_int_equal(t_lopen(2, L_RDONLY), -EBADF);          /* twice */
    assert_int_equal(t_read(2, 0, 64, buf), 12);
    assert_memory_equal(buf, "hello world\n", 12);
    assert_int_equal(t_read(2, 6, 5, buf), 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(t_read(2, 100, 5, buf), 0);
    assert_int_equal(t_write(2, 0, "x", 1), -EBADF);         /* opened read-only */
    assert_int_equal(t_walk(ROOT, 3, "file"), 1);
    assert_int_equal(t_lopen(3, L_RDWR), 0);
    assert_int_equal(t_write(3, 6, "WORLD, again\n", 13), 13);
    assert_string_equal(host_read(in_share("file")), "hello WORLD, again\n");
    assert_int_equal(t_read(2, 0, 64, buf), 19);
    /* Twrite whose count disagrees with the message. */
    m_begin(TWRITE), m32(3), m64(0), m32(10), m_raw("abc", 3);
    assert_int_equal(call(), -EPROTO);
    m_begin(TFSYNC), m32(3), m32(1);
    assert_int_equal(call(), 0);
    m_begin(TFSYNC), m32(ROOT), m32(0);
    assert_int_equal(call(), -EBADF);
    /* O_TRUNC, directories, bad access mode. */
    assert_int_equal(t_walk(ROOT, 4, "file"), 1);
    assert_int_equal(t_lopen(4, L_WRONLY | L_TRUNC), 0);
    assert_string_equal(host_read(in_share("file")), "");
    assert_int_equal(t_walk(ROOT, 5, "dir"), 1);
    assert_int_equal(t_lopen(5, L_RDWR), -EISDIR);
    assert_int_equal(t_lopen(5, 3), -EINVAL);
    assert_int_equal(t_walk(ROOT, 6, "file"), 1);
    assert_int_equal(t_lopen(6, L_RDONLY | L_DIRECTORY), -ENOTDIR);
    /* A reply buffer too small for the data: Rread shrinks to fit. */
    reply_cap = 11 + 3;
    assert_int_equal(t_read(3, 0, 64, buf), 0);
    put_file(in_share("file"), "0123456789");
    assert_int_equal(t_read(3, 0, 64, buf), 3);
    reply_cap = 10;   /* not even Rlerror fits */
    m_begin(TREAD), m32(3), m64(0), m32(5);
    assert_int_equal(send_raw(msg, msg_len, reply_cap), 0);
}

static void test_create(void **state)
{
    (void)state;
    split = odd_split;
    assert_int_equal(t_walk(ROOT, 2, "dir"), 1);
    assert_int_equal(t_lcreate(2, "new", L_RDWR, 0640), 0);
    assert_int_equal(t_write(2, 0, "made\n", 5), 5);   /* the fid is now the new file */
    assert_string_equal(host_read(in_share("dir/new")), "made\n");
    struct stat st;
    assert_int_equal(stat(in_share("dir/new"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640 & ~umask(022));
    umask(022);
    uint32_t mode;
    uint64_t size;
    assert_int_equal(t_getattr(2, &mode, &size), 0);
    assert_int_equal(size, 5);
    assert_int_equal(t_walk(ROOT, 3, "dir"), 1);
    assert_int_equal(t_lcreate(3, "new", L_RDWR | L_EXCL, 0644), -EEXIST);
    assert_int_equal(t_lcreate(3, "inner2", 3, 0644), -EINVAL);
    assert_int_equal(t_lcreate(2, "x", L_RDWR, 0644), -EBADF);   /* an open fid */
    assert_int_equal(t_walk(ROOT, 4, "file"), 1);
    assert_int_equal(t_lcreate(4, "x", L_RDWR, 0644), -ENOTDIR);
}

static void test_attrs(void **state)
{
    (void)state;
    uint32_t mode;
    uint64_t size;
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_getattr(2, &mode, &size), 0);
    assert_true(S_ISREG(mode));
    assert_int_equal(size, 12);
    assert_int_equal(t_getattr(99, &mode, &size), -EBADF);
    /* mode, size, uid/gid (our own), mtime given, atime now */
    m_begin(TSETATTR), m32(2), m32(0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x100);
    m32(0600), m32(getuid()), m32(getgid()), m64(5), m64(0), m64(0), m64(123456), m64(7);
    assert_int_equal(call(), 0);
    struct stat st;
    assert_int_equal(stat(in_share("file"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(st.st_mtim.tv_sec, 123456);
    assert_int_equal(st.st_mtim.tv_nsec, 7);
    assert_true(st.st_atim.tv_sec > 1000000000);
    /* nanoseconds out of range */
    m_begin(TSETATTR), m32(2), m32(0x20 | 0x100), m32(0), m32(0), m32(0), m64(0), m64(0);
    m64(0), m64(1), m64(2000000000);
    assert_int_equal(call(), -EINVAL);
    /* truncating a directory */
    assert_int_equal(t_walk(ROOT, 3, "dir"), 1);
    m_begin(TSETATTR), m32(3), m32(0x8), m32(0), m32(0), m32(0), m64(0), m64(0), m64(0);
    m64(0), m64(0);
    assert_int_equal(call(), -EISDIR);
    assert_int_equal(t_getattr(3, &mode, &size), 0);
    assert_true(S_ISDIR(mode));
    m_begin(TSTATFS), m32(3);
    assert_int_equal(call(), 0);
    assert_int_equal(reply_len, 7 + 4 + 4 + 8 * 6 + 4);
}

/* Reads the whole of directory fid in Treaddir calls of count bytes; returns the names
 * joined by ',' in the order given (without "." and ".."). */
static const char *list_dir(uint32_t fid, uint32_t count)
{
    static char names[4096];
    names[0] = 0;
    uint64_t off = 0;
    for (int calls = 0; calls < 1000; calls++) {
        m_begin(TREADDIR), m32(fid), m64(off), m32(count);
        assert_int_equal(call(), 0);
        uint32_t n = r32();
        assert_int_equal(rpos + n, reply_len);
        assert_true(n <= count);
        if (n == 0)
            return names;
        while (rpos < reply_len) {
            r8(), r32(), r64();
            off = r64();
            r8();
            uint16_t len = r16();
            assert_true(rpos + len <= reply_len);   /* never a split entry */
            char name[256];
            memcpy(name, reply + rpos, len), name[len] = 0;
            rpos += len;
            if (strcmp(name, ".") && strcmp(name, ".."))
                strcat(strcat(names, name), ",");
        }
    }
    fail();
    return NULL;
}

static int count_names(const char *list)
{
    int n = 0;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

static void test_readdir(void **state)
{
    (void)state;
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "entry-%02d", i);
        put_file(in_share(name), "");
    }
    assert_int_equal(t_walk(ROOT, 2, "dir"), 1);
    m_begin(TREADDIR), m32(2), m64(0), m32(4096);
    assert_int_equal(call(), -EBADF);   /* not open */
    assert_int_equal(t_walkv(ROOT, 3, (const char *[]){NULL}, NULL), 0);
    assert_int_equal(t_lopen(3, L_RDONLY | L_DIRECTORY), 0);
    const char *all = list_dir(3, 8192);
    assert_int_equal(count_names(all), 47);
    assert_non_null(strstr(all, "entry-17,"));
    split = odd_split;
    assert_string_equal(list_dir(3, 40), all);   /* one entry per reply, the same order */
    assert_string_equal(list_dir(3, 97), all);
    m_begin(TREADDIR), m32(3), m64(0), m32(10);   /* no entry fits: not "the end" */
    assert_int_equal(call(), -EINVAL);
    assert_int_equal(t_walk(ROOT, 4, "file"), 1);
    assert_int_equal(t_lopen(4, L_RDONLY), 0);
    m_begin(TREADDIR), m32(4), m64(0), m32(4096);
    assert_int_equal(call(), -ENOTDIR);
}

static void test_names(void **state)
{
    (void)state;
    split = odd_split;
    assert_int_equal(t_mkdir(ROOT, "made"), 0);
    assert_int_equal(t_mkdir(ROOT, "made"), -EEXIST);
    assert_int_equal(t_mknod(ROOT, "fifo", S_IFIFO | 0644), 0);
    assert_int_equal(t_mknod(ROOT, "reg", S_IFREG | 0644), 0);
    struct stat st;
    assert_int_equal(lstat(in_share("fifo"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(t_walk(ROOT, 2, "fifo"), 1);
    assert_int_equal(t_lopen(2, L_RDONLY), -EPERM);   /* never opened on the host */
    assert_int_equal(t_symlink(ROOT, "sl", "any/text/../at/all"), 0);
    assert_int_equal(t_walk(ROOT, 3, "sl"), 1);
    m_begin(TREADLINK), m32(3);
    assert_int_equal(call(), 0);
    assert_int_equal(r16(), 18);
    assert_memory_equal(reply + rpos, "any/text/../at/all", 18);
    /* link, rename (the fid follows), unlink, remove */
    assert_int_equal(t_walk(ROOT, 4, "file"), 1);
    assert_int_equal(t_link(ROOT, 4, "file2"), 0);
    assert_int_equal(lstat(in_share("file"), &st), 0);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(t_walk(ROOT, 5, "made"), 1);
    m_begin(TRENAME), m32(4), m32(5), mstr("moved");
    assert_int_equal(call(), 0);
    assert_string_equal(host_read(in_share("made/moved")), "hello world\n");
    assert_int_equal(t_lopen(4, L_RDONLY), 0);   /* reopened at its new name */
    assert_int_equal(t_renameat(ROOT, "made", ROOT, "made2"), 0);
    assert_int_equal(t_walk(5, 6, "moved"), 1);
    assert_int_equal(t_walk(6, 7, ".."), 1);       /* ".." follows the rename too */
    assert_int_equal(t_walk(7, 8, "moved"), 1);
    assert_int_equal(t_unlinkat(ROOT, "file2", 0), 0);
    assert_int_equal(t_unlinkat(ROOT, "dir", 0), -EISDIR);
    assert_int_equal(t_unlinkat(ROOT, "dir", 0x400), -EINVAL);
    assert_int_equal(t_unlinkat(ROOT, "dir", 0x200), -ENOTEMPTY);
    assert_int_equal(t_walk(ROOT, 9, "dir", "sub"), 2);
    assert_int_equal(t_remove(9), 0);
    assert_int_equal(t_clunk(9), -EBADF);           /* remove clunked it */
    assert_int_equal(lstat(in_share("dir/sub"), &st), -1);
    assert_int_equal(t_remove(ROOT), -EBUSY);
    assert_int_equal(t_clunk(ROOT), -EBADF);        /* clunked even so */
}

static void test_misc_messages(void **state)
{
    (void)state;
    m_begin(TFLUSH), m16(7);
    assert_int_equal(call(), 0);
    m_begin(TLOCK), m32(ROOT), m8(1), m32(0), m64(0), m64(10), m32(42), mstr("client");
    assert_int_equal(call(), 0);
    assert_int_equal(r8(), 0);
    m_begin(TGETLOCK), m32(ROOT), m8(1), m64(3), m64(10), m32(42), mstr("client");
    assert_int_equal(call(), 0);
    assert_int_equal(r8(), 2);
    assert_int_equal(r64(), 3);
    m_begin(TLOCK), m32(55), m8(1), m32(0), m64(0), m64(10), m32(42), mstr("c");
    assert_int_equal(call(), -EBADF);
    m_begin(TXATTRWALK), m32(ROOT), m32(2), mstr("user.x");
    assert_int_equal(call(), -EOPNOTSUPP);
    m_begin(TXATTRCREATE), m32(ROOT), mstr("user.x"), m64(1), m32(0);
    assert_int_equal(call(), -EOPNOTSUPP);
    m_begin(TAUTH), m32(3), mstr(""), mstr(""), m32(0);
    assert_int_equal(call(), -EOPNOTSUPP);
    m_begin(112), m32(ROOT), m8(0);   /* 9P2000's Topen */
    assert_int_equal(call(), -EOPNOTSUPP);
    m_begin(7), m32(0);               /* an R-message sent as a request */
    assert_int_equal(call(), -EOPNOTSUPP);
}

/* Every type, with its body cut short anywhere: an error, never a crash or a half-done act
 * (the bytes name existing fids and short names, so a request read past its end would act). */
static void test_malformed(void **state)
{
    (void)state;
    static const uint8_t types[][2] = {   /* type, the smallest valid body */
        {TSTATFS, 4}, {TLOPEN, 8}, {TLCREATE, 18}, {TSYMLINK, 12}, {TMKNOD, 22},
        {TRENAME, 10}, {TREADLINK, 4}, {TGETATTR, 12}, {TSETATTR, 60}, {TREADDIR, 16},
        {TFSYNC, 8}, {TLOCK, 31}, {TGETLOCK, 27}, {TLINK, 10}, {TMKDIR, 14},
        {TRENAMEAT, 12}, {TUNLINKAT, 10}, {TVERSION, 6}, {TATTACH, 16}, {TFLUSH, 2},
        {TWALK, 10}, {TREAD, 16}, {TWRITE, 16}, {TCLUNK, 4}, {TREMOVE, 4}};
    uint8_t full[64];
    for (size_t i = 0; i < sizeof(full); i++)
        full[i] = i % 4 == 0 ? 1 : i % 4 == 1 ? 'x' : 0;
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
        for (size_t cut = 0; cut < types[t][1]; cut++) {
            m_begin(types[t][0]);
            m_raw(full, cut);
            assert_true(call() < 0);
        }
    assert_int_equal(t_walk(ROOT, 20, "file"), 1);   /* the root fid survived all that */
    /* The size field must be the buffers' length. */
    m_begin(TCLUNK), m32(ROOT);
    for (unsigned i = 0; i < 4; i++)
        msg[i] = (uint8_t)((msg_len + 1) >> (8 * i));
    reply_len = send_raw(msg, msg_len, reply_cap);
    assert_int_equal(reply_len, 11);
    assert_int_equal(reply[4], RLERROR);
    assert_int_equal(reply[7], EPROTO);
    assert_int_equal(send_raw(msg, 3, reply_cap), 11);   /* not even a header */
    assert_int_equal(reply[5] | reply[6] << 8, 0xffff);
    /* A name holding a NUL, or a string running past the message. */
    m_begin(TWALK), m32(ROOT), m32(2), m16(1), m16(3), m_raw("d\0r", 3);
    assert_int_equal(call(), -EINVAL);
    m_begin(TWALK), m32(ROOT), m32(2), m16(1), m16(300), m_raw("dir", 3);
    assert_int_equal(call(), -EPROTO);
    m_begin(TWALK), m32(ROOT), m32(2), m16(2), mstr("dir"), m16(9);
    assert_int_equal(call(), -EPROTO);
    assert_int_equal(t_clunk(2), -EBADF);
    /* Messages past 8 KiB other than Twrite, and past msize. */
    m_begin(TWALK), m32(ROOT), m32(2), m16(1), mstr("dir");
    msg_len += 9000;
    assert_int_equal(call(), -EMSGSIZE);
    m_begin(TWRITE), m32(ROOT), m64(0), m32(P9_MAX_MSIZE), msg_len += P9_MAX_MSIZE;
    assert_int_equal(call(), -EMSGSIZE);
}

/* Several I/O threads on one server: walks, reads and clunks of shared and own fids. */
static void *hammer(void *arg)
{
    uint32_t me = 100 + 10 * (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < 300; i++) {
        uint8_t m[64];
        size_t n = 0;
        m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = TWALK, m[n++] = 1, m[n++] = 0;
        uint32_t fids[3] = {ROOT, me + (uint32_t)(i % 3), 1};
        for (int k = 0; k < 2; k++)
            for (int b = 0; b < 4; b++)
                m[n++] = (uint8_t)(fids[k] >> (8 * b));
        m[n++] = 1, m[n++] = 0, m[n++] = 4, m[n++] = 0;
        memcpy(m + n, "file", 4), n += 4;
        m[0] = (uint8_t)n;
        uint8_t r[256];
        struct iovec o = {m, n}, in = {r, sizeof(r)};
        assert_true(p9_handle(srv, &o, 1, &in, 1) >= 11);
        uint8_t c[11] = {11, 0, 0, 0, TCLUNK, 2, 0};
        memcpy(c + 7, &fids[1], 4);
        o = (struct iovec){c, sizeof(c)};
        assert_true(p9_handle(srv, &o, 1, &in, 1) >= 7);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
}

static void test_create_errors(void **state)
{
    (void)state;
    struct mvm_err e = {0};
    struct p9_server *s;
    assert_int_equal(p9_server_create(&s, in_share("nope"), false, &e), -1);
    assert_non_null(strstr(e.msg, "nope"));
    assert_null(s);
    p9_server_destroy(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_rw, teardown_share)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_version), T(test_fids), T(test_read_write), T(test_create), T(test_attrs),
        T(test_readdir), T(test_names), T(test_misc_messages), T(test_malformed),
        T(test_threads), T(test_create_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
