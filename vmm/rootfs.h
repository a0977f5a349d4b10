/* `--rootfs DIR[,rw] [-- COMMAND]`: a host directory as the guest's root file system, and one
 * command run in it with minivmm's stdio, or an interactive shell.
 *
 * What it implies is derived here from the user's configuration, before anything exists: the
 * root share (virtio-9p, read-only unless rw: the guest's init puts an overlay in guest memory
 * on it), the stdio device (virtio_stdio.c) that carries the command's stdin, stdout, stderr
 * and exit status, the kernel's console sent to the log (and stderr with -v) instead of
 * stdout, and, with no -i, the initramfs minivmm makes itself (initramfs.c).
 */
#ifndef MINIVMM_ROOTFS_H
#define MINIVMM_ROOTFS_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

#define ROOTFS_TAG "minivmm-root"   /* the root share's 9p mount tag */

/* Checks a --rootfs SPEC: DIR (",," for a comma in it) is a directory; the one option is rw. */
int rootfs_check(const char *spec, struct mvm_err *e);

/* The root directory and whether the guest may write to it, from a checked SPEC. */
int rootfs_parse(const char *spec, char *dir, size_t len, bool *rw);

/* Makes c what --rootfs implies (devices, console, kernel command line). The strings c then
 * points at live in the returned object: free it after c is done with. NULL: e says why. */
struct rootfs_setup *rootfs_configure(struct vm_config *c, struct mvm_err *e);
void rootfs_free(struct rootfs_setup *s);

#endif
