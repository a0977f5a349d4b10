# PAPR conformance beyond Linux's boot path (sourced by cases.sh; checked in run.sh).
#
# The project's own bare-metal payload (tests/payload/): linked at 0 and loaded at 4 MiB, it
# checks its entry registers, prints over terminal 0, calls the hcalls and the RTAS time, CPU
# and console services with their error cases (tests/payload/payload.c lists them), starts
# and stops the second CPU twice, and ends with the line
# "minivmm-exit-code: N" (N checks failed), which minivmm's CI mode reads, then powers off.
PAYLOAD_LE=${PAYLOAD_LE:-/guest/payload-le}
PAYLOAD_BE=${PAYLOAD_BE:-/guest/payload-be}
for order in le be; do
    p=$PAYLOAD_LE; [ $order = be ] && p=$PAYLOAD_BE
    case_run "payload-$order" --timeout 120 -k "$p" -c 2 -m 256M --json "$T/payload-$order.json"
    echo "=== CASE payload-$order-json"; cat "$T/payload-$order.json"
    echo "=== RESULT payload-$order-json status=0"
done
# Placed elsewhere on request, the payload finds itself there (it checks r4 against its own
# address); one CPU: the secondary checks are skipped and say so.
case_run payload-kernel-addr --timeout 120 -k "$PAYLOAD_LE" --kernel-addr 0x2000000 -m 256M

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
case_run bad-kernel-addr-high -k "$GUEST_KERNEL" --kernel-addr 1G -m 2G
case_run bad-rtc-base -k "$GUEST_KERNEL" --rtc-base 2006-02-30
