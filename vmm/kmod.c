#include "kmod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the release, from the banner ---- */

/* The length of the release at s if it is one: printable, no '%' (a format string's
 * "Linux version %s"), no '/' (it becomes a directory name), starting with a digit as every
 * kernel release does, at most 64 characters, and ended by a space inside the image. */
static size_t release_length(const unsigned char *s, const unsigned char *end)
{
    if (s >= end || *s < '0' || *s > '9')
        return 0;
    for (size_t n = 0; n < KMOD_VERSION_MAX && s + n < end; n++) {
        unsigned char c = s[n];
        if (c == ' ')
            return n;
        if (c < 0x21 || c > 0x7e || c == '%' || c == '/')
            return 0;
    }
    return 0;
}

int kernel_version(const void *image, size_t len, char *out, size_t outlen, struct mvm_err *e)
{
    static const char tag[] = "Linux version ";
    const unsigned char *p = image, *end = p + len;
    while (p < end && (p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1)) != NULL) {
        p += sizeof(tag) - 1;
        size_t n = release_length(p, end);
        if (n == 0)
            continue;
        if (n >= outlen)
            return mvm_fail(e, MVM_E_VMM, "internal error: no room for the kernel release "
                            "(%zu characters)", n);
        memcpy(out, p, n);
        out[n] = '\0';
        return 0;
    }
    return mvm_fail(e, MVM_E_INPUT, "the kernel image has no \"Linux version\" banner, so its "
                    "release (and where its modules are) is unknown: boot an uncompressed "
                    "vmlinux, or give its modules directory with --modules DIR");
}

/* ---- the modules directory ---- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int kmod_find_dir(const char *rootfs, const char *version, char *out, size_t outlen,
                  struct mvm_err *e)
{
    static const char *const under[] = { "lib/modules", "usr/lib/modules" };
    if (!version[0] || strchr(version, '/') || strcmp(version, ".") == 0 ||
        strcmp(version, "..") == 0)
        return mvm_fail(e, MVM_E_INPUT, "\"%s\" is not a kernel release: give the modules "
                        "directory with --modules DIR", version);
    char dir[4096], dep[4096 + 16];
    const char *without_dep = NULL;
    if (outlen == 0)
        return mvm_fail(e, MVM_E_VMM, "internal error: no room for the modules directory");
    out[0] = '\0';
    /* Both places, preferring one with modules.dep: in a merged-/usr tree they are one. */
    for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
        if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/%s", rootfs, under[i], version) >=
            sizeof(dir))
            return mvm_fail(e, MVM_E_INPUT, "the root directory's path %s is too long: use a "
                            "shorter one", rootfs);
        struct stat st;
        if (stat(dir, &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return mvm_fail(e, MVM_E_INPUT, "cannot look at %s: %s", dir, strerror(errno));
        }
        snprintf(dep, sizeof(dep), "%s/modules.dep", dir);
        if (!S_ISDIR(st.st_mode) || !is_file(dep)) {
            without_dep = under[i];
            continue;
        }
        if ((size_t)snprintf(out, outlen, "%s", dir) >= outlen)
            return mvm_fail(e, MVM_E_VMM, "internal error: no room for the path %s", dir);
        return 0;
    }
    if (without_dep)
        return mvm_fail(e, MVM_E_INPUT, "%s/%s/%s has no modules.dep: run `depmod -b %s %s`, "
                        "or give the modules directory with --modules DIR", rootfs,
                        without_dep, version, rootfs, version);
    return 0;
}

/* ---- modules.dep and modules.builtin ---- */

#define KMOD_NAME_MAX 64           /* the kernel's MODULE_NAME_LEN */
#define KMOD_FILE_MAX (64u << 20)  /* Debian's modules.dep is ~500 KiB */
#define KMOD_DEPTH_MAX 512         /* real chains are a dozen deep */

struct dep_entry {
    const char *path;                 /* relative to the directory */
    char name[KMOD_NAME_MAX];         /* "" when path is no module file */
    const char *deps, *deps_end;      /* its dependencies' paths, NUL-separated, packed */
    enum { NEW, VISITING, PLACED } state;
};

struct depdb {
    const char *dir;
    char *dep_text, *builtin_text;
    struct dep_entry *mods;
    size_t nmods;
    char (*builtin)[KMOD_NAME_MAX];
    size_t nbuiltin;
    struct kmod_list *out;
};

/* The module a name or file path stands for: its basename less ".ko" (and a compression
 * suffix) when has_suffix, with '-' read as '_' as the kernel does; "" when it is none. */
static void module_name(const char *path, bool has_suffix, char out[KMOD_NAME_MAX])
{
    static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(base), stem = has_suffix ? 0 : len;
    for (size_t i = 0; has_suffix && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcmp(base + len - sl, suffixes[i]) == 0)
            stem = len - sl;
    }
    if (stem >= KMOD_NAME_MAX)
        stem = 0;
    for (size_t i = 0; i < stem; i++)
        out[i] = base[i] == '-' ? '_' : base[i];
    out[stem] = '\0';
}

