#include "rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../devices/spec.h"
#include "../devices/stdio_status.h"

#define SPEC_MAX 4096

struct rootfs_setup {
    char *share;                     /* the root share's SPEC */
    char stdio[80];
    char cmdline[SPEC_MAX];
};

int rootfs_parse(const char *spec, char *dir, size_t len, bool *rw)
{
    const char *opts = spec_path(spec, dir, len);
    if (!opts || !dir[0] || (*opts && strcmp(opts, ",rw") != 0))
        return -1;
    *rw = *opts != '\0';
    return 0;
}

int rootfs_check(const char *spec, struct mvm_err *e)
{
    char dir[SPEC_MAX];
    bool rw;
    struct stat st;
    if (rootfs_parse(spec, dir, sizeof(dir), &rw))
        return mvm_fail(e, MVM_E_INPUT, "--rootfs %s: use --rootfs DIR or --rootfs DIR,rw (a "
                        "comma in DIR is written ,,)", spec);
    if (stat(dir, &st) != 0)
        return mvm_fail(e, MVM_E_INPUT, "--rootfs %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mvm_fail(e, MVM_E_INPUT, "--rootfs %s: not a directory (the guest's root is a "
                        "host directory; a disk image goes to -d)", dir);
    return 0;
}

/* stdout and stderr belong to the command: the kernel's messages go where minivmm's
 * diagnostics go with -v, else only to the log (errors still end the run with their message).
 * The vty stays the kernel's console (hvc0), quiet unless -v; the user's -a words come last,
 * so they win. */
static void route_kernel_console(struct vm_config *c, struct rootfs_setup *s)
{
    snprintf(s->cmdline, sizeof(s->cmdline), "console=hvc0%s%s%s", c->verbose ? "" : " quiet",
             c->cmdline && c->cmdline[0] ? " " : "", c->cmdline ? c->cmdline : "");
    c->cmdline = s->cmdline;
    if (c->verbose && c->log_fd >= 0) {
        c->console_out = c->log_fd;
        c->quiet = false;
    } else {
        c->quiet = true;
        c->log_fd = -1;   /* minivmm's own remarks on the guest too: stderr is the command's */
    }
}

struct rootfs_setup *rootfs_configure(struct vm_config *c, struct mvm_err *e)
{
    struct rootfs_setup *s = calloc(1, sizeof(*s));
    char dir[SPEC_MAX];
    bool rw;
    if (!s)
        return mvm_fail(e, MVM_E_VMM, "out of memory"), NULL;
    if (rootfs_parse(c->rootfs, dir, sizeof(dir), &rw)) {
        rootfs_check(c->rootfs, e);
        return rootfs_free(s), NULL;
    }
    if (c->initrd && c->command)
        return mvm_fail(e, MVM_E_INPUT, "a command after -- is run by minivmm's own initramfs: "
                        "drop -i (or give no command, and your initramfs does the rest)"),
               rootfs_free(s), NULL;
    if (!(s->share = spec_make(dir, rw ? ",tag=" ROOTFS_TAG : ",tag=" ROOTFS_TAG ",ro")))
        return mvm_fail(e, MVM_E_VMM, "out of memory"), rootfs_free(s), NULL;
    /* A command reads its own stdin (a port, end-of-file included); a shell gets the
     * console's input on its terminal, the stdio device's console port. */
    bool shell = !c->command;
    snprintf(s->stdio, sizeof(s->stdio), "in=%d,out=%d,err=%d%s",
             shell ? -1 : c->command_fd[0], shell ? c->console_out : c->command_fd[1],
             c->command_fd[2], shell ? ",tty" : "");
    if (!shell) {
        c->console_in = -1;
        c->escape = false;   /* stdin is the command's, byte for byte */
    }
    route_kernel_console(c, s);
    if (c->nfail_on == VM_MAX_PATTERNS)
        return mvm_fail(e, MVM_E_INPUT, "--rootfs watches the console for its init's failure: "
                        "give at most %d --fail-on patterns", VM_MAX_PATTERNS - 1),
               rootfs_free(s), NULL;
    c->fail_on[c->nfail_on++] = STDIO_CONSOLE_FALLBACK;
    if (vm_config_add_device(c, "share", s->share, e) ||
        vm_config_add_device(c, "stdio", s->stdio, e))
        return rootfs_free(s), NULL;
    return s;
}

void rootfs_free(struct rootfs_setup *s)
{
    if (s)
        free(s->share);
    free(s);
}
