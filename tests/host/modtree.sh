#!/usr/bin/env bash
# modtree.sh OUT: installs the modules a --rootfs guest needs (virtio-pci, virtio console, 9p
# and its transport, overlayfs, virtio-net and vsock for --net and --vsock, and what they
# depend on) from Debian's kernel the way a
# distribution does, in OUT/lib/modules/VERSION with modules.dep and modules.builtin made by
# depmod, and prints one SRC=DEST line per file (DEST relative to OUT's root), for l1-run.sh's
# L1_EXTRA. The boot tests put this tree in the emulated host, where minivmm --rootfs / finds
# it by the guest kernel's version.
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=$1
kdir=$(bash "$(dirname "$0")/fetch-kernel.sh")
ver=$(cat "$kdir/version")
command -v depmod >/dev/null || PATH=$PATH:/sbin:/usr/sbin
command -v depmod >/dev/null || die "depmod not found: install kmod (tests/host/deps.sh)"

# Every module's dependencies, from depmod run over a tree of links to the whole package.
all=$(mktemp -d); trap 'rm -rf "$all"' EXIT
mkdir -p "$all/lib/modules/$ver"
cp -rs "$kdir/modules/." "$all/lib/modules/$ver/"
depmod -b "$all" "$ver"
dep=$all/lib/modules/$ver/modules.dep
want="virtio_pci virtio_console 9pnet_virtio 9p overlay virtio_net vmw_vsock_virtio_transport"
files=$(for m in $want; do
            grep -E "/${m}\.ko(\.[a-z]+)?:" "$dep" | tr -d ':' | tr ' ' '\n'
        done | sed '/^$/d' | sort -u)
[ -n "$files" ] || die "none of $want found in Debian's kernel package"

rm -rf "$out/lib/modules/$ver"
mkdir -p "$out/lib/modules/$ver"
for f in $files; do
    mkdir -p "$out/lib/modules/$ver/$(dirname "$f")"
    cp "$kdir/modules/$f" "$out/lib/modules/$ver/$f"
done
cp "$kdir/modules"/modules.{builtin,builtin.modinfo,order} "$out/lib/modules/$ver/"
depmod -b "$out" "$ver"
(cd "$out" && find lib -type f | LC_ALL=C sort) | while read -r f; do echo "$out/$f=$f"; done
