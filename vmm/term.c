#include "term.h"

#include <unistd.h>

int term_raw(struct term_saved *s, int fd)
{
    s->active = false;
    s->fd = fd;
    if (!isatty(fd) || tcgetattr(fd, &s->tio) != 0)
        return 0;
    struct termios raw = s->tio;
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &raw) != 0)
        return -1;
    s->active = true;
    return 0;
}

void term_restore(struct term_saved *s)
{
    if (s->active)
        tcsetattr(s->fd, TCSANOW, &s->tio);
    s->active = false;
}

size_t term_escape_filter(bool *pending, const uint8_t *in, size_t len, uint8_t *out, bool *quit)
{
    size_t n = 0;
    *quit = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (!*pending) {
            if (c == ESCAPE_CHAR)
                *pending = true;
            else
                out[n++] = c;
            continue;
        }
        *pending = false;
        if (c == 'x' || c == 'X') {
            *quit = true;
            return n;
        }
        out[n++] = ESCAPE_CHAR;
        if (c != ESCAPE_CHAR)
            out[n++] = c;
    }
    return n;
}
