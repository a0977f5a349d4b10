/* The server's life and its fid table.
 *
 * Fids are reference-counted: a request holds a reference while it uses a fid's descriptors,
 * so a Tclunk (or a Twalk/Tlcreate that replaces the fid) on another I/O thread never closes a
 * descriptor in use: the number could otherwise be reused by any other open in minivmm (a disk
 * image, /dev/kvm) and a request would then act on that. One mutex guards the table, the
 * counts, each fid's path and open descriptor; no system call runs under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_budget.h"
#include "p9_impl.h"

int p9_server_create(struct p9_server **out, const char *root, bool ro, struct mvm_err *e)
{
    *out = NULL;
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot share %s: %s: give an existing directory",
                        root, mvm_strerror(errno));
    struct p9_server *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        return mvm_fail(e, MVM_E_VMM, "out of memory creating the 9p server for %s", root);
    }
    s->root_fd = fd;
    s->ro = ro;
    s->msize = P9_MAX_MSIZE;
    /* Each fid holds a descriptor or two: an eighth of the table's fids, a quarter of it. */
    s->max_fids = fd_budget(P9_MAX_FIDS);
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

int p9_server_root_fd(const struct p9_server *s)
{
    return s->root_fd;
}

void p9_server_destroy(struct p9_server *s)
{
    if (!s)
        return;
    p9_fid_clear(s);
    pthread_mutex_destroy(&s->lock);
    close(s->root_fd);
    free(s);
}

struct p9_fid *p9_fid_new(uint32_t num, int fd, char *path)
{
    struct p9_fid *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    *f = (struct p9_fid){.num = num, .refs = 1, .fd = fd, .ofd = -1, .path = path};
    pthread_mutex_init(&f->dir_lock, NULL);
    return f;
}

static void fid_free(struct p9_fid *f)
{
    close(f->fd);
    if (f->ofd >= 0)
        close(f->ofd);
    pthread_mutex_destroy(&f->dir_lock);
    free(f->path);
    free(f);
}

static struct p9_fid **slot(struct p9_server *s, uint32_t num)
{
    struct p9_fid **p = &s->buckets[(num ^ (num >> 8) ^ (num >> 16)) % P9_FID_BUCKETS];
    while (*p && (*p)->num != num)
        p = &(*p)->next;
    return p;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t num)
{
    pthread_mutex_lock(&s->lock);
    struct p9_fid *f = *slot(s, num);
    if (f)
        f->refs++;
    pthread_mutex_unlock(&s->lock);
    return f;
}

void p9_fid_put(struct p9_server *s, struct p9_fid *f)
{
    pthread_mutex_lock(&s->lock);
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last)
        fid_free(f);
}

int p9_fid_insert(struct p9_server *s, struct p9_fid *f)
{
    if (f->num == P9_NOFID)
        return -EINVAL;
    int err = 0;
    pthread_mutex_lock(&s->lock);
    struct p9_fid **p = slot(s, f->num);
    if (*p)
        err = -EEXIST;
    else if (s->nfids >= s->max_fids)
        err = -EMFILE;
    else {
        f->next = NULL;
        f->refs++;
        *p = f;
        s->nfids++;
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

int p9_fid_replace(struct p9_server *s, struct p9_fid *old, struct p9_fid *nf)
{
    pthread_mutex_lock(&s->lock);
    struct p9_fid **p = slot(s, old->num);
    if (*p != old) {
        pthread_mutex_unlock(&s->lock);
        return -EBADF;
    }
    nf->num = old->num;
    nf->next = old->next;
    nf->refs++;
    *p = nf;
    old->refs--;   /* the table's; the caller still holds one, so this is never the last */
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int p9_fid_clunk(struct p9_server *s, uint32_t num)
{
    pthread_mutex_lock(&s->lock);
    struct p9_fid **p = slot(s, num), *f = *p;
    if (f) {
        *p = f->next;
        s->nfids--;
    }
    pthread_mutex_unlock(&s->lock);
    if (!f)
        return -EBADF;
    p9_fid_put(s, f);
    return 0;
}

void p9_fid_clear(struct p9_server *s)
{
    for (unsigned b = 0; b < P9_FID_BUCKETS; b++) {
        pthread_mutex_lock(&s->lock);
        struct p9_fid *f = s->buckets[b];
        s->buckets[b] = NULL;
        pthread_mutex_unlock(&s->lock);
        while (f) {
            struct p9_fid *next = f->next;
            pthread_mutex_lock(&s->lock);
            s->nfids--;
            pthread_mutex_unlock(&s->lock);
            p9_fid_put(s, f);
            f = next;
        }
    }
}

char *p9_fid_path(struct p9_server *s, const struct p9_fid *f)
{
    pthread_mutex_lock(&s->lock);
    char *p = strdup(f->path);
    pthread_mutex_unlock(&s->lock);
    return p;
}

int p9_fid_ofd(struct p9_server *s, const struct p9_fid *f)
{
    pthread_mutex_lock(&s->lock);
    int fd = f->ofd;
    pthread_mutex_unlock(&s->lock);
    return fd;
}

int p9_fid_set_ofd(struct p9_server *s, struct p9_fid *f, int ofd)
{
    int err = 0;
    pthread_mutex_lock(&s->lock);
    if (f->ofd >= 0)
        err = -EBADF;
    else
        f->ofd = ofd;
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* path with its leading `from` replaced by `to`, if path is `from` or beneath it. */
static char *moved(const char *path, const char *from, const char *to)
{
    size_t n = strlen(from);
    if (strncmp(path, from, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return NULL;
    size_t tl = strlen(to), rl = strlen(path + n);
    if (tl + rl + 1 > P9_PATH_MAX)
        return NULL;   /* left stale: ".." and reopening then fail, nothing escapes */
    char *p = malloc(tl + rl + 1);
    if (p) {
        memcpy(p, to, tl);
        memcpy(p + tl, path + n, rl + 1);
    }
    return p;
}

void p9_fid_renamed(struct p9_server *s, const char *from, const char *to)
{
    if (from[0] == '\0')
        return;
    pthread_mutex_lock(&s->lock);
    for (unsigned b = 0; b < P9_FID_BUCKETS; b++)
        for (struct p9_fid *f = s->buckets[b]; f; f = f->next) {
            char *p = moved(f->path, from, to);
            if (p) {
                free(f->path);
                f->path = p;
            }
        }
    pthread_mutex_unlock(&s->lock);
}
