/* virtio-blk DISCARD and WRITE_ZEROES (virtio 1.1 §5.2.6): the ranges a request carries are
 * copied out of the chain once, all checked against the limits the device advertised and the
 * image's size, and only then carried out, so a refused request leaves the image as it was.
 */
#ifndef MINIVMM_BLK_DISCARD_H
#define MINIVMM_BLK_DISCARD_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

/* The limits the configuration space advertises (and requests are held to). Discarding is
 * cheap (a hole punched, or nothing), so its ranges may be large; zeroing may fall back to
 * writing zeros, so its ranges are kept to what a disk thread writes in well under a second:
 * a VM that stops waits for the request in hand. Linux sends one range per write-zeroes
 * request and merges discards up to max_discard_seg ranges. */
#define BLK_DISCARD_MAX_SECTORS (1u << 22)    /* 2 GiB per range */
#define BLK_ZEROES_MAX_SECTORS (1u << 16)     /* 32 MiB per range */
#define BLK_DWZ_MAX_SEG 16u                   /* ranges per request, both kinds */
/* Host file systems punch holes in whole blocks (4 KiB nearly everywhere); a guest that
 * discards in such blocks frees space, a smaller discard only zeroes. */
#define BLK_DISCARD_ALIGN_SECTORS 8u

/* The image a request works on: a file or block device (fd), or a --snapshot's private map. */
struct blk_image {
    int fd;
    uint8_t *snap;            /* if set, the whole image as this run sees it; fd is read-only */
    uint64_t size;            /* bytes, a multiple of 512 */
};

/* Carries out a VIRTIO_BLK_T_DISCARD or VIRTIO_BLK_T_WRITE_ZEROES request (type) whose
 * header is the first 16 readable bytes of c; returns its status. The caller has refused it
 * on a read-only disk and when the feature was not negotiated. */
uint8_t blk_discard_zeroes(const struct blk_image *im, uint32_t type, const struct virtq_chain *c);

#endif
