/* The stdio device's two texts (virtio_stdio.c): the SPEC it is made from, and the one line a
 * guest's init writes on the minivmm.status port when the command it ran is over
 * (firmware/init.c writes it):
 *
 *   exit N          the command exited with status N (0-255)
 *   signal N        a signal killed it: reported as 128+N, as shells do
 *   error S TEXT    it never ran, or the init failed: S is 127 (not found), 126 (not
 *                   executable) or 125 (anything else: a module, the root's mount, ...)
 *
 * The statuses are those of env(1) and container runtimes, so a script cannot tell the guest
 * from the host by them.
 */
#ifndef MINIVMM_STDIO_STATUS_H
#define MINIVMM_STDIO_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "../vmm/err.h"

/* When the init has no status port, it prints the status line on the kernel's console after
 * this, and minivmm ends the run when it sees it there (a console pattern). */
#define STDIO_CONSOLE_FALLBACK "minivmm-init-failed: "
#define STDIO_STATUS_MAX 256   /* bytes of one status line, the newline excluded */
#define STDIO_NOT_RUN 125      /* the command did not run: minivmm or the guest failed */
#define STDIO_NOT_EXECUTABLE 126
#define STDIO_NOT_FOUND 127

/* The device's SPEC: in=FD,out=FD,err=FD[,tty]: the host descriptors the command's stdio is
 * connected to (-1: none), and tty: the console port, a terminal in the guest, takes the host
 * console's input (a shell's). 0, or -1 and MVM_E_INPUT. */
struct stdio_spec {
    int fd[3];     /* in, out, err */
    bool tty;
};
int stdio_spec_parse(const char *spec, struct stdio_spec *s, struct mvm_err *e);

/* Reads a status line (without its newline). *status is the command's exit status as minivmm
 * reports it; why gets the reason when the command did not run, else "". A line that says
 * none of the above gives 125 and a why that quotes it. */
void stdio_status_parse(const char *line, int *status, char *why, size_t why_len);

#endif
