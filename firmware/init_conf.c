/* The guest init's pure parts (see init_conf.h). No libc call, no system call: this file is
 * built freestanding into the guest's /init and natively for the unit tests. */
#include "init_conf.h"

void ib_init(struct init_buf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    if (cap)
        p[0] = '\0';
}

void ib_putc(struct init_buf *b, char c)
{
    if (b->len + 1 >= b->cap)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void ib_puts(struct init_buf *b, const char *s)
{
    while (*s)
        ib_putc(b, *s++);
}

void ib_putu(struct init_buf *b, unsigned long v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        ib_putc(b, d[--n]);
}

size_t ic_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int ic_streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int ic_has_prefix(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

int ic_has_suffix(const char *s, const char *suffix)
{
    size_t n = ic_strlen(s), m = ic_strlen(suffix);
    return n >= m && ic_streq(s + n - m, suffix);
}

/* ---- the configuration ---- */

/* A decimal number in [min, max], digits only. */
static int parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

static int fail(struct init_buf *err, const char *what, const char *rec)
{
    ib_puts(err, "/minivmm/config: ");
    ib_puts(err, what);
    if (rec) {
        ib_puts(err, " \"");
        /* A record may be long and hold anything: enough of it to recognise, one line. */
        for (unsigned i = 0; rec[i] && i < 40; i++)
            ib_putc(err, rec[i] >= ' ' && rec[i] < 0x7f ? rec[i] : '?');
        ib_puts(err, "\"");
    }
    return -1;
}

/* A repeatable record: one more pointer in list, within max. */
static int add(const char **list, unsigned *n, unsigned max, const char *val,
               struct init_buf *err, const char *rec)
{
    if (*n >= max)
        return fail(err, "too many records like", rec);
    list[(*n)++] = val;
    list[*n] = (void *)0;   /* the lists with room for it are execve's, NULL-terminated */
    return 0;
}

/* A single-valued string record. */
static int set_once(const char **slot, const char *val, struct init_buf *err, const char *rec)
{
    if (*slot)
        return fail(err, "repeated record", rec);
    if (!*val)
        return fail(err, "empty value in", rec);
    *slot = val;
    return 0;
}

static int set_num(unsigned long *slot, int *seen, const char *val, unsigned long min,
                   unsigned long max, struct init_buf *err, const char *rec)
{
    if (*seen)
        return fail(err, "repeated record", rec);
    if (parse_num(val, min, max, slot) != 0)
        return fail(err, "bad number in", rec);
    *seen = 1;
    return 0;
}

struct seen {
    int msize, rootrw, rows, cols, net, nameserver;
};

/* Up to len bytes of s, as a NUL-terminated copy in out (cap bytes); -1 if they do not fit. */
static int copy_part(char *out, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = s[i];
    out[len] = 0;
    return 0;
}

int init_parse_ipv4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int part = 0; part < 4; part++) {
        char num[4];
        size_t n = 0;
        while (s[n] && s[n] != '.')
            n++;
        unsigned long x;
        if ((part < 3) != (s[n] == '.') || copy_part(num, sizeof(num), s, n) ||
            parse_num(num, 0, 255, &x))
            return -1;
        v = v << 8 | (unsigned)x;
        s += n + (part < 3);
    }
    *out = v;
    return 0;
}

