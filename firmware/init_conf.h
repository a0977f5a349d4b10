/* The guest init's pure parts: its configuration, its status lines and the decisions that need
 * no system call. No libc: this file is compiled freestanding into the guest's /init
 * (firmware/init.c) and natively for the unit tests (tests/unit/test_init_conf.c).
 *
 * The configuration, /minivmm/config in the initramfs minivmm builds, is a sequence of
 * records "key=value", each ended by a NUL; a value may hold any byte but NUL. Keys:
 *   module=PATH   repeatable, in load order      root=TAG     9p tag of the root share (required)
 *   rootrw=0|1    1: the share itself is the root, read-write; 0 (default): the read-only
 *                 lower layer of an overlay whose writes live in a tmpfs
 *   msize=N       9p msize (default 524288)       cwd=PATH     the command's directory
 *   env=NAME=VAL  repeatable: the whole environment of the command
 *   arg=STRING    repeatable: argv; none means interactive mode (a shell on /dev/hvc1)
 *   rows=N cols=N the terminal size for interactive mode
 *   net=A.B.C.D/P,G.H.I.J,MTU   eth0's IPv4 address and prefix, its default gateway and MTU
 *                 (a NIC whose network hands out no address the init could wait for: minivmm
 *                 knows what passt will route, so the init sets it and needs no DHCP client)
 *   nameserver=A.B.C.D   written to /etc/resolv.conf when the root is the overlay
 * The parser is strict, because the init and the code that writes the file are built into the
 * same minivmm and cannot drift apart: an unknown key, a record without '=', an empty record,
 * a repeated single-valued key, a bad number, a missing root or a last record without its NUL
 * is an error naming the record, so a bug on the host side shows at once instead of being
 * ignored.
 */
#ifndef MINIVMM_INIT_CONF_H
#define MINIVMM_INIT_CONF_H

#include <stddef.h>

#define INIT_CONF_MAX_BYTES (512u * 1024)   /* the largest config file the init reads */
#define INIT_MAX_MODULES 256
#define INIT_MAX_ARGS 4096
#define INIT_MAX_ENV 4096
#define INIT_DEFAULT_MSIZE 524288ul
#define INIT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The exit statuses of "error S ..." status lines. */
#define INIT_ST_NOT_FOUND 127
#define INIT_ST_NOT_EXEC 126
#define INIT_ST_FAILED 125

/* errno values. Those below 35 (asm-generic/errno-base.h) are the same on every Linux
 * architecture; the others used here (asm-generic/errno.h) are shared by powerpc and x86, the
 * two this file is built for, so the native tests can compare against the C library. */
enum {
    IE_PERM = 1, IE_NOENT = 2, IE_SRCH = 3, IE_INTR = 4, IE_IO = 5, IE_NXIO = 6, IE_2BIG = 7,
    IE_NOEXEC = 8, IE_BADF = 9, IE_CHILD = 10, IE_AGAIN = 11, IE_NOMEM = 12, IE_ACCES = 13,
    IE_FAULT = 14, IE_BUSY = 16, IE_EXIST = 17, IE_NODEV = 19, IE_NOTDIR = 20, IE_ISDIR = 21,
    IE_INVAL = 22, IE_NFILE = 23, IE_MFILE = 24, IE_NOTTY = 25, IE_TXTBSY = 26, IE_FBIG = 27,
    IE_NOSPC = 28, IE_ROFS = 30, IE_NAMETOOLONG = 36, IE_NOSYS = 38, IE_LOOP = 40,
    IE_NODATA = 61, IE_TIME = 62, IE_PROTO = 71, IE_BADMSG = 74, IE_OPNOTSUPP = 95,
    IE_PROTONOSUPPORT = 93, IE_TIMEDOUT = 110, IE_STALE = 116, IE_KEYREJECTED = 129,
    IE_KEYEXPIRED = 127, IE_NOKEY = 126,
};

