/* virtio-blk: a raw disk image (regular file or block device) as /dev/vdX.
 *
 * Requests run on the device's own I/O threads, so a slow disk never stalls a vCPU: a
 * notification only wakes one, and a thread that finds a request wakes another, so as many
 * are in hand at once as the driver queued (up to a few). Every request is bounds-checked
 * against the image; a host I/O error becomes VIRTIO_BLK_S_IOERR for that request, never a
 * dead VMM.
 */
#ifndef MINIVMM_VIRTIO_BLK_H
#define MINIVMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/err.h"

struct machine;
struct virtio_blk;

#define DISK_SERIAL_MAX 20   /* VIRTIO_BLK_ID_BYTES */

struct disk_config {
    char path[4096];
    bool ro;
    bool direct;             /* cache=none: O_DIRECT */
    bool snapshot;           /* writes go to a private copy-on-write mapping, then vanish */
    char serial[DISK_SERIAL_MAX + 1];
};

/* Parses "PATH[,ro][,cache=writeback|none][,serial=S]". */
int disk_parse(const char *spec, struct disk_config *d, struct mvm_err *e);

/* Opens the image and plugs a virtio-blk device into m's PCI host bridge. The I/O threads
 * start with virtio_blk_start(). */
int virtio_blk_create(struct virtio_blk **out, struct machine *m, const struct disk_config *d,
                      struct mvm_err *e);
int virtio_blk_start(struct virtio_blk *b, struct mvm_err *e);
/* Stops the I/O threads (each finishes the request in hand), flushes and closes the image. */
void virtio_blk_destroy(struct virtio_blk *b);

/* What the host says about O_DIRECT on an image (cache=none); 0 where it says nothing. */
struct dio_facts {
    bool blockdev;                   /* a block device, else a regular file */
    bool statx_dio;                  /* statx reported STATX_DIOALIGN (Linux 6.1+)... */
    uint32_t mem_align, offset_align;   /* ...these: both 0 if the file has no O_DIRECT */
    uint32_t logical_block;          /* BLKSSZGET, for a block device */
};

/* The block size to tell the guest so that its requests suit O_DIRECT on the image (offsets,
 * lengths and, mostly, buffers aligned to it), or 0 if no size a guest accepts will do.
 * Pure, for the tests: open_image() gathers the facts. */
uint32_t virtio_blk_dio_block(const struct dio_facts *f);

/* The transport side, for the VMM to wire up notifications. */
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);

/* Processes every available request now, one at a time on the calling thread (what the unit
 * tests and fuzzers drive; the I/O threads do the same in parallel). Returns the number of
 * requests completed. */
unsigned virtio_blk_process(struct virtio_blk *b);

#endif
