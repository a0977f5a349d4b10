#include "initramfs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../devices/device.h"
#include "../firmware/init_blob.h"
#include "../firmware/init_conf.h"
#include "kmod.h"
#include "rootfs.h"

#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NMODULES 5
#define MAX_MODULES 64   /* ours and the devices' (device.h's guest_modules) */

const char *const initramfs_modules[] = {
    "virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay", NULL,
};

/* One record of /minivmm/config: key=value and a NUL. */
static void record(FILE *f, const char *key, const char *value)
{
    fprintf(f, "%s=%s", key, value);
    fputc('\0', f);
}

static void add_record(void *f, const char *key, const char *value)
{
    record(f, key, value);
}

/* What each configured device's kind asks of the init (device.h): its records now, and its
 * modules after ours (once each, in the order the devices come). */
static int device_setup(const struct vm_config *c, FILE *cfg, const char **wanted, size_t *n,
                        struct mvm_err *e)
{
    for (unsigned i = 0; i < c->ndevices; i++) {
        const struct device_kind *k = c->devices[i].kind;
        unsigned nth = 0;
        for (unsigned j = 0; j < i; j++)
            nth += c->devices[j].kind == k;
        if (k->guest_setup && k->guest_setup(c->devices[i].spec, nth, add_record, cfg, e))
            return -1;
        for (const char *const *m = k->guest_modules; m && *m; m++) {
            size_t have = 0;
            while (have < *n && strcmp(wanted[have], *m) != 0)
                have++;
            if (have == *n && *n < MAX_MODULES)
                wanted[(*n)++] = *m;
        }
    }
    return 0;
}

/* Where the modules are: --modules DIR, else the root's /lib/modules/<the kernel's version>
 * (a distribution's layout); "" when there is none (the kernel must have the drivers built in,
 * which the init checks). */
static int modules_dir(const struct vm_config *c, const char *root, const uint8_t *vmlinux,
                       size_t len, char *out, size_t out_len, struct mvm_err *e)
{
    out[0] = '\0';
    if (c->modules_dir) {
        snprintf(out, out_len, "%s", c->modules_dir);
        return 0;
    }
    char version[256];
    struct mvm_err ignored = {0};
    if (kernel_version(vmlinux, len, version, sizeof(version), &ignored))
        return 0;   /* no banner: nothing to look for */
    return kmod_find_dir(root, version, out, out_len, e);
}

/* A module found in the root (not given with --modules) must be a file of the root: a guest
 * that could write there (rw) must not get a link to a host file copied into its next boot. */
static int inside(const char *root, const char *path, struct mvm_err *e)
{
    char rroot[PATH_MAX], rpath[PATH_MAX];
    if (!realpath(root, rroot) || !realpath(path, rpath))
        return mvm_fail(e, MVM_E_INPUT, "module %s: %s", path, strerror(errno));
    size_t n = strcmp(rroot, "/") == 0 ? 0 : strlen(rroot);
    if (strncmp(rpath, rroot, n) != 0 || rpath[n] != '/')
        return mvm_fail(e, MVM_E_INPUT, "module %s leads outside the root (%s): give the "
                        "modules' directory with --modules DIR", path, rpath);
    return 0;
}

/* The modules, as /minivmm/modules/NN-NAME, and a module= record for each, in load order.
 * root: the root they were found in, or NULL (--modules). */
static int add_modules(struct cpio *cp, FILE *cfg, const char *dir, const char *root,
                       const char *const *wanted, size_t nwanted, struct mvm_err *e)
{
    struct kmod_list list = {0};
    if (kmod_resolve(dir, wanted, nwanted, &list, e))
        return -1;
    int r = 0;
    for (size_t i = 0; i < list.n && r == 0; i++) {
        const char *base = strrchr(list.paths[i], '/');
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "minivmm/modules/%02zu-%s", i, base ? base + 1 : list.paths[i]);
        r = (root && inside(root, list.paths[i], e)) ||
            cpio_add_file_from(cp, path, 0644, list.paths[i], e) ? -1 : 0;
        char guest[PATH_MAX + 1];
        snprintf(guest, sizeof(guest), "/%s", path);
        record(cfg, "module", guest);
    }
    kmod_list_free(&list);
    return r;
}

/* The host's current directory, when it lies inside the root, as the guest sees it. */
static void guest_cwd(const char *root, char *out, size_t len)
{
    char rroot[PATH_MAX], cwd[PATH_MAX];
    out[0] = '\0';
    if (!realpath(root, rroot) || !getcwd(cwd, sizeof(cwd)))
        return;
    size_t n = strcmp(rroot, "/") == 0 ? 0 : strlen(rroot);
    if (strncmp(cwd, rroot, n) == 0 && (cwd[n] == '/' || cwd[n] == '\0'))
        snprintf(out, len, "%s", cwd[n] ? cwd + n : "/");
}