struct init_conf {
    const char *module[INIT_MAX_MODULES];
    unsigned nmodule;
    const char *arg[INIT_MAX_ARGS + 1];     /* NULL-terminated, for execve */
    unsigned narg;
    const char *env[INIT_MAX_ENV + 1];      /* NULL-terminated */
    unsigned nenv;
    const char *root;
    const char *cwd;                        /* NULL: "/" */
    int rootrw;
    unsigned long msize;
    unsigned rows, cols;                    /* 0: not given */
    struct init_net {
        int set;
        unsigned addr, gateway;             /* host order: 10.0.2.15 is 0x0a00020f */
        unsigned prefix, mtu;
    } net;
    unsigned nameserver;                    /* 0: not given */
};

/* A bounded text buffer: appends stop at the capacity, the text stays NUL-terminated. */
struct init_buf {
    char *p;
    size_t cap, len;
};

void ib_init(struct init_buf *b, char *p, size_t cap);
void ib_putc(struct init_buf *b, char c);
void ib_puts(struct init_buf *b, const char *s);
void ib_putu(struct init_buf *b, unsigned long v);

size_t ic_strlen(const char *s);
int ic_streq(const char *a, const char *b);
int ic_has_prefix(const char *s, const char *prefix);
int ic_has_suffix(const char *s, const char *suffix);

/* Parses the len bytes at buf into c (whose pointers then point into buf).
 * Returns 0, or -1 with one sentence in err. */
int init_conf_parse(struct init_conf *c, const char *buf, size_t len, struct init_buf *err);

/* Parses a dotted-quad IPv4 address (exactly four decimal parts, each 0..255) into *out in
 * host order. Returns 0 or -1. */
int init_parse_ipv4(const char *s, unsigned *out);
/* The netmask of a prefix length (0..32), host order. */
unsigned init_netmask(unsigned prefix);
/* Writes the address in dotted quad. */
void ib_put_ipv4(struct init_buf *b, unsigned addr);

/* The value of NAME in an environment ("NAME=VALUE" strings), or NULL. */
const char *init_env_get(const char *const *env, unsigned n, const char *name);

/* The flags for finit_module: MODULE_INIT_COMPRESSED_FILE for .xz, .zst and .gz files. */
unsigned init_module_flags(const char *path);

/* Whether /proc/filesystems (text, len bytes) lists the file system fs. */
int init_fs_listed(const char *text, size_t len, const char *fs);

/* The 9p mount options of the root share. */
void init_9p_options(struct init_buf *b, unsigned long msize, int ro);

/* Which minivmm port a virtio-ports "name" file names (its content, len bytes):
 * an index into init_port_names, or -1. */
enum { INIT_PORT_STDIN, INIT_PORT_STDOUT, INIT_PORT_STDERR, INIT_PORT_STATUS, INIT_NPORTS };
extern const char *const init_port_names[INIT_NPORTS];
int init_port_which(const char *text, size_t len);

/* execvp's PATH search, one candidate at a time: writes into out (cap bytes) the next
 * "dir/name" from the colon-separated list *path (an empty element is the current
 * directory) and advances *path. Returns 1 with a candidate, 0 when the list is done, -1 when
 * this candidate does not fit (skip it). */
int init_path_next(const char **path, const char *name, char *out, size_t cap);
/* Whether a PATH search goes on after an execve candidate failed with err. */
int init_exec_search_goes_on(int err);

/* The status minivmm exits with when execve of name failed with err (127, 126 or 125), and the
 * sentence that says why in text. */
int init_exec_error(struct init_buf *text, const char *name, int err);

/* Status lines for the status port, each ended by '\n': "exit N" or "signal N" from a wait
 * status; "error S TEXT" with TEXT made one line of printable ASCII. */
void init_status_wait(struct init_buf *b, int wstatus);
void init_status_error(struct init_buf *b, int status, const char *text);

/* The C library's text for the errnos the init meets, "error N" for the others. */
const char *init_strerror(int err, char *scratch, size_t cap);

#endif
