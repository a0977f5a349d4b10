/* pipesize FIFO BYTES: sets the capacity of the pipe behind FIFO, which the caller holds open
 * (a pipe lives as long as one end is open), so that a boot test can fill it in seconds: a
 * guest console writes some 15 KiB/s in the emulated host, and a pipe of a 64 KiB-page
 * kernel holds 1 MiB. The kernel rounds BYTES up to a page. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pipesize FIFO BYTES\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fcntl(fd, F_SETPIPE_SZ, atoi(argv[2])) < 0) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    return 0;
}