static void add_command(FILE *cfg, const struct vm_config *c, const char *root)
{
    char cwd[PATH_MAX], env[PATH_MAX + 16];
    guest_cwd(root, cwd, sizeof(cwd));
    if (cwd[0])
        record(cfg, "cwd", cwd);
    record(cfg, "env", "PATH=" GUEST_PATH);
    const char *home = getenv("HOME"), *term = getenv("TERM");
    snprintf(env, sizeof(env), "HOME=%s", home && home[0] ? home : "/");
    record(cfg, "env", env);
    snprintf(env, sizeof(env), "TERM=%s", term && term[0] ? term : "dumb");
    record(cfg, "env", env);
    for (const char *const *a = c->command; a && *a; a++)
        record(cfg, "arg", *a);
    struct winsize ws;
    if (!c->command && ioctl(c->console_in >= 0 ? c->console_in : 0, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_row && ws.ws_col) {
        snprintf(env, sizeof(env), "%u", ws.ws_row);
        record(cfg, "rows", env);
        snprintf(env, sizeof(env), "%u", ws.ws_col);
        record(cfg, "cols", env);
    }
}

/* What the init can take (firmware/init_conf.h), said now rather than after a boot. */
static int within_limits(const struct vm_config *c, size_t config_len, struct mvm_err *e)
{
    size_t n = 0;
    while (c->command && c->command[n])
        n++;
    if (n > INIT_MAX_ARGS)
        return mvm_fail(e, MVM_E_INPUT, "the command has %zu words; the guest's init takes %u "
                        "at most: run a script instead", n, INIT_MAX_ARGS);
    if (config_len > INIT_CONF_MAX_BYTES)
        return mvm_fail(e, MVM_E_INPUT, "the command and its environment take %zu bytes; the "
                        "guest's init takes %u at most: run a script instead", config_len,
                        INIT_CONF_MAX_BYTES);
    return 0;
}

static int add_skeleton(struct cpio *cp, bool big_endian, struct mvm_err *e)
{
    static const char *const dirs[] = {"dev", "proc", "sys", "minivmm", "minivmm/modules"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (cpio_add_dir(cp, dirs[i], 0755, e))
            return -1;
    if (cpio_add_node(cp, "dev/console", 020600, 5, 1, e))
        return -1;
    return cpio_add_file(cp, "init", 0755, big_endian ? guest_init_be : guest_init_le,
                         big_endian ? guest_init_be_size : guest_init_le_size, e);
}

int initramfs_build(const struct vm_config *c, const uint8_t *vmlinux, size_t len,
                    bool big_endian, struct cpio *out, struct mvm_err *e)
{
    char root[4096], mods[PATH_MAX];
    bool rw;
    char *text = NULL;
    size_t text_len = 0;
    cpio_init(out);
    if (rootfs_parse(c->rootfs, root, sizeof(root), &rw))
        return rootfs_check(c->rootfs, e);
    FILE *cfg = open_memstream(&text, &text_len);
    if (!cfg)
        return mvm_fail(e, MVM_E_VMM, "out of memory");
    record(cfg, "root", ROOTFS_TAG);
    if (rw)
        record(cfg, "rootrw", "1");
    const char *wanted[MAX_MODULES];
    size_t nwanted = rw ? NMODULES - 1 : NMODULES;   /* overlay last: an rw root needs none */
    memcpy(wanted, initramfs_modules, nwanted * sizeof(*wanted));
    int r = add_skeleton(out, big_endian, e) || device_setup(c, cfg, wanted, &nwanted, e) ||
            modules_dir(c, root, vmlinux, len, mods, sizeof(mods), e) ||
            (mods[0] && add_modules(out, cfg, mods, c->modules_dir ? NULL : root, wanted,
                                    nwanted, e))
                ? -1 : 0;
    add_command(cfg, c, root);
    if (fclose(cfg) != 0 && r == 0)
        r = mvm_fail(e, MVM_E_VMM, "out of memory");
    if (r == 0)
        r = within_limits(c, text_len, e);
    if (r == 0)
        r = cpio_add_file(out, "minivmm/config", 0644, text, text_len, e) || cpio_finish(out, e)
                ? -1 : 0;
    free(text);
    if (r)
        cpio_free(out);
    return r;
}
