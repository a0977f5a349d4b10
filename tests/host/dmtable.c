/* dmtable: creates or removes a device-mapper device, for the boot tests' failing-disk case
 * (an emulated host has no dmsetup: this is the part of it the test needs).
 *
 *   dmtable create NAME "START LENGTH TARGET ARGS" ...   prints the new device's /dev path
 *   dmtable remove NAME
 *
 * e.g. dmtable create flaky "0 128 linear /dev/loop0 0" "128 16256 error": the first 64 KiB
 * reach the loop device, every sector after them fails with EIO. */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BUF_SIZE 16384

static _Alignas(8) char buf[BUF_SIZE];

static struct dm_ioctl *header(const char *name, size_t size)
{
    struct dm_ioctl *io = (struct dm_ioctl *)buf;
    memset(buf, 0, sizeof(buf));
    /* The oldest interface version this speaks: the kernel refuses a caller that claims a
     * newer minor than its own, as headers newer than the running kernel would. */
    io->version[0] = DM_VERSION_MAJOR;
    io->data_size = (uint32_t)size;
    io->data_start = sizeof(*io);
    snprintf(io->name, sizeof(io->name), "%s", name);
    return io;
}

static int call(int fd, unsigned long req, const char *what, const char *name)
{
    if (ioctl(fd, req, buf) == 0)
        return 0;
    fprintf(stderr, "dmtable: %s %s: %s\n", what, name, strerror(errno));
    return -1;
}

/* The table follows the header: one dm_target_spec per target, each followed by its
 * parameter string and padded to 8 bytes; `next` is the distance to the following spec. */
static int load_table(int fd, const char *name, int n, char **targets)
{
    size_t off = sizeof(struct dm_ioctl);
    struct dm_ioctl *io = header(name, BUF_SIZE);
    for (int i = 0; i < n; i++) {
        unsigned long long start, len;
        char type[DM_MAX_TYPE_NAME];
        int used = 0;
        if (sscanf(targets[i], "%llu %llu %15s %n", &start, &len, type, &used) < 3) {
            fprintf(stderr, "dmtable: bad target '%s' (want START LENGTH TARGET ARGS)\n",
                    targets[i]);
            return -1;
        }
        const char *params = targets[i] + used;
        size_t need = (sizeof(struct dm_target_spec) + strlen(params) + 1 + 7) & ~(size_t)7;
        if (off + need > BUF_SIZE) {
            fprintf(stderr, "dmtable: table too large\n");
            return -1;
        }
        struct dm_target_spec *spec = (struct dm_target_spec *)(buf + off);
        spec->sector_start = start;
        spec->length = len;
        snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
        strcpy((char *)(spec + 1), params);
        spec->next = (uint32_t)need;
        off += need;
    }
    io->target_count = (uint32_t)n;
    io->data_size = (uint32_t)off;
    return call(fd, DM_TABLE_LOAD, "loading the table of", name);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "create") && strcmp(argv[1], "remove")) ||
        (!strcmp(argv[1], "create") && argc < 4)) {
        fprintf(stderr, "usage: dmtable create NAME \"START LENGTH TARGET ARGS\" ...\n"
                        "       dmtable remove NAME\n");
        return 2;
    }
    const char *name = argv[2];
    int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "dmtable: /dev/mapper/control: %s (is dm-mod loaded?)\n",
                strerror(errno));
        return 1;
    }
    if (!strcmp(argv[1], "remove")) {
        header(name, sizeof(struct dm_ioctl));
        return call(fd, DM_DEV_REMOVE, "removing", name) ? 1 : 0;
    }
    header(name, sizeof(struct dm_ioctl));
    if (call(fd, DM_DEV_CREATE, "creating", name))
        return 1;
    int r = load_table(fd, name, argc - 3, argv + 3);
    if (r == 0) {
        /* Resuming (a suspend call without DM_SUSPEND_FLAG) makes the loaded table live. */
        header(name, sizeof(struct dm_ioctl));
        r = call(fd, DM_DEV_SUSPEND, "resuming", name);
    }
    if (r) {
        header(name, sizeof(struct dm_ioctl));
        ioctl(fd, DM_DEV_REMOVE, buf);
        return 1;
    }
    printf("/dev/dm-%u\n", minor(((struct dm_ioctl *)buf)->dev));
    return 0;
}
