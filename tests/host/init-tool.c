/* The command tests/host/init-qemu.sh has the guest init run: a static program of the host's
 * own architecture (qemu-user execs it natively), one job per first argument. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    const char *job = argc > 1 ? argv[1] : "";
    char buf[4096];
    if (!strcmp(job, "echo")) {              /* its arguments: on stdout, and on stderr */
        for (int i = 2; i < argc; i++)
            printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
        fprintf(stderr, "err\n");
    } else if (!strcmp(job, "exit")) {
        return argc > 2 ? atoi(argv[2]) : 0;
    } else if (!strcmp(job, "cat")) {        /* stdin to stdout */
        ssize_t n;
        while ((n = read(0, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
    } else if (!strcmp(job, "pwd")) {
        puts(getcwd(buf, sizeof(buf)) ? buf : "?");
    } else if (!strcmp(job, "env")) {
        for (char **e = environ; *e; e++)
            puts(*e);
    } else if (!strcmp(job, "kill")) {
        raise(argc > 2 ? atoi(argv[2]) : SIGKILL);
    } else if (!strcmp(job, "write")) {      /* creates argv[2] */
        FILE *f = fopen(argv[2], "w");
        return f && fputs("written\n", f) >= 0 && fclose(f) == 0 ? 0 : 9;
    } else if (!strcmp(job, "fds")) {        /* which fds the command got: 0 1 2 only */
        for (int fd = 0; fd < 64; fd++)
            if (fcntl(fd, F_GETFD) != -1) {
                char path[64], to[256];
                ssize_t n;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                n = readlink(path, to, sizeof(to) - 1);
                to[n > 0 ? n : 0] = '\0';
                printf(fd > 2 ? "%d(%s) " : "%d ", fd, to);
            }
        printf("\n");
    }
    return 0;
}
