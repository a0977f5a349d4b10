/* blkzero: zeroes a range of a block device the way the kernel's own users do, for the boot
 * test of virtio-blk WRITE_ZEROES (busybox's blkdiscard has no -z).
 *
 *   blkzero DEVICE OFFSET LENGTH          FALLOC_FL_ZERO_RANGE: write zeroes, keep the blocks
 *   blkzero DEVICE OFFSET LENGTH unmap    FALLOC_FL_PUNCH_HOLE: write zeroes that may unmap
 *
 * On a block device the kernel turns both into REQ_OP_WRITE_ZEROES (the first with
 * REQ_NOUNMAP), falling back to writing zero pages only for ZERO_RANGE when the device has no
 * write zeroes; PUNCH_HOLE then fails instead, so the test sees the device was used. */
#define _GNU_SOURCE   /* fallocate */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "unmap") == 0)) {
        fprintf(stderr, "usage: blkzero DEVICE OFFSET LENGTH [unmap]\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY);
    if (fd < 0) {
        fprintf(stderr, "blkzero: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int mode = (argc == 5 ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE;
    if (fallocate(fd, mode, strtoll(argv[2], NULL, 0), strtoll(argv[3], NULL, 0)) != 0) {
        fprintf(stderr, "blkzero: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    return close(fd) == 0 ? 0 : 1;
}
