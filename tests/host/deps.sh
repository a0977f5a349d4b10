#!/usr/bin/env bash
# Installs what building and testing minivmm needs, once, from Debian's archive:
# the ppc64le cross compiler, QEMU's POWER system emulator (the emulated POWER host) and its
# user-mode emulator (runs the API checks off POWER), dtc and python3 (the unit tests read
# back the device tree and the JSON report with them), cpio, e2fsprogs (test images),
# cmocka and libfdt for native unit tests, clang and its sanitizer runtime (fuzzing),
# pkgconf (the examples build as users would), and a ppc64el libfdt and musl unpacked into a
# private sysroot (libfdt-dev is not Multi-Arch, so the native and ppc64el copies cannot both
# be installed system-wide), Linux's source with what building it needs (the 4 KiB-page
# emulated host's kernel and the big-endian guest's, tests/host/build-kernel.sh), and the
# big-endian ppc64 cross compiler with its C library (the big-endian guest's /init), and kmod
# (depmod: the module tree of the --rootfs cases), and gdb-multiarch (the gdb boot cases'
# debugger, which runs here and debugs a POWER guest: tests/boot/gdb-session.sh). Safe to
# run again: it only does what is missing.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kernel_build=(linux-source-6.1 flex bison bc libssl-dev libelf-dev xz-utils)
pkgs=(make gcc qemu-system-ppc gcc-powerpc64le-linux-gnu binutils-powerpc64le-linux-gnu
      libc6-dev-ppc64el-cross device-tree-compiler cpio libcmocka-dev libfdt-dev e2fsprogs python3
      clang libclang-rt-14-dev qemu-user-static pkgconf gcc-powerpc64-linux-gnu
      libc6-dev-ppc64-cross kmod gdb-multiarch "${kernel_build[@]}")
# On a POWER host the native compiler builds minivmm; the cross compiler is not needed.
case "$(uname -m)" in ppc64le|ppc64) pkgs=(make gcc device-tree-compiler cpio libcmocka-dev libfdt-dev qemu-system-ppc e2fsprogs
                     python3 clang libclang-rt-14-dev pkgconf kmod "${kernel_build[@]}") ;; esac

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx ppc64el && [ "$(dpkg --print-architecture)" != ppc64el ]; then
    as_root dpkg --add-architecture ppc64el
    need_update=1
fi
[ ${#missing[@]} -gt 0 ] && need_update=1
if [ $need_update = 1 ]; then
    # The ppc64el security index has been seen half-synced ("File has unexpected size"); the
    # main index is enough for everything we install, so a failed update is not fatal.
    as_root apt-get update -q || log "apt-get update reported errors; continuing with what it fetched"
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# ppc64el libfdt (static library and headers) and musl (the C library the static minivmm
# command links) into a private sysroot in the cache.
unpack() {   # unpack WHAT PROBE PACKAGE...: unless PROBE exists in the sysroot
    local what=$1 probe=$2; shift 2
    [ -f "$SYSROOT/$probe" ] && return 0
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -q "$@" >/dev/null)
    mkdir -p "$SYSROOT"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
    rm -rf "$tmp"
    log "ppc64el $what unpacked into $SYSROOT"
}
if [ "$(dpkg --print-architecture)" != ppc64el ]; then
    unpack libfdt usr/lib/powerpc64le-linux-gnu/libfdt.a libfdt-dev:ppc64el
    unpack musl usr/lib/powerpc64le-linux-musl/libc.a musl:ppc64el musl-dev:ppc64el
fi
