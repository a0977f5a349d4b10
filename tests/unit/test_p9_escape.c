/* A hostile guest against the 9p server's confinement: every attempt to reach outside the
 * share must fail, and the canary outside (checked after each test: content, atime, mtime,
 * nlink, mode) and BASE/outside/inner must stay untouched and unread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../../devices/p9_impl.h"   /* P9_PATH_MAX */
#include "p9_client.h"

/* The names in a host directory, sorted and joined by ','. */
static const char *host_list(const char *dir)
{
    static char out[4096];
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
            strcat(strcat(out, ents[i]->d_name), ",");
        free(ents[i]);
    }
    free(ents);
    return out;
}

static void assert_outside_unchanged(void)
{
    assert_string_equal(host_list(base), "canary,outside,share,");
    assert_string_equal(host_list(in_base("outside")), "inner,");
    assert_int_equal(access("/etc/minivmm-p9-escape", F_OK), -1);
}

static void test_dotdot(void **state)
{
    (void)state;
    assert_int_equal(t_walk(ROOT, 2, ".."), -ENOENT);
    assert_int_equal(t_walk(ROOT, 2, "..", ".."), -ENOENT);
    assert_int_equal(t_walk(ROOT, 2, "..", "canary"), -ENOENT);
    assert_int_equal(t_walk(ROOT, 2, "dir"), 1);
    assert_int_equal(t_walk(2, 3, "..", "..", "canary"), 1);   /* dir/.. is the root: stop */
    assert_int_equal(t_clunk(3), -EBADF);
    assert_int_equal(t_walk(ROOT, 3, "dir", "sub", "..", "..", "..", "share", "file"), 4);
    const char *up[17] = {"dir", "sub"};
    for (int i = 2; i < 16; i++)
        up[i] = "..";
    assert_int_equal(t_walkv(ROOT, 3, up, NULL), 4);
    /* From a clone of the root and from a fid moved to the root by its own walk. */
    assert_int_equal(t_walkv(ROOT, 4, (const char *[]){NULL}, NULL), 0);
    assert_int_equal(t_walk(4, 5, ".."), -ENOENT);
    assert_int_equal(t_walk(2, 2, ".."), 1);
    assert_int_equal(t_walk(2, 5, ".."), -ENOENT);
    assert_outside_unchanged();
}

static int t_readlink(uint32_t fid, char *buf)
{
    m_begin(TREADLINK), m32(fid);
    int err = call();
    if (err)
        return err;
    uint16_t n = r16();
    memcpy(buf, reply + rpos, n), buf[n] = 0;
    return n;
}

static int t_setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint64_t size)
{
    m_begin(TSETATTR), m32(fid), m32(valid), m32(mode), m32(getuid()), m32(getgid());
    m64(size), m64(0), m64(0), m64(5), m64(0);
    return call();
}

