#include "console.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Output must never hold a thread that is asked to stop: stdout can be a pipe nobody reads,
 * and it is a blocking file the caller shares with others (its O_NONBLOCK flag is not ours
 * to change). So the stop flag is looked at before every write, a write is made only when
 * poll says the fd takes data, and no write is larger than PIPE_BUF, which a pipe that polls
 * writable takes without blocking. Should a write block all the same (a terminal, a socket,
 * a second writer on the same pipe), the stopper's repeated kicks interrupt it. */
static int write_out(int fd, bool file, const uint8_t *buf, size_t len, const bool *aborted)
{
    while (len > 0) {
        if (aborted && __atomic_load_n(aborted, __ATOMIC_SEQ_CST))
            return -1;
        /* A regular file waits for no reader: no poll, one system call less for each of the
         * guest's console writes (16 bytes each on the sPAPR vty). */
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = file ? 1 : poll(&p, 1, 100);
        if (r == 0 || (r < 0 && errno == EINTR))
            continue;
        if (r < 0 || (p.revents & (POLLERR | POLLNVAL)))
            return -1;
        ssize_t n = write(fd, buf, len < PIPE_BUF ? len : PIPE_BUF);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            return -1;
        }
    }
    return 0;
}

int console_write_all(int fd, const uint8_t *buf, size_t len, const bool *aborted)
{
    return write_out(fd, false, buf, len, aborted);
}

bool console_fd_is_file(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void console_sink_init(struct console_sink *s)
{
    memset(s, 0, sizeof(*s));
    s->out_fd = s->log_fd = s->tap_fd = -1;
    s->exit_code = -1;
    s->pending = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->start_ns = now_ns();
}

void console_sink_destroy(struct console_sink *s)
{
    pthread_mutex_destroy(&s->lock);
}

int console_sink_add_pattern(struct console_sink *s, enum console_pattern_kind kind,
                             const char *text)
{
    size_t len = strlen(text);
    if (len == 0 || len > CONSOLE_PATTERN_MAX || s->npat == CONSOLE_MAX_PATTERNS)
        return -1;
    s->pat[s->npat].kind = kind;
    memcpy(s->pat[s->npat].text, text, len + 1);
    s->pat[s->npat].len = len;
    s->npat++;
    if (len > s->max_pat)
        s->max_pat = len;
    return 0;
}

void console_sink_start(struct console_sink *s)
{
    pthread_mutex_lock(&s->lock);
    s->start_ns = now_ns();
    s->first_output_ns = 0;
    pthread_mutex_unlock(&s->lock);
}

void console_sink_abort(struct console_sink *s)
{
    __atomic_store_n(&s->aborted, true, __ATOMIC_SEQ_CST);
}

/* Adds a segment (no newline inside) to the current line. */
static void line_add(struct console_sink *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r' && s->line_len < sizeof(s->line) - 1)
            s->line[s->line_len++] = (char)buf[i];
}

/* A line is complete: the guest's exit-code report is "minivmm-exit-code: N" alone on it. */
static void line_end(struct console_sink *s)
{
    const size_t plen = sizeof(CONSOLE_EXIT_CODE_PREFIX) - 1;
    s->line[s->line_len] = '\0';
    if (s->line_len > plen && memcmp(s->line, CONSOLE_EXIT_CODE_PREFIX, plen) == 0) {
        char *end;
        long code = strtol(s->line + plen, &end, 10);
        if (end != s->line + plen && *end == '\0' && code >= 0 && code <= 255)
            s->exit_code = (int)code;
    }
    s->line_len = 0;
}

/* Finds the earliest pattern in tail+buf. Returns its index or -1; keeps the last
 * max_pat-1 bytes as the new tail. */
static int scan_patterns(struct console_sink *s, const uint8_t *buf, size_t len)
{
    int found = -1;
    /* Chunks keep the window on the stack small whatever the write size. */
    while (len > 0 && found < 0) {
        uint8_t win[CONSOLE_PATTERN_MAX + 4096];
        size_t take = len < 4096 ? len : 4096;
        memcpy(win, s->tail, s->tail_len);
        memcpy(win + s->tail_len, buf, take);
        size_t wlen = s->tail_len + take;
        const uint8_t *best = NULL;
        for (unsigned i = 0; i < s->npat; i++) {
            const uint8_t *p = memmem(win, wlen, s->pat[i].text, s->pat[i].len);
            if (p && (!best || p < best)) {
                best = p;
                found = (int)i;
            }
        }
        size_t keep = s->max_pat ? s->max_pat - 1 : 0;
        if (keep > wlen)
            keep = wlen;
        memcpy(s->tail, win + wlen - keep, keep);
        s->tail_len = keep;
        buf += take;
        len -= take;
    }
    return found;
}

int console_sink_write(struct console_sink *s, const uint8_t *buf, size_t len)
{
    int r = 0;
    int fire = -1;
    char line[CONSOLE_LINE_MAX];
    pthread_mutex_lock(&s->lock);
    if (s->first_output_ns == 0 && len > 0)
        s->first_output_ns = now_ns();
    s->bytes += len;
    if (s->out_fd >= 0 && write_out(s->out_fd, s->out_is_file, buf, len, &s->aborted) != 0)
        r = -1;
    if (s->log_fd >= 0)
        write_out(s->log_fd, s->log_is_file, buf, len, &s->aborted);
    if (s->tap_fd >= 0)
        console_write_all(s->tap_fd, buf, len, &s->aborted);
    /* Line by line, so that a failure can be reported with the line it is on. */
    while (len > 0) {
        const uint8_t *nl = memchr(buf, '\n', len);
        size_t seg = nl ? (size_t)(nl - buf) + 1 : len;
        if (!s->matched && s->npat) {
            int m = scan_patterns(s, buf, seg);
            if (m >= 0) {
                s->matched = true;
                if (s->pat[m].kind == PATTERN_EXPECT)
                    fire = m;
                else
                    s->pending = m;
            }
        }
        line_add(s, buf, nl ? seg - 1 : seg);
        if (nl) {
            if (s->pending >= 0 && fire < 0) {
                fire = s->pending;
                s->line[s->line_len] = '\0';
                memcpy(line, s->line, s->line_len + 1);
                s->pending = -1;
            }
            line_end(s);
        }
        buf += seg;
        len -= seg;
    }
    pthread_mutex_unlock(&s->lock);
    if (fire >= 0 && s->on_match)
        s->on_match(s->match_opaque, s->pat[fire].kind, s->pat[fire].text,
                    s->pat[fire].kind == PATTERN_EXPECT ? NULL : line);
    return r;
}