/* A whole file, NUL-terminated (a NUL inside becomes a line break). 0, or 1 when the file
 * does not exist (e untouched), or -1. */
static int read_text(const char *path, char **out, struct mvm_err *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0)
        return mvm_fail(e, MVM_E_INPUT, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KMOD_FILE_MAX)
        mvm_fail(e, MVM_E_INPUT, "%s is not a file depmod wrote: run depmod to rebuild it",
                 path);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        mvm_fail(e, MVM_E_VMM, "out of memory reading %s", path);
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            mvm_fail(e, MVM_E_INPUT, "cannot read %s: %s", path, strerror(errno));
            free(buf);
            buf = NULL;
        }
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf)
        return -1;
    for (size_t i = 0; i < got; i++)
        buf[i] = buf[i] ? buf[i] : '\n';
    buf[got] = '\0';
    *out = buf;
    return 0;
}

static size_t count_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* One line "path: dep dep ...", split in place; its dependencies are packed, each followed
 * by a NUL, where they were. */
static int parse_dep_line(struct depdb *db, char *line, size_t lineno, struct mvm_err *e)
{
    line += strspn(line, " \t\r");
    if (!*line || *line == '#')
        return 0;
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return mvm_fail(e, MVM_E_INPUT, "%s/modules.dep line %zu is not \"module: "
                        "dependencies\": run depmod to rebuild it", db->dir, lineno);
    *colon = '\0';
    line[strcspn(line, " \t\r")] = '\0';
    struct dep_entry *m = &db->mods[db->nmods++];
    m->path = line;
    module_name(line, true, m->name);
    char *w = colon + 1, *r = colon + 1;
    m->deps = w;
    for (;;) {
        r += strspn(r, " \t\r");
        if (!*r)
            break;
        size_t l = strcspn(r, " \t\r");
        bool more = r[l] != '\0';
        memmove(w, r, l);
        w[l] = '\0';
        w += l + 1;
        r += l + more;
    }
    m->deps_end = w;
    return 0;
}

