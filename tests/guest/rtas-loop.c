/*
 * rtas-loop [SECONDS]: the guest's side of the hcall round-trip benchmark (make bench).
 *
 * Guest user space cannot make hcalls, but Linux's rtas(2) system call can: the kernel enters
 * the RTAS blob, which makes the H_RTAS hcall, and both minivmm and QEMU answer H_RTAS in
 * their userspace. So each call here is one full guest -> VMM userspace -> guest round trip.
 * get-time-of-day is used because it takes no buffer (the kernel's syscall filter lets it
 * through unchanged) and every pseries VMM implements it. Needs CAP_SYS_ADMIN (/init has it).
 *
 * Prints "BENCH-HCALL calls=N seconds=S" and exits 0, or an error on stderr and exits 1.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_rtas
#define __NR_rtas 255   /* powerpc only; the number every powerpc kernel uses */
#endif

/* The kernel's struct rtas_args (asm/rtas-types.h): every cell big-endian whatever the
 * guest's endianness. The kernel reads token, nargs, nret and args[0..nargs), sets rets
 * itself, and copies the nret return cells back to args[nargs..]. */
struct rtas_args {
    uint32_t token, nargs, nret;
    uint32_t args[16];
    uint64_t rets;
};

#define TOKEN_PATH "/proc/device-tree/rtas/get-time-of-day"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -1 (errno set) when the kernel refused the call; else 0 and the RTAS status in *status. */
static int rtas_call(struct rtas_args *a, int32_t *status)
{
    if (syscall(__NR_rtas, a) != 0)
        return -1;
    *status = (int32_t)be32toh(a->args[0]);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (!(seconds > 0)) {
        fprintf(stderr, "rtas-loop: usage: rtas-loop [SECONDS]\n");
        return 1;
    }

    uint32_t token_be;
    FILE *f = fopen(TOKEN_PATH, "rb");
    if (!f || fread(&token_be, sizeof(token_be), 1, f) != 1) {
        fprintf(stderr, "rtas-loop: cannot read the token from %s: %s\n", TOKEN_PATH,
                f ? "short file" : strerror(errno));
        return 1;
    }
    fclose(f);

    /* The device tree already holds the token big-endian, as the syscall wants it. */
    struct rtas_args a = {.token = token_be, .nargs = htobe32(0), .nret = htobe32(8)};
    int32_t status;
    if (rtas_call(&a, &status) != 0) {
        fprintf(stderr, "rtas-loop: rtas(get-time-of-day, token %u): %s\n",
                be32toh(token_be), strerror(errno));
        return 1;
    }
    /* The kernel zeroes the return cells before the call, so a year proves the VMM answered. */
    if (status != 0 || be32toh(a.args[1]) == 0) {
        fprintf(stderr, "rtas-loop: get-time-of-day returned status %d, year %u\n", status,
                be32toh(a.args[1]));
        return 1;
    }

    unsigned long calls = 0;
    double t0 = now(), t = t0;
    while (t - t0 < seconds) {
        /* Read the clock only now and then, so the loop measures hcalls, not clock reads. */
        for (int i = 0; i < 64; i++, calls++) {
            if (rtas_call(&a, &status) != 0) {
                fprintf(stderr, "rtas-loop: call %lu: %s\n", calls + 1, strerror(errno));
                return 1;
            }
            if (status != 0) {
                fprintf(stderr, "rtas-loop: call %lu: RTAS status %d\n", calls + 1, status);
                return 1;
            }
        }
        t = now();
    }
    printf("BENCH-HCALL calls=%lu seconds=%.3f\n", calls, t - t0);
    return 0;
}
