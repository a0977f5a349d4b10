#!/usr/bin/env bash
# images.sh DIR: makes the disk images the boot tests hand to guests, on the host side.
#   DIR/data.ext4   ext4 with /hello.txt
#   DIR/root.ext4   ext4 root file system: busybox and an /sbin/init that reports and powers off
set -euo pipefail
. "$(dirname "$0")/../host/common.sh"
dir=$1
kdir=$(bash "$(dirname "$0")/../host/fetch-kernel.sh")
mkdir -p "$dir"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/data"
echo "hello from an ext4 image made on the host" > "$tmp/data/hello.txt"
rm -f "$dir/data.ext4"
mkfs.ext4 -q -F -E root_owner=0:0 -d "$tmp/data" -L data "$dir/data.ext4" 16M >/dev/null

mkdir -p "$tmp/root"/{bin,sbin,proc,sys,dev}
cp "$kdir/busybox" "$tmp/root/bin/busybox"
for a in sh mount cat grep echo poweroff sync; do ln -s busybox "$tmp/root/bin/$a"; done
cat > "$tmp/root/sbin/init" <<'EOS'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
echo "MINIVMM-ROOTFS-UP root=$(grep ' / ' /proc/mounts | cut -d' ' -f1,3)"
sync
poweroff -f
EOS
chmod 755 "$tmp/root/sbin/init"
ln -s busybox "$tmp/root/bin/cut"
rm -f "$dir/root.ext4"
mkfs.ext4 -q -F -E root_owner=0:0 -d "$tmp/root" -L root "$dir/root.ext4" 16M >/dev/null
