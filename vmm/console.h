/* Where guest console output goes, and what minivmm watches for in it.
 *
 * Every console (the vty, the virtio console) writes through one sink, so there is a single
 * place that copies output to stdout, to a log file and to a pipe whose other end feeds an
 * embedding program's callback (on a thread that is not sandboxed), times the first byte, and looks for the patterns CI runs care about: --expect
 * (success), --fail-on and the default "Kernel panic" (failure), and the line by which a guest
 * reports an exit code. Patterns are found even when split across writes.
 */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_MAX_PATTERNS 16
#define CONSOLE_PATTERN_MAX 128      /* bytes per pattern */
#define CONSOLE_LINE_MAX 256
/* A guest reports its exit code by printing this at the start of a line, then the number. */
#define CONSOLE_EXIT_CODE_PREFIX "minivmm-exit-code: "
#define CONSOLE_DEFAULT_PANIC "Kernel panic - not syncing"

enum console_pattern_kind { PATTERN_EXPECT, PATTERN_FAIL, PATTERN_PANIC };

/* Called once, for the first pattern found (after the sink's lock is released). An --expect
 * pattern is reported at once (a prompt may never end its line), with line NULL; a failure is
 * reported when its line is complete, with that line, so the report says what went wrong. */
typedef void (*console_match_fn)(void *opaque, enum console_pattern_kind kind,
                                 const char *pattern, const char *line);

struct console_sink {
    int out_fd;                  /* -1: not shown */
    int log_fd;                  /* -1: not logged */
    bool out_is_file, log_is_file;   /* written without a poll first (console_fd_is_file) */
    int tap_fd;                  /* -1: none; else every byte is written here too */
    console_match_fn on_match;   /* may be NULL */
    void *match_opaque;

    pthread_mutex_t lock;
    bool aborted;                /* atomic: blocked writes give up */
    struct {
        enum console_pattern_kind kind;
        char text[CONSOLE_PATTERN_MAX + 1];
        size_t len;
    } pat[CONSOLE_MAX_PATTERNS];
    unsigned npat;
    size_t max_pat;
    char tail[CONSOLE_PATTERN_MAX];  /* the last max_pat-1 bytes seen, for split matches */
    size_t tail_len;
    bool matched;
    int pending;                 /* failure pattern waiting for the end of its line, or -1 */
    char line[CONSOLE_LINE_MAX];
    size_t line_len;
    int exit_code;               /* -1 until the guest reports one */
    uint64_t bytes;
    uint64_t start_ns, first_output_ns;   /* CLOCK_MONOTONIC; first_output_ns 0 = none */
};

void console_sink_init(struct console_sink *s);
void console_sink_destroy(struct console_sink *s);
/* Adds a pattern; returns -1 if it is empty, longer than CONSOLE_PATTERN_MAX, or the table
 * is full. */
int console_sink_add_pattern(struct console_sink *s, enum console_pattern_kind kind,
                             const char *text);
/* Sets the time output timings are measured from (now). */
void console_sink_start(struct console_sink *s);
/* Guest output. Returns 0, or -1 if the output fd failed for good or the sink was aborted
 * while a write was blocked. */
int console_sink_write(struct console_sink *s, const uint8_t *buf, size_t len);
void console_sink_abort(struct console_sink *s);

/* Writes all of buf to fd, waiting (in 100 ms polls) while the fd is full, and giving up as
 * soon as *aborted is true, whether fd is blocking or not. Returns 0 or -1. */
int console_write_all(int fd, const uint8_t *buf, size_t len, const bool *aborted);
/* Whether fd is a regular file, which takes a write without waiting for a reader: the sink
 * need not poll it first (set out_is_file, log_is_file). */
bool console_fd_is_file(int fd);

#endif
