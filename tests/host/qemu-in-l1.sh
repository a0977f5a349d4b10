#!/bin/sh
# Runs inside the emulated POWER host (see l1-run-qemu.sh), or on a POWER host with /dev/kvm
# given QEMU_DIR: boots the test guest ($GUEST_KERNEL, $GUEST_INITRD) under Debian's QEMU
# (KVM-HV, pseries) with SLOF, with VOF, each with QEMU's default interrupt controller mode and
# with ic-mode=xics (KVM's in-kernel XICS, as minivmm uses), and under minivmm, and reports,
# one QEMU-TIME line per boot, the seconds from starting the VMM to the guest's
# MINIVMM-GUEST-UP line and to the VMM's exit (from /proc/uptime: 10 ms resolution; busybox
# date has no %N). Exits non-zero unless every boot printed the marker and exited 0.
QEMU_DIR=${QEMU_DIR:-/qemu}
Q=$QEMU_DIR/qemu-system-ppc64
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
results=/tmp/qemu-in-l1.results
: > "$results"

boot() {    # boot NAME COMMAND...: run COMMAND (bounded), time it, record pass/fail
    name=$1; shift
    echo "=== QEMU-CASE $name"
    echo "+ $*"
    t0=$(now)
    { timeout -s KILL 300 "$@" 2>&1; echo "QEMU-CASE-STATUS $?"; } | {
        up=none
        while IFS= read -r line; do
            case $line in
            QEMU-CASE-STATUS*)
                st=${line#QEMU-CASE-STATUS }
                echo "QEMU-TIME $name marker=${up}s exit=$(since "$t0")s status=$st"
                if [ "$up" != none ] && [ "$st" = 0 ]; then echo "ok $name" >> "$results"
                else echo "FAIL $name" >> "$results"; fi
                continue ;;
            *MINIVMM-GUEST-UP*) up=$(since "$t0") ;;
            esac
            printf '%s\n' "$line"
        done
    }
}

guest="-kernel $GUEST_KERNEL -initrd $GUEST_INITRD"
append="console=hvc0 quiet minivmm.test=marker"
common="-accel kvm -cpu host -m 512M -smp 1 -nographic -nodefaults -serial none
        -chardev stdio,id=con -device spapr-vty,chardev=con -no-reboot"
$Q --version | head -n1

boot qemu-slof      "$Q" -M pseries                       $common $guest -append "$append"
boot qemu-slof-xics "$Q" -M pseries,ic-mode=xics          $common $guest -append "$append"
boot qemu-vof       "$Q" -M pseries,x-vof=on              $common $guest -append "$append"
boot qemu-vof-xics  "$Q" -M pseries,x-vof=on,ic-mode=xics $common $guest -append "$append"
if [ -n "${MINIVMM:-}" ]; then
    boot minivmm "$MINIVMM" -m 512M -c 1 -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -a "$append"
fi

echo "=== QEMU-SUMMARY"
cat "$results"
! grep -q FAIL "$results"
