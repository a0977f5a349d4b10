#include "term.h"

#include <unistd.h>

/* The terminals a fatal signal handler must put back (sandbox.c's, on a seccomp violation,
 * ends the process with _exit, which skips every ordinary restore). A signal handler belongs
 * to the whole process, so this table does too: one slot per terminal in raw mode, so that
 * two VMs (or two terminals) in one process each keep their own. No lock: the handler may
 * interrupt any thread, even one inside term_raw() or term_restore(). Instead a slot has an
 * owner: term_raw claims a free one and fills it, then arms it; an armed slot is not written
 * again, and whoever moves it out of ARMED (term_restore, or the handler) owns it. With all
 * slots taken, raw mode still works; only the fatal-exit restore is missing. */
enum { SLOT_FREE, SLOT_FILLING, SLOT_ARMED, SLOT_FIRED };
#define FATAL_SLOTS 8

static struct {
    int state;                /* atomic */
    int fd;
    unsigned long seq;        /* when it was armed: the newest is restored first */
    struct termios tio;
} fatal_slot[FATAL_SLOTS];
static unsigned long fatal_seq;   /* atomic */

static bool slot_move(int i, int from, int to)
{
    return __atomic_compare_exchange_n(&fatal_slot[i].state, &from, to, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static int slot_arm(int fd, const struct termios *tio)
{
    unsigned long seq = __atomic_add_fetch(&fatal_seq, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < FATAL_SLOTS; i++) {
        if (slot_move(i, SLOT_FREE, SLOT_FILLING)) {
            fatal_slot[i].fd = fd;
            fatal_slot[i].tio = *tio;
            __atomic_store_n(&fatal_slot[i].seq, seq, __ATOMIC_RELAXED);   /* read unowned */
            __atomic_store_n(&fatal_slot[i].state, SLOT_ARMED, __ATOMIC_RELEASE);
            return i;
        }
    }
    return -1;
}

static void slot_free(int i)
{
    if (i >= 0)
        slot_move(i, SLOT_ARMED, SLOT_FREE);   /* fails only if the process is dying anyway */
}

/* Newest first, as the ordinary restores would go: a terminal put in raw mode twice (two VMs
 * on one terminal) ends as the first term_raw found it. */
void term_restore_fatal(void)
{
    for (;;) {
        int newest = -1;
        unsigned long newest_seq = 0;
        for (int i = 0; i < FATAL_SLOTS; i++) {
            unsigned long seq = __atomic_load_n(&fatal_slot[i].seq, __ATOMIC_RELAXED);
            if (__atomic_load_n(&fatal_slot[i].state, __ATOMIC_ACQUIRE) == SLOT_ARMED &&
                (newest < 0 || seq > newest_seq))
                newest = i, newest_seq = seq;
        }
        if (newest < 0)
            return;
        if (slot_move(newest, SLOT_ARMED, SLOT_FIRED))   /* tcsetattr: async-signal-safe */
            tcsetattr(fatal_slot[newest].fd, TCSANOW, &fatal_slot[newest].tio);
    }
}

int term_raw(struct term_saved *s, int fd)
{
    s->active = false;
    s->fd = fd;
    s->slot = -1;
    if (!isatty(fd) || tcgetattr(fd, &s->tio) != 0)
        return 0;
    struct termios raw = s->tio;
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    s->slot = slot_arm(fd, &s->tio);   /* before raw mode, so no moment goes unguarded */
    if (tcsetattr(fd, TCSANOW, &raw) != 0) {
        slot_free(s->slot);
        s->slot = -1;
        return -1;
    }
    s->active = true;
    return 0;
}

void term_restore(struct term_saved *s)
{
    if (s->active) {
        tcsetattr(s->fd, TCSANOW, &s->tio);
        slot_free(s->slot);   /* after: a fatal exit in between restores it twice, harmlessly */
        s->slot = -1;
    }
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
