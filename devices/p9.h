/* A 9P2000.L file server for one host directory, the core of a virtio-9p device.
 *
 * The device glue hands each request over as the driver's buffers; everything in them is
 * written by the guest and is checked here (sizes, counts, string lengths, fids) before use.
 *
 * Security model (what a guest can and cannot do through a share):
 *
 * - Files are created and touched with minivmm's own credentials, as QEMU's
 *   security_model=none (passthrough without chown when minivmm is not root): a new file
 *   belongs to minivmm's uid and gid whatever the guest asks; a guest's chown is tried and
 *   succeeds only where the host would let minivmm do it; mode bits are the guest's (setuid
 *   and setgid bits included, as with passthrough: share only a directory minivmm's user owns,
 *   and do not run minivmm as root on a share whose files other users execute).
 * - The guest can read, write, create, rename and delete everything minivmm's user may in the
 *   shared tree, fill the host's disk (or inodes) beneath it, and hold a bounded number of
 *   fids (P9_MAX_FIDS in p9_impl.h, and at most an eighth of the descriptor limit, so a quarter
 *   of the descriptors), each an open host descriptor or two (past the process's descriptor
 *   limit it gets EMFILE).
 * - It cannot reach anything outside the share: every host object is reached by walking one
 *   name at a time from the share's root descriptor, each step one openat (openat2 with
 *   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it) relative to a descriptor
 *   held for the directory, always O_NOFOLLOW; names are single components (no '/', no NUL,
 *   not "." and not ".." at the root, at most NAME_MAX bytes). ".." is resolved from the
 *   fid's path below the root, never by asking the host, so it stops at the root.
 * - It cannot make the host follow a symlink: symlinks are objects it reads (Treadlink) and
 *   resolves itself; opening one fails with ELOOP, and a symlink swapped in for a directory
 *   between two requests is never traversed, since every open is relative to a descriptor of
 *   the directory itself and refuses a symlink in the same system call.
 * - It cannot create device nodes (Tmknod of a character or block device is EPERM) nor open
 *   any that the host put in the share (only regular files and directories are opened), and
 *   no host path with /proc magic links is ever used.
 * - Nothing it sends crashes minivmm or makes it read or write outside the request's buffers;
 *   a bad request gets Rlerror with an errno.
 * - With ro, every modifying request gets EROFS and nothing is ever opened for writing.
 *
 * What this does not protect: a host process that moves a directory out of the share while
 * the guest holds a fid inside it gives the guest that directory (as with QEMU); the share
 * should not be a tree that untrusted host users can rearrange.
 */
#ifndef MINIVMM_P9_H
#define MINIVMM_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "../vmm/err.h"

struct p9_server;

/* Serves the host directory `root` (opened once here; everything the guest reaches is beneath
 * it). ro: every modifying request gets EROFS. */
int p9_server_create(struct p9_server **out, const char *root, bool ro, struct mvm_err *e);
void p9_server_destroy(struct p9_server *s);
/* The O_PATH descriptor of the share's root (for the threads' Landlock rule: the tree the
 * server serves, whatever has happened to its name since). */
int p9_server_root_fd(const struct p9_server *s);

/* One request: the T-message is read from the driver's buffers `out` (nout iovecs, possibly
 * split anywhere, total length known), the R-message is written into the device-writable
 * buffers `in` (nin iovecs). Returns the number of bytes written into `in` (the R-message's
 * size), or 0 if not even an Rlerror fits (the device then completes the chain with length
 * 0). Never crashes, never reads or writes outside the given buffers, whatever the guest
 * sends. Thread-safe: several I/O threads may call it at once on one server (the fid table
 * is guarded; file I/O itself runs unlocked). */
size_t p9_handle(struct p9_server *s, const struct iovec *out, unsigned nout,
                 const struct iovec *in, unsigned nin);

/* The largest msize the server accepts (Tversion negotiates down to it): at least 512 KiB. */
#define P9_MAX_MSIZE (512 * 1024)

#endif
