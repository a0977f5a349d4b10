#!/usr/bin/env bash
# l1-run.sh SCRIPT [TIMEOUT_SECONDS]
# Runs SCRIPT inside the emulated POWER host: QEMU (TCG) boots Debian's ppc64el kernel as a
# POWER9 pseries with nested KVM-HV allowed, loads kvm-hv, and runs SCRIPT with $MINIVMM,
# $GUEST_KERNEL and $GUEST_INITRD set. The L1 console (which carries everything SCRIPT and
# the guests print) goes to stdout; stdin goes to the L1 console, so this is interactive
# when run on a terminal. Exits with SCRIPT's status, or 124 if QEMU ran past the timeout.
# L1_EXTRA="SRC=DEST ..." adds more files to the L1 (e.g. disk images under images/).
# L1_KERNEL=4k boots the L1 on the kernel build-kernel.sh builds (4 KiB pages, KVM-HV and
# KVM-PR built in) instead of Debian's; the guest kernel stays Debian's. L1_APPEND="..." adds
# words to the L1's kernel command line (disable_radix: a Hash L1).
# L1_MACHINE=powernv makes the L1 an emulated bare-metal POWER9 (skiboot firmware, OPAL
# console) instead of a pseries guest: with L1_KERNEL=4k the host kind where a KVM-PR guest
# runs, because its hcalls reach the L1 kernel (a pseries L1's hypervisor, QEMU, answers a
# problem-state hcall itself); with Debian's kernel and disable_radix, a Hash host with
# 64 KiB pages (KVM-HV only: Debian builds no KVM-PR). One CPU: guests there have one vCPU.
# L1_HOSTFWD=HOSTPORT:L1PORT (with L1_KERNEL=4k, whose kernel drives virtio-net) gives the L1
# a NIC on QEMU's user-mode network, restricted to one forward: 127.0.0.1:HOSTPORT on this
# machine reaches the L1's 10.0.2.15:L1PORT (l1-init sets that address). How a debugger here
# reaches a gdb stub in the L1 (tests/boot/gdb-session.sh). No NIC without it.
# L1_NETDEV_OPTS=",opt=..." adds options to that network (e.g. a guestfwd for a stand-in).
# L1_PASST=1 puts Debian's ppc64el passt in the L1 (/opt/passt, on PATH; passt-ppc64el.sh), for
# --net: then l1-init moves / to a tmpfs first, and Debian's kernel gets a dummy uplink.
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
                         "$kdir/modules/kernel/arch/powerpc/kvm/kvm-hv.ko=lib/kvm-hv.ko"
                         # (a stand-in for an uplink, and taps: see l1-init)
                         "$kdir/modules/kernel/drivers/net/dummy.ko=lib/dummy.ko"
                         "$kdir/modules/kernel/drivers/net/tun.ko=lib/tun.ko") ;;
    # KVM is built in. QEMU offers a Hash guest pages of at most 64 KiB unless told otherwise;
    # 16 MiB is the hugepage size of a Hash kernel with 4 KiB pages (a Radix one uses 2 MiB).
    4k)     l1_kernel=$(bash "$here/build-kernel.sh" l1-4k)/vmlinux
            machine=pseries,cap-nested-hv=on,cap-hpt-max-page-size=16M
            kvm_modules=() ;;
    *)      die "L1_KERNEL=$L1_KERNEL: use debian (the default) or 4k" ;;
esac

case ${L1_MACHINE:-pseries} in
    # 2 emulated CPUs so guests can have 2 vCPUs; nested HV is what gives the L1 a /dev/kvm.
    pseries) board=(-M "$machine" -smp 2 -nodefaults -serial none
                    -chardev stdio,id=con,signal=off -device spapr-vty,chardev=con) ;;
    # The console is the board's UART, which skiboot hands to Linux as OPAL's console (hvc0).
    # Defaults stay on: the emulated BMC is what powers the board off.
    # The 4 KiB-page kernel also goes in as a guest kernel (cases-hosts.sh boots it on both).
    powernv) board=(-M powernv9 -smp 1 -monitor none
                    -chardev stdio,id=con,signal=off -serial chardev:con)
             L1_EXTRA="${L1_EXTRA:-} $(bash "$here/build-kernel.sh" l1-4k)/vmlinux=guest/vmlinux-4k" ;;
    *)       die "L1_MACHINE=$L1_MACHINE: use pseries (the default) or powernv" ;;
esac

nic=()
if [ -n "${L1_HOSTFWD:-}" ]; then
    [[ $L1_HOSTFWD =~ ^[0-9]+:[0-9]+$ ]] || die "L1_HOSTFWD=$L1_HOSTFWD: use HOSTPORT:L1PORT"
    # Debian's kernel has virtio-net as a module the L1 does not carry.
    [ "${L1_KERNEL:-debian}" = 4k ] || die "L1_HOSTFWD needs L1_KERNEL=4k"
    # powernv9 has no bus for plain PCI devices: each PHB4 has one root port, whose bus is
    # pcie.N (pcie.0: the first chip's first PHB). pseries takes it on its default PHB.
    bus=; [ "${L1_MACHINE:-pseries}" = powernv ] && bus=,bus=pcie.0
    # restrict=on: the L1 reaches nothing outside; the forward still comes in.
    nic=(-netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${L1_HOSTFWD%%:*}-:${L1_HOSTFWD#*:}${L1_NETDEV_OPTS:-}"
         -device "virtio-net-pci,netdev=net0$bus")
fi

[ "${L1_PASST:-0}" = 1 ] && L1_EXTRA="${L1_EXTRA:-} $(bash "$here/passt-ppc64el.sh" l1_files)"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
MODULES="$GUEST_MODULES" bash "$here/mkinitramfs.sh" "$work/guest.cpio.gz" "$top/tests/guest/init" \
    $(guest_test_files "$kdir")
bash "$here/mkinitramfs.sh" "$work/l1.cpio.gz" "$here/l1-init" \
    "$top/minivmm=bin/minivmm" "$script=tests.sh" ${kvm_modules[@]+"${kvm_modules[@]}"} \
    "$kdir/vmlinux=guest/vmlinux" "$work/guest.cpio.gz=guest/initrd.gz" ${L1_EXTRA:-}

set +e
# QEMU logs each facility-unavailable interrupt it raises (a KVM-PR guest touching EBB or TAR
# registers, which KVM-PR then emulates) on stderr: thousands of lines that say nothing new.
timeout --foreground -k 10 "$timeout_s" qemu-system-ppc64 "${board[@]}" ${nic[@]+"${nic[@]}"} \
    -cpu POWER9 -m 3G -nographic -no-reboot \
    -kernel "$l1_kernel" -initrd "$work/l1.cpio.gz" -append "console=hvc0 quiet${L1_APPEND:+ $L1_APPEND}" \
    2> >(grep -v '^Facility SPR [0-9]* is unavailable' >&2) | tee "$work/console.log"
qrc=${PIPESTATUS[0]}
set -e
[ "$qrc" = 124 ] && { log "the emulated host ran past ${timeout_s}s"; exit 124; }
rc=$(sed -n 's/.*L1-TESTS-EXIT \([0-9]*\).*/\1/p' "$work/console.log" | tail -n1)
[ -n "$rc" ] || die "the emulated host ended without reporting (QEMU status $qrc)"
exit "$rc"
