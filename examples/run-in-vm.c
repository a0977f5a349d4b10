/* run-in-vm: run a command in a throw-away POWER guest and return its exit code.
 *
 *     run-in-vm VMLINUX INITRD COMMAND [ARG...]
 *
 * The guest's /init (tests/guest/init in the minivmm repository) runs the words after "--" on
 * its kernel command line and reports their status with the line "minivmm-exit-code: N".
 * Build: cc run-in-vm.c $(pkg-config --cflags --libs minivmm)
 */
#include <minivmm.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Everything the guest prints (its console), as it happens. */
static void on_output(void *opaque, const char *data, size_t len)
{
    fwrite(data, 1, len, (FILE *)opaque);
    fflush((FILE *)opaque);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s VMLINUX INITRD COMMAND [ARG...]\n", argv[0]);
        return 125;
    }
    char cmdline[2048] = "console=hvc0 quiet minivmm.test=run --";
    /* The kernel hands the words after "--" to init; a word with spaces is kept whole by
     * double quotes (which therefore cannot appear inside one). */
    for (int i = 3; i < argc; i++) {
        bool quote = strchr(argv[i], ' ') != NULL;
        if (strchr(argv[i], '"') || strlen(cmdline) + strlen(argv[i]) + 4 > sizeof(cmdline)) {
            fprintf(stderr, "run-in-vm: command too long, or has a double quote\n");
            return 125;
        }
        strcat(strcat(strcat(strcat(cmdline, " "), quote ? "\"" : ""), argv[i]), quote ? "\"" : "");
    }

    struct minivmm *vm = minivmm_new();
    if (!vm)
        return 125;
    int r = minivmm_set_kernel(vm, argv[1], argv[2], cmdline);
    if (r == MINIVMM_OK)
        r = minivmm_set_console_callback(vm, on_output, stdout);
    if (r == MINIVMM_OK)
        r = minivmm_set_timeout(vm, 600);   /* an untrusted command may never finish */
    if (r == MINIVMM_OK)
        r = minivmm_run(vm);
    int code = minivmm_guest_exit_code(vm);
    if (r != MINIVMM_OK || code < 0) {
        const char *why = minivmm_error_message(vm);
        fprintf(stderr, "run-in-vm: %s\n", *why ? why : "the guest reported no exit code");
        code = 125;
    }
    minivmm_free(vm);
    return code;
}