unsigned init_netmask(unsigned prefix)
{
    return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

void ib_put_ipv4(struct init_buf *b, unsigned addr)
{
    for (int i = 3; i >= 0; i--) {
        ib_putu(b, addr >> (8 * i) & 0xff);
        if (i)
            ib_putc(b, '.');
    }
}

/* net=A.B.C.D/P,G.H.I.J,MTU: the address in the gateway's subnet, the gateway not the
 * address, an MTU Ethernet can carry (68, IPv4's minimum, to 65535). */
static int parse_net(struct init_net *n, const char *v)
{
    const char *slash = v, *comma1, *comma2;
    while (*slash && *slash != '/')
        slash++;
    for (comma1 = slash; *comma1 && *comma1 != ','; comma1++)
        ;
    for (comma2 = *comma1 ? comma1 + 1 : comma1; *comma2 && *comma2 != ','; comma2++)
        ;
    char addr[16], prefix[3], gw[16];
    unsigned long p, mtu;
    if (!*slash || !*comma1 || !*comma2 || copy_part(addr, sizeof(addr), v, (size_t)(slash - v)) ||
        copy_part(prefix, sizeof(prefix), slash + 1, (size_t)(comma1 - slash - 1)) ||
        copy_part(gw, sizeof(gw), comma1 + 1, (size_t)(comma2 - comma1 - 1)) ||
        init_parse_ipv4(addr, &n->addr) || parse_num(prefix, 1, 31, &p) ||
        init_parse_ipv4(gw, &n->gateway) || parse_num(comma2 + 1, 68, 65535, &mtu))
        return -1;
    unsigned mask = init_netmask((unsigned)p);
    if ((n->addr & mask) != (n->gateway & mask) || n->addr == n->gateway)
        return -1;
    n->prefix = (unsigned)p;
    n->mtu = (unsigned)mtu;
    n->set = 1;
    return 0;
}

static int one_record(struct init_conf *c, struct seen *s, const char *rec, struct init_buf *err)
{
    const char *eq = rec;
    while (*eq && *eq != '=')
        eq++;
    if (!*rec)
        return fail(err, "empty record", (void *)0);
    if (!*eq || eq == rec)
        return fail(err, "record without key=", rec);
    const char *v = eq + 1;
    unsigned long n;
#define KEY(k) (eq - rec == sizeof(k) - 1 && ic_has_prefix(rec, k))
    if (KEY("module")) {
        if (c->nmodule >= INIT_MAX_MODULES)
            return fail(err, "too many records like", rec);
        c->module[c->nmodule++] = v;
        return 0;
    }
    if (KEY("arg"))
        return add(c->arg, &c->narg, INIT_MAX_ARGS, v, err, rec);
    if (KEY("env")) {
        const char *veq = v;
        while (*veq && *veq != '=')
            veq++;
        if (veq == v || !*veq)
            return fail(err, "env record not NAME=VALUE:", rec);
        return add(c->env, &c->nenv, INIT_MAX_ENV, v, err, rec);
    }
    if (KEY("root"))
        return set_once(&c->root, v, err, rec);
    if (KEY("cwd"))
        return set_once(&c->cwd, v, err, rec);
    if (KEY("msize"))
        return set_num(&c->msize, &s->msize, v, 4096, 0xffffffffu, err, rec);
    if (KEY("rootrw")) {
        if (set_num(&n, &s->rootrw, v, 0, 1, err, rec) != 0)
            return -1;
        c->rootrw = (int)n;
        return 0;
    }
    if (KEY("rows") || KEY("cols")) {
        int rows = KEY("rows");
        if (set_num(&n, rows ? &s->rows : &s->cols, v, 1, 0xffff, err, rec) != 0)
            return -1;
        *(rows ? &c->rows : &c->cols) = (unsigned)n;
        return 0;
    }
    if (KEY("net")) {
        if (s->net)
            return fail(err, "repeated record", rec);
        s->net = 1;
        return parse_net(&c->net, v) ? fail(err, "bad address, gateway or MTU in", rec) : 0;
    }
    if (KEY("nameserver")) {
        if (s->nameserver)
            return fail(err, "repeated record", rec);
        s->nameserver = 1;
        return init_parse_ipv4(v, &c->nameserver) || !c->nameserver
                   ? fail(err, "bad address in", rec) : 0;
    }
#undef KEY
    return fail(err, "unknown record", rec);
}

int init_conf_parse(struct init_conf *c, const char *buf, size_t len, struct init_buf *err)
{
    struct seen s = {0};
    *c = (struct init_conf){.msize = INIT_DEFAULT_MSIZE};
    if (len && buf[len - 1] != '\0')
        return fail(err, "the last record has no NUL", (void *)0);
    for (size_t at = 0; at < len; at += ic_strlen(buf + at) + 1)
        if (one_record(c, &s, buf + at, err) != 0)
            return -1;
    if (!c->root)
        return fail(err, "no root record", (void *)0);
    return 0;
}

/* ---- small decisions ---- */

const char *init_env_get(const char *const *env, unsigned n, const char *name)
{
    size_t len = ic_strlen(name);
    for (unsigned i = 0; i < n; i++)
        if (ic_has_prefix(env[i], name) && env[i][len] == '=')
            return env[i] + len + 1;
    return (void *)0;
}

unsigned init_module_flags(const char *path)
{
    return ic_has_suffix(path, ".xz") || ic_has_suffix(path, ".zst") ||
           ic_has_suffix(path, ".gz") ? 4u : 0u;
}

int init_fs_listed(const char *text, size_t len, const char *fs)
{
    size_t fslen = ic_strlen(fs);
    for (size_t at = 0; at < len;) {
        size_t end = at, name = at;
        while (end < len && text[end] != '\n')
            end++;
        for (size_t i = at; i < end; i++)   /* "nodev\t9p" or "\text4": the last field */
            if (text[i] == '\t')
                name = i + 1;
        if (end - name == fslen) {
            size_t i = 0;
            while (i < fslen && text[name + i] == fs[i])
                i++;
            if (i == fslen)
                return 1;
        }
        at = end + 1;
    }
    return 0;
}

void init_9p_options(struct init_buf *b, unsigned long msize, int ro)
{
    ib_puts(b, "trans=virtio,version=9p2000.L,msize=");
    ib_putu(b, msize);
    ib_puts(b, ",cache=none");
    if (ro)
        ib_puts(b, ",ro");
}

const char *const init_port_names[INIT_NPORTS] = {
    "minivmm.stdin", "minivmm.stdout", "minivmm.stderr", "minivmm.status",
};

int init_port_which(const char *text, size_t len)
{
    if (len && text[len - 1] == '\n')   /* sysfs prints the name with a newline */
        len--;
    for (int i = 0; i < INIT_NPORTS; i++) {
        const char *n = init_port_names[i];
        size_t j = 0;
        while (j < len && n[j] && text[j] == n[j])
            j++;
        if (j == len && !n[j])
            return i;
    }
    return -1;
}

int init_path_next(const char **path, const char *name, char *out, size_t cap)
{
    const char *p = *path, *end;
    if (!p)
        return 0;
    for (end = p; *end && *end != ':'; end++)
        ;
    *path = *end ? end + 1 : (void *)0;
    size_t dl = (size_t)(end - p), nl = ic_strlen(name), at = 0;
    if (dl + 1 + nl + 1 > cap)
        return -1;
    for (size_t i = 0; i < dl; i++)      /* an empty element: the current directory */
        out[at++] = p[i];
    if (dl)
        out[at++] = '/';
    for (size_t i = 0; i <= nl; i++)
        out[at++] = name[i];
    return 1;
}

/* As glibc's execvp: a candidate that is missing, or unreachable, does not end the search;
 * EACCES does not either (the search reports it at the end if nothing ran). */
int init_exec_search_goes_on(int err)
{
    return err == IE_NOENT || err == IE_NOTDIR || err == IE_ACCES || err == IE_NODEV ||
           err == IE_STALE || err == IE_TIMEDOUT;
}

static int has_slash(const char *s)
{
    for (; *s; s++)
        if (*s == '/')
            return 1;
    return 0;
}

int init_exec_error(struct init_buf *text, const char *name, int err)
{
    char scratch[32];
    const char *why = init_strerror(err, scratch, sizeof(scratch));
    int st, bare = err == IE_NOENT || err == IE_NOTDIR;
    ib_puts(text, name);
    if (bare && !has_slash(name)) {
        ib_puts(text, ": command not found");
        return INIT_ST_NOT_FOUND;
    }
    if (bare) {
        ib_puts(text, ": not found (");
        st = INIT_ST_NOT_FOUND;
    } else if (err == IE_ACCES || err == IE_PERM || err == IE_NOEXEC || err == IE_ISDIR ||
               err == IE_TXTBSY) {
        ib_puts(text, ": not executable (");
        st = INIT_ST_NOT_EXEC;
    } else {
        ib_puts(text, ": cannot execute (");
        st = INIT_ST_FAILED;
    }
    ib_puts(text, why);
    ib_putc(text, ')');
    return st;
}

/* ---- status lines ---- */

/* Ends the line with '\n', over the last character if the buffer is full. */
static void end_line(struct init_buf *b)
{
    if (b->len + 1 < b->cap)
        ib_putc(b, '\n');
    else if (b->len)
        b->p[b->len - 1] = '\n';
}

void init_status_wait(struct init_buf *b, int wstatus)
{
    unsigned sig = (unsigned)wstatus & 0x7f;   /* Linux's encoding, the same on every arch */
    if (sig == 0) {
        ib_puts(b, "exit ");
        ib_putu(b, ((unsigned)wstatus >> 8) & 0xff);
    } else {
        ib_puts(b, "signal ");
        ib_putu(b, sig);
    }
    end_line(b);
}

void init_status_error(struct init_buf *b, int status, const char *text)
{
    ib_puts(b, "error ");
    ib_putu(b, (unsigned)status);
    ib_putc(b, ' ');
    for (; *text; text++)   /* names come from the user: keep the line one line of ASCII */
        ib_putc(b, *text >= ' ' && *text < 0x7f ? *text : '?');
    end_line(b);
}

static const struct {
    unsigned char err;
    const char *text;
} errtext[] = {
    {IE_PERM, "Operation not permitted"}, {IE_NOENT, "No such file or directory"},
    {IE_SRCH, "No such process"}, {IE_INTR, "Interrupted system call"},
    {IE_IO, "Input/output error"}, {IE_NXIO, "No such device or address"},
    {IE_2BIG, "Argument list too long"}, {IE_NOEXEC, "Exec format error"},
    {IE_BADF, "Bad file descriptor"}, {IE_CHILD, "No child processes"},
    {IE_AGAIN, "Resource temporarily unavailable"}, {IE_NOMEM, "Cannot allocate memory"},
    {IE_ACCES, "Permission denied"}, {IE_FAULT, "Bad address"},
    {IE_BUSY, "Device or resource busy"}, {IE_EXIST, "File exists"},
    {IE_NODEV, "No such device"}, {IE_NOTDIR, "Not a directory"}, {IE_ISDIR, "Is a directory"},
    {IE_INVAL, "Invalid argument"}, {IE_NFILE, "Too many open files in system"},
    {IE_MFILE, "Too many open files"}, {IE_NOTTY, "Inappropriate ioctl for device"},
    {IE_TXTBSY, "Text file busy"}, {IE_FBIG, "File too large"},
    {IE_NOSPC, "No space left on device"}, {IE_ROFS, "Read-only file system"},
    {IE_NAMETOOLONG, "File name too long"}, {IE_NOSYS, "Function not implemented"},
    {IE_LOOP, "Too many levels of symbolic links"}, {IE_NODATA, "No data available"},
    {IE_TIME, "Timer expired"}, {IE_PROTO, "Protocol error"}, {IE_BADMSG, "Bad message"},
    {IE_PROTONOSUPPORT, "Protocol not supported"}, {IE_OPNOTSUPP, "Operation not supported"},
    {IE_TIMEDOUT, "Connection timed out"}, {IE_STALE, "Stale file handle"},
    {IE_NOKEY, "Required key not available"}, {IE_KEYEXPIRED, "Key has expired"},
    {IE_KEYREJECTED, "Key was rejected by service"},
};

const char *init_strerror(int err, char *scratch, size_t cap)
{
    for (size_t i = 0; i < sizeof(errtext) / sizeof(errtext[0]); i++)
        if (errtext[i].err == err)
            return errtext[i].text;
    struct init_buf b;
    ib_init(&b, scratch, cap);
    ib_puts(&b, "error ");
    ib_putu(&b, (unsigned long)(err < 0 ? -err : err));
    return scratch;
}
