#!/usr/bin/env bash
# l1-run.sh SCRIPT [TIMEOUT_SECONDS]
# Runs SCRIPT inside the emulated POWER host: QEMU (TCG) boots Debian's ppc64el kernel as a
# POWER9 pseries with nested KVM-HV allowed, loads kvm-hv, and runs SCRIPT with $MINIVMM,
# $GUEST_KERNEL and $GUEST_INITRD set. The L1 console (which carries everything SCRIPT and
# the guests print) goes to stdout; stdin goes to the L1 console, so this is interactive
# when run on a terminal. Exits with SCRIPT's status, or 124 if QEMU ran past the timeout.
# L1_EXTRA="SRC=DEST ..." adds more files to the L1 (e.g. disk images under images/).
# L1_KERNEL=4k boots the L1 on the kernel build-l1-kernel.sh builds (4 KiB pages, KVM-HV and
# KVM-PR built in) instead of Debian's; the guest kernel stays Debian's. L1_APPEND="..." adds
# words to the L1's kernel command line (disable_radix: a Hash L1, where only KVM-PR works).
set -euo pipefail
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
script=$1 timeout_s=${2:-1200}
[ -x "$top/minivmm" ] || die "build minivmm first (make)"
kdir=$(bash "$here/fetch-kernel.sh")
case ${L1_KERNEL:-debian} in
    debian) l1_kernel=$kdir/vmlinux machine=pseries,cap-nested-hv=on
            kvm_modules=("$kdir/modules/kernel/arch/powerpc/kvm/kvm.ko=lib/kvm.ko"
                         "$kdir/modules/kernel/arch/powerpc/kvm/kvm-hv.ko=lib/kvm-hv.ko") ;;
    # KVM is built in. QEMU offers a Hash guest pages of at most 64 KiB unless told otherwise;
    # 16 MiB is the hugepage size of a Hash kernel with 4 KiB pages (a Radix one uses 2 MiB).
    4k)     l1_kernel=$(bash "$here/build-l1-kernel.sh")/vmlinux
            machine=pseries,cap-nested-hv=on,cap-hpt-max-page-size=16M
            kvm_modules=() ;;
    *)      die "L1_KERNEL=$L1_KERNEL: use debian (the default) or 4k" ;;
esac

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
MODULES="$GUEST_MODULES" bash "$here/mkinitramfs.sh" "$work/guest.cpio.gz" "$top/tests/guest/init" \
    $(guest_kvm_files "$kdir")
bash "$here/mkinitramfs.sh" "$work/l1.cpio.gz" "$here/l1-init" \
    "$top/minivmm=bin/minivmm" "$script=tests.sh" ${kvm_modules[@]+"${kvm_modules[@]}"} \
    "$kdir/vmlinux=guest/vmlinux" "$work/guest.cpio.gz=guest/initrd.gz" ${L1_EXTRA:-}

# 2 emulated CPUs so guests can have 2 vCPUs; nested HV is what gives the L1 a /dev/kvm.
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-ppc64 -M "$machine" \
    -cpu POWER9 -smp 2 -m 3G -nographic -no-reboot -nodefaults -serial none \
    -chardev stdio,id=con,signal=off -device spapr-vty,chardev=con \
    -kernel "$l1_kernel" -initrd "$work/l1.cpio.gz" -append "console=hvc0 quiet${L1_APPEND:+ $L1_APPEND}" \
    | tee "$work/console.log"
qrc=${PIPESTATUS[0]}
set -e
[ "$qrc" = 124 ] && { log "the emulated host ran past ${timeout_s}s"; exit 124; }
rc=$(sed -n 's/.*L1-TESTS-EXIT \([0-9]*\).*/\1/p' "$work/console.log" | tail -n1)
[ -n "$rc" ] || die "the emulated host ended without reporting (QEMU status $qrc)"
exit "$rc"
