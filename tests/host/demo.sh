#!/usr/bin/env bash
# The README's "run it": boots the default guest (Debian's ppc64el kernel and a busybox
# initramfs) under minivmm and shows its console until it powers off. Off POWER, that happens
# inside the emulated POWER host. On a terminal you get the guest's shell (type 'exit', or
# Ctrl-A x to quit minivmm); otherwise the guest's shell runs a few commands by itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/common.sh"

script=$(mktemp); trap 'rm -f "$script"' EXIT
mode=demo
[ -t 0 ] && mode=shell
echo "\$MINIVMM -v -k \"\$GUEST_KERNEL\" -i \"\$GUEST_INITRD\" -c 2 -m 1G -a \"console=hvc0 quiet minivmm.test=$mode\"" > "$script"
echo 'st=$?; echo "minivmm: exit status $st"; exit $st' >> "$script"

case "$(uname -m)" in
ppc64le|ppc64)
    kdir=$(bash "$here/fetch-kernel.sh")
    initrd=$(mktemp)
    MODULES="$GUEST_MODULES" bash "$here/mkinitramfs.sh" "$initrd" "$top/tests/guest/init"
    MINIVMM=$top/minivmm GUEST_KERNEL=$kdir/vmlinux GUEST_INITRD=$initrd sh "$script"
    rm -f "$initrd"
    ;;
*)
    log "no POWER here: booting the emulated POWER9 host (QEMU), which runs minivmm"
    bash "$here/l1-run.sh" "$script" 1200
    ;;
esac
