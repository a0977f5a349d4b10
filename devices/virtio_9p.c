/* virtio-9p: a host directory in the guest, which mounts it with
 * `mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 TAG DIR`.
 *
 * This file is the device: its SPEC (--share HOSTDIR[,tag=TAG][,ro]), its configuration
 * space (the mount tag), and its one request queue, served off the vCPUs by I/O threads
 * (vq_workers.c) that run each request through the file server (p9.c) with the guest's own
 * buffers, so file data moves between the host file and guest memory in one copy. The
 * threads restrict themselves as the machine says for threads that touch files (seccomp,
 * and Landlock to the shared directory where the host has it).
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../vmm/machine.h"
#include "device.h"
#include "p9.h"
#include "spec.h"
#include "virtio_pci.h"
#include "vq_workers.h"

#define TAG_MAX 64          /* what the guest's mount takes comfortably; Linux allows more */
#define SHARE_WORKERS 4
#define P9_HEADER 7         /* size[4] type[1] tag[2]: the least a message or a reply has */
#define PCI_DEVICE_9P (0x1040 + VIRTIO_ID_9P)

struct virtio_9p {
    struct virtio_dev vdev;      /* first: the transport hands us back this pointer */
    struct p9_server *server;
    char root[4096];
    char tag[TAG_MAX + 1];
    bool ro;
    struct vq_workers io;
};

struct share_spec {
    char root[4096];
    char tag[TAG_MAX + 1];       /* "" when the user gave none */
    bool ro;
};

static int share_parse(const char *spec, struct share_spec *s, struct mvm_err *e)
{
    memset(s, 0, sizeof(*s));
    const char *rest = spec_path(spec, s->root, sizeof(s->root));
    if (!rest)
        return mvm_fail(e, MVM_E_INPUT, "--share: directory path too long");
    if (!s->root[0])
        return mvm_fail(e, MVM_E_INPUT, "--share %s: no directory", spec);
    while (*rest == ',') {
        const char *opt = rest + 1;
        size_t len = strcspn(opt, ",");
        rest = opt + len;
        if (len == 2 && strncmp(opt, "ro", 2) == 0) {
            s->ro = true;
        } else if (len > 4 && strncmp(opt, "tag=", 4) == 0) {
            if (len - 4 > TAG_MAX)
                return mvm_fail(e, MVM_E_INPUT, "--share %s: a tag has at most %d characters",
                                spec, TAG_MAX);
            memcpy(s->tag, opt + 4, len - 4);
            s->tag[len - 4] = '\0';
        } else {
            return mvm_fail(e, MVM_E_INPUT, "--share %s: unknown option '%.*s' (use tag=TAG, ro)",
                            spec, (int)len, opt);
        }
    }
    return 0;
}

static struct virtio_9p *p9_of(struct virtio_dev *v)
{
    return (struct virtio_9p *)v;
}

/* The shares already on the machine's bridge, in order: the default tags count them. */
static struct virtio_9p *share_at(struct machine *m, unsigned i)
{
    for (unsigned k = 0, n = 0; m->pci && k < m->pci->ndev; k++) {
        const uint8_t *cfg = m->pci->dev[k]->cfg;
        if ((cfg[2] | cfg[3] << 8) == PCI_DEVICE_9P && n++ == i)
            return p9_of(m->pci->dev[k]->opaque);
    }
    return NULL;
}

static void config_read(struct virtio_dev *v, uint32_t off, uint8_t *data, uint32_t len)
{
    struct virtio_9p *p = p9_of(v);
    uint8_t cfg[2 + TAG_MAX] = {0};
    size_t n = strlen(p->tag);
    cfg[0] = (uint8_t)n;   /* tag_len, little-endian */
    memcpy(cfg + 2, p->tag, n);
    memcpy(data, cfg + off, len);
}

static void share_notify(struct virtio_dev *v, uint16_t q)
{
    (void)q;
    vq_workers_notify(&p9_of(v)->io);
}

static int share_queue_eventfd(struct virtio_dev *v, uint16_t q)
{
    (void)q;
    return vq_workers_eventfd(&p9_of(v)->io);
}

static void share_reset(struct virtio_dev *v)
{
    vq_workers_quiesce(&p9_of(v)->io);
}

static const struct virtio_ops share_ops = {
    .device_id = VIRTIO_ID_9P,
    .pci_class = 0x018000,       /* mass storage, other (as QEMU's virtio-9p-pci) */
    .num_queues = 1,
    .features = 1ULL << VIRTIO_9P_MOUNT_TAG,
    .config_size = 2 + TAG_MAX,  /* the guest reads tag_len first, then that many bytes */
    .config_read = config_read,
    .notify = share_notify,
    .queue_eventfd = share_queue_eventfd,
    .reset = share_reset,
};