static int parse_dep(struct depdb *db, struct mvm_err *e)
{
    db->mods = calloc(count_lines(db->dep_text), sizeof(*db->mods));
    if (!db->mods)
        return mvm_fail(e, MVM_E_VMM, "out of memory reading %s/modules.dep", db->dir);
    char *line = db->dep_text;
    for (size_t lineno = 1; line; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (parse_dep_line(db, line, lineno, e) != 0)
            return -1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static int parse_builtin(struct depdb *db, struct mvm_err *e)
{
    if (!db->builtin_text)
        return 0;
    db->builtin = calloc(count_lines(db->builtin_text), sizeof(*db->builtin));
    if (!db->builtin)
        return mvm_fail(e, MVM_E_VMM, "out of memory reading %s/modules.builtin", db->dir);
    char *save = NULL;
    for (char *line = strtok_r(db->builtin_text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t\r");
        line[strcspn(line, " \t\r")] = '\0';
        module_name(line, true, db->builtin[db->nbuiltin]);
        db->nbuiltin += db->builtin[db->nbuiltin][0] != '\0';
    }
    return 0;
}

static int load_db(struct depdb *db, struct mvm_err *e)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/modules.dep", db->dir) >= sizeof(path))
        return mvm_fail(e, MVM_E_INPUT, "the modules directory's path %s is too long: use a "
                        "shorter one", db->dir);
    int r = read_text(path, &db->dep_text, e);
    if (r == 1)
        return mvm_fail(e, MVM_E_INPUT, "%s has no modules.dep: run depmod for its kernel, or "
                        "give --modules a directory that has one", db->dir);
    if (r != 0 || parse_dep(db, e) != 0)
        return -1;
    /* No modules.builtin: nothing is known to be built in, so every module needs a file. */
    snprintf(path, sizeof(path), "%s/modules.builtin", db->dir);
    r = read_text(path, &db->builtin_text, e);
    return r < 0 ? -1 : parse_builtin(db, e);
}

static void db_free(struct depdb *db)
{
    free(db->dep_text);
    free(db->builtin_text);
    free(db->mods);
    free(db->builtin);
}

/* ---- the load order ---- */

static bool is_builtin(const struct depdb *db, const char *name)
{
    for (size_t i = 0; name[0] && i < db->nbuiltin; i++)
        if (strcmp(db->builtin[i], name) == 0)
            return true;
    return false;
}

static struct dep_entry *find_name(struct depdb *db, const char *name)
{
    for (size_t i = 0; name[0] && i < db->nmods; i++)
        if (strcmp(db->mods[i].name, name) == 0)
            return &db->mods[i];
    return NULL;
}

static struct dep_entry *find_path(struct depdb *db, const char *path)
{
    for (size_t i = 0; i < db->nmods; i++)
        if (strcmp(db->mods[i].path, path) == 0)
            return &db->mods[i];
    return NULL;
}

/* Appends m's file to the list, once its dependencies are there. The path must stay inside
 * the directory: modules.dep may come from a tree the guest itself can write. */
static int place(struct depdb *db, struct dep_entry *m, struct mvm_err *e)
{
    const char *p = m->path;
    if (p[0] == '/' || strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
        strstr(p, "/../") || (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
        return mvm_fail(e, MVM_E_INPUT, "%s/modules.dep names %s, which is not a path inside "
                        "it: run depmod to rebuild it", db->dir, p);
    char *full;
    if (asprintf(&full, "%s/%s", db->dir, p) < 0)
        return mvm_fail(e, MVM_E_VMM, "out of memory listing kernel modules");
    if (!is_file(full)) {
        mvm_fail(e, MVM_E_INPUT, "module file %s, listed in %s/modules.dep, is missing: "
                 "install the kernel's modules again, or run depmod", full, db->dir);
        free(full);
        return -1;
    }
    char **paths = realloc(db->out->paths, (db->out->n + 1) * sizeof(*paths));
    if (!paths) {
        free(full);
        return mvm_fail(e, MVM_E_VMM, "out of memory listing kernel modules");
    }
    paths[db->out->n++] = full;
    db->out->paths = paths;
    m->state = PLACED;
    return 0;
}

/* Depth first: each dependency (and its own, recursively) before m. modprobe loads the
 * dependencies a line lists from the last to the first, so they are walked in that order. */
static int visit(struct depdb *db, struct dep_entry *m, unsigned depth, struct mvm_err *e)
{
    if (m->state == PLACED)
        return 0;
    if (m->state == VISITING)
        return mvm_fail(e, MVM_E_INPUT, "%s/modules.dep is broken: %s depends on itself "
                        "through its dependencies: run depmod to rebuild it", db->dir, m->path);
    if (depth > KMOD_DEPTH_MAX)
        return mvm_fail(e, MVM_E_INPUT, "%s/modules.dep is broken: %s is more than %d "
                        "dependencies deep: run depmod to rebuild it", db->dir, m->path,
                        KMOD_DEPTH_MAX);
    m->state = VISITING;
    for (const char *end = m->deps_end; end > m->deps;) {
        const char *dep = end - 1;          /* the NUL that ends the last one not walked */
        while (dep > m->deps && dep[-1] != '\0')
            dep--;
        end = dep;
        char name[KMOD_NAME_MAX];
        module_name(dep, true, name);
        if (is_builtin(db, name))
            continue;
        struct dep_entry *d = find_path(db, dep);
        if (!d)
            return mvm_fail(e, MVM_E_INPUT, "%s/modules.dep says %s needs %s but has no line "
                            "for it: run depmod to rebuild it", db->dir, m->path, dep);
        if (visit(db, d, depth + 1, e) != 0)
            return -1;
    }
    return place(db, m, e);
}

/* The kernel options behind the modules minivmm asks for, for the error that names them. */
static const struct {
    const char *name, *options;
} module_options[] = {
    { "virtio_pci", "CONFIG_VIRTIO_PCI=y" },
    { "virtio_console", "CONFIG_VIRTIO_CONSOLE=y" },
    { "virtio_blk", "CONFIG_VIRTIO_BLK=y" },
    { "9pnet_virtio", "CONFIG_NET_9P=y and CONFIG_NET_9P_VIRTIO=y" },
    { "9p", "CONFIG_9P_FS=y" },
    { "overlay", "CONFIG_OVERLAY_FS=y" },
    { "virtio_net", "CONFIG_VIRTIO_NET=y" },
    { "vmw_vsock_virtio_transport", "CONFIG_VSOCKETS=y and CONFIG_VIRTIO_VSOCKETS=y" },
};

/* The kernel may not have it at all: name the options that build it. */
static int not_found(const struct depdb *db, const char *wanted, const char *name,
                     struct mvm_err *e)
{
    const char *options = "it";
    for (size_t i = 0; i < sizeof(module_options) / sizeof(module_options[0]); i++)
        if (strcmp(module_options[i].name, name) == 0)
            options = module_options[i].options;
    return mvm_fail(e, MVM_E_INPUT, "the kernel needs module %s, which %s/modules.dep and "
                    "modules.builtin do not list: build the kernel with %s (or =m and install "
                    "its modules), or give --modules DIR", wanted, db->dir, options);
}

int kmod_resolve(const char *dir, const char *const *wanted, size_t nwanted,
                 struct kmod_list *out, struct mvm_err *e)
{
    out->paths = NULL;
    out->n = 0;
    struct depdb db = { .dir = dir, .out = out };
    int r = load_db(&db, e);
    for (size_t i = 0; r == 0 && i < nwanted; i++) {
        char name[KMOD_NAME_MAX];
        module_name(wanted[i], false, name);
        if (is_builtin(&db, name))
            continue;
        struct dep_entry *m = find_name(&db, name);
        r = m ? visit(&db, m, 0, e) : not_found(&db, wanted[i], name, e);
    }
    db_free(&db);
    if (r != 0)
        kmod_list_free(out);
    return r;
}

void kmod_list_free(struct kmod_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = 0;
}
