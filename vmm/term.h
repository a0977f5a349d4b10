/* The host terminal: raw mode for an interactive console and the Ctrl-A escape. */
#ifndef MINIVMM_TERM_H
#define MINIVMM_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define ESCAPE_CHAR 0x01   /* Ctrl-A, as QEMU users expect */

struct term_saved {
    int fd;
    bool active;
    int slot;                 /* its entry for term_restore_fatal(), or -1 */
    struct termios tio;
};

/* Puts a terminal into raw input mode (no echo, no line editing, no signals from Ctrl-C:
 * those keys belong to the guest). Output processing is left alone. No-op if fd is not a tty.
 * Until term_restore(), term_restore_fatal() also puts it back. */
int term_raw(struct term_saved *s, int fd);
void term_restore(struct term_saved *s);

/* Puts back every terminal still in raw mode, for a process about to die in a signal handler
 * (a seccomp violation: sandbox.c). Async-signal-safe. */
void term_restore_fatal(void);

/* Copies console input from in to out, acting on the escape sequence: Ctrl-A x sets *quit
 * (the rest is dropped); Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A followed by anything else
 * sends both. *pending carries a trailing Ctrl-A over to the next call, which is why out must
 * have room for len + 1 bytes. Returns the number of bytes written to out. */
size_t term_escape_filter(bool *pending, const uint8_t *in, size_t len, uint8_t *out, bool *quit);

#endif