static void test_symlinks_out(void **state)
{
    (void)state;
    uint8_t qt = 0;
    char buf[256];
    /* A symlink is an object of its own: walked to, read, never followed. */
    assert_int_equal(t_walkv(ROOT, 2, (const char *[]){"abs", NULL}, &qt), 1);
    assert_int_equal(qt, 0x02);
    assert_int_equal(t_readlink(2, buf), (int)strlen(canary));
    assert_string_equal(buf, canary);
    assert_int_equal(t_lopen(2, L_RDONLY), -ELOOP);
    assert_int_equal(t_lopen(2, L_RDWR | L_TRUNC), -ELOOP);
    uint32_t mode;
    uint64_t size;
    assert_int_equal(t_getattr(2, &mode, &size), 0);
    assert_true(S_ISLNK(mode));
    assert_int_equal(t_setattr(2, 0x8, 0, 0), -EINVAL);            /* truncate */
    assert_int_not_equal(t_setattr(2, 0x1, 0777, 0), 0);           /* chmod */
    assert_int_equal(t_setattr(2, 0x2 | 0x4 | 0x20 | 0x100, 0, 0), 0);   /* the link's own */
    assert_int_equal(t_walk(2, 3, "x"), -ENOTDIR);
    assert_int_equal(t_link(ROOT, 2, "hardlink"), 0);   /* a link to the symlink itself */
    struct stat st;
    assert_int_equal(lstat(in_share("hardlink"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* Through each kind of link out: the walk stops at the link. */
    assert_int_equal(t_walk(ROOT, 3, "rel", "x"), 1);
    assert_int_equal(t_walk(ROOT, 3, "up", "canary"), 1);
    assert_int_equal(t_walk(ROOT, 3, "rootlink", "etc", "passwd"), 1);
    assert_int_equal(t_walk(ROOT, 3, "out", "inner"), 1);
    /* A symlink fid as the directory of a request: ENOTDIR, nothing made out there. */
    assert_int_equal(t_walk(ROOT, 3, "out"), 1);
    assert_int_equal(t_walk(ROOT, 4, "rootlink"), 1);
    assert_int_equal(t_walk(ROOT, 5, "file"), 1);
    assert_int_equal(t_lcreate(3, "new", L_RDWR, 0644), -ENOTDIR);
    assert_int_equal(t_lopen(3, L_RDONLY | L_DIRECTORY), -ELOOP);
    assert_int_equal(t_mkdir(3, "new"), -ENOTDIR);
    assert_int_equal(t_mknod(3, "new", S_IFREG | 0644), -ENOTDIR);
    assert_int_equal(t_symlink(4, "minivmm-p9-escape", "x"), -ENOTDIR);
    assert_int_equal(t_link(3, 5, "new"), -ENOTDIR);
    assert_int_equal(t_renameat(ROOT, "file", 3, "new"), -ENOTDIR);
    assert_int_equal(t_renameat(3, "inner", ROOT, "stolen"), -ENOTDIR);
    assert_int_equal(t_unlinkat(3, "inner", 0), -ENOTDIR);
    m_begin(TRENAME), m32(5), m32(3), mstr("new");
    assert_int_equal(call(), -ENOTDIR);
    m_begin(TSTATFS), m32(4);
    assert_int_equal(call(), 0);   /* statfs of the link's own file system */
    assert_outside_unchanged();
}

/* The directory a fid stands for is renamed away on the host and a symlink out put in its
 * place: requests through the old fids stay inside the share or fail. */
static void test_swapped_dir(void **state)
{
    (void)state;
    assert_int_equal(t_walk(ROOT, 2, "dir"), 1);
    assert_int_equal(t_walk(ROOT, 3, "dir", "inner"), 2);
    assert_int_equal(t_walk(ROOT, 4, "dir", "sub"), 2);
    assert_int_equal(rename(in_share("dir"), in_share("moved")), 0);
    assert_int_equal(symlink("/", in_share("dir")), 0);
    assert_int_equal(t_walk(2, 5, "etc"), -ENOENT);          /* the fid is the moved dir */
    assert_int_equal(t_walk(2, 5, "inner"), 1);
    /* A file is reopened by its path from the root (see p9_reopen): the path now leads
     * through the symlink, so the open fails closed. */
    assert_int_equal(t_lopen(5, L_RDONLY), -ENOTDIR);
    assert_int_equal(t_lcreate(2, "made", L_RDWR, 0644), 0);
    assert_int_equal(access(in_share("moved/made"), F_OK), 0);
    assert_int_equal(t_walk(4, 6, ".."), 1);                  /* "dir": now the symlink */
    assert_int_equal(t_walk(6, 7, "etc"), -ENOTDIR);
    assert_int_equal(t_walk(ROOT, 7, "dir", "etc"), 1);
    assert_int_equal(t_lopen(3, L_RDONLY), -ENOTDIR);         /* reopened by name: refused */
    /* The same with the symlink leading to a directory that has an "inner". */
    assert_int_equal(unlink(in_share("dir")), 0);
    assert_int_equal(symlink(in_base("outside"), in_share("dir")), 0);
    assert_int_equal(t_lopen(3, L_RDWR), -ENOTDIR);
    assert_int_equal(t_setattr(3, 0x8, 0, 0), -ENOTDIR);
    assert_int_equal(t_remove(3), -ENOTDIR);
    assert_int_equal(t_walk(ROOT, 3, "dir", "inner"), 1);
    /* And a plain directory, not the fid's, put in its place: ESTALE, not the other file. */
    assert_int_equal(unlink(in_share("dir")), 0);
    assert_int_equal(mkdir(in_share("dir"), 0755), 0);
    put_file(in_share("dir/inner"), "impostor\n");
    assert_int_equal(t_walk(5, 8, "..", "inner"), 2);   /* fid 5's path is still dir/inner */
    assert_int_equal(t_walk(ROOT, 9, "moved", "inner"), 2);
    assert_int_equal(rename(in_share("moved/inner"), in_share("moved/inner2")), 0);
    assert_int_equal(t_lopen(9, L_RDONLY), -ENOENT);
    assert_outside_unchanged();
}

static atomic_bool stop;

/* Swaps share/dir with a symlink to BASE/outside and back, as fast as it can. */
static void *swapper(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        rename(in_share("dir"), in_share("real"));
        symlink(in_base("outside"), in_share("dir"));
        rename(in_share("dir"), in_share("link"));
        rename(in_share("real"), in_share("dir"));
    }
    return NULL;
}

static void test_swap_race(void **state)
{
    (void)state;
    pthread_t t;
    atomic_store(&stop, false);
    assert_int_equal(pthread_create(&t, NULL, swapper, NULL), 0);
    int opened = 0;
    for (int i = 0; i < 3000; i++) {
        char buf[64] = {0};
        if (t_walk(ROOT, 2, "dir", "inner") == 2) {
            if (t_lopen(2, L_RDONLY) == 0 && t_read(2, 0, 63, buf) > 0) {
                assert_string_equal(buf, "inner\n");
                opened++;
            }
            assert_int_equal(t_clunk(2), 0);
        }
        if (t_walk(ROOT, 3, "dir") == 1) {
            int n = t_walk(3, 4, "inner");
            if (n == 1 && t_lopen(4, L_RDONLY) == 0 && t_read(4, 0, 63, buf) > 0)
                assert_string_equal(buf, "inner\n");
            if (n == 1)
                assert_int_equal(t_clunk(4), 0);
            assert_int_equal(t_clunk(3), 0);
        }
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    assert_true(opened > 0);
}

static void test_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {"dir/inner", "../canary", "/etc", ".", "..", "", "a/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = bad[i];
        if (strcmp(n, ".."))
            assert_int_equal(t_walk(ROOT, 2, n), -EINVAL);
        assert_int_equal(t_lcreate(ROOT, n, L_RDWR, 0644), -EINVAL);
        assert_int_equal(t_mkdir(ROOT, n), -EINVAL);
        assert_int_equal(t_mknod(ROOT, n, S_IFREG | 0644), -EINVAL);
        assert_int_equal(t_symlink(ROOT, n, "x"), -EINVAL);
        assert_int_equal(t_renameat(ROOT, "file", ROOT, n), -EINVAL);
        assert_int_equal(t_renameat(ROOT, n, ROOT, "x"), -EINVAL);
        assert_int_equal(t_unlinkat(ROOT, n, 0), -EINVAL);
        assert_int_equal(t_unlinkat(ROOT, n, 0x200), -EINVAL);
    }
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    longname[256] = 0;
    assert_int_equal(t_mkdir(ROOT, longname), -ENAMETOOLONG);
    assert_int_equal(t_walk(ROOT, 2, longname), -ENAMETOOLONG);
    longname[255] = 0;
    assert_int_equal(t_mkdir(ROOT, longname), 0);
    assert_int_equal(t_walk(ROOT, 2, longname), 1);
    assert_outside_unchanged();
}

/* Deeper than a path may be: the walk refuses (ENAMETOOLONG) rather than lose track. */
static void test_deep(void **state)
{
    (void)state;
    char name[201];
    memset(name, 'd', 200), name[200] = 0;
    assert_int_equal(t_walkv(ROOT, 2, (const char *[]){NULL}, NULL), 0);
    int depth = 0, err;
    while ((err = t_mkdir(2, name)) == 0 && (err = t_walk(2, 2, name)) == 1)
        depth++;
    assert_int_equal(err, -ENAMETOOLONG);
    assert_int_equal(depth, (P9_PATH_MAX - 1) / 201);
    /* Back up with "..": sixteen at a time, never past the root. */
    const char *up[17] = {0};
    for (int i = 0; i < 16; i++)
        up[i] = "..";
    assert_int_equal(t_walkv(2, 3, up, NULL), 16);
    assert_int_equal(t_walkv(3, 4, up, NULL), depth - 16);
    assert_outside_unchanged();
}

static void test_rename_link_out(void **state)
{
    (void)state;
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_walk(ROOT, 3, "up"), 1);
    m_begin(TRENAME), m32(2), m32(ROOT), mstr("../file");
    assert_int_equal(call(), -EINVAL);
    m_begin(TRENAME), m32(2), m32(3), mstr("file");   /* into a symlink to ".." */
    assert_int_equal(call(), -ENOTDIR);
    m_begin(TRENAME), m32(ROOT), m32(3), mstr("x");   /* the root itself */
    assert_int_equal(call(), -EBUSY);
    assert_int_equal(t_link(ROOT, 2, "../linked"), -EINVAL);
    assert_int_equal(t_link(3, 2, "linked"), -ENOTDIR);
    /* A hard link made from a fid lands in the share, to the fid's file. */
    assert_int_equal(t_walk(ROOT, 4, "dir", "inner"), 2);
    assert_int_equal(t_link(ROOT, 4, "hl"), 0);
    struct stat a, b;
    assert_int_equal(stat(in_share("hl"), &a), 0);
    assert_int_equal(stat(in_share("dir/inner"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 2);
    assert_int_equal(t_walk(ROOT, 5, "dir"), 1);
    assert_int_equal(t_link(ROOT, 5, "dirlink"), -EPERM);   /* no hard links to directories */
    assert_outside_unchanged();
}

static void test_mknod_devices(void **state)
{
    (void)state;
    assert_int_equal(t_mknod(ROOT, "null", S_IFCHR | 0666), -EPERM);
    assert_int_equal(t_mknod(ROOT, "sda", S_IFBLK | 0666), -EPERM);
    assert_int_equal(t_mknod(ROOT, "d", S_IFDIR | 0755), -EINVAL);
    assert_int_equal(t_mknod(ROOT, "l", S_IFLNK | 0777), -EINVAL);
    assert_int_equal(t_mknod(ROOT, "w", 0xf000 | 0644), -EINVAL);
    assert_string_equal(host_list(share), "abs,dir,file,out,rel,rootlink,up,");
    /* A fifo the guest made, then "created" by its name: opening it would wait for a writer
     * for ever and take an I/O thread with it (then a reset, then the whole VM). Refused
     * at once instead; the alarm turns a hang into a failure. */
    assert_int_equal(t_mknod(ROOT, "p", S_IFIFO | 0644), 0);
    assert_int_equal(t_walkv(ROOT, 9, (const char *[]){NULL}, NULL), 0);
    alarm(5);
    assert_int_equal(t_lcreate(9, "p", 0 /* O_RDONLY */, 0644), -EINVAL);
    alarm(0);
}

/* Every entry below the share with its type, mode, size and times. */
static char snapshot_buf[8192];
static int snap_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)flag, (void)f;
    size_t n = strlen(snapshot_buf);
    snprintf(snapshot_buf + n, sizeof(snapshot_buf) - n, "%s %o %u %lld %lld.%ld %lld\n", p,
             st->st_mode, st->st_uid, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec);
    return 0;
}

static const char *snapshot(void)
{
    snapshot_buf[0] = 0;
    nftw(share, snap_one, 16, FTW_PHYS);
    return strdup(snapshot_buf);
}

static void test_read_only(void **state)
{
    (void)state;
    char *before = (char *)snapshot(), buf[64];
    assert_int_equal(t_walk(ROOT, 2, "file"), 1);
    assert_int_equal(t_walk(ROOT, 3, "dir"), 1);
    assert_int_equal(t_setattr(2, 0x1, 0777, 0), -EROFS);
    assert_int_equal(t_setattr(2, 0x8, 0, 0), -EROFS);
    assert_int_equal(t_setattr(2, 0x20 | 0x100, 0, 0), -EROFS);
    assert_int_equal(t_lopen(2, L_RDWR), -EROFS);
    assert_int_equal(t_lopen(2, L_WRONLY), -EROFS);
    assert_int_equal(t_lopen(2, L_RDONLY | L_TRUNC), -EROFS);
    assert_int_equal(t_lopen(2, L_RDONLY | 02000), -EROFS);   /* append */
    assert_int_equal(t_lcreate(3, "new", L_RDWR, 0644), -EROFS);
    assert_int_equal(t_mkdir(3, "new"), -EROFS);
    assert_int_equal(t_mknod(3, "new", S_IFIFO | 0644), -EROFS);
    assert_int_equal(t_symlink(3, "new", "x"), -EROFS);
    assert_int_equal(t_link(3, 2, "new"), -EROFS);
    assert_int_equal(t_renameat(ROOT, "file", 3, "new"), -EROFS);
    m_begin(TRENAME), m32(2), m32(3), mstr("new");
    assert_int_equal(call(), -EROFS);
    assert_int_equal(t_unlinkat(ROOT, "file", 0), -EROFS);
    assert_int_equal(t_unlinkat(3, "sub", 0x200), -EROFS);
    assert_int_equal(t_walk(ROOT, 4, "file"), 1);
    assert_int_equal(t_remove(4), -EROFS);
    assert_int_equal(t_clunk(4), -EBADF);   /* clunked all the same */
    m_begin(TXATTRCREATE), m32(2), mstr("user.x"), m64(1), m32(0);
    assert_int_not_equal(call(), 0);
    /* Reading is what a read-only share is for. */
    assert_int_equal(t_lopen(2, L_RDONLY), 0);
    assert_int_equal(t_read(2, 0, 64, buf), 12);
    assert_int_equal(t_write(2, 0, "x", 1), -EROFS);
    assert_int_equal(t_lopen(3, L_RDONLY | L_DIRECTORY), 0);
    char *after = (char *)snapshot();
    assert_string_equal(after, before);
    free(before), free(after);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_rw, teardown_share)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_dotdot), T(test_symlinks_out), T(test_swapped_dir), T(test_swap_race),
        T(test_bad_names), T(test_deep), T(test_rename_link_out), T(test_mknod_devices),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