/* A request needs at least a message header to read and room for a reply's. */
static int share_take(void *opaque, struct virtq_chain *c)
{
    return virtio_take(&((struct virtio_9p *)opaque)->vdev, 0, c, P9_HEADER, P9_HEADER);
}

static void share_serve(void *opaque, struct virtq_chain *c)
{
    struct virtio_9p *p = opaque;
    struct virtio_dev *v = &p->vdev;
    size_t n = p9_handle(p->server, c->iov, c->n_out, c->iov + c->n_out, c->n_in);
    virtio_complete(v, 0, c->head, (uint32_t)n);
}

/* The file threads' own restriction: seccomp for file calls, and the share alone. */
static int share_thread_init(void *opaque)
{
    struct virtio_9p *p = opaque;
    struct machine *m = p->vdev.m;
    if (!m->file_thread_init || m->file_thread_init(m, p9_server_root_fd(p->server)) == 0)
        return 0;
    m->ops->shutdown(m, MVM_E_HOST, "a shared-directory thread could not restrict itself with "
                     "seccomp or Landlock; run with --no-seccomp");
    return -1;
}

static void share_destroy(void *dev)
{
    struct virtio_9p *p = dev;
    if (!p)
        return;
    vq_workers_destroy(&p->io);   /* each worker finishes the request in hand */
    if (p->server)
        p9_server_destroy(p->server);
    if (p->vdev.m)
        virtio_pci_destroy(&p->vdev);
    free(p);
}

static void *share_create(struct machine *m, const char *spec, bool snapshot_all,
                          struct mvm_err *e)
{
    (void)snapshot_all;
    struct share_spec s;
    if (share_parse(spec, &s, e))
        return NULL;
    unsigned index = 0;
    for (struct virtio_9p *o; (o = share_at(m, index)); index++)
        if (s.tag[0] && strcmp(o->tag, s.tag) == 0)
            return mvm_fail(e, MVM_E_INPUT, "--share %s: tag '%s' is taken: give each share "
                            "its own tag=", spec, s.tag), NULL;
    struct virtio_9p *p = calloc(1, sizeof(*p));
    if (!p)
        return mvm_fail(e, MVM_E_VMM, "out of memory"), NULL;
    snprintf(p->root, sizeof(p->root), "%s", s.root);
    if (s.tag[0])
        snprintf(p->tag, sizeof(p->tag), "%s", s.tag);
    else
        snprintf(p->tag, sizeof(p->tag), "share%u", index);   /* share0, share1, ... */
    p->ro = s.ro;
    if (p9_server_create(&p->server, p->root, p->ro, e) ||
        vq_workers_init(&p->io, SHARE_WORKERS, "shared directory", share_take, share_serve,
                        share_thread_init, p, e))
        goto fail;
    int r = virtio_pci_init(&p->vdev, m, &share_ops);
    if (r) {
        mvm_fail(e, MVM_E_INPUT, "cannot add the share %s: no free PCI slot", p->root);
        goto fail;
    }
    return p;
fail:
    share_destroy(p);
    return NULL;
}

/* The directory must exist now: a typo is refused before anything is built. */
static int share_check(const char *spec, struct mvm_err *e)
{
    struct share_spec s;
    struct stat st;
    if (share_parse(spec, &s, e))
        return -1;
    if (stat(s.root, &st) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--share %s: %s", s.root, mvm_strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mvm_fail(e, MVM_E_INPUT, "--share %s: not a directory", s.root);
    return 0;
}

static int share_start(void *dev, struct mvm_err *e)
{
    return vq_workers_start(&((struct virtio_9p *)dev)->io, e);
}

static struct virtio_dev *share_virtio(void *dev)
{
    return &((struct virtio_9p *)dev)->vdev;
}

static void share_describe(void *dev, char *buf, size_t len)
{
    struct virtio_9p *p = dev;
    snprintf(buf, len, "shares %s as '%s'%s (virtio-9p: mount -t 9p -o trans=virtio,"
             "version=9p2000.L,msize=%d %s DIR)", p->root, p->tag, p->ro ? ", read-only" : "",
             P9_MAX_MSIZE, p->tag);
}

const struct device_kind virtio_9p_kind = {
    .name = "share",
    .usage = "      --share SPEC      a host directory in the guest (virtio-9p, 9P2000.L):\n"
             "                        HOSTDIR[,tag=TAG][,ro] (repeatable; tags default to\n"
             "                        share0, share1, ...; ro: the server refuses writes)\n",
    .max = 16,
    .check = share_check,
    .create = share_create,
    .start = share_start,
    .destroy = share_destroy,
    .virtio = share_virtio,
    .describe = share_describe,
};
