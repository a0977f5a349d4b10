/* The initramfs minivmm makes for `--rootfs DIR` when no -i is given, in memory: its own init
 * (firmware/init.c, built for the kernel's byte order), the kernel modules the root needs
 * (virtio-pci, virtio console, 9p and its transport, overlayfs; with what they depend on, in
 * load order), and /minivmm/config, which tells the init what to mount and run.
 */
#ifndef MINIVMM_INITRAMFS_H
#define MINIVMM_INITRAMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cpio.h"
#include "err.h"

/* What the root needs that a kernel may have as modules (kmod.c names their config options). */
extern const char *const initramfs_modules[];

/* Builds it into out (cpio_free() it) for c, whose rootfs is set; vmlinux is the kernel's image
 * (its banner names the modules' directory when c gives none). */
int initramfs_build(const struct vm_config *c, const uint8_t *vmlinux, size_t len,
                    bool big_endian, struct cpio *out, struct mvm_err *e);

#endif
