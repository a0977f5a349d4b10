/* The 9p server (devices/p9*.c) fed a guest's messages: per input a fresh server on a fresh
 * share (a few files, a directory, symlinks out), root already attached as fid 0, then the
 * input as a sequence of requests, each
 *
 *     len[2] shape[1] message[len]
 *
 * shape bit 0: keep the message's own size field (else it is set to len); bits 1-3: the reply
 * buffer's size (from none to P9_MAX_MSIZE); bits 4-7: the size of the pieces both buffers
 * are cut into (0: one piece), each piece its own allocation so AddressSanitizer sees any
 * access past it. After each input the canary outside the share, and a file in a directory
 * outside that a symlink leads to, must be untouched and unread: anything else aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../devices/p9.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char base[64], share[96];
static int base_fd = -1;

static void put(int dir, const char *name, const char *text)
{
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
}

static void old_times(int dir, const char *name)
{
    struct timespec ts[2] = {{1000, 0}, {2000, 0}};
    if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW))
        abort();
}

/* rm -r by descriptors (the guest may have made paths longer than PATH_MAX), and it may have
 * left directories without search permission: those get it back first. */
static void rm_tree(int dir, const char *name)
{
    if (unlinkat(dir, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
        return;
    fchmodat(dir, name, 0700, 0);
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rm_tree(fd, e->d_name);
    if (d)
        closedir(d);
    unlinkat(dir, name, AT_REMOVEDIR);
}

/* The share as every input starts from. */
static void make_share(void)
{
    rm_tree(base_fd, "share");
    if (mkdirat(base_fd, "share", 0755))
        abort();
    int s = openat(base_fd, "share", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s < 0 || mkdirat(s, "dir", 0755))
        abort();
    put(s, "file", "hello world\n");
    put(s, "dir/inner", "inner\n");
    char target[128];
    snprintf(target, sizeof(target), "%s/canary", base);
    if (symlinkat(target, s, "abs") || symlinkat("../canary", s, "rel") ||
        symlinkat("/", s, "rootlink") || symlinkat("../outside", s, "out"))
        abort();
    close(s);
}

/* At exit: the scratch directory goes (libFuzzer leaves through exit()). */
static void remove_base(void)
{
    rm_tree(AT_FDCWD, base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    strcpy(base, "/tmp/minivmm-fuzz-p9.XXXXXX");
    if (!mkdtemp(base) || (base_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        abort();
    snprintf(share, sizeof(share), "%s/share", base);
    put(base_fd, "canary", "CANARY\n");
    old_times(base_fd, "canary");
    if (mkdirat(base_fd, "outside", 0755))
        abort();
    put(base_fd, "outside/inner", "OUTSIDE\n");
    old_times(base_fd, "outside/inner");
    atexit(remove_base);
    return 0;
}

/* The file outside: same content, never read (atime), never written or linked. */
static void check_untouched(const char *name, const char *text)
{
    struct stat st;
    char buf[32] = {0};
    int fd = openat(base_fd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) || read(fd, buf, sizeof(buf) - 1) < 0)
        abort();
    close(fd);
    if (strcmp(buf, text) || st.st_nlink != 1 || st.st_atim.tv_sec != 1000 ||
        st.st_mtim.tv_sec != 2000 || (st.st_mode & 07777) != 0644)
        abort();
}

static const size_t reply_caps[8] = {0, 7, 11, 24, 160, 4096, 8192 + 11, P9_MAX_MSIZE};

/* len bytes (from data, or uninitialised) cut into pieces of `piece` bytes (0: one). */
static unsigned cut(const uint8_t *data, size_t len, size_t piece, struct iovec *v,
                    unsigned max)
{
    unsigned n = 0;
    for (size_t at = 0; (at < len || n == 0) && n < max; n++) {
        size_t k = len - at;
        if (piece && piece < k && n + 1 < max)
            k = piece;
        v[n].iov_base = malloc(k ? k : 1);
        v[n].iov_len = k;
        if (!v[n].iov_base)
            abort();
        if (data)
            memcpy(v[n].iov_base, data + at, k);
        at += k;
    }
    return n;
}

static void request(struct p9_server *s, uint8_t *m, size_t len, uint8_t shape)
{
    static struct iovec out[300], in[300];
    if (!(shape & 1) && len >= 4)
        for (unsigned i = 0; i < 4; i++)
            m[i] = (uint8_t)(len >> (8 * i));
    size_t cap = reply_caps[(shape >> 1) & 7], piece = shape >> 4;
    unsigned nout = cut(m, len, piece, out, 300);
    unsigned nin = cut(NULL, cap, piece ? piece * 7 : 0, in, 300);
    size_t n = p9_handle(s, out, nout, in, nin);
    if (n > cap || (n != 0 && n < 7))
        abort();
    for (unsigned i = 0; i < nout; i++)
        free(out[i].iov_base);
    for (unsigned i = 0; i < nin; i++)
        free(in[i].iov_base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t m[65536 + 8];
    make_share();
    struct p9_server *s;
    struct mvm_err e = {0};
    if (p9_server_create(&s, share, size > 0 && data[0] == 'R', &e))
        abort();
    /* Tattach fid 0, NOFID, "", "", 0: the root, as a guest would start. */
    static const uint8_t attach[] = {23, 0, 0, 0, 104, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
                                     0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(m, attach, sizeof(attach));
    request(s, m, sizeof(attach), 0xa);
    for (size_t at = 0; at + 3 <= size;) {
        size_t len = data[at] | (size_t)data[at + 1] << 8;
        uint8_t shape = data[at + 2];
        at += 3;
        if (len > size - at)
            len = size - at;
        memcpy(m, data + at, len);
        at += len;
        request(s, m, len, shape);
    }
    p9_server_destroy(s);
    check_untouched("canary", "CANARY\n");
    check_untouched("outside/inner", "OUTSIDE\n");
    return 0;
}
