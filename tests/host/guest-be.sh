#!/usr/bin/env bash
# guest-be.sh OUT_DIR: makes the big-endian test guest: OUT_DIR/vmlinux-be (build-kernel.sh
# guest-be, cached) and OUT_DIR/initrd-be.gz, whose only program is tests/guest/marker-init.c
# built static for big-endian ppc64 (Debian's gcc-powerpc64-linux-gnu and its libc).
set -euo pipefail
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
cc=powerpc64-linux-gnu-gcc
[ "$(uname -m)" = ppc64 ] && cc=gcc
command -v "$cc" >/dev/null || die "$cc not found; run tests/host/deps.sh"

kernel=$(bash "$here/build-kernel.sh" guest-be)/vmlinux
cp "$kernel" "$out/vmlinux-be"

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root/dev" "$root/proc"
chmod 755 "$root"
"$cc" -std=gnu11 -O2 -Wall -Wextra -static -o "$root/init" "$here/../guest/marker-init.c"
# The same program as a command for a big-endian guest whose root is a host directory.
cp "$root/init" "$out/marker-be"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out/initrd-be.gz"
