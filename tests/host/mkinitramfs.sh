#!/usr/bin/env bash
# mkinitramfs.sh OUT.cpio.gz INIT [SRC=DEST ...]
# Packs a busybox initramfs: busybox with its applets as links, INIT as /init, and extra
# files copied to DEST. Needs no root: the init scripts mount devtmpfs for their device nodes.
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=$1 init=$2; shift 2
kdir=$(bash "$(dirname "$0")/fetch-kernel.sh")

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib,etc}
cp "$kdir/busybox" "$root/bin/busybox"
for applet in sh ash cat echo mount umount mkdir ls grep sed awk poweroff reboot insmod \
              sleep uname dmesg setsid cttyhack head tail wc cut tr rm cp mv ps kill test [ \
              sync true false chmod ln dd md5sum date stty env printf expr seq timeout base64 od; do
    ln -sf busybox "$root/bin/$applet"
done
cp "$init" "$root/init"
chmod 755 "$root/init"
for spec in "$@"; do
    src=${spec%%=*} dest=${spec#*=}
    mkdir -p "$root/$(dirname "$dest")"
    cp "$src" "$root/$dest"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
