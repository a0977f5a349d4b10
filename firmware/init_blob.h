/* The guest init of --rootfs (firmware/init.c), built by the Makefile for each byte order and
 * embedded as bytes (build/firmware/init_blob.c): a static ELF for the initramfs's /init,
 * ELFv2 little-endian and ELFv1 big-endian. Its contract with the host, /minivmm/config and
 * the ports, is described in firmware/init_conf.h and firmware/init.c. */
#ifndef MINIVMM_INIT_BLOB_H
#define MINIVMM_INIT_BLOB_H

extern const unsigned char guest_init_le[];
extern const unsigned int guest_init_le_size;
extern const unsigned char guest_init_be[];
extern const unsigned int guest_init_be_size;

#endif
