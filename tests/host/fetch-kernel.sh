#!/usr/bin/env bash
# Fetches Debian's ppc64el kernel (used both as the emulated host's kernel and as the default
# guest kernel) and busybox-static, and unpacks them into the cache. Prints nothing on stdout
# but the directory that holds: vmlinux, modules/ (the kernel's module tree), busybox.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dir=$MINIVMM_CACHE/debian-ppc64el
if [ -f "$dir/vmlinux" ] && [ -x "$dir/busybox" ]; then echo "$dir"; exit 0; fi

# The metapackage names the current ABI (the number moves with Debian point releases).
img=$(apt-cache depends linux-image-powerpc64le:ppc64el 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-[0-9].*-powerpc64le\)\(:ppc64el\)\{0,1\}$/\1/p' | head -n1)
[ -n "$img" ] || die "cannot resolve linux-image-powerpc64le:ppc64el; run tests/host/deps.sh (it enables the ppc64el architecture)"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log "downloading $img and busybox-static (ppc64el)"
(cd "$tmp" && apt-get download -q "$img:ppc64el" busybox-static:ppc64el >/dev/null 2>&1) ||
    (cd "$tmp" && apt-get download -q "$img:ppc64el" busybox-static:ppc64el)
mkdir -p "$tmp/x"
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done

rm -rf "$dir.new"; mkdir -p "$dir.new"
cp "$tmp"/x/boot/vmlinux-* "$dir.new/vmlinux"
cp "$tmp"/x/boot/config-* "$dir.new/config"
mv "$tmp"/x/lib/modules/* "$dir.new/modules"
cp "$tmp/x/bin/busybox" "$dir.new/busybox"
echo "${img#linux-image-}" > "$dir.new/version"
rm -rf "$dir"; mv "$dir.new" "$dir"
log "kernel $(cat "$dir/version") ready in $dir"
echo "$dir"
