/* A whole virtio-blk device on a 64 KiB scratch image: per input a fresh machine whose RAM
 * (64 KiB) holds the rest of the input, a driver bring-up through BAR 0 with values from the
 * program, then BAR accesses, notifications and virtio_blk_process() as the program says.
 * Requests, DISCARD and WRITE_ZEROES among them (seeds discard-*), come from guest memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtio_blk.h"
#include "../../devices/virtio_pci.h"
#include "fuzz_common.h"

#define RAM 0x10000u
#define IMG_SIZE 0x10000u
#define MAX_OPS 64

/* The images, as /proc/self/fd/N: one in $TMPDIR and one on tmpfs (/dev/shm, where there is
 * one), whose lack of FALLOC_FL_ZERO_RANGE sends write zeroes down its zero-writing path. */
static char img_path[2][64];

/* An image of IMG_SIZE bytes in dir, created and unlinked at once; each device opens it
 * through /proc. Returns 0, or -1 if dir has no room for it. */
static int make_image(const char *dir, char *path_out, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/minivmm-fuzz-blk-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    uint8_t sector[512];
    for (unsigned off = 0; off < IMG_SIZE; off += sizeof(sector)) {
        memset(sector, (uint8_t)(off / 512), sizeof(sector));
        if (pwrite(fd, sector, sizeof(sector), off) != (ssize_t)sizeof(sector)) {
            close(fd);
            return -1;
        }
    }
    snprintf(path_out, len, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (make_image(dir, img_path[0], sizeof(img_path[0])) != 0)
        abort();
    if (make_image("/dev/shm", img_path[1], sizeof(img_path[1])) != 0)
        memcpy(img_path[1], img_path[0], sizeof(img_path[0]));
    return 0;
}

/* The disk as -d would give it: options from the mode bits (1 ro, 2 no serial, 4 snapshot,
 * 8 the tmpfs image), through disk_parse(). */
static void configure(struct disk_config *d, uint8_t mode)
{
    char spec[512];
    struct mvm_err e = {0};
    const char *path = img_path[(mode >> 3) & 1];
    snprintf(spec, sizeof(spec), "%s%s%s%s", path, (mode & 1) ? ",ro" : "",
             (mode & 2) ? "" : ",serial=fuzz-serial-0123456", (mode & 4) ? ",snapshot" : "");
    if (disk_parse(spec, d, &e) != 0 && disk_parse(path, d, &e) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz prog, mem;
    fz_split(data, size, &prog, &mem);
    struct machine *m = fz_machine_new(RAM, &mem);
    struct disk_config d;
    struct mvm_err e = {0};
    struct virtio_blk *b;
    configure(&d, fz_u8(&prog));
    if (virtio_blk_create(&b, m, &d, &e) != 0)
        abort();   /* the image is fine: creation must work */
    struct pci_device *pdev = &virtio_blk_dev(b)->pci;

    fz_virtio_setup(m, pdev, 1, &prog);
    for (unsigned i = 0; i < MAX_OPS && prog.n; i++)
        if (fz_virtio_op(m, pdev, &prog) == 3)
            virtio_blk_process(b);
    virtio_blk_process(b);

    virtio_blk_destroy(b);
    fz_machine_free(m);
    return 0;
}
