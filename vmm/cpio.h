/* An in-memory cpio "newc" archive: the format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Each entry is a 110-byte header of ASCII hex fields ("070701" magic), the name with its
 * NUL padded to 4 bytes, and the data padded to 4 bytes; "TRAILER!!!" ends the archive.
 * Every entry is owned by root with mtime 0, so the same inputs give the same bytes, and gets
 * an inode number of its own (the kernel would hard-link files sharing one with nlink > 1).
 *
 * Paths are relative ("dev/console", not "/dev/console"), and a directory must be added
 * before what it holds: the kernel creates no missing parents. A failed add leaves the
 * archive as it was. Pure apart from cpio_add_file_from(), which reads one host file; no KVM
 * (tests/unit/test_cpio.c). */
#ifndef MINIVMM_CPIO_H
#define MINIVMM_CPIO_H

#include <stddef.h>

#include "err.h"

struct cpio {
    unsigned char *buf;    /* the archive so far, len bytes; malloc'd, grows */
    size_t len, cap;
    unsigned next_ino;
};

void cpio_init(struct cpio *c);

/* A directory, e.g. ("dev", 0755). Only the permission bits of mode are used. */
int cpio_add_dir(struct cpio *c, const char *path, unsigned mode, struct mvm_err *e);

/* A regular file holding len bytes of data. Only the permission bits of mode are used. */
int cpio_add_file(struct cpio *c, const char *path, unsigned mode, const void *data,
                  size_t len, struct mvm_err *e);

/* A regular file holding the host file host_path, read now. An unreadable host file fails
 * with MVM_E_INPUT naming it and the reason. */
int cpio_add_file_from(struct cpio *c, const char *path, unsigned mode, const char *host_path,
                       struct mvm_err *e);

/* A device node: mode is S_IFCHR or S_IFBLK with permission bits, e.g. S_IFCHR | 0600. */
int cpio_add_node(struct cpio *c, const char *path, unsigned mode, unsigned major,
                  unsigned minor, struct mvm_err *e);

/* A symbolic link path -> target. */
int cpio_add_symlink(struct cpio *c, const char *path, const char *target, struct mvm_err *e);

/* The trailer; c->buf and c->len are then the archive. */
int cpio_finish(struct cpio *c, struct mvm_err *e);

void cpio_free(struct cpio *c);

#endif
