/* run-in-vm: run a command in a throw-away POWER guest whose root file system is a host
 * directory, with this program's stdin, stdout and stderr, and return its exit status.
 *
 *     run-in-vm VMLINUX ROOTDIR COMMAND [ARG...]
 *
 * No initramfs or disk image to build: minivmm makes the initramfs itself (its own init and
 * the modules the root needs, found under ROOTDIR/lib/modules/VERSION) and shares ROOTDIR
 * read-only, the guest's writes going to memory. Every byte of stdio passes untouched (binary
 * data, end-of-file included); the kernel's messages stay out of it. The exit status is the
 * command's, or 124 (timeout) / 125 (the sandbox failed) / 126 / 127, as env(1) has them.
 * Build: cc run-in-vm.c $(pkg-config --cflags --libs minivmm)
 */
#include <minivmm.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s VMLINUX ROOTDIR COMMAND [ARG...]\n", argv[0]);
        return 125;
    }
    struct minivmm *vm = minivmm_new();
    if (!vm)
        return 125;
    int r = minivmm_set_kernel(vm, argv[1], NULL, NULL);
    if (r == MINIVMM_OK)
        r = minivmm_set_rootfs(vm, argv[2], 0);
    if (r == MINIVMM_OK)
        r = minivmm_set_command(vm, (const char *const *)&argv[3], 0, 1, 2);
    if (r == MINIVMM_OK)
        r = minivmm_set_timeout(vm, 600);   /* an untrusted command may never finish */
    if (r == MINIVMM_OK)
        minivmm_run(vm);
    int status = minivmm_exit_status(vm);   /* the command's, in this mode */
    const char *why = minivmm_error_message(vm);
    if (status != 0 && *why)
        fprintf(stderr, "run-in-vm: %s\n", why);
    minivmm_free(vm);
    return status;
}
