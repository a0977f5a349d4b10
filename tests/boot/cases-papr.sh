# PAPR conformance beyond Linux's boot path (sourced by cases.sh; checked in run.sh).

# Linux with the new entry state (big-endian, real mode, r4 = where it was loaded) on 2 vCPUs,
# and what the services give it: the clock --rtc-base set, hwclock -w/-r through RTAS, and
# /dev/hwrng from H_RANDOM (pseries-rng).
case_run papr-linux -c 2 --rtc-base 2006-06-17 -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
    -a "console=hvc0 quiet minivmm.test=papr"
# Linux's vmlinux loaded away from 0 (as QEMU's pseries does, at 4 MiB) moves itself down.
case_run linux-kernel-addr --kernel-addr 4M -k "$GUEST_KERNEL" -i "$GUEST_INITRD" \
    -a "console=hvc0 quiet minivmm.test=marker"
if [ -n "${GUEST_KERNEL_BE:-}" ]; then
    case_run be-guest-smp -c 2 -k "$GUEST_KERNEL_BE" -i "$GUEST_INITRD_BE" -m 512M -a "console=hvc0"
fi
case_run bad-kernel-addr -k "$GUEST_KERNEL" --kernel-addr 0x1000
case_run bad-rtc-base -k "$GUEST_KERNEL" --rtc-base 2006-02-30
