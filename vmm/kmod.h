/* The kernel modules a guest must load to reach its root, found the way a distribution
 * installs them: the kernel's release from its banner, ROOTFS/lib/modules/RELEASE, and there
 * modules.dep (what each module needs) and modules.builtin (what the kernel has built in).
 *
 * Pure apart from reading those files and checking that module files exist; no KVM
 * (tests/unit/test_kmod.c). Every failure is MVM_E_INPUT with the fix. */
#ifndef MINIVMM_KMOD_H
#define MINIVMM_KMOD_H

#include <stddef.h>

#include "err.h"

/* A release is at most __NEW_UTS_LEN (64) characters; out needs one more. */
#define KMOD_VERSION_MAX 65

/* The release X of the first banner "Linux version X " in a vmlinux image of either byte
 * order (the banner is a plain string), e.g. "6.1.0-57-powerpc64le". Candidates that are not
 * a release (a format string's "%s", empty, unprintable, holding '/', or running off the end
 * of the image) are skipped. The error does not name the image: its caller knows the file. */
int kernel_version(const void *image, size_t len, char *out, size_t outlen, struct mvm_err *e);

/* The modules directory of release `version` inside rootfs: ROOTFS/lib/modules/VERSION, else
 * ROOTFS/usr/lib/modules/VERSION (merged /usr), whichever has a modules.dep. Returns 0 with
 * out = "" when neither exists (the caller then takes the drivers to be built in), 0 with the
 * path, or -1 when one exists without modules.dep (the fix: depmod). */
int kmod_find_dir(const char *rootfs, const char *version, char *out, size_t outlen,
                  struct mvm_err *e);

struct kmod_list {
    char **paths;    /* full host paths of module files, in load order */
    size_t n;
};

/* The module files to load, in order, so that each of the `wanted` modules (names such as
 * "virtio_pci" or "9pnet_virtio"; '-' and '_' are the same) is loaded: from dir/modules.dep,
 * every dependency before what needs it, each file once; modules in dir/modules.builtin need
 * no file. A wanted module found in neither fails, naming the kernel options that build it.
 * On success *out is filled (possibly n = 0) and must be freed with kmod_list_free(). */
int kmod_resolve(const char *dir, const char *const *wanted, size_t nwanted,
                 struct kmod_list *out, struct mvm_err *e);

void kmod_list_free(struct kmod_list *l);

#endif
