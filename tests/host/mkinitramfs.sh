#!/usr/bin/env bash
# mkinitramfs.sh OUT.cpio.gz INIT [SRC=DEST ...]
# Packs a busybox initramfs: busybox with its applets as links, INIT as /init, and extra
# files copied to DEST. Needs no root: the init scripts mount devtmpfs for their device nodes.
# MODULES="name ..." adds those kernel modules of the Debian kernel and everything they
# depend on, listed in load order in /etc/modules (the kernel package has no modules.dep,
# so dependencies are read from each module's own depends= field).
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=$1 init=$2; shift 2
kdir=$(bash "$(dirname "$0")/fetch-kernel.sh")

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib,etc}
chmod 755 "$root"            # mktemp -d made it 0700: it becomes /, which everyone must enter
chmod 1777 "$root/tmp"
cp "$kdir/busybox" "$root/bin/busybox"
for applet in sh ash cat echo mount umount mkdir ls grep sed awk poweroff reboot insmod \
              sleep uname dmesg setsid cttyhack head tail wc cut tr rm cp mv ps kill test [ \
              sync true false chmod ln dd md5sum date stty env printf expr seq timeout base64 od \
              yes cmp hexdump blockdev switch_root losetup ip nc \
              httpd wget udhcpc nslookup; do
    ln -sf busybox "$root/bin/$applet"
done
if [ -n "${MODULES:-}" ]; then
    declare -A seen=()
    add_module() {
        local name=$1 file deps d
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        file=$(find "$kdir/modules" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n1)
        [ -n "$file" ] || die "kernel module $name not found"
        deps=$(tr '\0' '\n' < "$file" | sed -n 's/^depends=//p' | tr ',' ' ')
        for d in $deps; do add_module "$d"; done
        mkdir -p "$root/lib/modules"
        cp "$file" "$root/lib/modules/"
        echo "/lib/modules/$(basename "$file")" >> "$root/etc/modules"
    }
    for m in $MODULES; do add_module "$m"; done
fi
cp "$init" "$root/init"
chmod 755 "$root/init"
for spec in "$@"; do
    src=${spec%%=*} dest=${spec#*=}
    mkdir -p "$root/$(dirname "$dest")"
    cp "$src" "$root/$dest"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
