#!/usr/bin/env bash
# l1-run-qemu.sh [SCRIPT] [TIMEOUT_SECONDS]
# l1-run.sh with Debian's ppc64el QEMU in the emulated POWER host: the tree that
# tests/host/qemu-ppc64el.sh unpacks (qemu-system-ppc64, its libraries, the loader, libc,
# slof.bin and vof.bin) goes to /qemu in the L1, where /qemu/qemu-system-ppc64 runs it with
# KVM-HV like any other VMM (e.g. -accel kvm -M pseries). SCRIPT defaults to
# tests/host/qemu-in-l1.sh, which boots the test guest under it with SLOF and with VOF, and
# under minivmm, and reports how long each took. More L1_EXTRA files may be given as usual.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
script=${1:-$here/qemu-in-l1.sh} timeout_s=${2:-1200}

qdir=$(bash "$here/qemu-ppc64el.sh")
case $qdir in *[[:space:]]*) die "the QEMU tree's path has white space ($qdir): L1_EXTRA cannot carry it" ;; esac
# mkinitramfs.sh copies files (SRC=DEST), not trees: one entry per file of the tree. The tree
# has one symlink (lib64/ld64.so.2), which is copied as the file it points to.
extra=$(cd "$qdir" && find . \( -type f -o -type l \) ! -name .complete | LC_ALL=C sort |
        sed 's|^\./||' | while read -r f; do printf '%s=qemu/%s ' "$qdir/$f" "$f"; done)
L1_EXTRA="$extra ${L1_EXTRA:-}" exec bash "$here/l1-run.sh" "$script" "$timeout_s"
