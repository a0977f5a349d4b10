/* vm-sequence: boots a guest N times, one after another, from one process, and checks that
 * nothing is left behind: the same file descriptors and threads after every run as before
 * the first. (The library keeps no global state; this is the proof on a real host.)
 *
 *     vm-sequence VMLINUX INITRD N
 */
#include <dirent.h>
#include <minivmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int count_threads(void)
{
    char line[128];
    int n = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* The thread count once the threads that were joined are gone: a joined thread may still be
 * counted for a moment (the kernel wakes the joiner before it reaps the thread), so a count
 * above `want` is read again, for up to a second, before it is believed. */
static int settled_threads(int want)
{
    int n = count_threads();
    for (int i = 0; i < 100 && n > want; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        n = count_threads();
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s VMLINUX INITRD N\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[3]), fds = count_fds(), threads = count_threads();
    for (int i = 0; i < runs; i++) {
        struct minivmm *vm = minivmm_new();
        int r = minivmm_set_kernel(vm, argv[1], argv[2], "console=hvc0 quiet minivmm.test=marker");
        if (r == MINIVMM_OK)
            r = minivmm_set_vcpus(vm, 2);
        if (r == MINIVMM_OK)
            r = minivmm_run(vm);
        if (r != MINIVMM_OK || minivmm_exit_reason(vm) != MINIVMM_EXIT_POWEROFF) {
            fprintf(stderr, "vm-sequence: run %d: %s\n", i + 1, minivmm_error_message(vm));
            minivmm_free(vm);
            return 1;
        }
        minivmm_free(vm);
        int now = settled_threads(threads);
        printf("vm-sequence: run %d powered off; fds %d (before: %d), threads %d (before: %d)\n",
               i + 1, count_fds(), fds, now, threads);
        if (count_fds() != fds || now != threads)
            return 1;
    }
    printf("vm-sequence: %d runs, nothing left behind\n", runs);
    return 0;
}
